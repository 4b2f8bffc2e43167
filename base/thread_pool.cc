#include "base/thread_pool.h"

#include <algorithm>
#include <utility>

namespace ppa {
namespace {

thread_local ThreadPool* current_pool = nullptr;

}  // namespace

ThreadPool::ThreadPool(int threads) {
  unsigned n = threads > 0 ? static_cast<unsigned>(threads) : std::thread::hardware_concurrency();
  n = std::max(n, 1u);
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { Worker(); });
}

ThreadPool::~ThreadPool() { Shutdown(); }

ThreadPool* ThreadPool::Current() { return current_pool; }

void ThreadPool::Shutdown() {
  {
    MutexLock lock(&mu_);
    if (joined_) return;
    stopping_ = true;
    work_.SignalAll();
  }
  for (std::thread& worker : workers_) worker.join();
  MutexLock lock(&mu_);
  joined_ = true;
  // Workers leave only with the queue empty, and once stopping_ is set a
  // thread that is not a worker runs its task itself: nothing is left. Run
  // anything here all the same rather than drop it.
  while (!queue_.empty()) {
    Item item = std::move(queue_.front());
    queue_.pop_front();
    RunLocked(std::move(item));
  }
}

void ThreadPool::Enqueue(Item item) {
  MutexLock lock(&mu_);
  EnqueueLocked(std::move(item));
}

void ThreadPool::EnqueueLocked(Item item) {
  // After shutdown began, only a worker still queues (it is draining); any
  // other thread runs its task itself, so nothing is queued behind workers
  // that already left.
  if (joined_ || (stopping_ && current_pool != this)) {
    RunLocked(std::move(item));
    return;
  }
  queue_.push_back(std::move(item));
  work_.Signal();
  if (waiters_ > 0) finished_.SignalAll();  // a helping waiter may run it
}

void ThreadPool::RunLocked(Item item) {
  mu_.Unlock();
  std::exception_ptr error;
  try {
    item.run();
  } catch (...) {
    error = std::current_exception();
  }
  item.run = nullptr;  // the task's captures go before it counts as done
  mu_.Lock();
  if (item.group != nullptr) {
    item.group->pool_.mu_.AssertHeld();  // the group's pool is this one
    item.group->FinishedLocked(error);   // the group may be gone once mu_ is released
  } else if (error) {
    std::rethrow_exception(error);  // Submit's packaged_task stores exceptions: not reached
  }
  if (waiters_ > 0) finished_.SignalAll();
}

void ThreadPool::Worker() {
  current_pool = this;
  MutexLock lock(&mu_);
  while (true) {
    while (queue_.empty() && !stopping_) work_.Wait(&mu_);
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Item item = std::move(queue_.front());
    queue_.pop_front();
    RunLocked(std::move(item));
  }
}

void ThreadPool::WaitUntil(const std::function<bool()>& done) {
  const bool helps = current_pool == this;
  MutexLock lock(&mu_);
  ++waiters_;
  while (!done()) {
    if (helps && !queue_.empty()) {
      Item item = std::move(queue_.front());
      queue_.pop_front();
      RunLocked(std::move(item));
      continue;
    }
    finished_.Wait(&mu_);  // signalled when a task finishes or is queued
  }
  --waiters_;
}

TaskGroup::TaskGroup(ThreadPool& pool, int max_parallel)
    : pool_(pool), max_parallel_(std::max(max_parallel, 0)) {}

TaskGroup::~TaskGroup() {
  try {
    Wait();
  } catch (...) {  // the caller did not Wait(): it does not want the error
  }
}

void TaskGroup::Submit(std::function<void()> task) {
  MutexLock lock(&pool_.mu_);
  ++pending_;
  if (max_parallel_ > 0 && running_ >= max_parallel_) {
    held_.push_back(std::move(task));
    return;
  }
  ++running_;
  pool_.EnqueueLocked({.run = std::move(task), .group = this});
}

void TaskGroup::FinishedLocked(std::exception_ptr error) {
  if (error && !error_) error_ = error;
  --running_;
  --pending_;
  if (!held_.empty()) {
    std::function<void()> next = std::move(held_.front());
    held_.pop_front();
    ++running_;
    pool_.EnqueueLocked({.run = std::move(next), .group = this});
  }
}

void TaskGroup::Wait() {
  pool_.WaitUntil([this] {
    pool_.mu_.AssertHeld();  // WaitUntil evaluates it with the lock held
    return pending_ == 0;
  });
  std::exception_ptr error;
  {
    MutexLock lock(&pool_.mu_);
    error = std::exchange(error_, nullptr);
  }
  if (error) std::rethrow_exception(error);
}

size_t TaskGroup::Cancel() {
  MutexLock lock(&pool_.mu_);
  size_t dropped = held_.size();
  held_.clear();
  auto mine = [this](const ThreadPool::Item& item) { return item.group == this; };
  const auto queued = std::count_if(pool_.queue_.begin(), pool_.queue_.end(), mine);
  std::erase_if(pool_.queue_, mine);
  running_ -= static_cast<int>(queued);
  dropped += static_cast<size_t>(queued);
  pending_ -= static_cast<int>(dropped);
  if (pool_.waiters_ > 0) pool_.finished_.SignalAll();
  return dropped;
}

void RunAlongside(int helpers, const std::function<void()>& work) {
  ThreadPool* pool = ThreadPool::Current();
  if (pool == nullptr) {
    std::vector<std::thread> threads;
    for (int i = 0; i < helpers; ++i) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    return;
  }
  TaskGroup group(*pool);
  for (int i = 0; i < helpers; ++i) group.Submit(work);
  work();
  group.Wait();
}

}  // namespace ppa
