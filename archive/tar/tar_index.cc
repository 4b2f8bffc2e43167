#include "archive/tar/tar_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/file_util.h"

#include "archive/tar/safe_path.h"

namespace ppa {
namespace {

constexpr uint64_t kBlock = 512;
constexpr uint64_t kMaxMetaSize = 1 << 20;  // long names and pax headers
// What one index may hold: real image tarballs have tens to a few thousand
// entries with short names (blobs/sha256/<hex>, <id>/layer.tar); the map
// costs about 100 bytes an entry plus its name.
constexpr size_t kMaxIndexEntries = 100'000;
constexpr uint64_t kMaxIndexNameBytes = 16ull << 20;

// Octal, or base-256 when the high bit of the first byte is set.
bool ParseNumber(std::string_view field, uint64_t& out) {
  out = 0;
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    for (size_t i = 1; i < field.size(); ++i) {
      if (out >> 56) return false;
      out = (out << 8) | static_cast<unsigned char>(field[i]);
    }
    return true;
  }
  size_t i = 0;
  while (i < field.size() && field[i] == ' ') ++i;
  for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (out >> 60) return false;
    out = out * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return true;
}

std::string_view CString(const char* p, size_t max) {
  return std::string_view(p, strnlen(p, max));
}

bool ChecksumOk(const unsigned char* h) {
  uint64_t stored = 0;
  if (!ParseNumber(std::string_view(reinterpret_cast<const char*>(h) + 148, 8), stored)) {
    return false;
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum == stored;
}

bool AllZero(const unsigned char* h) {
  for (size_t i = 0; i < kBlock; ++i) {
    if (h[i]) return false;
  }
  return true;
}

// pax records: "<len> key=value\n"...
void ParsePax(std::string_view data, std::string& path, std::string& linkpath,
              std::optional<uint64_t>& size) {
  while (!data.empty()) {
    size_t space = data.find(' ');
    if (space == std::string_view::npos) return;
    uint64_t len = 0;
    for (char c : data.substr(0, space)) {
      if (c < '0' || c > '9') return;
      len = len * 10 + static_cast<uint64_t>(c - '0');
    }
    if (len <= space + 1 || len > data.size()) return;
    std::string_view record = data.substr(space + 1, len - space - 2);  // drop '\n'
    size_t eq = record.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = record.substr(0, eq), value = record.substr(eq + 1);
      if (key == "path") path = value;
      if (key == "linkpath") linkpath = value;
      if (key == "size") {
        uint64_t v = 0;
        bool digits = !value.empty() && value.size() < 20;
        for (char c : value) {
          if (c < '0' || c > '9') digits = false;
          v = v * 10 + static_cast<uint64_t>(c - '0');
        }
        if (digits) size = v;
      }
    }
    data.remove_prefix(len);
  }
}

TarEntry::Type TypeOf(char flag) {
  switch (flag) {
    case '0': case '\0': case '7': return TarEntry::Type::kFile;
    case '1': return TarEntry::Type::kHardlink;
    case '2': return TarEntry::Type::kSymlink;
    case '5': return TarEntry::Type::kDirectory;
    default: return TarEntry::Type::kOther;
  }
}

}  // namespace

