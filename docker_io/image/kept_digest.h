// Which images keep the digest they have in the archive (issue 21, item 5).
//
// An image whose manifest is in the archive (ImageSource::manifest) and
// whose layers are stored compressed (gzip or zstd) is pushed byte for
// byte: its blobs as stored, its manifest's exact bytes, so its digest in
// the target is the archive's and a vendor's signature on it still
// verifies. It is converted (a manifest is built, manifest_builder.h) only
// when a layer must be compressed, when the user asked for a --format, when
// the archive has no manifest for it (docker save), or when the target
// cannot hold its manifest's media type (an OCI layout holds OCI manifests
// only: skopeo converts a Docker manifest there too). A multi-arch image
// keeps its index when every platform image of it kept its digest and the
// platform images pushed, with the index's artifacts (BuildKit
// attestations, each pushed as it is), are exactly what the index names.
// Pure functions, no I/O.
#pragma once

#include <string>
#include <vector>

#include "docker_io/image/image_source.h"

namespace ppa {

// What the run allows.
struct KeepDigestRules {
  bool format_given = false;  // --format given by the user: every manifest is made in it
  bool oci_only = false;      // the target holds OCI media types only (an OCI layout)
};

struct DigestDecision {
  bool kept = false;
  // The digest the archive gives the manifest (or index); "" when it has none.
  std::string archive_digest;
  // Why a new manifest is made, for the report; "" when kept.
  std::string reason;
};

// Whether `image` is pushed with the manifest bytes of the archive.
DigestDecision DecideImageDigest(const ImageSource& image, const KeepDigestRules& rules);

// Whether the manifest list of a multi-arch image made of `children` (the
// sources of its platform images, all pushed) is the archive's index blob.
DigestDecision DecideListDigest(const std::vector<const ImageSource*>& children,
                                const KeepDigestRules& rules);

}  // namespace ppa
