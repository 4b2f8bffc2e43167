#include "importer/load/ready_first.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace ppa {
namespace {

// How long a thread with nothing ready waits on one task before looking at
// all of them again.
constexpr std::chrono::milliseconds kPoll{20};

}  // namespace

void ReadyFirst::Add(Task task) {
  std::lock_guard lock(mu_);
  tasks_.push_back(std::move(task));
}

bool ReadyFirst::empty() const {
  std::lock_guard lock(mu_);
  return tasks_.empty();
}

void ReadyFirst::Clear() {
  std::lock_guard lock(mu_);
  tasks_.clear();
  failed_ = Status::Ok();
}

void ReadyFirst::Fail(const Status& status) {
  std::lock_guard lock(mu_);
  if (failed_.ok()) failed_ = status;
}

bool ReadyFirst::TakeReady(std::chrono::milliseconds wait, Task* out) {
  std::function<bool(std::chrono::milliseconds)> first;
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok() || tasks_.empty()) return false;
    auto it = std::find_if(tasks_.begin(), tasks_.end(),
                           [](const Task& t) { return t.ready(std::chrono::milliseconds(0)); });
    if (it != tasks_.end()) {
      *out = std::move(*it);
      tasks_.erase(it);
      return true;
    }
    if (wait.count() == 0) return false;
    first = tasks_.front().ready;
  }
  first(wait);  // then look at all of them again
  return false;
}

Status ReadyFirst::RunReady(const std::atomic<bool>& stop) {
  Task task;
  while (!stop && TakeReady(std::chrono::milliseconds(0), &task)) {
    if (Status s = task.run(); !s.ok()) Fail(s);
  }
  std::lock_guard lock(mu_);
  return failed_;
}

Status ReadyFirst::RunAll(int threads) {
  auto work = [this] {
    Task task;
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (!failed_.ok() || tasks_.empty()) return;
      }
      if (!TakeReady(kPoll, &task)) continue;
      if (Status s = task.run(); !s.ok()) Fail(s);
    }
  };
  size_t n = std::max(threads, 1);
  {
    std::lock_guard lock(mu_);
    n = std::min(n, tasks_.size());
  }
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < n; ++i) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
  std::lock_guard lock(mu_);
  return failed_;
}

}  // namespace ppa
