#include "importer/save/blob_prefetch.h"

#include "base/thread_pool.h"

namespace ppa {

BlobPrefetcher::BlobPrefetcher(std::vector<Blob> order, Pull pull, uint64_t max_blob,
                               uint64_t budget, int parallel)
    : order_(std::move(order)),
      pull_(std::move(pull)),
      max_blob_(max_blob),
      budget_(budget),
      parallel_(parallel) {
  StartMore();
}

BlobPrefetcher::~BlobPrefetcher() {
  for (auto& [digest, slot] : pending_) (void)ThreadPool::Here().Await(std::move(slot.second));
}

void BlobPrefetcher::StartMore() {
  while (next_ < order_.size() && static_cast<int>(pending_.size()) < parallel_) {
    const Blob& blob = order_[next_];
    if (blob.size > max_blob_ || pending_.count(blob.digest)) {
      ++next_;  // streamed when its turn comes, or already on its way
      continue;
    }
    if (held_ + blob.size > budget_) return;  // waits for room
    held_ += blob.size;
    pending_.emplace(blob.digest,
                     std::make_pair(blob.size, ThreadPool::Here().Submit(
                                                   [pull = pull_, blob] { return pull(blob); })));
    ++next_;
  }
}

std::optional<Result<std::string>> BlobPrefetcher::Take(const std::string& digest) {
  auto it = pending_.find(digest);
  if (it == pending_.end()) {
    // Not started yet (no room so far): it is the writer's turn now, so
    // nothing before it is held; it streams, and the pulls after it go on.
    for (size_t i = next_; i < order_.size(); ++i) {
      if (order_[i].digest == digest) {
        next_ = i + 1;
        break;
      }
    }
    StartMore();
    return std::nullopt;
  }
  const uint64_t size = it->second.first;
  Result<std::string> bytes = ThreadPool::Here().Await(std::move(it->second.second));
  pending_.erase(it);
  held_ -= size;
  StartMore();
  return bytes;
}

}  // namespace ppa
