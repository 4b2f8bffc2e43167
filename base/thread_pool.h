// The run's thread pool: every thread a run uses belongs to it.
//
// One pool per run. The pipeline creates it (sized in RunLoad,
// importer/load/pipeline.cc) and the stages reach it as ThreadPool::Here();
// a stage does not start threads of its own, it hands its work to the pool
// and waits for it on a completion signal, never by sleeping and polling.
// Outside a run (`inspect`, `doctor`, tests) Here() is the process's pool.
//
// Three kinds of work, each on workers of its own, so that one kind can
// never hold up another:
//
//   ThreadPool& pool = ThreadPool::Here();
//   // A task: general work, which may wait by the rules below.
//   std::future<Digest> d = pool.Submit([&] { return Hash(file); });
//   TaskGroup layers(pool, /*max_parallel=*/options.upload_jobs);
//   for (const Layer& l : image.layers) layers.Submit([&, i] { Push(l); });
//   layers.Wait();          // every task of the group has finished
//   // A leaf task: computes and returns, never waits (a block to deflate).
//   std::future<void> block = pool.SubmitLeaf([&] { Deflate(in, out); });
//   // A loop: waits on others for as long as it runs (a producer feeding a
//   // reader, a stream's writer); it starts at once, never queued.
//   ThreadPool::Loop producer = pool.Start([&] { Produce(); });
//   producer.Join();
//
// Waiting, and tasks that wait (the rule that keeps the pool from deadlocking):
//   - Outside the general workers (the main thread, a loop, a leaf task has
//     nothing to wait for) any wait is fine: TaskGroup::Wait, future.get(),
//     ThreadPool::Await.
//   - Inside a task, wait for other tasks only with TaskGroup::Wait or
//     ThreadPool::Await. Both run queued tasks on the waiting thread until
//     what they wait for has finished (Wait: the group's own; Await: tasks
//     Submit()ted outside a group), so a task that submits and waits makes
//     progress even when every worker is busy (a pool of one thread
//     included). Never future.get() on a Submit()ted future, a
//     condition variable, or any blocking queue that only a queued task can
//     release: with every worker blocked so, nothing runs it.
//   - Waiting for a leaf task or for a loop is fine anywhere, by any means:
//     leaf tasks have workers that run nothing else and never wait, and a
//     loop has a thread of its own from its start.
//   - Hold no lock while waiting: the waiting thread may run any queued task,
//     which may take the same lock (and hold no lock across Submit in a way a
//     task relies on).
//   - A task may block on I/O (sockets, files, a pipe written by a loop). It
//     holds its worker meanwhile; size the pool for that.
//
// Shutdown (the destructor, or Shutdown()) runs every task already queued,
// tasks they submit included, then the leaf tasks, then joins the workers.
// A Submit after that runs the task at once on the caller's thread. Every
// loop must have returned by then (its owner joins it).
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
  class Loop;

  // `threads` general workers and `leaf_threads` workers for leaf tasks; 0
  // or less: the machine's cores (at least 1). Loops get threads as they
  // start.
  explicit ThreadPool(int threads, int leaf_threads = 0);
  ~ThreadPool();  // Shutdown()
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The number of general workers, fixed at construction.
  int size() const { return static_cast<int>(workers_.size()); }
  // The number of leaf workers, fixed at construction.
  int leaf_size() const { return static_cast<int>(leaf_workers_.size()); }

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

  // Queues `f`, a leaf task, and returns the future of its result: `f`
  // computes and returns, and never waits for anything another thread must
  // do (no future, no queue, no lock held for long, no pool call that
  // waits). The leaf workers run leaf tasks only, in order, so a wait for
  // one is always safe (see the rule above).
  template <typename F>
  auto SubmitLeaf(F&& f) -> std::future<std::invoke_result_t<std::decay_t<F>>> {
    using R = std::invoke_result_t<std::decay_t<F>>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> result = task->get_future();
    EnqueueLeaf([task] { (*task)(); });
    return result;
  }

  // Runs `loop` at once on a thread the pool keeps for loops (one that has
  // finished an earlier loop, else a new one): work that waits on others
  // for as long as it runs. It is never queued, so what it waits for may be
  // anything, tasks of the pool included; it does not run queued tasks while
  // it waits. Join the returned handle (its destructor does) before the
  // pool shuts down.
  Loop Start(std::function<void()> loop) EXCLUDES(mu_);

  // Waits for a future returned by this pool's Submit and returns its value
  // (or rethrows its exception). From a worker of this pool, runs queued
  // tasks Submit()ted outside a group meanwhile (see the rule above). Only for futures of this pool: the
  // wait wakes when one of its tasks finishes.
  template <typename T>
  T Await(std::future<T> future) EXCLUDES(mu_) {
    WaitUntil([&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; },
              /*group=*/nullptr);
    return future.get();
  }

  // Runs every queued task (and those they queue), then joins the workers.
  // Idempotent. Not from a task of this pool.
  void Shutdown() EXCLUDES(mu_);

  // The pool whose worker (general or leaf) or loop runs the calling
  // thread, or null.
  static ThreadPool* Current();
  // Current(), or else the process's own pool (made on first use: twice the
  // cores and two general workers, the cores for leaf tasks), for work
  // outside a run's pool.
  static ThreadPool& Here();

 private:
  friend class TaskGroup;
  struct Item {
    std::function<void()> run;
    TaskGroup* group = nullptr;  // counted down when `run` returns
  };

  struct LoopRun;

  void Enqueue(Item item) EXCLUDES(mu_);
  // Queued last, or first when `first`.
  void EnqueueLocked(Item item, bool first = false) REQUIRES(mu_);
  void EnqueueLeaf(std::function<void()> run) EXCLUDES(mu_);
  void Worker();
  void LeafWorker();
  void LoopWorker();
  // Runs `item` unlocked, then counts it done (its group, waiters).
  void RunLocked(Item item) REQUIRES(mu_);
  // Blocks until `done()` (evaluated with mu_ held) is true; from a worker
  // of this pool, runs queued tasks of `group` meanwhile (null: tasks
  // Submit()ted outside a group), never others: a wait does not take up
  // unrelated work, such as another archive's whole import.
  void WaitUntil(const std::function<bool()>& done, const TaskGroup* group) EXCLUDES(mu_);

  Mutex mu_;
  CondVar work_;          // a task was queued, or shutdown
  CondVar finished_;      // a task finished or was queued (for WaitUntil)
  CondVar leaf_work_;     // a leaf task was queued, or the leaf workers stop
  CondVar loop_work_;     // a loop was started, or the loop threads stop
  std::deque<Item> queue_ GUARDED_BY(mu_);
  std::deque<std::function<void()>> leaf_queue_ GUARDED_BY(mu_);
  // Loops started and not yet taken by a thread; each has a thread of
  // loop_threads_ set aside for it (idle_loop_threads_ counts the others).
  std::deque<std::shared_ptr<LoopRun>> loop_queue_ GUARDED_BY(mu_);
  int idle_loop_threads_ GUARDED_BY(mu_) = 0;
  int waiters_ GUARDED_BY(mu_) = 0;  // threads in WaitUntil
  bool stopping_ GUARDED_BY(mu_) = false;
  // Shutdown: the general workers have left, so no task can queue leaf
  // tasks any more; the leaf workers and the idle loop threads leave.
  bool tasks_done_ GUARDED_BY(mu_) = false;
  bool joined_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;       // set in the constructor only
  std::vector<std::thread> leaf_workers_;  // set in the constructor only
  std::vector<std::thread> loop_threads_ GUARDED_BY(mu_);  // grows in Start
};

