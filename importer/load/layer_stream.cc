#include "importer/load/layer_stream.h"

#include <algorithm>

namespace ppa {
namespace {

constexpr size_t kChunk = 1 << 20;  // bytes handed to the thread at a time
constexpr size_t kSpareChunks = 4;

}  // namespace

void QueueBudget::Take(size_t bytes) {
  MutexLock lock(&mu_);
  while (used_ != 0 && used_ + bytes > limit_) room_.Wait(&mu_);
  used_ += bytes;
}

void QueueBudget::Give(size_t bytes) {
  MutexLock lock(&mu_);
  used_ -= bytes;
  room_.SignalAll();
}

LayerStream::LayerStream(std::unique_ptr<SpoolCompressor> spool, QueueBudget& budget, Done done,
                         ThreadPool& pool)
    : spool_(std::move(spool)),
      budget_(budget),
      done_(std::move(done)),
      blob_(promise_.get_future().share()),
      loop_(pool.Start([this] { Run(); })) {
  filling_.reserve(kChunk);
}

LayerStream::~LayerStream() {
  Abandon();
  loop_.Join();
}

void LayerStream::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t take = std::min(bytes.size(), kChunk - filling_.size());
    filling_.append(bytes.data(), take);
    bytes.remove_prefix(take);
    if (filling_.size() == kChunk) Push();
  }
}

void LayerStream::Push() {
  budget_.Take(filling_.size());
  MutexLock lock(&mu_);
  if (end_ != End::kOpen) {
    budget_.Give(filling_.size());
    filling_.clear();
    return;
  }
  queued_.push_back(std::move(filling_));
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    filling_ = std::string();
    filling_.reserve(kChunk);
  }
  changed_.SignalAll();
}

void LayerStream::Close(std::string diff_id) {
  if (!filling_.empty()) Push();
  std::string().swap(filling_);
  MutexLock lock(&mu_);
  if (end_ != End::kOpen) return;
  diff_id_ = std::move(diff_id);
  end_ = End::kClosed;
  changed_.SignalAll();
}

void LayerStream::Abandon() {
  MutexLock lock(&mu_);
  if (end_ != End::kOpen) return;
  end_ = End::kAbandoned;
  changed_.SignalAll();
}

bool LayerStream::finished() const {
  MutexLock lock(&mu_);
  return finished_;
}

void LayerStream::Run() {
  Status status = Status::Ok();
  MutexLock lock(&mu_);
  while (true) {
    while (queued_.empty() && end_ == End::kOpen) changed_.Wait(&mu_);
    if (end_ == End::kAbandoned) break;
    if (queued_.empty()) break;  // closed and drained
    std::string chunk = std::move(queued_.front());
    queued_.pop_front();
    lock.Unlock();
    const size_t size = chunk.size();
    if (status.ok()) status = spool_->WriteBlock(chunk);  // may swap in another buffer
    budget_.Give(size);
    lock.Lock();
    chunk.clear();
    // A few emptied buffers are kept for the writer; the rest go back to
    // the allocator, so memory stays what the budget lets wait.
    if (spare_.size() < kSpareChunks) spare_.push_back(std::move(chunk));
    changed_.SignalAll();
  }
  const bool closed = end_ == End::kClosed;
  std::string diff_id = diff_id_;
  for (const auto& chunk : queued_) budget_.Give(chunk.size());  // abandoned with bytes queued
  queued_.clear();
  spare_.clear();
  lock.Unlock();

  Result<LayerBlob> blob =
      !closed        ? Result<LayerBlob>(IoError("the layer was cut short while it was unpacked"))
      : !status.ok() ? Result<LayerBlob>(status)
                     : spool_->Finish(std::move(diff_id));
  spool_.reset();  // removes the spool file unless Finish returned it
  if (done_) done_(blob);
  {
    MutexLock done(&mu_);
    finished_ = true;
  }
  promise_.set_value(std::move(blob));
}

}  // namespace ppa
