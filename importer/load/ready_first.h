// Tasks run in the order they become ready, not the order they were added.
//
// The Images stage uses it for layer uploads: a layer whose blob is still
// being compressed must not hold up the upload of another image's layer that
// has been ready for seconds (the registry would sit idle while the cores
// compress, then be the only thing busy at the end of the run).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>

#include "base/status.h"

namespace ppa {

class ReadyFirst {
 public:
  struct Task {
    // True once the task can run; waits at most `wait` for that.
    std::function<bool(std::chrono::milliseconds wait)> ready;
    std::function<Status()> run;
  };

  void Add(Task task);
  bool empty() const;
  void Clear();

  // Runs the tasks that are ready now, on the calling thread, until none is
  // or `stop` is set. A task that fails stops the runner: the failure is
  // returned (then and on every later call) and nothing else is run.
  Status RunReady(const std::atomic<bool>& stop);

  // Runs every task on `threads` threads, each taking whichever task is
  // ready, waiting when none is. Returns the first failure; no task is
  // started after it (those running finish).
  Status RunAll(int threads);

 private:
  // Removes and returns a ready task; waits up to `wait` for the first one
  // still queued when none is ready. False when there is none (yet), or the
  // runner has failed.
  bool TakeReady(std::chrono::milliseconds wait, Task* out);
  void Fail(const Status& status);

  mutable std::mutex mu_;
  std::list<Task> tasks_;      // guarded by mu_
  Status failed_;              // guarded by mu_
};

}  // namespace ppa
