#include "archive/inflate/inflate_index.h"

#include <fcntl.h>
#include <isa-l/crc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

namespace ppa::internal {
namespace {

// File layout: a Header, then records (a RecordHeader and `state_size` bytes
// of canonical ISA-L state), in the order the checkpoints were taken. Native
// byte order: the header's sizes reject a file from another build.
constexpr char kMagic[8] = {'P', 'P', 'A', 'I', 'N', 'F', 'X', '1'};
constexpr size_t kKeepIndexes = 4;        // most recently used ones kept
constexpr std::chrono::hours kStaleTmp{1};  // a temporary file left by a killed run
constexpr size_t kNameBytes = 64 << 10;   // hashed at each end of the archive

struct Header {
  char magic[8];
  uint32_t state_size;  // sizeof(inflate_state)
  uint32_t tmp_out_at;  // offsetof(inflate_state, tmp_out_buffer)
  uint64_t block_size;
  uint64_t archive_size;
};

struct RecordHeader {
  uint64_t out_offset;
  uint64_t block;
  uint32_t pos;
  uint32_t avail_in;
  uint32_t state_size;
  uint32_t crc;  // of the fields above and the state bytes
};

Header ExpectedHeader(uint64_t archive_size) {
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.state_size = sizeof(inflate_state);
  h.tmp_out_at = offsetof(inflate_state, tmp_out_buffer);
  h.block_size = kInflateBlock;
  h.archive_size = archive_size;
  return h;
}

uint32_t RecordCrc(const RecordHeader& r, const char* state, size_t size) {
  uint32_t crc = crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(&r),
                                 offsetof(RecordHeader, crc));
  return crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(state), size);
}

bool PreadAll(int fd, void* buf, size_t size, uint64_t at) {
  return PreadFull(fd, static_cast<char*>(buf), size, at) == static_cast<long>(size);
}

uint32_t CrcOfRange(int fd, uint64_t at, size_t size, bool* ok) {
  std::string buf(size, '\0');
  *ok = *ok && PreadAll(fd, buf.data(), size, at);
  return crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(buf.data()), size);
}

// Keeps the kKeepIndexes most recently used indexes of `dir` and removes
// temporary files that killed runs left behind.
void EvictOldIndexes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> indexes;
  auto now = fs::file_time_type::clock::now();
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec) || e.is_symlink(ec)) continue;
    std::string name = e.path().filename().string();
    fs::file_time_type mtime = e.last_write_time(ec);
    if (name.ends_with(".idx")) {
      indexes.emplace_back(mtime, e.path());
    } else if (name.find(".idx.tmp") != std::string::npos && now - mtime > kStaleTmp) {
      fs::remove(e.path(), ec);
    }
  }
  std::sort(indexes.begin(), indexes.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kKeepIndexes; i < indexes.size(); ++i) fs::remove(indexes[i].second, ec);
}

}  // namespace

std::string InflateIndexName(int fd, uint64_t size) {
  size_t span = static_cast<size_t>(std::min<uint64_t>(size, kNameBytes));
  bool ok = true;
  uint32_t head = CrcOfRange(fd, 0, span, &ok);
  uint32_t tail = CrcOfRange(fd, size - span, span, &ok);
  if (!ok) return "";
  char name[64];
  std::snprintf(name, sizeof name, "%llu-%08x-%08x.idx", static_cast<unsigned long long>(size),
                head, tail);
  return name;
}

std::unique_ptr<InflateIndexWriter> InflateIndexWriter::Create(const std::string& dir,
                                                               const std::string& name,
                                                               uint64_t archive_size) {
  if (name.empty() || !MakeDirs(dir).ok()) return nullptr;
  std::string tmp = dir + "/" + name + ".tmpXXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return nullptr;
  std::unique_ptr<InflateIndexWriter> w(new InflateIndexWriter(dir, name, UniqueFd(fd), tmp));
  Header h = ExpectedHeader(archive_size);
  if (!PwriteAll(fd, reinterpret_cast<const char*>(&h), sizeof h, 0, tmp).ok()) return nullptr;
  w->written_ = sizeof h;
  return w;
}

InflateIndexWriter::~InflateIndexWriter() {
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void InflateIndexWriter::Add(const InflateCheckpoint& at) {
  if (failed_) return;
  RecordHeader r{};
  r.out_offset = at.out_offset;
  r.block = at.block;
  r.pos = at.pos;
  r.avail_in = at.avail_in;
  r.state_size = static_cast<uint32_t>(at.state.size());
  r.crc = RecordCrc(r, at.state.data(), at.state.size());
  failed_ = !PwriteAll(fd_.get(), reinterpret_cast<const char*>(&r), sizeof r, written_, tmp_path_)
                 .ok() ||
            !PwriteAll(fd_.get(), at.state.data(), at.state.size(), written_ + sizeof r, tmp_path_)
                 .ok();
  written_ += sizeof r + at.state.size();
  ++count_;
}

void InflateIndexWriter::Commit() {
  if (failed_ || count_ == 0 || committed_) return;
  std::string path = dir_ + "/" + name_;
  if (::rename(tmp_path_.c_str(), path.c_str()) != 0) return;
  committed_ = true;
  EvictOldIndexes(dir_);
}

std::unique_ptr<InflateIndex> InflateIndex::Open(const std::string& path, uint64_t archive_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return nullptr;
  std::unique_ptr<InflateIndex> index(new InflateIndex(path, UniqueFd(fd)));
  struct stat st {};
  Header h{};
  Header want = ExpectedHeader(archive_size);
  if (::fstat(fd, &st) != 0 || !PreadAll(fd, &h, sizeof h, 0) ||
      std::memcmp(&h, &want, sizeof h) != 0) {
    return nullptr;
  }
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t at = sizeof h;
  RecordHeader r{};
  while (at + sizeof r <= file_size && PreadAll(fd, &r, sizeof r, at)) {
    uint64_t state_at = at + sizeof r;
    bool fits = r.state_size <= sizeof(inflate_state) && state_at + r.state_size <= file_size;
    bool ascending = index->entries_.empty() || r.out_offset > index->entries_.back().out_offset;
    if (!fits || !ascending) break;  // the rest is damaged: use what came before
    index->entries_.push_back(
        Entry{r.out_offset, r.block, r.pos, r.avail_in, state_at, r.state_size, r.crc});
    at = state_at + r.state_size;
  }
  ::futimens(fd, nullptr);  // used now: evicted last
  return index;
}

InflateIndex::~InflateIndex() = default;

std::optional<InflateCheckpoint> InflateIndex::Load(size_t i) const {
  const Entry& e = entries_[i];
  InflateCheckpoint at;
  at.out_offset = e.out_offset;
  at.block = e.block;
  at.pos = e.pos;
  at.avail_in = e.avail_in;
  at.state.resize(e.state_size);
  if (!PreadAll(fd_.get(), at.state.data(), e.state_size, e.state_at)) return std::nullopt;
  RecordHeader r{};
  r.out_offset = e.out_offset;
  r.block = e.block;
  r.pos = e.pos;
  r.avail_in = e.avail_in;
  r.state_size = e.state_size;
  if (RecordCrc(r, at.state.data(), at.state.size()) != e.crc) return std::nullopt;
  return at;
}

void InflateIndex::Discard() const { ::unlink(path_.c_str()); }

}  // namespace ppa::internal
