// How much memory a compressed stream's decoder will need, read from the
// stream's own headers before any of it is decoded.
//
// An LZ decoder keeps a window (xz/lzma: the dictionary) of the most recent
// output, and that window becomes resident as the output grows. The stream
// chooses its size: a 45 KB `.tar.xz` made with `xz --lzma2=dict=1GiB` over
// 900 MiB of zeros makes libarchive's xz reader (which lets liblzma use
// 1 GiB, a constant it offers no option for) hold 1 GiB. Streams are
// therefore checked here before libarchive opens them, and refused above
// kMaxDecoderWindow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// The largest decoder window accepted: 64 MiB.
//  - xz: `xz -9` (and -7/-8 with -e) uses a 64 MiB dictionary, the largest
//    of any preset; xz -6, the default, uses 8 MiB. Only hand-tuned
//    `--lzma2=dict=` goes above.
//  - zstd: levels 1-19 use windows of at most 8 MiB, `--ultra -20/-21` 32
//    and 64 MiB; `--ultra -22` and `--long` use 128 MiB (windowLog 27) and
//    are refused.
// 64 MiB keeps one decoder's window at a quarter of the 256 MiB this tool
// promises to stay under, leaving room for the unpacking pipeline and a
// second decoder (an image file decompressed while its archive is still
// open), and still reads everything the stock presets make.
//  - bzip2 needs at most ~3.6 MiB (900 KB blocks) and gzip 32 KiB: never
//    checked.
inline constexpr uint64_t kMaxDecoderWindow = uint64_t{64} << 20;
inline constexpr int kMaxDecoderWindowLog = 26;  // log2(kMaxDecoderWindow)
static_assert(uint64_t{1} << kMaxDecoderWindowLog == kMaxDecoderWindow);

// How many leading bytes DecoderWindowOf wants: enough for any xz stream
// and block header (at most 12 + 1024 bytes) or zstd frame header (18).
inline constexpr size_t kStreamHeadBytes = 64 * 1024;

enum class StreamKind { kOther, kXz, kLzma, kLzip, kZstd };
const char* StreamKindName(StreamKind kind);  // "xz", "lzma", "lzip", "zstd"

struct DecoderWindow {
  StreamKind kind = StreamKind::kOther;
  uint64_t bytes = 0;  // 0 for kOther, and for an xz stream with no block
};

// Pure: the decoder window the stream starting with `head` needs, from its
// first header (xz: the LZMA2 dictionary of its first block; lzma/lzip: the
// dictionary; zstd: the window of its first frame, skippable frames
// skipped). kOther for anything else. InvalidInput for a recognised magic
// whose headers are truncated within `head` or malformed.
Result<DecoderWindow> DecoderWindowOf(std::string_view head);

// Pure: the LZMA2 dictionary of one xz block header (`header` starts at
// the header's size byte; 0 when it is an index indicator, not a block).
Result<uint64_t> XzBlockDictionary(std::string_view header);

// OK, or kUnsafeArchive naming `path` for a window above kMaxDecoderWindow,
// with a hint to recompress with default settings. Errors of
// DecoderWindowOf keep their code, with `path` as context.
Status CheckDecoderWindow(const std::string& path, std::string_view head);

// For an xz file open as `fd` (size `size`): every block of every
// concatenated stream, found through the streams' indexes from the end of
// the file, checked like the first (a small first block can precede a
// 1 GiB one). Not xz: OK. A file whose index cannot be walked is
// InvalidInput (liblzma would reject it too, but only once it reached the
// end).
Status CheckXzFile(const std::string& path, int fd, uint64_t size);

}  // namespace ppa
