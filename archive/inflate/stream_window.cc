#include "archive/inflate/stream_window.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace ppa {
namespace {

constexpr unsigned char kXzMagic[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr unsigned char kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr size_t kXzStreamHeader = 12;
constexpr size_t kXzStreamFooter = 12;
constexpr uint64_t kXzFilterLzma1 = 0x4000000000000001ULL;
constexpr uint64_t kXzFilterLzma2 = 0x21;
// An index larger than this would describe hundreds of thousands of blocks.
constexpr uint64_t kMaxXzIndexBytes = uint64_t{8} << 20;

uint32_t Le32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

uint64_t Le64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

bool StartsWith(std::string_view s, const unsigned char* magic, size_t n) {
  return s.size() >= n && std::memcmp(s.data(), magic, n) == 0;
}

// An xz variable-length integer (xz spec 1.2): at most 9 bytes, 7 bits
// each, no redundant trailing zero byte.
bool ReadVli(std::string_view s, size_t& at, uint64_t& out) {
  out = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= s.size()) return false;
    unsigned char b = static_cast<unsigned char>(s[at++]);
    out |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) return !(b == 0 && i > 0);
  }
  return false;
}

// The LZMA2 dictionary-size byte (xz spec 5.3.1): 2 or 3 times 2^(n/2+11).
Result<uint64_t> Lzma2Dictionary(unsigned char bits) {
  if (bits > 40) return InvalidInput("xz block header: LZMA2 dictionary size is invalid");
  if (bits == 40) return uint64_t{0xffffffff};
  return static_cast<uint64_t>(2 | (bits & 1)) << (bits / 2 + 11);
}

// The .lzma header libarchive's bidder accepts (archive_read_support_filter_xz.c
// lzma_bidder_bid): a properties byte, then a dictionary size it knows.
bool LooksLikeLzma(std::string_view s) {
  if (s.size() < 13) return false;
  unsigned char props = static_cast<unsigned char>(s[0]);
  if (props > (4 * 5 + 4) * 9 + 8) return false;
  uint32_t dict = Le32(s, 1);
  bool power = dict >= (1u << 12) && dict <= (1u << 27) && (dict & (dict - 1)) == 0;
  bool xz_reduced = (props == 0x5d || props == 0x5e) && Le64(s, 5) == ~uint64_t{0} &&
                    dict >= 0x00300000 && dict <= 0x03f00000 && (dict & 0xfffff) == 0;
  return power || xz_reduced;
}

// The window of the first zstd frame (RFC 8878 3.1.1.1), skippable frames
// (3.1.2) skipped.
Result<DecoderWindow> ZstdWindow(std::string_view s) {
  size_t at = 0;
  while (true) {
    if (s.size() - at < 4) return InvalidInput("zstd frame header is truncated");
    uint32_t magic = Le32(s, at);
    if ((magic & 0xfffffff0u) == 0x184d2a50u) {  // skippable frame
      if (s.size() - at < 8) return InvalidInput("zstd skippable frame is truncated");
      uint64_t skip = 8 + uint64_t{Le32(s, at + 4)};
      if (skip > s.size() - at) return DecoderWindow{StreamKind::kZstd, 0};  // beyond the head
      at += skip;
      continue;
    }
    if (magic != 0xfd2fb528u) return InvalidInput("zstd frame has a bad magic number");
    break;
  }
  at += 4;
  if (at >= s.size()) return InvalidInput("zstd frame header is truncated");
  unsigned char fhd = static_cast<unsigned char>(s[at++]);
  if (fhd & 0x08) return InvalidInput("zstd frame header: reserved bit is set");
  unsigned fcs_flag = fhd >> 6;
  bool single_segment = fhd & 0x20;
  static constexpr size_t kDictIdBytes[] = {0, 1, 2, 4};
  static constexpr size_t kFcsBytes[] = {0, 2, 4, 8};
  size_t fcs_bytes = fcs_flag == 0 && single_segment ? 1 : kFcsBytes[fcs_flag];
  size_t need = (single_segment ? 0 : 1) + kDictIdBytes[fhd & 3] + fcs_bytes;
  if (s.size() - at < need) return InvalidInput("zstd frame header is truncated");
  if (!single_segment) {
    unsigned char wd = static_cast<unsigned char>(s[at]);
    unsigned log = 10 + (wd >> 3);
    uint64_t base = uint64_t{1} << log;
    return DecoderWindow{StreamKind::kZstd, base + (base / 8) * (wd & 7)};
  }
  at += kDictIdBytes[fhd & 3];
  uint64_t fcs = 0;
  for (size_t i = fcs_bytes; i-- > 0;) fcs = (fcs << 8) | static_cast<unsigned char>(s[at + i]);
  if (fcs_bytes == 2) fcs += 256;
  return DecoderWindow{StreamKind::kZstd, fcs};
}

