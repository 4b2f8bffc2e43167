// Layer compression codecs on the hot path: ISA-L (igzip) gzip deflate and
// inflate, zstd compression. zlib stays off the hot path.
//
// Output is deterministic: a gzip stream written here is a fixed 10-byte
// header (no name, mtime 0, OS 3), ISA-L deflate at a fixed level in fixed
// blocks, and the standard trailer; the same input and level always give the
// same bytes, on any machine with the same ISA-L version, however many
// threads deflate it. zstd uses a fixed level with no
// checksum and no dictionary, single-threaded.
//
// Thread-safety: each object is one stream and is not thread-safe; distinct
// objects may be used on different threads concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

// Receives compressed or decompressed bytes; returns an error to abort.
using ByteConsumer = std::function<Status(const char* data, size_t size)>;

// Maps a gzip level 1..9 (zlib's scale, what --compression-level means) onto
// ISA-L's 0..3: 1-2 -> 0, 3-5 -> 1, 6-8 -> 2, 9 -> 3. Out-of-range values clamp.
int IsalLevelFor(int gzip_level);

// A streaming layer compressor: Write the input in any pieces, then Finish.
class StreamCompressor {
 public:
  virtual ~StreamCompressor() = default;
  virtual Status Write(const char* data, size_t size) = 0;
  // Write(block) that may take the bytes of `block` instead of copying them;
  // `block` is left empty (with some buffer to reuse).
  virtual Status WriteBlock(std::string& block) {
    Status s = Write(block.data(), block.size());
    block.clear();
    return s;
  }
  virtual Status Finish() = 0;
};

// Runs a task (on some thread) that must not wait for anything.
using TaskRunner = std::function<void(std::function<void()> task)>;

// gzip via ISA-L at ISA-L level `isal_level` (0..3), output to `out`. The
// input is deflated in fixed 1 MiB blocks, each on its own (primed with the
// 32 KiB before it), so with a `runner` up to four blocks of the stream are
// deflated at once on its threads; the bytes are the same either way.
std::unique_ptr<StreamCompressor> NewIsalGzipCompressor(int isal_level, ByteConsumer out,
                                                        TaskRunner runner = nullptr);

// One block of such a stream, into the first bytes of `out` (returns how
// many; `out` grows as needed and is never shrunk, so a reused buffer is not
// cleared again): `block` deflated (raw, no header) at ISA-L level
// `isal_level`, primed with `dict` (the bytes before it; the last 32 KiB
// count), ending byte-aligned with a sync flush so the next block's output
// follows it, or with the final deflate block when `last`.
Result<size_t> DeflateBlock(int isal_level, std::string_view dict, std::string_view block,
                            bool last, std::vector<char>& out);
// zstd at `level` (1..19), no checksum, output to `out`.
std::unique_ptr<StreamCompressor> NewZstdCompressor(int level, ByteConsumer out);

// A streaming gzip decompressor (ISA-L) that accepts concatenated members and
// checks every member's CRC and length. Feed the compressed bytes in any
// pieces; the decompressed bytes go to `out`; Finish fails on a truncated
// stream. kInvalidInput for corrupt data.
class IsalGunzip {
 public:
  explicit IsalGunzip(ByteConsumer out);
  ~IsalGunzip();
  IsalGunzip(const IsalGunzip&) = delete;
  IsalGunzip& operator=(const IsalGunzip&) = delete;

  Status Feed(const char* data, size_t size);
  Status Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ppa
