// BlobSink: where images go. The push stage only talks to this interface, so
// it does not care whether blobs land in a registry or (later) an OCI image
// layout directory. Implementations are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "docker_io/registry/registry_client.h"

namespace ppa {

class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual Result<bool> HasBlob(const std::string& repo, const std::string& digest) = 0;
  virtual Status PutBlob(const std::string& repo, const BlobUpload& blob) = 0;
  virtual Status PutBlobBytes(const std::string& repo, const std::string& digest,
                              const std::string& bytes) = 0;
  // Cross-repository mount: makes blob `digest`, which repository `from` of
  // this sink already has, present in `repo` without sending it. True when
  // mounted; false when the sink cannot (the caller then uploads).
  virtual Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                                 const std::string& from) {
    (void)repo, (void)digest, (void)from;
    return false;
  }
  // Reads blob `digest` (`size` bytes) of `repo` back, checked against its
  // digest, into `fd` at its position: for a repository that needs a blob
  // another repository of this sink holds, when it cannot be mounted. A
  // sink that cannot read blobs back says kUnsupported.
  virtual Status ReadBlob(const std::string& repo, const std::string& digest, uint64_t size,
                          int fd) {
    (void)repo, (void)digest, (void)size, (void)fd;
    return Unsupported("this target cannot read blobs back");
  }
  // Stores a manifest under `reference` (a tag or its digest); returns its digest.
  virtual Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                          const std::string& media_type,
                                          const std::string& body) = 0;
  // The digest of the manifest `reference` (a tag, or a digest) names in
  // `repo` now; nullopt when there is none (or the sink cannot tell).
  // Reads only: the warm re-import (importer/load/warm_import.h) confirms
  // an earlier import with it.
  virtual Result<std::optional<std::string>> TaggedManifest(const std::string& repo,
                                                            const std::string& reference) {
    (void)repo, (void)reference;
    return std::optional<std::string>();
  }
  // The bytes of the manifest `reference` (a tag or a digest) names in
  // `repo`; nullopt when there is none. For documents the run appends to
  // (a cosign signature manifest); at most kMaxManifestBytes.
  virtual Result<std::optional<std::string>> ManifestBytes(const std::string& repo,
                                                           const std::string& reference) {
    (void)repo, (void)reference;
    return std::optional<std::string>();
  }
  // How users name `repo` here: "host:port/repo".
  virtual std::string Locate(const std::string& repo) const = 0;
};

// A sink that pushes to a registry through `client`.
std::unique_ptr<BlobSink> MakeRegistrySink(std::shared_ptr<RegistryClient> client);

}  // namespace ppa

namespace ppa {

// --dry-run: a sink that answers HasBlob from `inner` (when given; else
// "absent") and writes nothing: uploads and mounts succeed without sending,
// manifests "store" under their own digest. Not owning `inner`.
std::unique_ptr<BlobSink> MakeDryRunSink(BlobSink* inner, std::string location);

}  // namespace ppa
