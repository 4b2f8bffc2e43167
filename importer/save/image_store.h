// Where `save` reads an image from (README, "Air-gapped sites"): a registry
// (through docker_io/registry/registry_client.h, the one seam to registries)
// or a local OCI image layout directory (`oci:DIR:REF`, as skopeo names
// one). Both give a document by reference or digest, byte for byte with its
// digest checked, and stream a blob checking its digest and size.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "docker_io/image/image_formats.h"
#include "docker_io/registry/registry_client.h"

namespace ppa {

class ImageStore {
 public:
  virtual ~ImageStore() = default;
  // The manifest or index `reference` (a tag or name, or "sha256:...") names.
  virtual Result<PulledManifest> GetManifest(const std::string& repo,
                                             const std::string& reference) = 0;
  // nullopt when the store has no document under `reference`.
  virtual Result<std::optional<ManifestDescriptor>> HeadManifest(const std::string& repo,
                                                                 const std::string& reference) = 0;
  // Streams blob `digest` (exactly `size` bytes, its digest checked) to `sink`.
  virtual Status GetBlob(const std::string& repo, const std::string& digest, uint64_t size,
                         const std::function<Status(std::string_view)>& sink) = 0;
};

// A registry, through its client (not owned).
class RegistryStore : public ImageStore {
 public:
  explicit RegistryStore(RegistryClient* client) : client_(client) {}
  Result<PulledManifest> GetManifest(const std::string& repo, const std::string& reference) override {
    return client_->GetManifest(repo, reference);
  }
  Result<std::optional<ManifestDescriptor>> HeadManifest(const std::string& repo,
                                                         const std::string& reference) override {
    return client_->HeadManifest(repo, reference);
  }
  Status GetBlob(const std::string& repo, const std::string& digest, uint64_t size,
                 const std::function<Status(std::string_view)>& sink) override {
    return client_->GetBlob(repo, digest, size, sink);
  }

 private:
  RegistryClient* client_;
};

// An OCI image layout directory (oci-layout, index.json, blobs/sha256/):
// references are the ref.name annotations of index.json's descriptors
// (`repo` is not used); documents are at most kMaxManifestBytes; blobs are
// read by their digest's file name only (a digest is 64 hex digits: no
// path can be made of it). Holds no cosign tags: HeadManifest of a name
// index.json lacks is nullopt.
class LayoutStore : public ImageStore {
 public:
  explicit LayoutStore(std::string dir) : dir_(std::move(dir)) {}
  Result<PulledManifest> GetManifest(const std::string& repo, const std::string& reference) override;
  Result<std::optional<ManifestDescriptor>> HeadManifest(const std::string& repo,
                                                         const std::string& reference) override;
  Status GetBlob(const std::string& repo, const std::string& digest, uint64_t size,
                 const std::function<Status(std::string_view)>& sink) override;

 private:
  // index.json's descriptor named `reference` (or of that digest).
  Result<std::optional<Descriptor>> Find(const std::string& reference);
  std::string dir_;
};

}  // namespace ppa
