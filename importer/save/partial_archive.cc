#include "importer/save/partial_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "docker_io/image/digest.h"

namespace ppa {
namespace {

// Compressed bytes fed at a time: at most ~1032 times as many come out of
// deflate, so pending_ stays a few MiB.
constexpr size_t kFeedBytes = 4 << 10;

Result<UniqueFd> OpenNoFollow(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return NotFound("no partial archive '" + path + "'");
  if (fd < 0) return ErrnoError("cannot open the partial archive", path, errno);
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return InvalidInput("'" + path + "' is not a regular file",
                        "remove it: save keeps its partial archive there");
  }
  return owned;
}

// Reads `fd` from its start to its end in kFeedBytes pieces into `gunzip`.
// Stops quietly where the gzip stream is cut or broken.
void InflateAll(int fd, IsalGunzip& gunzip) {
  std::string in(kFeedBytes, '\0');
  while (true) {
    const ssize_t got = ::read(fd, in.data(), in.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;
    if (!gunzip.Feed(in.data(), static_cast<size_t>(got)).ok()) return;
  }
}

}  // namespace

void KeepLongerPartial(const std::string& writing, const std::string& partial) {
  if (writing == partial) return;
  struct stat now {}, earlier {};
  const bool longer = ::stat(writing.c_str(), &now) == 0 &&
                      (::stat(partial.c_str(), &earlier) != 0 || now.st_size > earlier.st_size);
  if (longer) {
    (void)::rename(writing.c_str(), partial.c_str());
  } else {
    ::unlink(writing.c_str());
  }
}

Result<std::unique_ptr<PartialArchive>> PartialArchive::Open(const std::string& path) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenNoFollow(path));
  uint64_t usable = 0;
  IsalGunzip count([&usable](const char*, size_t size) {
    usable += size;
    return Status::Ok();
  });
  InflateAll(fd.get(), count);
  std::unique_ptr<PartialArchive> partial(new PartialArchive(path, std::move(fd), usable));
  PPA_RETURN_IF_ERROR(partial->Rewind());  // sets up the inflater at the start
  return partial;
}

PartialArchive::PartialArchive(std::string path, UniqueFd fd, uint64_t usable)
    : path_(std::move(path)), fd_(std::move(fd)), usable_(usable) {}

PartialArchive::~PartialArchive() = default;

Result<bool> PartialArchive::Fill() {
  if (file_done_) return false;
  if (pending_at_ > 0) {  // drop what was consumed
    pending_.erase(0, pending_at_);
    pending_at_ = 0;
  }
  std::string in(kFeedBytes, '\0');
  ssize_t got;
  do {
    got = ::read(fd_.get(), in.data(), in.size());
  } while (got < 0 && errno == EINTR);
  if (got < 0) return ErrnoError("cannot read", path_, errno);
  if (got == 0 || !gunzip_->Feed(in.data(), static_cast<size_t>(got)).ok()) {
    file_done_ = true;
    return false;
  }
  return true;
}

Status PartialArchive::Rewind() {
  if (::lseek(fd_.get(), 0, SEEK_SET) != 0) return ErrnoError("cannot rewind", path_, errno);
  position_ = 0;
  pending_.clear();
  pending_at_ = 0;
  file_done_ = false;
  gunzip_ = std::make_unique<IsalGunzip>([this](const char* data, size_t size) {
    pending_.append(data, size);
    return Status::Ok();
  });
  return Status::Ok();
}

Status PartialArchive::Check(const std::map<uint64_t, Blob>& blobs) {
  checked_ = false;
  for (const auto& [offset, blob] : blobs) {
    if (!Holds(offset, blob.size)) continue;
    Status same = Stream(offset, blob.size, blob.digest,
                         [](std::string_view) { return Status::Ok(); });
    if (same.ok()) {
      matching_.insert(offset);
    } else if (same.code() != StatusCode::kInvalidInput) {
      return same;  // the file cannot be read
    }
  }
  checked_ = true;
  return Rewind();
}

Status PartialArchive::Read(uint64_t offset, uint64_t size, const std::string& digest,
                            const std::function<Status(std::string_view)>& sink) {
  if (!Holds(offset, size)) return InvalidInput("the partial archive does not hold that range");
  PPA_RETURN_IF_ERROR(Stream(offset, size, digest, sink));
  ++blobs_reused_;
  bytes_reused_ += size;
  return Status::Ok();
}

Status PartialArchive::Stream(uint64_t offset, uint64_t size, const std::string& digest,
                              const std::function<Status(std::string_view)>& sink) {
  Sha256 hash;
  uint64_t left = size;
  while (position_ < offset + size) {
    if (pending_at_ == pending_.size()) {
      PPA_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) {
        return InvalidInput("the partial archive '" + path_ + "' ends before it should");
      }
      continue;
    }
    const size_t have = pending_.size() - pending_at_;
    if (position_ < offset) {  // bytes before the blob: made again, skipped here
      const size_t skip = static_cast<size_t>(std::min<uint64_t>(have, offset - position_));
      pending_at_ += skip;
      position_ += skip;
      continue;
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(have, left));
    const std::string_view data(pending_.data() + pending_at_, take);
    hash.Update(data);
    PPA_RETURN_IF_ERROR(sink(data));
    pending_at_ += take;
    position_ += take;
    left -= take;
  }
  if (hash.Finish() != digest) {
    return InvalidInput("blob " + digest + " in the partial archive '" + path_ +
                            "' does not match its digest",
                        "it was removed; run the same command again");
  }
  return Status::Ok();
}

}  // namespace ppa
