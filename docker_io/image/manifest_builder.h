// Pure builders of the manifests ppa-import pushes: Docker v2 schema 2 (or
// OCI) image manifests and manifest lists (or OCI image indexes). Output is
// deterministic (fixed key order, no whitespace) so a re-run produces the
// same digests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/manifest/ppa_manifest.h"  // Platform
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

}  // namespace ppa
