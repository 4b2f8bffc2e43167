#include "archive/inflate/parallel_inflate.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace ppa::internal {

ParallelInflate::ParallelInflate(int fd, std::unique_ptr<InflateIndex> index, unsigned workers)
    : fd_(fd),
      index_(std::move(index)),
      count_(index_->size() + 1),
      ahead_(std::max(1u, workers) - 1),
      segments_(count_),
      last_(count_ - 1) {
  ThreadPool& pool = ThreadPool::Here();
  try {
    for (unsigned w = 0; w < std::max(1u, workers); ++w) {
      workers_.push_back(pool.Start([this] { Work(); }));
    }
  } catch (...) {  // no thread for one: stop those started
    Stop();
    throw;
  }
}

ParallelInflate::~ParallelInflate() { Stop(); }

void ParallelInflate::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    changed_.SignalAll();
  }
  for (ThreadPool::Loop& worker : workers_) worker.Join();
}

const Chunk& ParallelInflate::Next() {
  MutexLock lock(&mu_);
  if (in_use_) {
    if (in_use_->size <= 0) return *in_use_;  // the end or an error, again
    free_.push_back(std::move(in_use_));
    changed_.SignalAll();
  }
  while (true) {
    Segment& s = segments_[current_];
    while (s.ready.empty() && !s.finished) changed_.Wait(&mu_);
    if (!s.ready.empty()) {
      in_use_ = std::move(s.ready.front());
      s.ready.pop_front();
      changed_.SignalAll();
      return *in_use_;
    }
    if (s.verified && current_ < last_) {  // the next segment's start is proven
      ++current_;
      changed_.SignalAll();
      continue;
    }
    in_use_ = std::make_unique<Chunk>();  // not reached: a segment that is read ends verified or with a final chunk
    in_use_->size = -1;
    in_use_->error = "internal error: a segment of the inflate index ended early";
    return *in_use_;
  }
}

size_t ParallelInflate::segments_verified() const {
  MutexLock lock(&mu_);
  return verified_;
}

bool ParallelInflate::missed_checkpoint() const {
  MutexLock lock(&mu_);
  return missed_;
}

void ParallelInflate::Work() {
  while (true) {
    size_t i;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && next_start_ <= last_ && next_start_ > current_ + ahead_) {
        changed_.Wait(&mu_);
      }
      if (stopping_ || next_start_ > last_) return;
      i = next_start_++;
    }
    RunSegment(i);
  }
}

std::unique_ptr<GzipFileInflater> ParallelInflate::StartOf(size_t i) {
  if (i == 0) return std::make_unique<GzipFileInflater>(fd_, /*read_ahead=*/false);
  std::optional<InflateCheckpoint> at = index_->Load(i - 1);
  return at ? GzipFileInflater::Resume(fd_, *at) : nullptr;
}

void ParallelInflate::RunSegment(size_t i) {
  bool tail = i + 1 == count_;  // runs to the end of the stream
  std::optional<InflateCheckpoint> end;
  if (!tail) {
    end = index_->Load(i);
    // Damaged (or a state the next segment could not resume from): this
    // segment cannot prove the next one's start, so it goes on itself.
    if (!end || !GzipFileInflater::CanResume(*end)) {
      Missed(i);
      tail = true;
    }
  }
  std::unique_ptr<GzipFileInflater> inflater = StartOf(i);
  if (!inflater) {  // the segment before refuses the same checkpoint, so this one is never read
    Finish(i, false);
    return;
  }
  while (true) {
    std::unique_ptr<Chunk> chunk = TakeChunk(i);
    if (!chunk) return;  // no longer wanted
    chunk->size = inflater->Next(chunk->data.data(), chunk->data.size(), &chunk->error);
    bool over = chunk->size <= 0;
    Put(i, std::move(chunk));
    if (over) {
      if (!tail) Missed(i);  // the stream ended or broke before the checkpoint
      return;
    }
    if (!tail && inflater->out_offset() >= end->out_offset) {
      if (inflater->IsAt(*end)) {
        Finish(i, true);
        return;
      }
      Missed(i);
      tail = true;
    }
  }
}

std::unique_ptr<Chunk> ParallelInflate::TakeChunk(size_t i) {
  MutexLock lock(&mu_);
  while (!stopping_ && i <= last_ &&
         segments_[i].ready.size() >= (i == current_ ? kCurrentChunks : kAheadChunks)) {
    changed_.Wait(&mu_);
  }
  if (stopping_ || i > last_) return nullptr;
  if (free_.empty()) return std::make_unique<Chunk>();
  std::unique_ptr<Chunk> chunk = std::move(free_.back());
  free_.pop_back();
  return chunk;
}

void ParallelInflate::Put(size_t i, std::unique_ptr<Chunk> chunk) {
  MutexLock lock(&mu_);
  if (i > last_) {  // dropped
    free_.push_back(std::move(chunk));
    return;
  }
  Segment& s = segments_[i];
  if (chunk->size <= 0) {
    s.finished = true;
    last_ = i;
  }
  s.ready.push_back(std::move(chunk));
  changed_.SignalAll();
}

void ParallelInflate::Finish(size_t i, bool verified) {
  MutexLock lock(&mu_);
  segments_[i].finished = true;
  segments_[i].verified = verified;
  if (verified) ++verified_;
  changed_.SignalAll();
}

void ParallelInflate::Missed(size_t i) {
  MutexLock lock(&mu_);
  missed_ = true;
  last_ = std::min(last_, i);
  for (size_t j = last_ + 1; j < count_ && j < next_start_; ++j) {  // give back what was made
    for (std::unique_ptr<Chunk>& c : segments_[j].ready) free_.push_back(std::move(c));
    segments_[j].ready.clear();
  }
  changed_.SignalAll();
}

}  // namespace ppa::internal
