#include "docker_io/target/blob_pusher.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/file_util.h"
#include "docker_io/image/digest.h"

namespace ppa {
namespace {

std::string Key(const std::string& repo, const std::string& digest) { return repo + "@" + digest; }

}  // namespace

Status FileRangeBlob::SendTo(BlobSink& sink, const std::string& repo,
                             const std::function<void(uint64_t)>& on_progress) const {
  BlobUpload upload = upload_;
  upload.on_progress = on_progress;
  return sink.PutBlob(repo, upload);
}

MemoryBlob::MemoryBlob(const std::string& bytes, std::string digest)
    : bytes_(bytes), digest_(digest.empty() ? Sha256Digest(bytes) : std::move(digest)) {}

Status MemoryBlob::SendTo(BlobSink& sink, const std::string& repo,
                          const std::function<void(uint64_t)>& on_progress) const {
  Status sent = sink.PutBlobBytes(repo, digest_, bytes_);
  if (sent.ok() && on_progress) on_progress(bytes_.size());
  return sent;
}

Status HeldBlob::SendTo(BlobSink& sink, const std::string& repo,
                        const std::function<void(uint64_t)>& on_progress) const {
  const std::string path = ScratchName(dir_, "held", ".blob");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return ErrnoError("cannot create", path, errno);
  struct Unlink {
    const std::string& path;
    ~Unlink() { ::unlink(path.c_str()); }
  } unlink_after{path};
  PPA_RETURN_IF_ERROR(sink.ReadBlob(from_, digest_, size_, fd.get()));
  return sink.PutBlob(repo, BlobUpload{.digest = digest_,
                                       .size = size_,
                                       .file = FileBody{.path = path, .offset = 0, .size = size_},
                                       .on_progress = on_progress});
}

BlobPusher::BlobPusher(BlobSink& sink, BlobPusherOptions options)
    : sink_(sink), options_(std::move(options)) {}

Result<BlobOutcome> BlobPusher::Push(const std::string& repo, const BlobProvider& blob,
                                     const UploadObserver& observer) {
  if (std::optional<BlobOutcome> known = AlreadyPresent(repo, blob.digest())) return *known;
  PPA_ASSIGN_OR_RETURN(std::optional<BlobOutcome> reused, Reuse(repo, blob.digest(), blob.size()));
  if (reused) return *reused;
  if (observer.started) observer.started();
  Status sent = blob.SendTo(sink_, repo, observer.progress);
  if (observer.finished) observer.finished();
  PPA_RETURN_IF_ERROR(sent);
  Count(BlobOutcome::Action::kUploaded, blob.size());
  Remember(repo, blob.digest());
  return BlobOutcome{.action = BlobOutcome::Action::kUploaded, .bytes_sent = blob.size()};
}

Result<std::optional<BlobOutcome>> BlobPusher::Reuse(const std::string& repo,
                                                     const std::string& digest, uint64_t) {
  PPA_ASSIGN_OR_RETURN(bool exists, sink_.HasBlob(repo, digest));
  if (exists) {
    Count(BlobOutcome::Action::kPresent, 0);
    Remember(repo, digest);
    return std::optional<BlobOutcome>(BlobOutcome{.action = BlobOutcome::Action::kPresent});
  }
  PPA_ASSIGN_OR_RETURN(bool mounted, TryMounts(repo, digest));
  if (!mounted) return std::optional<BlobOutcome>();
  return std::optional<BlobOutcome>(BlobOutcome{.action = BlobOutcome::Action::kMounted});
}

Result<std::optional<BlobOutcome>> BlobPusher::CopyFromHolders(const std::string& repo,
                                                               const std::string& digest,
                                                               uint64_t size) {
  if (options_.copy_dir.empty()) return std::optional<BlobOutcome>();
  for (const std::string& from : MountSources(repo, digest)) {
    Status copied = HeldBlob(from, digest, size, options_.copy_dir).SendTo(sink_, repo, {});
    if (!copied.ok()) {
      spdlog::info("{} could not be copied from '{}' to '{}': {}", digest, from, repo,
                   copied.message());
      continue;
    }
    spdlog::debug("{} was read back from '{}' and uploaded to '{}'", digest, from, repo);
    Count(BlobOutcome::Action::kUploaded, size);
    Remember(repo, digest);
    return std::optional<BlobOutcome>(
        BlobOutcome{.action = BlobOutcome::Action::kUploaded, .bytes_sent = size});
  }
  return std::optional<BlobOutcome>();
}

Result<bool> BlobPusher::TryMounts(const std::string& repo, const std::string& digest) {
  for (const std::string& from : MountSources(repo, digest)) {
    PPA_ASSIGN_OR_RETURN(bool mounted, sink_.MountBlob(repo, digest, from));
    if (!mounted) continue;
    Count(BlobOutcome::Action::kMounted, 0);
    Remember(repo, digest);
    return true;
  }
  return false;
}

std::vector<std::string> BlobPusher::MountSources(const std::string& repo,
                                                  const std::string& digest) {
  std::vector<std::string> sources;
  {
    MutexLock lock(&mu_);
    auto it = holder_.find(digest);
    if (it != holder_.end() && it->second != repo) sources.push_back(it->second);
  }
  if (!options_.known_holders) return sources;
  for (std::string& from : options_.known_holders(digest)) {
    if (from != repo && std::find(sources.begin(), sources.end(), from) == sources.end()) {
      sources.push_back(std::move(from));
    }
  }
  return sources;
}

std::optional<BlobOutcome> BlobPusher::AlreadyPresent(const std::string& repo,
                                                      const std::string& digest) {
  MutexLock lock(&mu_);
  const std::string key = Key(repo, digest);
  if (!present_.count(key)) return std::nullopt;
  BlobOutcome outcome;
  if (auto it = deferred_.find(key); it != deferred_.end()) {
    outcome = it->second;
    deferred_.erase(it);
  }
  return outcome;
}

bool BlobPusher::Known(const std::string& repo, const std::string& digest) const {
  MutexLock lock(&mu_);
  return present_.count(Key(repo, digest)) > 0;
}

void BlobPusher::Defer(const std::string& repo, const std::string& digest,
                       const BlobOutcome& outcome) {
  MutexLock lock(&mu_);
  deferred_.emplace(Key(repo, digest), outcome);
}

void BlobPusher::Remember(const std::string& repo, const std::string& digest) {
  {
    MutexLock lock(&mu_);
    present_.insert(Key(repo, digest));
    holder_.emplace(digest, repo);
  }
  if (options_.on_present) options_.on_present(repo, digest);
}

void BlobPusher::Count(BlobOutcome::Action action, uint64_t bytes) {
  MutexLock lock(&mu_);
  if (action == BlobOutcome::Action::kUploaded) {
    counts_.uploaded++;
    counts_.bytes_uploaded += bytes;
  } else {
    counts_.present++;
  }
}

BlobCounts BlobPusher::TakeCounts() {
  MutexLock lock(&mu_);
  return std::exchange(counts_, {});
}

}  // namespace ppa