template <typename ReadFn>
Result<TarIndex> TarIndex::ParseWith(uint64_t file_size, ReadFn read) {
  TarIndex index;
  uint64_t name_bytes = 0;
  std::string long_name, long_link, pax_path, pax_link;
  std::optional<uint64_t> pax_size;
  unsigned char h[kBlock];
  uint64_t pos = 0;
  while (pos + kBlock <= file_size) {
    PPA_RETURN_IF_ERROR(read(pos, kBlock, reinterpret_cast<char*>(h)));
    if (AllZero(h)) break;  // end-of-archive marker
    if (!ChecksumOk(h)) {
      return InvalidInput("not a tar file (bad header checksum at offset " +
                          std::to_string(pos) + ")");
    }
    const char* c = reinterpret_cast<const char*>(h);
    uint64_t size = 0;
    if (!ParseNumber(std::string_view(c + 124, 12), size)) {
      return InvalidInput("bad size field at offset " + std::to_string(pos));
    }
    char flag = c[156];
    if (pax_size && (flag != 'x' && flag != 'g')) size = *pax_size;
    uint64_t data = pos + kBlock;
    uint64_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (size > file_size - data) {  // not data + size: a base-256 size can wrap it
      return InvalidInput("tar file is truncated (entry at offset " + std::to_string(pos) + ")");
    }
    pos = data + padded;

    if (flag == 'L' || flag == 'K' || flag == 'x') {
      if (size > kMaxMetaSize) return InvalidInput("tar meta header too large");
      std::string meta(size, '\0');
      PPA_RETURN_IF_ERROR(read(data, size, meta.data()));
      if (flag == 'L') long_name = CString(meta.data(), meta.size());
      if (flag == 'K') long_link = CString(meta.data(), meta.size());
      if (flag == 'x') ParsePax(meta, pax_path, pax_link, pax_size);
      continue;
    }
    if (flag == 'g') continue;  // global pax header: nothing we use

    std::string name;
    if (!pax_path.empty()) {
      name = pax_path;
    } else if (!long_name.empty()) {
      name = long_name;
    } else {
      name = std::string(CString(c, 100));
      std::string_view magic(c + 257, 5);
      std::string_view prefix = CString(c + 345, 155);
      if (magic == "ustar" && !prefix.empty()) name = std::string(prefix) + "/" + name;
    }
    std::string link = !pax_link.empty() ? pax_link
                       : !long_link.empty() ? long_link
                                            : std::string(CString(c + 157, 100));
    long_name.clear(), long_link.clear(), pax_path.clear(), pax_link.clear();
    pax_size.reset();

    PPA_ASSIGN_OR_RETURN(std::string clean, SanitizeEntryPath(name));
    if (clean.empty()) continue;
    TarEntry entry;
    entry.type = TypeOf(flag);
    entry.offset = data;
    entry.size = entry.type == TarEntry::Type::kFile ? size : 0;
    entry.link_target = link;
    name_bytes += clean.size() + entry.link_target.size();
    if (index.entries_.size() >= kMaxIndexEntries || name_bytes > kMaxIndexNameBytes) {
      return InvalidInput("tar file has more than " + std::to_string(kMaxIndexEntries) +
                          " entries or " + std::to_string(kMaxIndexNameBytes) +
                          " bytes of names (no image tarball has)");
    }
    index.entries_[clean] = std::move(entry);  // a later entry replaces an earlier one, as tar -x
  }
  return index;
}

Result<TarIndex> TarIndex::Parse(std::string_view data) {
  return ParseWith(data.size(), [&](uint64_t off, uint64_t n, char* out) -> Status {
    std::memcpy(out, data.data() + off, n);
    return Status::Ok();
  });
}

Result<TarIndex> TarIndex::Build(const std::string& path) {
  PPA_ASSIGN_OR_RETURN(UniqueFd file, OpenForRead(path));
  int fd = file.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("cannot stat", path, errno);
  return ParseWith(static_cast<uint64_t>(st.st_size),
                          [&](uint64_t off, uint64_t n, char* out) -> Status {
                            long got = PreadFull(fd, out, n, off);
                            if (got != static_cast<long>(n)) {
                              return got < 0 ? ErrnoError("cannot read", path, errno)
                                             : InvalidInput("'" + path + "' is truncated");
                            }
                            return Status::Ok();
                          });
}

Result<TarEntry> TarIndex::Find(std::string_view name) const {
  std::string current(name);
  for (int hop = 0; hop < 16; ++hop) {
    auto it = entries_.find(current);
    if (it == entries_.end()) return NotFound("no entry '" + current + "' in the tarball");
    const TarEntry& e = it->second;
    switch (e.type) {
      case TarEntry::Type::kFile:
        return e;
      case TarEntry::Type::kSymlink: {
        auto next = ResolveLinkTarget(current, e.link_target);
        if (!next.ok()) return NotFound(next.status().message());
        current = *next;
        break;
      }
      case TarEntry::Type::kHardlink: {
        auto next = SanitizeEntryPath(e.link_target);
        if (!next.ok()) return NotFound(next.status().message());
        current = *next;
        break;
      }
      default:
        return NotFound("entry '" + current + "' is not a regular file");
    }
  }
  return NotFound("too many links resolving '" + std::string(name) + "'");
}

