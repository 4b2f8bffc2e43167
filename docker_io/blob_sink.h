// BlobSink: where images go. The push stage only talks to this interface, so
// it does not care whether blobs land in a registry or (later) an OCI image
// layout directory. Implementations are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "archive/status.h"
#include "docker_io/registry_client.h"

namespace ppa {

class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual Result<bool> HasBlob(const std::string& repo, const std::string& digest) = 0;
  virtual Status PutBlob(const std::string& repo, const BlobUpload& blob) = 0;
  virtual Status PutBlobBytes(const std::string& repo, const std::string& digest,
                              const std::string& bytes) = 0;
  // Stores a manifest under `reference` (a tag or its digest); returns its digest.
  virtual Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                          const std::string& media_type,
                                          const std::string& body) = 0;
  // How users name `repo` here: "host:port/repo".
  virtual std::string Locate(const std::string& repo) const = 0;
};

// A sink that pushes to a registry through `client`.
std::unique_ptr<BlobSink> MakeRegistrySink(std::shared_ptr<RegistryClient> client);

}  // namespace ppa
