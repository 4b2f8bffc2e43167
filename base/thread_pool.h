// The run's thread pool: a fixed number of worker threads fed from one queue.
//
// One pool per run. The pipeline creates it (size: --jobs, else the machine's
// cores) and hands it to the stages; a stage does not start threads of its
// own, it submits tasks here and waits for them on a completion signal, never
// by sleeping and polling.
//
//   ThreadPool pool(options.jobs);
//   std::future<Digest> d = pool.Submit([&] { return Hash(file); });
//   TaskGroup layers(pool, /*max_parallel=*/options.upload_jobs);
//   for (const Layer& l : image.layers) layers.Submit([&, i] { Push(l); });
//   layers.Wait();          // every task of the group has finished
//
// Waiting, and tasks that wait (the rule that keeps the pool from deadlocking):
//   - Outside the pool (the main thread, a thread of its own) any wait is
//     fine: TaskGroup::Wait, future.get(), ThreadPool::Await.
//   - Inside a task, wait for other pool work only with TaskGroup::Wait or
//     ThreadPool::Await. Both run queued tasks of the pool on the waiting
//     thread until what they wait for has finished, so a task that submits and
//     waits makes progress even when every worker is busy (a pool of one
//     thread included). Never future.get() on a Submit()ted future, a
//     condition variable, or any blocking queue that only a queued task can
//     release: with every worker blocked so, nothing runs it.
//   - Hold no lock while waiting: the waiting thread may run any queued task,
//     which may take the same lock (and hold no lock across Submit in a way a
//     task relies on).
//   - A task may block on I/O (sockets, files, a pipe written by a thread that
//     is not a pool worker). It holds its worker meanwhile; size the pool for
//     that.
//
// Shutdown (the destructor, or Shutdown()) runs every task already queued,
// tasks they submit included, then joins the workers. A Submit after that
// runs the task at once on the caller's thread.
//
// Every method may be called from any thread, tasks included.
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ppa {

class TaskGroup;

class ThreadPool {
 public:
  // `threads` workers; 0 or less: the machine's cores (at least 1).
  explicit ThreadPool(int threads);
  ~ThreadPool();  // Shutdown()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The number of workers, fixed at construction.
  int size() const { return static_cast<int>(workers_.size()); }

  // Queues `f` and returns the future of its result (an exception it throws
  // is stored there). From inside a task, wait for it with Await().
  template <typename F>
  auto Submit(F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>>> {
    using R = std::invoke_result_t<std::decay_t<F>>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> result = task->get_future();
    Enqueue({.run = [task] { (*task)(); }, .group = nullptr});
    return result;
  }

  // Waits for a future returned by this pool's Submit and returns its value
  // (or rethrows its exception). From a worker of this pool, runs queued
  // tasks meanwhile (see the rule above). Only for futures of this pool: the
  // wait wakes when one of its tasks finishes.
  template <typename T>
  T Await(std::future<T> future) EXCLUDES(mu_) {
    WaitUntil([&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
    return future.get();
  }

  // Runs every queued task (and those they queue), then joins the workers.
  // Idempotent. Not from a task of this pool.
  void Shutdown() EXCLUDES(mu_);

  // The pool whose worker runs the calling thread, or null.
  static ThreadPool* Current();

 private:
  friend class TaskGroup;
  struct Item {
    std::function<void()> run;
    TaskGroup* group = nullptr;  // counted down when `run` returns
  };

  void Enqueue(Item item) EXCLUDES(mu_);
  void EnqueueLocked(Item item) REQUIRES(mu_);
  void Worker();
  // Runs `item` unlocked, then counts it done (its group, waiters).
  void RunLocked(Item item) REQUIRES(mu_);
  // Blocks until `done()` (evaluated with mu_ held) is true; from a worker
  // of this pool, runs queued tasks meanwhile.
  void WaitUntil(const std::function<bool()>& done) EXCLUDES(mu_);

  Mutex mu_;
  CondVar work_;          // a task was queued, or shutdown
  CondVar finished_;      // a task finished or was queued (for WaitUntil)
  std::deque<Item> queue_ GUARDED_BY(mu_);
  int waiters_ GUARDED_BY(mu_) = 0;  // threads in WaitUntil
  bool stopping_ GUARDED_BY(mu_) = false;
  bool joined_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // set in the constructor only
};

// A set of tasks submitted to the pool and waited for together (a wait
// group): Wait() returns once every task submitted through the group has
// finished. `max_parallel` > 0 bounds how many of its tasks run at once (the
// others wait in the group, not in the pool's queue), e.g. the uploads of one
// image. The destructor waits too, so tasks may refer to the caller's locals.
//
// Submit and Wait may be called from any thread, tasks of the group
// included (a task may add more to its own group; Wait from inside one of
// the group's own tasks would wait for itself: don't).
class TaskGroup {
 public:
  explicit TaskGroup(ThreadPool& pool, int max_parallel = 0);
  ~TaskGroup();  // Wait(), swallowing a task's exception
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  void Submit(std::function<void()> task);

  // Waits for every task submitted so far. Rethrows the first exception a
  // task threw (once). From inside a pool task, runs queued tasks meanwhile.
  void Wait();

  // Drops the group's tasks that have not started (a failure makes them
  // pointless); running ones finish. Returns how many were dropped.
  size_t Cancel();

 private:
  friend class ThreadPool;
  // Counts a task of this group done; may queue a held-back one.
  void FinishedLocked(std::exception_ptr error) REQUIRES(pool_.mu_);

  ThreadPool& pool_;
  const int max_parallel_;
  int pending_ GUARDED_BY(pool_.mu_) = 0;  // submitted, not yet finished
  int running_ GUARDED_BY(pool_.mu_) = 0;  // in the pool's queue or running
  std::deque<std::function<void()>> held_ GUARDED_BY(pool_.mu_);  // over max_parallel
  std::exception_ptr error_ GUARDED_BY(pool_.mu_);
};

// Runs `work` on the calling thread and on `helpers` more at once: tasks of
// the calling thread's pool (ThreadPool::Current()), or threads of their
// own when the caller is no pool worker. Returns when every call of `work`
// has returned. `work` should take its items from a shared queue until it
// is empty: a helper that starts late (the pool busy) then finds nothing
// and returns at once, so the caller never waits for a worker to be free.
void RunAlongside(int helpers, const std::function<void()>& work);

}  // namespace ppa
