// Pure builders of the manifests ppa-import pushes: Docker v2 schema 2 (or
// OCI) image manifests and manifest lists (or OCI image indexes). Output is
// deterministic (fixed key order, no whitespace) so a re-run produces the
// same digests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/manifest/ppa_manifest.h"  // Platform
#include "base/status.h"
#include "docker_io/image/image_source.h"
#include "docker_io/image/kept_digest.h"
#include "docker_io/image/layer_blob.h"  // ManifestFormat

namespace ppa {

struct BlobRef {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

struct BuiltManifest {
  std::string media_type;
  std::string body;
};

BuiltManifest BuildImageManifest(ManifestFormat format, const BlobRef& config,
                                 const std::vector<BlobRef>& layers);

struct ListEntry {
  BlobRef manifest;
  Platform platform;
};

BuiltManifest BuildManifestList(ManifestFormat format, const std::vector<ListEntry>& entries);

// The manifest `image` is pushed with: with `decision` kept
// (DecideImageDigest), the archive's bytes under their media type, else
// BuildImageManifest. kInvalidInput when kept and `config` or `layers` (the
// blobs pushed, in order) are not the ones the archive's manifest names.
Result<BuiltManifest> ImageManifestToPush(const ImageSource& image, const DigestDecision& decision,
                                          ManifestFormat format, const BlobRef& config,
                                          const std::vector<BlobRef>& layers);

// The manifest list of `children` (DecideListDigest's input): the archive's
// index bytes when `decision` is kept, else BuildManifestList of `entries`.
BuiltManifest ManifestListToPush(const std::vector<const ImageSource*>& children,
                                 const DigestDecision& decision, ManifestFormat format,
                                 const std::vector<ListEntry>& entries);

}  // namespace ppa