// A loop started by ThreadPool::Start: Join() waits until it has returned
// (and rethrows what it threw); the destructor joins too, dropping an
// exception. Move-only; a default-constructed Loop has nothing to join.
class ThreadPool::Loop {
 public:
  Loop() = default;
  Loop(Loop&&) = default;
  Loop& operator=(Loop&& other) noexcept;
  ~Loop();

  void Join();
  bool joinable() const { return done_.valid(); }

 private:
  friend class ThreadPool;
  explicit Loop(std::future<void> done) : done_(std::move(done)) {}
  std::future<void> done_;
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
  // As Submit, but ahead of the group's tasks not yet started (and of the
  // pool's queue): for short work that tells others what to do next.
  void SubmitFirst(std::function<void()> task);

  // Waits for every task submitted so far. Rethrows the first exception a
  // task threw (once). From inside a pool task, runs the group's queued
  // tasks meanwhile.
  void Wait();

  // Drops the group's tasks that have not started (a failure makes them
  // pointless); running ones finish. Returns how many were dropped.
  size_t Cancel();

 private:
  friend class ThreadPool;
  void SubmitLocked(std::function<void()> task, bool first) REQUIRES(pool_.mu_);
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
// the calling thread's pool (ThreadPool::Here()). Returns when every call of
// `work` has returned. `work` should take its items from a shared queue until it
// is empty: a helper that starts late (the pool busy) then finds nothing
// and returns at once; a caller that is a worker of the pool runs the
// helpers not yet started itself, so it never waits for a worker to be free.
void RunAlongside(int helpers, const std::function<void()>& work);

}  // namespace ppa
