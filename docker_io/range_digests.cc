#include "docker_io/range_digests.h"

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

}  // namespace ppa
