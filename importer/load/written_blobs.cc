#include "importer/load/written_blobs.h"

#include <algorithm>

namespace ppa {

std::vector<WrittenBlob> RecordingSink::written() const {
  MutexLock lock(&mu_);
  return written_;
}

int RecordingSink::manifests() const {
  MutexLock lock(&mu_);
  return manifests_;
}

void RecordingSink::Record(const std::string& repo, const std::string& digest, uint64_t size) {
  std::string where = inner_.Locate(repo);
  MutexLock lock(&mu_);
  if (size == BlobUpload::kUnknownSize) size = 0;
  for (const WrittenBlob& b : written_) {
    if (size == 0 && b.digest == digest) size = b.size;  // a mount: the size it was sent with
  }
  bool seen = std::any_of(written_.begin(), written_.end(), [&](const WrittenBlob& b) {
    return b.repository == where && b.digest == digest;
  });
  if (!seen) written_.push_back({std::move(where), digest, size});
}

Result<bool> RecordingSink::HasBlob(const std::string& repo, const std::string& digest) {
  return inner_.HasBlob(repo, digest);
}

Status RecordingSink::PutBlob(const std::string& repo, const BlobUpload& blob) {
  PPA_RETURN_IF_ERROR(inner_.PutBlob(repo, blob));
  Record(repo, blob.digest, blob.size);
  return Status::Ok();
}

Status RecordingSink::PutBlobBytes(const std::string& repo, const std::string& digest,
                                   const std::string& bytes) {
  PPA_RETURN_IF_ERROR(inner_.PutBlobBytes(repo, digest, bytes));
  Record(repo, digest, bytes.size());
  return Status::Ok();
}

Result<bool> RecordingSink::MountBlob(const std::string& repo, const std::string& digest,
                                      const std::string& from) {
  PPA_ASSIGN_OR_RETURN(bool mounted, inner_.MountBlob(repo, digest, from));
  // A mount makes the blob part of `repo` as an upload would; its size is
  // not known here.
  if (mounted) Record(repo, digest, 0);
  return mounted;
}

Status RecordingSink::ReadBlob(const std::string& repo, const std::string& digest,
                               uint64_t size, int fd) {
  return inner_.ReadBlob(repo, digest, size, fd);  // a read writes nothing
}

Result<std::string> RecordingSink::PutManifest(const std::string& repo,
                                               const std::string& reference,
                                               const std::string& media_type,
                                               const std::string& body) {
  PPA_ASSIGN_OR_RETURN(std::string digest, inner_.PutManifest(repo, reference, media_type, body));
  MutexLock lock(&mu_);
  ++manifests_;
  return digest;
}

}  // namespace ppa
