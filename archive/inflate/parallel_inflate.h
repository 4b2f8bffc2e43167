// Internal: inflating a gzip file on several cores from its inflate index
// (archive/inflate/inflate_index.h). Include from .cc files only.
//
// The index cuts the stream into segments at its checkpoints. Workers (loops
// of the run's pool, ThreadPool::Start) inflate the next few segments at once, each resumed at the checkpoint it
// starts from, and Next hands their output out in order. A segment's output
// is only handed out once the segment before it has ended exactly at the
// checkpoint it started from (same output offset, input position and ISA-L
// state, GzipFileInflater::IsAt): so, by induction from the start of the
// file, every byte handed out is the byte a plain sequential inflate gives,
// whatever the index holds. Where a checkpoint does not hold (the file
// changed, the index is damaged), the segment that missed it goes on to the
// end of the stream on its own, and the later segments are dropped.
//
// Memory: the workers run at most one segment per worker ahead of the one
// being read, each holding at most kAheadChunks chunks of output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "archive/inflate/gzip_file_inflater.h"
#include "archive/inflate/inflate_index.h"
#include "base/mutex.h"
#include "base/thread_pool.h"

namespace ppa::internal {

class ParallelInflate {
 public:
  static constexpr size_t kAheadChunks = 40;   // per segment not yet being read
  static constexpr size_t kCurrentChunks = 4;  // for the segment being read

  // `index` must hold at least one checkpoint; `workers` >= 1.
  ParallelInflate(int fd, std::unique_ptr<InflateIndex> index, unsigned workers);
  ~ParallelInflate();
  ParallelInflate(const ParallelInflate&) = delete;
  ParallelInflate& operator=(const ParallelInflate&) = delete;

  // The next inflated chunk (size 0 at the end, -1 with an error, both
  // returned again on later calls); valid until the next call.
  const Chunk& Next() EXCLUDES(mu_);

  // Segments that ended exactly at the checkpoint after them.
  size_t segments_verified() const EXCLUDES(mu_);
  // Whether a checkpoint did not hold (the index does not fit the file).
  bool missed_checkpoint() const EXCLUDES(mu_);
  const InflateIndex& index() const { return *index_; }

 private:
  struct Segment {
    std::deque<std::unique_ptr<Chunk>> ready;
    bool finished = false;  // no more chunks will come
    bool verified = false;  // ended at the next checkpoint
  };

  // Stops the workers and joins them.
  void Stop() EXCLUDES(mu_);
  void Work() EXCLUDES(mu_);
  void RunSegment(size_t i) EXCLUDES(mu_);
  std::unique_ptr<GzipFileInflater> StartOf(size_t i);
  // A free chunk for segment `i`, once its budget allows; null when the
  // segment is no longer wanted.
  std::unique_ptr<Chunk> TakeChunk(size_t i) EXCLUDES(mu_);
  void Put(size_t i, std::unique_ptr<Chunk> chunk) EXCLUDES(mu_);
  void Finish(size_t i, bool verified) EXCLUDES(mu_);
  // Segment `i` missed its checkpoint: it runs to the end, later ones are dropped.
  void Missed(size_t i) EXCLUDES(mu_);

  int fd_;
  std::unique_ptr<InflateIndex> index_;
  size_t count_;  // segments: checkpoints + 1
  size_t ahead_;  // segments started past the one being read

  mutable Mutex mu_;
  CondVar changed_;  // a chunk was made or freed, a segment ended, or stop
  std::vector<Segment> segments_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Chunk>> free_ GUARDED_BY(mu_);
  std::unique_ptr<Chunk> in_use_ GUARDED_BY(mu_);  // the reader's
  size_t next_start_ GUARDED_BY(mu_) = 0;
  size_t current_ GUARDED_BY(mu_) = 0;  // the segment being read
  size_t last_ GUARDED_BY(mu_);         // no segment after it is wanted
  size_t verified_ GUARDED_BY(mu_) = 0;
  bool missed_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<ThreadPool::Loop> workers_;  // last: they use the members above
};

}  // namespace ppa::internal
