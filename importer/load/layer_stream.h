// The blob of a tar layer made from its bytes as Unpack passes them by, so
// they never go to disk: the unpacking thread copies them into a bounded
// queue, and a loop of the run's pool (ThreadPool::Start: a thread of its
// own while the stream lasts) compresses them into a spool file
// (SpoolCompressor), while the unpacking thread goes on inflating the
// archive. Memory: the bytes waiting are bounded by a QueueBudget shared by
// the streams, whatever the layers' sizes; the writer waits for room.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/thread_pool.h"
#include "docker_io/image/layer_blob.h"

namespace ppa {

// Bytes that may wait in the queues of several LayerStreams at once. Every
// stream drains on a thread of its own, so a writer waiting for room always
// gets it. Thread-safe.
class QueueBudget {
 public:
  explicit QueueBudget(size_t bytes) : limit_(bytes) {}
  // Waits until `bytes` fit (or nothing else is queued), then takes them.
  void Take(size_t bytes) EXCLUDES(mu_);
  void Give(size_t bytes) EXCLUDES(mu_);

 private:
  const size_t limit_;
  Mutex mu_;
  CondVar room_;  // bytes were given back
  size_t used_ GUARDED_BY(mu_) = 0;
};

class LayerStream {
 public:
  // Runs on the stream's loop with the finished blob (or the error),
  // before blob() becomes ready.
  using Done = std::function<void(const Result<LayerBlob>&)>;

  // `budget` must outlive the stream. The loop is one of `pool`'s.
  LayerStream(std::unique_ptr<SpoolCompressor> spool, QueueBudget& budget, Done done,
              ThreadPool& pool = ThreadPool::Here());
  // Abandons the stream unless it was closed, and waits for its loop.
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // The layer's next bytes (the writer's thread only).
  void Write(std::string_view bytes) EXCLUDES(mu_);
  // No more bytes: the blob is finished with `diff_id` (the sha256 of all
  // the bytes written, the caller's to compute).
  void Close(std::string diff_id) EXCLUDES(mu_);
  // The layer was cut short: the blob becomes an error and its spool file
  // is removed.
  void Abandon() EXCLUDES(mu_);

  // Ready once the loop has finished (after Close or Abandon).
  std::shared_future<Result<LayerBlob>> blob() const { return blob_; }
  bool finished() const EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);
  // Queues the buffer being filled, once the budget has room for it.
  void Push() EXCLUDES(mu_);

  std::unique_ptr<SpoolCompressor> spool_;
  QueueBudget& budget_;
  Done done_;
  std::promise<Result<LayerBlob>> promise_;
  std::shared_future<Result<LayerBlob>> blob_;

  mutable Mutex mu_;
  CondVar changed_;  // a chunk was queued or taken, or the stream ended
  std::string filling_;  // the writer's, not guarded
  std::deque<std::string> queued_ GUARDED_BY(mu_);
  std::vector<std::string> spare_ GUARDED_BY(mu_);  // emptied buffers
  enum class End { kOpen, kClosed, kAbandoned } end_ GUARDED_BY(mu_) = End::kOpen;
  std::string diff_id_ GUARDED_BY(mu_);
  bool finished_ GUARDED_BY(mu_) = false;
  ThreadPool::Loop loop_;  // last: it uses the members above
};

}  // namespace ppa
