// A mutex, a scoped lock and a condition variable that Clang's thread-safety
// analysis understands (base/thread_annotations.h). They wrap std::mutex and
// std::condition_variable and cost nothing more; use them for every
// mutex-guarded member so GUARDED_BY / REQUIRES are checked:
//
//   ppa::Mutex mu_;
//   ppa::CondVar ready_;
//   int count_ GUARDED_BY(mu_) = 0;
//
//   void Add() EXCLUDES(mu_) {
//     ppa::MutexLock lock(&mu_);
//     ++count_;
//     ready_.SignalAll();
//   }
//   void AwaitPositive() EXCLUDES(mu_) {
//     ppa::MutexLock lock(&mu_);
//     // A loop, not a predicate lambda: the analysis checks the loop.
//     while (count_ == 0) ready_.Wait(&mu_);
//   }
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/thread_annotations.h"

namespace ppa {

class CondVar;

// std::mutex with the capability attribute. Not recursive.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the caller holds the mutex (no run-time check: the
  // standard mutex cannot say who holds it). For code the analysis cannot
  // follow, such as a callback invoked under the lock.
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction. Unlock() / Lock() release and
// take it again within the scope (the destructor unlocks only if held).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

// A condition variable used with a Mutex the caller holds (named at each
// call, so the analysis checks it is held). Wait* release it while blocked
// and hold it again on return. Wake-ups can be spurious: wait in a loop that
// re-checks the condition. Use one mutex with a given CondVar.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Returns false if `deadline` passed first (a timer on the signal, e.g. a
  // progress ticker), true if woken (by a signal or spuriously).
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex* mu, const std::chrono::time_point<Clock, Duration>& deadline)
      REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  template <typename Rep, typename Period>
  bool WaitFor(Mutex* mu, const std::chrono::duration<Rep, Period>& timeout) REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }

  // Signalling does not need the mutex held, but signalling with it held
  // (after the change the waiter checks) is the simple correct pattern.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace ppa
