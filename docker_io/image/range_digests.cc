#include "docker_io/image/range_digests.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace ppa {

void RangeDigests::Begin(const std::string& path) {
  MutexLock lock(&mu_);
  File& file = files_[path];
  ++file.generation;
  file.ranges.clear();
  file.left_out.clear();
}

void RangeDigests::LeaveOut(const std::string& path, uint64_t offset, uint64_t size) {
  MutexLock lock(&mu_);
  files_[path].left_out.emplace_back(offset, size);
}

bool RangeDigests::LeftOut(const std::string& path, uint64_t offset, uint64_t size) const {
  MutexLock lock(&mu_);
  auto file = files_.find(path);
  if (file == files_.end()) return false;
  for (const auto& [at, length] : file->second.left_out) {
    if (at < offset + size && offset < at + length) return true;
  }
  return false;
}

void RangeDigests::Record(const std::string& path, uint64_t offset, uint64_t size,
                          std::string digest) {
  MutexLock lock(&mu_);
  files_[path].ranges[{offset, size}] = std::move(digest);
}

std::optional<RangeDigests::Known> RangeDigests::Find(const std::string& path, uint64_t offset,
                                                      uint64_t size) const {
  MutexLock lock(&mu_);
  auto file = files_.find(path);
  if (file == files_.end()) return std::nullopt;
  auto range = file->second.ranges.find({offset, size});
  if (range == file->second.ranges.end()) return std::nullopt;
  return Known{range->second, file->second.generation};
}

uint64_t RangeDigests::Generation(const std::string& path) const {
  MutexLock lock(&mu_);
  auto file = files_.find(path);
  return file == files_.end() ? 0 : file->second.generation;
}

bool RangeDigests::FirstSighting(std::string_view entry_name, uint64_t size) {
  MutexLock lock(&mu_);
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
                           std::function<void(const HashedEntry&)> on_entry, LayerTaker taker)
    : digests_(digests),
      path_(std::move(path)),
      min_size_(min_size),
      on_entry_(std::move(on_entry)),
      taker_(std::move(taker)),
      scanner_(*this) {}

Status TarDigestTap::Write(uint64_t offset, std::string_view data,
                           const UnpackOptions::BlockWriter* write) {
  if (!stopped_ && offset != next_) {
    stopped_ = true;
    taken_.reset();  // cut short: its bytes so far are lost, and recorded so
  }
  block_ = data;
  may_take_ = write != nullptr && taker_ != nullptr;
  left_out_.clear();
  hashed_.clear();
  if (!stopped_) {
    next_ += data.size();
    if (!scanner_.Feed(data)) stopped_ = true;
  }
  if (write) {
    size_t at = 0;
    for (const auto& [start, size] : left_out_) {
      if (start > at) PPA_RETURN_IF_ERROR((*write)(offset + at, data.substr(at, start - at)));
      at = start + size;
    }
    if (at < data.size()) PPA_RETURN_IF_ERROR((*write)(offset + at, data.substr(at)));
  }
  if (on_entry_) {
    for (const auto& entry : hashed_) on_entry_(entry);
  }
  return Status::Ok();
}

void TarDigestTap::BeginFile(std::string_view name, uint64_t offset, uint64_t size) {
  hash_.reset();
  taken_.reset();
  head_.clear();
  large_ = size >= min_size_;
  if (!large_) return;
  first_sighting_ = digests_.FirstSighting(name, size);
  if (first_sighting_) hash_.emplace();
  entry_ = HashedEntry{std::string(name), offset, size, "", std::nullopt};
}

std::string_view TarDigestTap::GatherHead(std::string_view bytes) {
  size_t take = std::min(bytes.size(), kTarHeader - head_.size());
  head_.append(bytes.substr(0, take));
  bytes.remove_prefix(take);
  if (head_.size() < kTarHeader || !may_take_ || entry_.size <= kTarHeader) return bytes;
  const std::optional<Compression> kind = LayerKind(head_);
  if (!kind) return bytes;
  taken_ = taker_(entry_.name, entry_.offset, entry_.size, *kind, first_sighting_);
  if (!taken_) return bytes;
  digests_.LeaveOut(path_, entry_.offset + kTarHeader, entry_.size - kTarHeader);
  taken_->Write(head_);
  return bytes;
}

void TarDigestTap::FileData(std::string_view bytes) {
  if (!large_) return;
  if (hash_) hash_->Update(bytes);
  if (head_.size() < kTarHeader) bytes = GatherHead(bytes);
  if (!taken_ || bytes.empty()) return;
  taken_->Write(bytes);
  left_out_.emplace_back(static_cast<size_t>(bytes.data() - block_.data()), bytes.size());
}

void TarDigestTap::EndFile() {
  if (!large_) return;
  large_ = false;
  if (hash_) {
    entry_.digest = hash_->Finish();
    hash_.reset();
    entry_.layer = LayerKind(head_);
    digests_.Record(path_, entry_.offset, entry_.size, entry_.digest);
  }
  if (taken_) {
    taken_->Finish(entry_.digest);
    taken_.reset();
  } else if (!entry_.digest.empty()) {
    hashed_.push_back(entry_);
  }
}

Result<std::unique_ptr<InflatingTap>> InflatingTap::Create(
    RangeDigests& digests, std::string inflated_path, uint64_t min_size,
    std::function<void(const HashedEntry&)> on_entry, InflationBudget* budget, LayerTaker taker) {
  int fd = ::open(inflated_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", inflated_path, errno);
  digests.Begin(inflated_path);
  return std::unique_ptr<InflatingTap>(new InflatingTap(digests, std::move(inflated_path),
                                                        UniqueFd(fd), min_size, std::move(on_entry),
                                                        budget, std::move(taker)));
}

InflatingTap::InflatingTap(RangeDigests& digests, std::string inflated_path, UniqueFd out,
                           uint64_t min_size, std::function<void(const HashedEntry&)> on_entry,
                           InflationBudget* budget, LayerTaker taker)
    : path_(std::move(inflated_path)),
      out_(std::move(out)),
      tap_(digests, path_, min_size, std::move(on_entry), std::move(taker)),
      gunzip_([this](const char* data, size_t size) { return Inflated(data, size); }),
      write_([this](uint64_t at, std::string_view bytes) {
        return PwriteAll(out_.get(), bytes.data(), bytes.size(), at, path_);
      }),
      budget_(budget) {}

InflatingTap::~InflatingTap() {
  out_.Reset();
  if (!kept_) ::unlink(path_.c_str());
}

Status InflatingTap::Inflated(const char* data, size_t size) {
  if (budget_) {
    PPA_RETURN_IF_ERROR(budget_->Charge(size, path_));
  } else if (written_ + size > DefaultUnpackLimit(next_)) {
    return UnsafeArchive("'" + path_ + "' inflates past the unpack limit");
  }
  PPA_RETURN_IF_ERROR(tap_.Write(written_, std::string_view(data, size), &write_));
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
  // What the tap left out at the end still counts in the copy's size.
  if (::ftruncate(out_.get(), static_cast<off_t>(written_)) != 0) {
    Fail();
    return std::nullopt;
  }
  out_.Reset();
  kept_ = true;
  return path_;
}

}  // namespace ppa