std::string MiB(uint64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20); }

Status ErrnoRead(const std::string& path, int err) {
  return ErrnoError("cannot read", path, err);
}

// Reads exactly `n` bytes at `offset`; false at end of file.
Result<bool> PreadExact(int fd, char* buf, size_t n, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoRead(path, errno);
    if (got == 0) return false;
    done += static_cast<size_t>(got);
  }
  return true;
}

Status TooLarge(const std::string& path, StreamKind kind, uint64_t window) {
  const char* what = kind == StreamKind::kZstd ? "window" : "dictionary";
  return UnsafeArchive(
      "'" + path + "': its " + StreamKindName(kind) + " " + what + " of " + MiB(window) +
          " MiB is above the " + MiB(kMaxDecoderWindow) + " MiB this tool allows (a memory bomb?)",
      std::string("recompress it with default settings (e.g. `") +
          (kind == StreamKind::kZstd ? "zstd -19" : "xz -9") +
          "`); decoding it would need " + MiB(window) + " MiB of memory");
}

}  // namespace

const char* StreamKindName(StreamKind kind) {
  switch (kind) {
    case StreamKind::kXz: return "xz";
    case StreamKind::kLzma: return "lzma";
    case StreamKind::kLzip: return "lzip";
    case StreamKind::kZstd: return "zstd";
    case StreamKind::kOther: break;
  }
  return "uncompressed";
}

Result<uint64_t> XzBlockDictionary(std::string_view s) {
  if (s.empty()) return InvalidInput("xz block header is truncated");
  unsigned char size_byte = static_cast<unsigned char>(s[0]);
  if (size_byte == 0) return uint64_t{0};  // index indicator: a stream with no block
  size_t header_size = (size_t{size_byte} + 1) * 4;
  if (s.size() < header_size) return InvalidInput("xz block header is truncated");
  std::string_view h = s.substr(0, header_size - 4);  // without its CRC32
  unsigned char flags = static_cast<unsigned char>(h[1]);
  if (flags & 0x3c) return InvalidInput("xz block header: reserved flags are set");
  size_t at = 2;
  uint64_t ignored = 0;
  if ((flags & 0x40) && !ReadVli(h, at, ignored)) return InvalidInput("xz block header is malformed");
  if ((flags & 0x80) && !ReadVli(h, at, ignored)) return InvalidInput("xz block header is malformed");
  uint64_t dictionary = 0;
  for (unsigned i = 0; i <= (flags & 3u); ++i) {
    uint64_t id = 0, props_size = 0;
    if (!ReadVli(h, at, id) || !ReadVli(h, at, props_size) || props_size > h.size() - at) {
      return InvalidInput("xz block header: its filter flags are malformed");
    }
    std::string_view props = h.substr(at, props_size);
    at += props_size;
    if (id == kXzFilterLzma2) {
      if (props.size() != 1) return InvalidInput("xz block header: LZMA2 properties are malformed");
      PPA_ASSIGN_OR_RETURN(uint64_t dict, Lzma2Dictionary(static_cast<unsigned char>(props[0])));
      dictionary = std::max(dictionary, dict);
    } else if (id == kXzFilterLzma1) {
      if (props.size() != 5) return InvalidInput("xz block header: LZMA properties are malformed");
      dictionary = std::max<uint64_t>(dictionary, Le32(props, 1));
    }
  }
  return dictionary;
}

Result<DecoderWindow> DecoderWindowOf(std::string_view head) {
  if (StartsWith(head, kXzMagic, sizeof kXzMagic)) {
    if (head.size() < kXzStreamHeader + 1) return InvalidInput("xz stream header is truncated");
    PPA_ASSIGN_OR_RETURN(uint64_t dict, XzBlockDictionary(head.substr(kXzStreamHeader)));
    return DecoderWindow{StreamKind::kXz, dict};
  }
  if (StartsWith(head, kZstdMagic, sizeof kZstdMagic) ||
      (head.size() >= 4 && (Le32(head, 0) & 0xfffffff0u) == 0x184d2a50u)) {
    return ZstdWindow(head);
  }
  if (head.size() >= 6 && head.substr(0, 4) == "LZIP") {
    unsigned char b = static_cast<unsigned char>(head[5]);
    unsigned log = b & 0x1f;
    if (log < 12 || log > 29) return InvalidInput("lzip header: dictionary size is invalid");
    uint64_t dict = uint64_t{1} << log;
    if (log > 12) dict -= (dict / 16) * (b >> 5);
    return DecoderWindow{StreamKind::kLzip, dict};
  }
  if (LooksLikeLzma(head)) return DecoderWindow{StreamKind::kLzma, Le32(head, 1)};
  return DecoderWindow{};
}

