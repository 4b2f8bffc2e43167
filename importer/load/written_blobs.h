// What one archive's import wrote to the target before its outcome was
// known: a BlobSink decorator that records every blob it stored or mounted
// and counts the manifests, passing every call on to the sink it wraps.
//
// The pipeline wraps the target's sink in one per archive, so that an
// archive found unreadable (exit 3) after layers went ahead of the Unpack
// stage (importer/load/ahead_of_unpack.h) can list them in the JSON report:
// untagged blobs, never a manifest or a tag. Thread-safe, as every
// BlobSink.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "docker_io/target/blob_sink.h"

namespace ppa {

struct WrittenBlob {
  std::string repository;  // as users name it: the sink's Locate(repo)
  std::string digest;
  uint64_t size = 0;       // 0 when not known (a blob mounted from outside this run)
};

class RecordingSink : public BlobSink {
 public:
  // `inner` must outlive this object.
  explicit RecordingSink(BlobSink& inner) : inner_(inner) {}

  // Every blob stored or mounted through this sink, in order, each
  // (repository, digest) once.
  std::vector<WrittenBlob> written() const;
  // Manifests stored through this sink.
  int manifests() const;

  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override;
  Status PutBlob(const std::string& repo, const BlobUpload& blob) override;
  Status PutBlobBytes(const std::string& repo, const std::string& digest,
                      const std::string& bytes) override;
  Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                         const std::string& from) override;
  Status ReadBlob(const std::string& repo, const std::string& digest, uint64_t size,
                  int fd) override;
  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& body) override;
  std::string Locate(const std::string& repo) const override { return inner_.Locate(repo); }

 private:
  void Record(const std::string& repo, const std::string& digest, uint64_t size) EXCLUDES(mu_);

  BlobSink& inner_;
  mutable Mutex mu_;
  std::vector<WrittenBlob> written_ GUARDED_BY(mu_);
  int manifests_ GUARDED_BY(mu_) = 0;
};

}  // namespace ppa
