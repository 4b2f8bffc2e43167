// Blobs `save` pulls ahead (README, "Air-gapped sites"): the archive is one
// stream, written in order, but the small blobs coming up next are pulled
// on the run's pool while the current one is written, so many small layers
// and configs do not each cost a round trip in turn. A blob larger than
// `max_blob` streams from its source when its turn comes, never held; what
// is held ahead is at most `budget` bytes, from at most `parallel` pulls at
// once.
//
// Thread-compatible: Take is called from one thread (the writer); the
// pulls run on ThreadPool::Here() and touch only their own slot.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace ppa {

class BlobPrefetcher {
 public:
  struct Blob {
    std::string digest;
    uint64_t size = 0;
  };
  // Pulls a whole blob (its digest checked); called on pool threads.
  using Pull = std::function<Result<std::string>(const Blob& blob)>;

  // `order`: the blobs to be prefetched, in the order Take will ask for
  // them (blobs the writer gets elsewhere are left out of it).
  BlobPrefetcher(std::vector<Blob> order, Pull pull, uint64_t max_blob = 16 << 20,
                 uint64_t budget = 64 << 20, int parallel = 4);
  // Waits for the pulls in flight.
  ~BlobPrefetcher();
  BlobPrefetcher(const BlobPrefetcher&) = delete;
  BlobPrefetcher& operator=(const BlobPrefetcher&) = delete;

  // The bytes of `digest`, pulled ahead (waiting for a pull in flight);
  // nullopt when it is not one to prefetch: the caller streams it. Starts
  // the pulls of the blobs after it that fit.
  std::optional<Result<std::string>> Take(const std::string& digest);

 private:
  // Starts pulls of the blobs from `next_` on, while they fit.
  void StartMore();

  std::vector<Blob> order_;
  Pull pull_;
  uint64_t max_blob_, budget_;
  int parallel_;
  size_t next_ = 0;       // the first blob of order_ not started or skipped
  uint64_t held_ = 0;     // bytes of the pulls started and not taken
  std::map<std::string, std::pair<uint64_t, std::future<Result<std::string>>>> pending_;
};

}  // namespace ppa