bool TarStreamScanner::Feed(std::string_view bytes) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::kDone: return true;
      case State::kFailed: return false;
      case State::kHeader: {
        size_t take = std::min<size_t>(kBlock - header_.size(), bytes.size());
        header_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        pos_ += take;
        if (header_.size() == kBlock) OnHeader();
        break;
      }
      case State::kData:
      case State::kMeta:
      case State::kSkip: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(left_, bytes.size()));
        if (state_ == State::kData) visitor_.FileData(bytes.substr(0, take));
        if (state_ == State::kMeta) meta_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        pos_ += take;
        left_ -= take;
        if (left_ > 0) break;
        if (state_ == State::kData) visitor_.EndFile();
        if (state_ == State::kMeta) {
          if (meta_flag_ == 'L') {
            long_name_ = CString(meta_.data(), meta_.size());
          } else {
            std::string link;
            ParsePax(meta_, pax_path_, link, pax_size_);
          }
          meta_.clear();
        }
        left_ = state_ == State::kSkip ? 0 : padding_;
        state_ = left_ > 0 ? State::kSkip : State::kHeader;
        break;
      }
    }
  }
  return state_ != State::kFailed;
}

// A whole header block is in header_: decides what the bytes after it are.
void TarStreamScanner::OnHeader() {
  const auto* h = reinterpret_cast<const unsigned char*>(header_.data());
  const char* c = header_.data();
  uint64_t size = 0;
  if (AllZero(h)) {
    state_ = State::kDone;
  } else if (!ChecksumOk(h) || !ParseNumber(std::string_view(c + 124, 12), size)) {
    state_ = State::kFailed;
  } else {
    char flag = c[156];
    bool meta = flag == 'L' || flag == 'K' || flag == 'x' || flag == 'g';
    if (pax_size_ && flag != 'x' && flag != 'g') size = *pax_size_;
    std::string name = !pax_path_.empty() ? pax_path_ : long_name_;
    if (name.empty()) {
      name = CString(c, 100);
      std::string_view prefix = CString(c + 345, 155);
      if (std::string_view(c + 257, 5) == "ustar" && !prefix.empty()) {
        name = std::string(prefix) + "/" + name;
      }
    }
    if (!meta) pax_size_.reset(), long_name_.clear(), pax_path_.clear();
    padding_ = (kBlock - size % kBlock) % kBlock;
    left_ = size;
    if ((flag == 'x' || flag == 'L') && size > kMaxMetaSize) {
      state_ = State::kFailed;  // TarIndex refuses the file too
    } else if (flag == 'x' || flag == 'L') {
      meta_flag_ = flag;
      state_ = State::kMeta;
    } else if (TypeOf(flag) == TarEntry::Type::kFile) {
      visitor_.BeginFile(name, pos_, size);
      state_ = State::kData;
    } else {
      left_ += padding_;
      padding_ = 0;
      state_ = State::kSkip;
    }
    // An empty entry: nothing to wait for.
    if (left_ == 0 && state_ != State::kSkip) {
      if (state_ == State::kData) visitor_.EndFile();
      state_ = State::kHeader;
    } else if (left_ == 0) {
      state_ = State::kHeader;
    }
  }
  header_.clear();
}

Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t size) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(path));
  std::string out(size, '\0');
  long got = PreadFull(fd.get(), out.data(), size, offset);
  if (got != static_cast<long>(size)) {
    return got < 0 ? ErrnoError("cannot read", path, errno)
                   : InvalidInput("'" + path + "' is truncated");
  }
  return out;
}

Result<std::string> ReadSmallFile(const std::string& path, uint64_t max_size) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (static_cast<uint64_t>(st.st_size) > max_size) {
    return InvalidInput("'" + path + "' is larger than " + std::to_string(max_size) + " bytes");
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  long got = PreadFull(fd.get(), out.data(), out.size(), 0);
  if (got < 0) return ErrnoError("cannot read", path, errno);
  out.resize(static_cast<size_t>(got));
  return out;
}

}  // namespace ppa
