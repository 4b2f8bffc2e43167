// `ppa-import verify` (README, "Verifying"): the check an admin runs before
// a cluster is pointed at a namespace. Every image an import stored (those
// a run's JSON report lists, or those an import of an archive stores: a dry
// run of it computes them) must be in the target at that digest and carry
// a valid signature: by a given key (cosign public key, OpenPGP public key)
// or as a containers-policy.json requires. One line per image, then a
// summary; exit 0 when every image passes, 1 when any fails, 2 for usage.
//
//   OK      reg/ns/app:1.0 sha256:9f2c...: cosign sha256:f105..., simple-signing 3F2A...
//   FAILED  reg/ns/db:1.0: the registry holds sha256:aa..., the import stored sha256:bb...
//
// Reads only: nothing is written anywhere (the dry run included).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "docker_io/sign/policy.h"
#include "importer/load/load_options.h"

namespace ppa {

struct VerifyOptions {
  std::string archive;  // ARCHIVE: the images an import of it stores
  std::string report;   // --report FILE: the images a run's JSON report lists
  // Where the images are, and how to reach it (the flags of `load`).
  TargetOptions target;
  // For ARCHIVE: what changes the digests an import stores (as for `load`).
  ImageOptions images;
  std::string workdir = "ppa-import";
  std::vector<std::string> cosign_keys;  // --key FILE: PEM public keys (cosign)
  std::vector<std::string> gpg_keys;     // --gpg-key FILE: OpenPGP public keys
  std::string policy;                    // --policy FILE: containers-policy.json
  std::string registries_d;              // --registries.d DIR: where simple signatures are read
  // --sign-identity REGISTRY[/PREFIX]: the name the signatures give the
  // images in place of the target's host and prefix (as `load` took it).
  std::string identity;
};

// An image to check: where it is and the digest it must have there.
struct ExpectedImage {
  std::string target;  // "host/repo:tag" or "host/repo@sha256:..."
  std::string digest;
  std::string failure;  // not empty: the import did not store it, and why
};

// The images and lists of a JSON report (`load --json`): each
// archives[].images[]; those not stored (status other than "ok", no
// manifest_digest) with the `failure` that fails them. Pure.
Result<std::vector<ExpectedImage>> ExpectedImagesOfReport(std::string_view json);

int RunVerify(const VerifyOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ppa
