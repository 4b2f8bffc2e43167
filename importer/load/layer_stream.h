// The blob of a tar layer made from its bytes as Unpack passes them by, so
// they never go to disk: the unpacking thread copies them into a bounded
// queue, and a thread of the stream's own compresses them into a spool file
// (SpoolCompressor), while the unpacking thread goes on inflating the
// archive. Memory: the bytes waiting are bounded by a QueueBudget shared by
// the streams, whatever the layers' sizes; the writer waits for room.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "docker_io/image/layer_blob.h"

namespace ppa {

// Bytes that may wait in the queues of several LayerStreams at once. Every
// stream drains on its own thread, so a writer waiting for room always gets
// it. Thread-safe.
class QueueBudget {
 public:
  explicit QueueBudget(size_t bytes) : limit_(bytes) {}
  // Waits until `bytes` fit (or nothing else is queued), then takes them.
  void Take(size_t bytes);
  void Give(size_t bytes);

 private:
  const size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t used_ = 0;
};

class LayerStream {
 public:
  // Runs on the stream's thread with the finished blob (or the error),
  // before blob() becomes ready.
  using Done = std::function<void(const Result<LayerBlob>&)>;

  // `budget` must outlive the stream.
  LayerStream(std::unique_ptr<SpoolCompressor> spool, QueueBudget& budget, Done done);
  // Abandons the stream unless it was closed, and waits for its thread.
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // The layer's next bytes (the writer's thread only).
  void Write(std::string_view bytes);
  // No more bytes: the blob is finished with `diff_id` (the sha256 of all
  // the bytes written, the caller's to compute).
  void Close(std::string diff_id);
  // The layer was cut short: the blob becomes an error and its spool file
  // is removed.
  void Abandon();

  // Ready once the thread has finished (after Close or Abandon).
  std::shared_future<Result<LayerBlob>> blob() const { return blob_; }
  bool finished() const;

 private:
  void Run();
  // Queues the buffer being filled, once the budget has room for it.
  void Push();

  std::unique_ptr<SpoolCompressor> spool_;
  QueueBudget& budget_;
  Done done_;
  std::promise<Result<LayerBlob>> promise_;
  std::shared_future<Result<LayerBlob>> blob_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string filling_;             // the writer's, not guarded
  std::deque<std::string> queued_;  // guarded by mu_
  std::vector<std::string> spare_;  // emptied buffers, guarded by mu_
  enum class End { kOpen, kClosed, kAbandoned } end_ = End::kOpen;  // guarded by mu_
  std::string diff_id_;                                             // guarded by mu_
  bool finished_ = false;                                           // guarded by mu_
  std::thread thread_;  // last: it uses the members above
};

}  // namespace ppa
