// Internal: inflating a gzip file with ISA-L in 1 MiB blocks, and the
// checkpoints that let a later read of the same file start inflating in the
// middle of it (archive/inflate/parallel_inflate.h). Include from .cc files only.
#pragma once

#include <isa-l/igzip_lib.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/mutex.h"
#include "base/thread_pool.h"

namespace ppa::internal {

// The unit of reading and inflating: the input is read in blocks of this size
// (block n starts at byte n * kInflateBlock), output comes in chunks of at
// most this size.
inline constexpr size_t kInflateBlock = 1 << 20;

struct Chunk {
  std::vector<uint8_t> data = std::vector<uint8_t>(kInflateBlock);
  ssize_t size = 0;  // 0: end of stream; -1: error
  std::string error;
};

// A few fixed blocks passed from a producer (a loop of the run's pool,
// ThreadPool::Start), which fills them with `fill` (setting size: > 0 bytes,
// 0 at the end, -1 with error), to one consumer thread (Next), so the two
// run on two cores with bounded memory
// (kPipeChunks x kInflateBlock). The producer stops after the end or an
// error, which Next then returns again and again.
class ChunkPipe {
 public:
  static constexpr int kPipeChunks = 4;

  explicit ChunkPipe(std::function<void(Chunk&)> fill);
  ~ChunkPipe();
  ChunkPipe(const ChunkPipe&) = delete;
  ChunkPipe& operator=(const ChunkPipe&) = delete;

  // The next block; valid until the next call.
  const Chunk& Next() EXCLUDES(mu_);

 private:
  void Produce() EXCLUDES(mu_);

  std::function<void(Chunk&)> fill_;
  Mutex mu_;
  CondVar changed_;  // a chunk was filled or freed, or the pipe stops
  std::deque<std::unique_ptr<Chunk>> free_ GUARDED_BY(mu_);
  std::deque<std::unique_ptr<Chunk>> full_ GUARDED_BY(mu_);
  std::unique_ptr<Chunk> current_ GUARDED_BY(mu_);  // the consumer's
  bool stopping_ GUARDED_BY(mu_) = false;
  ThreadPool::Loop producer_;  // last: uses the members above
};

// Fills `chunk` with input block `block` of `fd`: kInflateBlock bytes (fewer
// only for the file's last block), 0 past the end, -1 on a read error.
void ReadInputBlock(int fd, uint64_t block, Chunk& chunk);

// Where an inflater stands between two calls of Next: all it takes to go on
// from there, given the same file.
struct InflateCheckpoint {
  uint64_t out_offset = 0;  // inflated bytes before this point
  uint64_t block = 0;       // the input block being read
  uint32_t pos = 0;         // where ISA-L's next input byte lies in that block
  uint32_t avail_in = 0;    // bytes of that block ISA-L has not been given yet
  std::string state;        // ISA-L's inflate_state, canonical (see the .cc)
};

// Inflates a gzip file (possibly several members) with ISA-L, reading it in
// input blocks. Given the same file, the same sequence of Next calls makes
// the same calls into ISA-L with the same input and output sizes, from the
// start or resumed at a checkpoint: that is what makes a checkpoint
// comparable (IsAt). Used by one thread at a time.
class GzipFileInflater {
 public:
  // Reads the file from its start. A regular file is mapped into memory and
  // inflated from there, so no read copies its bytes; else (or when the
  // mapping fails) it is read in blocks: with `read_ahead` on a thread of
  // their own a few blocks ahead, else on the calling thread, as needed.
  GzipFileInflater(int fd, bool read_ahead);
  ~GzipFileInflater();
  GzipFileInflater(const GzipFileInflater&) = delete;
  GzipFileInflater& operator=(const GzipFileInflater&) = delete;

  // Goes on from `at`, a checkpoint of an earlier read of the same file,
  // reading on the calling thread. Null when `at` holds a state this build of
  // ISA-L never writes (a damaged index).
  static std::unique_ptr<GzipFileInflater> Resume(int fd, const InflateCheckpoint& at);
  // Whether Resume accepts `at`.
  static bool CanResume(const InflateCheckpoint& at);

  // Fills `out` (capacity `cap`) with the next inflated bytes; returns the
  // count, 0 at the clean end of the stream, -1 with `error` set.
  ssize_t Next(uint8_t* out, size_t cap, std::string* error);

  uint64_t out_offset() const { return out_offset_; }

  // This point as a checkpoint; none inside a gzip header or trailer or
  // between members.
  std::optional<InflateCheckpoint> Checkpoint() const;

  // Whether this inflater stands exactly where `at` was taken: same output
  // offset, input position and ISA-L state.
  bool IsAt(const InflateCheckpoint& at) const;

 private:
  GzipFileInflater(int fd, uint64_t first_block, bool read_ahead);
  void Reset();
  // The next input block; sets eof_ at the end; false on a read error.
  bool FetchInput(std::string* error);

  // The next input block from the mapping: kInflateBlock bytes, fewer at
  // the file's end, none past it.
  bool FetchMapped(std::string* error);

  int fd_;
  MappedFile map_;                    // the whole file, when it could be mapped
  std::unique_ptr<ChunkPipe> ahead_;  // else, with read_ahead
  Chunk direct_;                      // else, without: the block being read
  uint64_t next_block_;               // the next block to read
  const uint8_t* in_data_ = nullptr;  // the block ISA-L reads from
  ssize_t in_size_ = -1;              // its size (-1: none yet)
  std::optional<uint32_t> resume_pos_;  // Resume: where to start in the first block
  inflate_state state_{};
  uint64_t out_offset_ = 0;
  bool eof_ = false;
  bool member_done_ = false;
};

}  // namespace ppa::internal
