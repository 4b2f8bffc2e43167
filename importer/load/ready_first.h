// Tasks run in the order they become ready, not the order they were added.
//
// The Images stage uses it for layer uploads: a layer whose blob is still
// being compressed must not hold up the upload of another image's layer that
// has been ready for seconds (the registry would sit idle while the cores
// compress, then be the only thing busy at the end of the run).
//
// Nothing here looks on a timer: a thread with no task ready sleeps until it
// is told something changed (Wake: what the tasks' readiness depends on; a
// task added, run or failed; Clear), then checks every task again.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>

#include "base/mutex.h"
#include "base/status.h"

namespace ppa {

class ReadyFirst {
 public:
  struct Task {
    // True once the task can run. It must not block nor call this runner
    // (it is called with the runner's lock held), and whoever makes it
    // true must then call Wake(), unless the change is the run of another
    // task of this runner (a task done wakes the waiters).
    std::function<bool()> ready;
    std::function<Status()> run;
  };

  // Each wakes the threads waiting in RunAll.
  void Add(Task task) EXCLUDES(mu_);
  void Clear() EXCLUDES(mu_);
  bool empty() const EXCLUDES(mu_);

  // Something a task's ready() depends on may have changed (a blob became
  // ready): the threads waiting in RunAll check every task again. Thread-
  // safe; takes only the runner's lock, so a ReadySignal listener may call it.
  void Wake() EXCLUDES(mu_);

  // Runs the tasks that are ready now, on the calling thread, until none is
  // or `stop` is set. A task that fails stops the runner: the failure is
  // returned (then and on every later call) and nothing else is run.
  Status RunReady(const std::atomic<bool>& stop) EXCLUDES(mu_);

  // Runs every task on `threads` threads, each taking whichever task is
  // ready, sleeping until Wake (or a task added, done, failed, Clear) when
  // none is. Returns once no task is left, or the first failure; no task is
  // started after it (those running finish).
  Status RunAll(int threads) EXCLUDES(mu_);

  // How many times the waiting threads have been woken (Wake and the
  // changes above), for tests.
  uint64_t wakes() const EXCLUDES(mu_);

 private:
  // Removes and returns a ready task (the first added of those ready).
  // False when none is, or the runner has failed.
  bool TakeReadyLocked(Task* out) REQUIRES(mu_);
  // Runs `task` without the lock; records its failure; wakes the waiters.
  void RunLocked(Task& task) REQUIRES(mu_);
  void WakeLocked() REQUIRES(mu_);

  mutable Mutex mu_;
  CondVar changed_;  // signalled by WakeLocked
  std::list<Task> tasks_ GUARDED_BY(mu_);
  Status failed_ GUARDED_BY(mu_);
  uint64_t wakes_ GUARDED_BY(mu_) = 0;
};

}  // namespace ppa
