#include "docker_io/range_digests.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace ppa {

void RangeDigests::Begin(const std::string& path) {
  std::lock_guard lock(mu_);
  File& file = files_[path];
  ++file.generation;
  file.ranges.clear();
}

void RangeDigests::Record(const std::string& path, uint64_t offset, uint64_t size,
                          std::string digest) {
  std::lock_guard lock(mu_);
  files_[path].ranges[{offset, size}] = std::move(digest);
}

std::optional<RangeDigests::Known> RangeDigests::Find(const std::string& path, uint64_t offset,
                                                      uint64_t size) const {
  std::lock_guard lock(mu_);
  auto file = files_.find(path);
  if (file == files_.end()) return std::nullopt;
  auto range = file->second.ranges.find({offset, size});
  if (range == file->second.ranges.end()) return std::nullopt;
  return Known{range->second, file->second.generation};
}

uint64_t RangeDigests::Generation(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto file = files_.find(path);
  return file == files_.end() ? 0 : file->second.generation;
}

bool RangeDigests::FirstSighting(std::string_view entry_name, uint64_t size) {
  std::lock_guard lock(mu_);
  return sighted_.emplace(std::string(entry_name), size).second;
}

namespace {

constexpr size_t kTarHeader = 512;

std::optional<Compression> LayerKind(std::string_view head) {
  if (head.size() == kTarHeader && head.substr(257, 5) == "ustar") return Compression::kNone;
  Compression c = DetectCompression(head);
  if (c == Compression::kGzip || c == Compression::kZstd) return c;
  return std::nullopt;
}

}  // namespace

TarDigestTap::TarDigestTap(RangeDigests& digests, std::string path, uint64_t min_size,
                           std::function<void(const HashedEntry&)> on_entry)
    : digests_(digests),
      path_(std::move(path)),
      min_size_(min_size),
      on_entry_(std::move(on_entry)),
      scanner_(*this) {}

void TarDigestTap::Write(uint64_t offset, std::string_view data) {
  if (stopped_) return;
  if (offset != next_) {
    stopped_ = true;
    return;
  }
  next_ += data.size();
  if (!scanner_.Feed(data)) stopped_ = true;
}

void TarDigestTap::BeginFile(std::string_view name, uint64_t offset, uint64_t size) {
  hash_.reset();
  if (size < min_size_ || !digests_.FirstSighting(name, size)) return;
  hash_.emplace();
  entry_ = HashedEntry{offset, size, "", std::nullopt};
  head_.clear();
}

void TarDigestTap::FileData(std::string_view bytes) {
  if (!hash_) return;
  hash_->Update(bytes);
  if (head_.size() < kTarHeader) {
    head_.append(bytes.substr(0, std::min(bytes.size(), kTarHeader - head_.size())));
  }
}

void TarDigestTap::EndFile() {
  if (!hash_) return;
  entry_.digest = hash_->Finish();
  hash_.reset();
  entry_.layer = LayerKind(head_);
  digests_.Record(path_, entry_.offset, entry_.size, entry_.digest);
  if (on_entry_) on_entry_(entry_);
}

Result<std::unique_ptr<InflatingTap>> InflatingTap::Create(
    RangeDigests& digests, std::string inflated_path, uint64_t min_size,
    std::function<void(const HashedEntry&)> on_entry, uint64_t floor_bytes) {
  int fd = ::open(inflated_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", inflated_path, errno);
  digests.Begin(inflated_path);
  return std::unique_ptr<InflatingTap>(new InflatingTap(digests, std::move(inflated_path),
                                                        UniqueFd(fd), min_size,
                                                        std::move(on_entry), floor_bytes));
}

InflatingTap::InflatingTap(RangeDigests& digests, std::string inflated_path, UniqueFd out,
                           uint64_t min_size, std::function<void(const HashedEntry&)> on_entry,
                           uint64_t floor_bytes)
    : path_(std::move(inflated_path)),
      out_(std::move(out)),
      tap_(digests, path_, min_size, std::move(on_entry)),
      gunzip_([this](const char* data, size_t size) { return Inflated(data, size); }),
      floor_bytes_(floor_bytes) {}

InflatingTap::~InflatingTap() {
  out_.Reset();
  if (!kept_) ::unlink(path_.c_str());
}

Status InflatingTap::Inflated(const char* data, size_t size) {
  if (written_ + size > DefaultUnpackLimit(next_, floor_bytes_)) {
    return UnsafeArchive("'" + path_ + "' inflates past the unpack limit");
  }
  PPA_RETURN_IF_ERROR(PwriteAll(out_.get(), data, size, written_, path_));
  tap_.Write(written_, std::string_view(data, size));
  written_ += size;
  return Status::Ok();
}

void InflatingTap::Fail() {
  failed_ = true;
  out_.Reset();
  ::unlink(path_.c_str());
}

void InflatingTap::Write(uint64_t offset, std::string_view data) {
  if (failed_) return;
  if (offset != next_) return Fail();
  next_ += data.size();
  if (!gunzip_.Feed(data.data(), data.size()).ok()) Fail();
}

std::optional<std::string> InflatingTap::Finish() {
  if (failed_ || !gunzip_.Finish().ok()) {
    Fail();
    return std::nullopt;
  }
  out_.Reset();
  kept_ = true;
  return path_;
}

}  // namespace ppa
