#include "base/thread_pool.h"

#include <algorithm>
#include <utility>

namespace ppa {
namespace {

// The pool of the calling thread, and whether the thread is one of its
// general workers (which run queued tasks while they wait, and may still
// queue tasks during shutdown).
thread_local ThreadPool* current_pool = nullptr;
thread_local bool general_worker = false;

unsigned ThreadsFor(int requested) {
  unsigned n =
      requested > 0 ? static_cast<unsigned>(requested) : std::thread::hardware_concurrency();
  return std::max(n, 1u);
}

}  // namespace

struct ThreadPool::LoopRun {
  std::function<void()> loop;
  std::promise<void> done;
};

ThreadPool::ThreadPool(int threads, int leaf_threads) {
  const unsigned n = ThreadsFor(threads), leaves = ThreadsFor(leaf_threads);
  workers_.reserve(n);
  for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { Worker(); });
  leaf_workers_.reserve(leaves);
  for (unsigned i = 0; i < leaves; ++i) leaf_workers_.emplace_back([this] { LeafWorker(); });
}

ThreadPool::~ThreadPool() {
  Shutdown();
  std::vector<std::thread> late;  // loops started after Shutdown() (a misuse)
  {
    MutexLock lock(&mu_);
    late.swap(loop_threads_);
  }
  for (std::thread& loop : late) loop.join();
}

ThreadPool* ThreadPool::Current() { return current_pool; }

ThreadPool& ThreadPool::Here() {
  if (current_pool != nullptr) return *current_pool;
  // Never destroyed: a thread may still use it while the process exits.
  static ThreadPool* const process_pool = [] {
    const int cores = static_cast<int>(ThreadsFor(0));
    return new ThreadPool(2 * cores + 2, cores);
  }();
  return *process_pool;
}

void ThreadPool::Shutdown() {
  {
    MutexLock lock(&mu_);
    if (joined_) return;
    stopping_ = true;
    work_.SignalAll();
  }
  for (std::thread& worker : workers_) worker.join();
  std::vector<std::thread> loops;
  {
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
    // No task is left to queue leaf tasks; the leaf workers run what is
    // queued, then leave. Loop threads leave once their loop returned.
    tasks_done_ = true;
    leaf_work_.SignalAll();
    loop_work_.SignalAll();
    loops.swap(loop_threads_);
  }
  for (std::thread& worker : leaf_workers_) worker.join();
  for (std::thread& loop : loops) loop.join();
}

void ThreadPool::EnqueueLeaf(std::function<void()> run) {
  MutexLock lock(&mu_);
  if (tasks_done_) {  // the leaf workers are gone or going
    lock.Unlock();
    run();
    return;
  }
  leaf_queue_.push_back(std::move(run));
  leaf_work_.Signal();
}

void ThreadPool::LeafWorker() {
  current_pool = this;
  MutexLock lock(&mu_);
  while (true) {
    while (leaf_queue_.empty() && !tasks_done_) leaf_work_.Wait(&mu_);
    if (leaf_queue_.empty()) return;
    std::function<void()> run = std::move(leaf_queue_.front());
    leaf_queue_.pop_front();
    lock.Unlock();
    run();  // a packaged_task: it keeps what the task throws
    run = nullptr;
    lock.Lock();
  }
}

ThreadPool::Loop ThreadPool::Start(std::function<void()> loop) {
  auto run = std::make_shared<LoopRun>();
  run->loop = std::move(loop);
  Loop handle(run->done.get_future());
  MutexLock lock(&mu_);
  loop_queue_.push_back(std::move(run));
  if (idle_loop_threads_ > 0) {
    --idle_loop_threads_;  // set aside for this loop
    loop_work_.SignalAll();
    return handle;
  }
  try {
    loop_threads_.emplace_back([this] { LoopWorker(); });
  } catch (...) {  // no thread for it: the loop never runs (its handle is ready)
    loop_queue_.pop_back();
    throw;
  }
  return handle;
}