Status CheckDecoderWindow(const std::string& path, std::string_view head) {
  Result<DecoderWindow> window = DecoderWindowOf(head);
  if (!window.ok()) return window.status().WithContext("'" + path + "'");
  if (window->bytes > kMaxDecoderWindow) return TooLarge(path, window->kind, window->bytes);
  return Status::Ok();
}

Status CheckXzFile(const std::string& path, int fd, uint64_t size) {
  char magic[sizeof kXzMagic] = {};
  PPA_ASSIGN_OR_RETURN(bool whole, PreadExact(fd, magic, sizeof magic, 0, path));
  if (!whole || std::memcmp(magic, kXzMagic, sizeof magic) != 0) return Status::Ok();
  auto malformed = [&](const std::string& why) {
    return InvalidInput("'" + path + "' is not a well-formed xz file: " + why);
  };
  uint64_t end = size;
  while (end > 0) {
    char footer[kXzStreamFooter];
    if (end < kXzStreamHeader + kXzStreamFooter) return malformed("it is truncated");
    PPA_ASSIGN_OR_RETURN(whole, PreadExact(fd, footer, 4, end - 4, path));
    if (!whole) return malformed("it is truncated");
    if (Le32(std::string_view(footer, 4), 0) == 0) {  // stream padding
      end -= 4;
      continue;
    }
    PPA_ASSIGN_OR_RETURN(whole, PreadExact(fd, footer, sizeof footer, end - sizeof footer, path));
    std::string_view f(footer, sizeof footer);
    if (!whole || f.substr(10, 2) != "YZ") return malformed("its stream footer is missing");
    uint64_t index_size = (uint64_t{Le32(f, 4)} + 1) * 4;
    if (index_size > kMaxXzIndexBytes) return malformed("its index is too large");
    if (index_size > end - kXzStreamFooter - kXzStreamHeader) return malformed("its index is truncated");
    uint64_t index_at = end - kXzStreamFooter - index_size;
    std::string index(index_size, '\0');
    PPA_ASSIGN_OR_RETURN(whole, PreadExact(fd, index.data(), index.size(), index_at, path));
    size_t at = 1;
    uint64_t records = 0;
    if (!whole || index[0] != 0 || !ReadVli(index, at, records) || records > index_size / 2) {
      return malformed("its index is malformed");
    }
    std::vector<uint64_t> blocks;  // padded sizes, in order
    uint64_t total = 0;
    for (uint64_t i = 0; i < records; ++i) {
      uint64_t unpadded = 0, uncompressed = 0;
      if (!ReadVli(index, at, unpadded) || !ReadVli(index, at, uncompressed) || unpadded < 5) {
        return malformed("its index is malformed");
      }
      uint64_t padded = (unpadded + 3) & ~uint64_t{3};
      if (padded > index_at || total > index_at - padded) return malformed("its index is malformed");
      blocks.push_back(padded);
      total += padded;
    }
    if (index_at - total < kXzStreamHeader) return malformed("its index is malformed");
    uint64_t stream_at = index_at - total - kXzStreamHeader;
    PPA_ASSIGN_OR_RETURN(whole, PreadExact(fd, magic, sizeof magic, stream_at, path));
    if (!whole || std::memcmp(magic, kXzMagic, sizeof magic) != 0) {
      return malformed("a stream header is not where its index says");
    }
    uint64_t block_at = stream_at + kXzStreamHeader;
    for (uint64_t padded : blocks) {
      char header[1024];
      PPA_ASSIGN_OR_RETURN(whole, PreadExact(fd, header, 1, block_at, path));
      size_t header_size = (static_cast<unsigned char>(header[0]) + size_t{1}) * 4;
      if (!whole || header[0] == 0 || header_size > padded) return malformed("a block header is malformed");
      PPA_ASSIGN_OR_RETURN(whole, PreadExact(fd, header, header_size, block_at, path));
      if (!whole) return malformed("it is truncated");
      Result<uint64_t> dict = XzBlockDictionary(std::string_view(header, header_size));
      if (!dict.ok()) return dict.status().WithContext("'" + path + "'");
      if (*dict > kMaxDecoderWindow) return TooLarge(path, StreamKind::kXz, *dict);
      block_at += padded;
    }
    end = stream_at;
  }
  return Status::Ok();
}

}  // namespace ppa
