#include "importer/load/ready_first.h"

#include <algorithm>
#include <vector>

#include "base/thread_pool.h"

namespace ppa {

void ReadyFirst::WakeLocked() {
  ++wakes_;
  changed_.SignalAll();
}

void ReadyFirst::Add(Task task) {
  MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  WakeLocked();
}

bool ReadyFirst::empty() const {
  MutexLock lock(&mu_);
  return tasks_.empty();
}

void ReadyFirst::Clear() {
  MutexLock lock(&mu_);
  tasks_.clear();
  failed_ = Status::Ok();
  WakeLocked();
}

void ReadyFirst::Wake() {
  MutexLock lock(&mu_);
  WakeLocked();
}

uint64_t ReadyFirst::wakes() const {
  MutexLock lock(&mu_);
  return wakes_;
}

bool ReadyFirst::TakeReadyLocked(Task* out) {
  if (!failed_.ok()) return false;
  auto it = std::find_if(tasks_.begin(), tasks_.end(), [](const Task& t) { return t.ready(); });
  if (it == tasks_.end()) return false;
  *out = std::move(*it);
  tasks_.erase(it);
  return true;
}

void ReadyFirst::RunLocked(Task& task) {
  mu_.Unlock();
  Status s = task.run();
  task = Task{};  // what it holds goes before the lock is taken again
  mu_.Lock();
  if (!s.ok() && failed_.ok()) failed_ = s;
  WakeLocked();  // a task done may make another ready, or a failure stops all
}

Status ReadyFirst::RunReady(const std::atomic<bool>& stop) {
  MutexLock lock(&mu_);
  Task task;
  while (!stop && TakeReadyLocked(&task)) RunLocked(task);
  return failed_;
}

Status ReadyFirst::RunAll(int threads) {
  auto work = [this] {
    MutexLock lock(&mu_);
    while (failed_.ok() && !tasks_.empty()) {
      Task task;
      if (TakeReadyLocked(&task)) {
        RunLocked(task);
        continue;
      }
      // The tasks were checked under the lock, which Wait releases only
      // once this thread waits: a change signalled after the check wakes it.
      const uint64_t seen = wakes_;
      while (wakes_ == seen) changed_.Wait(&mu_);
    }
  };
  size_t n = std::max(threads, 1);
  {
    MutexLock lock(&mu_);
    n = std::min(n, tasks_.size());
  }
  RunAlongside(static_cast<int>(n) - 1, work);  // on the run's pool
  MutexLock lock(&mu_);
  return failed_;
}

}  // namespace ppa