void ThreadPool::LoopWorker() {
  current_pool = this;
  MutexLock lock(&mu_);
  while (true) {
    // A thread comes here with a loop queued for it: new, or set aside.
    while (loop_queue_.empty() && !tasks_done_) loop_work_.Wait(&mu_);
    if (loop_queue_.empty()) {
      --idle_loop_threads_;  // leaving: no longer there to be set aside
      return;
    }
    std::shared_ptr<LoopRun> run = std::move(loop_queue_.front());
    loop_queue_.pop_front();
    lock.Unlock();
    std::exception_ptr error;
    try {
      run->loop();
    } catch (...) {
      error = std::current_exception();
    }
    run->loop = nullptr;  // its captures go before it counts as done
    lock.Lock();
    // Idle before its handle is ready, so a Start after a Join reuses it.
    ++idle_loop_threads_;
    if (error) {
      run->done.set_exception(error);
    } else {
      run->done.set_value();
    }
  }
}

ThreadPool::Loop& ThreadPool::Loop::operator=(Loop&& other) noexcept {
  if (this != &other) {
    if (done_.valid()) done_.wait();
    done_ = std::move(other.done_);
  }
  return *this;
}

ThreadPool::Loop::~Loop() {
  if (done_.valid()) done_.wait();
}

void ThreadPool::Loop::Join() {
  if (done_.valid()) done_.get();
}

void ThreadPool::Enqueue(Item item) {
  MutexLock lock(&mu_);
  EnqueueLocked(std::move(item));
}

void ThreadPool::EnqueueLocked(Item item, bool first) {
  // After shutdown began, only a worker still queues (it is draining); any
  // other thread runs its task itself, so nothing is queued behind workers
  // that already left.
  if (joined_ || (stopping_ && !(current_pool == this && general_worker))) {
    RunLocked(std::move(item));
    return;
  }
  if (first) {
    queue_.push_front(std::move(item));
  } else {
    queue_.push_back(std::move(item));
  }
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
  general_worker = true;
  MutexLock lock(&mu_);
  while (true) {
    while (queue_.empty() && !stopping_) work_.Wait(&mu_);
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Item item = std::move(queue_.front());
    queue_.pop_front();
    RunLocked(std::move(item));
  }
}

void ThreadPool::WaitUntil(const std::function<bool()>& done, const TaskGroup* group) {
  const bool helps = current_pool == this && general_worker;
  auto mine = [group](const Item& item) { return item.group == group; };
  MutexLock lock(&mu_);
  ++waiters_;
  while (!done()) {
    if (helps) {
      auto it = std::find_if(queue_.begin(), queue_.end(), mine);
      if (it != queue_.end()) {
        Item item = std::move(*it);
        queue_.erase(it);
        RunLocked(std::move(item));
        continue;
      }
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
  SubmitLocked(std::move(task), /*first=*/false);
}

void TaskGroup::SubmitFirst(std::function<void()> task) {
  MutexLock lock(&pool_.mu_);
  SubmitLocked(std::move(task), /*first=*/true);
}

void TaskGroup::SubmitLocked(std::function<void()> task, bool first) {
  ++pending_;
  if (max_parallel_ > 0 && running_ >= max_parallel_) {
    if (first) {
      held_.push_front(std::move(task));
    } else {
      held_.push_back(std::move(task));
    }
    return;
  }
  ++running_;
  pool_.EnqueueLocked({.run = std::move(task), .group = this}, first);
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
  pool_.WaitUntil(
      [this] {
        pool_.mu_.AssertHeld();  // WaitUntil evaluates it with the lock held
        return pending_ == 0;
      },
      this);
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
  TaskGroup group(ThreadPool::Here());
  for (int i = 0; i < helpers; ++i) group.Submit(work);
  work();
  group.Wait();
}

}  // namespace ppa
