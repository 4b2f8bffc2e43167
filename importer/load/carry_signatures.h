// The simple signatures a PPA archive carries (`ppa-import save` writes them
// below signatures/, laid out as skopeo lays out a lookaside:
// <repository>@sha256=<hex>/signature-N, README "Air-gapped sites"): after
// the images are stored, each stored image's and manifest list's
// signatures go where the target keeps its signatures, as skopeo copy puts
// them: the registry's signature API when it offers one, else the
// lookaside registries.d names for the image (file:// only), else
// containers/image's default folder (an OCI layout: <layout>.sigstore).
// A signature already there (the same bytes) is not added again. They are
// carried as they are: they name the image where it was signed.
#pragma once

#include <string>
#include <vector>

#include "docker_io/target/target.h"
#include "importer/report/report.h"

namespace ppa {

class Reporter;

// Carries the signatures below `root`/signatures (none: nothing to do) of
// the stored `items`, adding a SignatureResult to each for each one carried
// (scheme "simple-signing", key "" : carried, not made). A signature that
// cannot be stored fails its item (reported at once). `registries_d`: the
// --registries.d directory ("" for the default). A dry run only counts.
void CarrySignatures(const std::string& root, std::vector<ItemResult>& items,
                     const Target& target, const std::string& registries_d, bool dry_run,
                     Reporter& reporter);

}  // namespace ppa
