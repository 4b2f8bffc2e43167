// A completion signal with listeners: whoever waits for something another
// thread completes (a blob of the LayerPreparer) subscribes a listener that
// wakes it, instead of looking again on a timer.
//
// The notifier calls Notify() after the change is visible (a promise set),
// so a waiter that checks under its own lock and waits on its own condition
// variable, with the listener signalling under that same lock, loses no
// wake-up: a change before its check is seen by the check, one after it
// reaches the listener, which cannot run until the waiter waits.
//
//   ReadySignal::Subscription woken = signal.Subscribe([&] {
//     MutexLock lock(&mu_);
//     changed_ = true;
//     cv_.SignalAll();
//   });
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "base/mutex.h"

namespace ppa {

class ReadySignal {
 public:
  // Called on the notifying thread. It must be quick, and take only locks
  // that are never held while calling Notify, Subscribe, or ending a
  // Subscription of this signal.
  using Listener = std::function<void()>;

  // Keeps its listener subscribed until destroyed (or moved from); once
  // destroyed, the listener is not running and is never called again.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&& other) noexcept { *this = std::move(other); }
    Subscription& operator=(Subscription&& other) noexcept;
    ~Subscription() { Reset(); }
    // Ends the subscription now (as the destructor does).
    void Reset();

   private:
    friend class ReadySignal;
    Subscription(ReadySignal* signal, uint64_t id) : signal_(signal), id_(id) {}
    ReadySignal* signal_ = nullptr;
    uint64_t id_ = 0;
  };

  ReadySignal() = default;
  ReadySignal(const ReadySignal&) = delete;
  ReadySignal& operator=(const ReadySignal&) = delete;

  // `listener` is called at every Notify until the subscription ends, which
  // must be before this signal is destroyed. Thread-safe.
  [[nodiscard]] Subscription Subscribe(Listener listener) EXCLUDES(mu_);
  // Calls every listener (one Notify at a time). Thread-safe.
  void Notify() EXCLUDES(mu_);

 private:
  void Unsubscribe(uint64_t id) EXCLUDES(mu_);

  Mutex mu_;
  std::map<uint64_t, Listener> listeners_ GUARDED_BY(mu_);
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace ppa
