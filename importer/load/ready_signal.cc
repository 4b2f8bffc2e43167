#include "importer/load/ready_signal.h"

#include <utility>

namespace ppa {

ReadySignal::Subscription& ReadySignal::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Reset();
    signal_ = std::exchange(other.signal_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void ReadySignal::Subscription::Reset() {
  if (signal_) signal_->Unsubscribe(id_);
  signal_ = nullptr;
}

ReadySignal::Subscription ReadySignal::Subscribe(Listener listener) {
  MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return Subscription(this, id);
}

void ReadySignal::Unsubscribe(uint64_t id) {
  MutexLock lock(&mu_);  // waits for a Notify calling it
  listeners_.erase(id);
}

void ReadySignal::Notify() {
  // Under the lock, so that a listener never runs after its subscription
  // has ended (its owner may be gone).
  MutexLock lock(&mu_);
  for (const auto& [id, listener] : listeners_) listener();
}

}  // namespace ppa
