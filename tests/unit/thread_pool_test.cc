// base/thread_pool.h and base/mutex.h: one pool with general workers, leaf
// workers and loops; completion signals, nested submit-and-wait without
// deadlock, bounded groups, shutdown.
#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"

namespace ppa {
namespace {

using namespace std::chrono_literals;

TEST(ThreadPoolTest, SubmitReturnsEachTasksResult) {
  ThreadPool pool(3);
  std::vector<std::future<int>> results;
  for (int i = 0; i < 50; ++i) results.push_back(pool.Submit([i] { return i * i; }));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(results[i].get(), i * i);
}

TEST(ThreadPoolTest, SubmitStoresTheTasksException) {
  ThreadPool pool(1);
  auto failed = pool.Submit([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_THROW(failed.get(), std::runtime_error);
  EXPECT_EQ(pool.Submit([] { return 7; }).get(), 7);  // the worker survived
}

TEST(ThreadPoolTest, RunsOnExactlyItsFixedNumberOfThreads) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  Mutex mu;
  std::set<std::thread::id> seen;
  TaskGroup group(pool);
  for (int i = 0; i < 200; ++i) {
    group.Submit([&] {
      std::this_thread::sleep_for(100us);
      MutexLock lock(&mu);
      seen.insert(std::this_thread::get_id());
    });
  }
  group.Wait();
  MutexLock lock(&mu);
  EXPECT_LE(seen.size(), 3u);
  EXPECT_EQ(seen.count(std::this_thread::get_id()), 0u);  // the caller only waits
}

TEST(ThreadPoolTest, SizeZeroMeansTheMachinesCores) {
  ThreadPool pool(0);
  EXPECT_GE(pool.size(), 1);
  EXPECT_EQ(pool.size(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ThreadPoolTest, CurrentNamesTheWorkersPoolOnly) {
  ThreadPool pool(2);
  EXPECT_EQ(ThreadPool::Current(), nullptr);
  EXPECT_EQ(pool.Submit([] { return ThreadPool::Current(); }).get(), &pool);
}

TEST(TaskGroupTest, WaitReturnsOnceEveryTaskFinished) {
  ThreadPool pool(4);
  std::atomic<int> done{0};
  TaskGroup group(pool);
  for (int i = 0; i < 100; ++i) {
    group.Submit([&] {
      std::this_thread::sleep_for(50us);
      ++done;
    });
  }
  group.Wait();
  EXPECT_EQ(done.load(), 100);
}

TEST(TaskGroupTest, WaitOnAnEmptyGroupReturnsAtOnce) {
  ThreadPool pool(1);
  TaskGroup group(pool);
  group.Wait();
}

// The deadlock a hand-rolled pool has: a task that submits work and waits
// for it, on a pool whose every worker does the same.
TEST(TaskGroupTest, NestedSubmitAndWaitDoesNotDeadlockAOneThreadPool) {
  ThreadPool pool(1);
  std::atomic<int> leaves{0};
  TaskGroup outer(pool);
  for (int i = 0; i < 4; ++i) {
    outer.Submit([&] {
      TaskGroup inner(pool);
      for (int j = 0; j < 4; ++j) inner.Submit([&] { ++leaves; });
      inner.Wait();  // runs the queued inner tasks on this worker
    });
  }
  outer.Wait();
  EXPECT_EQ(leaves.load(), 16);
}

int Fib(ThreadPool& pool, int n) {
  if (n < 2) return n;
  int a = 0;
  TaskGroup group(pool);
  group.Submit([&] { a = Fib(pool, n - 1); });
  int b = Fib(pool, n - 2);
  group.Wait();
  return a + b;
}

TEST(TaskGroupTest, RecursiveWaitsOnEveryWorkerMakeProgress) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.Submit([&] { return Fib(pool, 15); }).get(), 610) << threads;
  }
}

TEST(ThreadPoolTest, AwaitInsideATaskRunsQueuedWork) {
  ThreadPool pool(1);
  auto outer = pool.Submit([&] {
    auto inner = pool.Submit([] { return 41; });
    return pool.Await(std::move(inner)) + 1;  // future.get() here would hang
  });
  EXPECT_EQ(pool.Await(std::move(outer)), 42);
}

TEST(TaskGroupTest, MaxParallelBoundsHowManyRunAtOnce) {
  ThreadPool pool(6);
  std::atomic<int> running{0}, peak{0}, done{0};
  TaskGroup group(pool, /*max_parallel=*/2);
  for (int i = 0; i < 30; ++i) {
    group.Submit([&] {
      int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(200us);
      --running;
      ++done;
    });
  }
  group.Wait();
  EXPECT_EQ(done.load(), 30);
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
}

TEST(TaskGroupTest, BoundedGroupsInsideTasksDoNotDeadlock) {
  ThreadPool pool(2);
  std::atomic<int> leaves{0};
  TaskGroup archives(pool, /*max_parallel=*/2);
  for (int a = 0; a < 3; ++a) {
    archives.Submit([&] {
      TaskGroup layers(pool, /*max_parallel=*/1);
      for (int l = 0; l < 5; ++l) layers.Submit([&] { ++leaves; });
      layers.Wait();
    });
  }
  archives.Wait();
  EXPECT_EQ(leaves.load(), 15);
}

TEST(TaskGroupTest, WaitRethrowsTheFirstExceptionOnce) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  TaskGroup group(pool);
  group.Submit([] { throw std::runtime_error("first"); });
  for (int i = 0; i < 10; ++i) group.Submit([&] { ++done; });
  EXPECT_THROW(group.Wait(), std::runtime_error);
  EXPECT_EQ(done.load(), 10);  // the others still ran
  group.Wait();                // reported once
}

TEST(TaskGroupTest, DestructorWaitsForTasksThatUseTheCallersLocals) {
  ThreadPool pool(2);
  std::vector<int> out(64, 0);
  {
    TaskGroup group(pool);
    for (size_t i = 0; i < out.size(); ++i) {
      group.Submit([&out, i] {
        std::this_thread::sleep_for(20us);
        out[i] = 1;
      });
    }
  }
  for (int v : out) EXPECT_EQ(v, 1);
}

TEST(TaskGroupTest, CancelDropsTasksNotStarted) {
  ThreadPool pool(1);
  Mutex mu;
  CondVar cv;
  bool started = false, release = false;
  std::atomic<int> ran{0};
  TaskGroup group(pool);
  group.Submit([&] {
    MutexLock lock(&mu);
    started = true;
    cv.SignalAll();
    while (!release) cv.Wait(&mu);
  });
  {
    MutexLock lock(&mu);
    while (!started) cv.Wait(&mu);
  }
  for (int i = 0; i < 5; ++i) group.Submit([&] { ++ran; });
  EXPECT_EQ(group.Cancel(), 5u);
  {
    MutexLock lock(&mu);
    release = true;
    cv.SignalAll();
  }
  group.Wait();
  EXPECT_EQ(ran.load(), 0);
}

TEST(ThreadPoolTest, ShutdownRunsQueuedTasksAndTheTasksTheyQueue) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(2);
    for (int i = 0; i < 20; ++i) {
      pool.Submit([&] {
        ++ran;
        pool.Submit([&] { ++ran; });  // queued during shutdown: still runs
      });
    }
  }  // the destructor joins
  EXPECT_EQ(ran.load(), 40);
}

TEST(ThreadPoolTest, SubmitAfterShutdownRunsOnTheCaller) {
  ThreadPool pool(2);
  pool.Shutdown();
  pool.Shutdown();  // idempotent
  EXPECT_EQ(pool.Submit([] { return std::this_thread::get_id(); }).get(),
            std::this_thread::get_id());
  std::atomic<int> ran{0};
  TaskGroup group(pool, 1);
  for (int i = 0; i < 3; ++i) group.Submit([&] { ++ran; });
  group.Wait();
  EXPECT_EQ(ran.load(), 3);
}

TEST(ThreadPoolTest, ManyThreadsSubmitAndWaitAtOnce) {
  ThreadPool pool(3);
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      TaskGroup group(pool, 2);
      for (int i = 0; i < 50; ++i) group.Submit([&] { ++total; });
      group.Wait();
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 200);
}

TEST(CondVarTest, WaitForTimesOutWithoutASignal) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(&mu);
  const auto start = std::chrono::steady_clock::now();
  bool woken = true;
  while (woken && std::chrono::steady_clock::now() - start < 20ms) woken = cv.WaitFor(&mu, 20ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(CondVarTest, SignalWakesTheWaiterWithTheMutexHeld) {
  Mutex mu;
  CondVar cv;
  int value = 0;  // guarded by mu
  std::thread setter([&] {
    MutexLock lock(&mu);
    value = 1;
    cv.Signal();
  });
  {
    MutexLock lock(&mu);
    while (value == 0) cv.Wait(&mu);
    EXPECT_EQ(value, 1);
  }
  setter.join();
}

bool FreeElsewhere(Mutex& mu) {
  bool free = false;
  std::thread([&] {
    if (mu.TryLock()) {
      free = true;
      mu.Unlock();
    }
  }).join();
  return free;
}

TEST(MutexLockTest, UnlockAndLockAgainWithinTheScope) {
  Mutex mu;
  MutexLock lock(&mu);
  EXPECT_FALSE(FreeElsewhere(mu));
  lock.Unlock();
  EXPECT_TRUE(FreeElsewhere(mu));
  lock.Lock();
  EXPECT_FALSE(FreeElsewhere(mu));
}

// RunAlongside from a pool task: the helpers are tasks of that pool (no
// thread of their own), they run at the same time as the caller, and every
// item of the shared queue is done once.
TEST(RunAlongside, HelpersAreTasksOfTheCallersPoolAndRunAtOnce) {
  ThreadPool pool(4);
  std::atomic<int> next{0}, arrived{0};
  std::atomic<bool> gave_up{false};
  std::vector<std::atomic<int>> done(100);
  Mutex mu;
  std::set<std::thread::id> threads;
  bool all_pool = true;
  pool.Submit([&] {
        RunAlongside(2, [&] {
          {
            MutexLock lock(&mu);
            threads.insert(std::this_thread::get_id());
            all_pool = all_pool && ThreadPool::Current() == &pool;
          }
          // The three wait for each other: they run at once (run one after
          // another, the first would give up waiting).
          ++arrived;
          const auto deadline = std::chrono::steady_clock::now() + 10s;
          while (arrived < 3 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
          }
          if (arrived < 3) gave_up = true;
          for (int k; (k = next++) < 100;) ++done[static_cast<size_t>(k)];
        });
      })
      .get();
  EXPECT_EQ(arrived, 3);
  EXPECT_FALSE(gave_up);
  MutexLock lock(&mu);
  EXPECT_EQ(threads.size(), 3u);
  EXPECT_TRUE(all_pool);
  for (const auto& d : done) EXPECT_EQ(d, 1);
}

// A pool whose only worker is the caller: the helpers cannot start, and the
// caller does every item itself (no deadlock). Outside a pool, the helpers
// are tasks of the process's pool (ThreadPool::Here()), which has room for
// them.
TEST(RunAlongside, ABusyPoolLeavesTheWorkToTheCallerAndNoPoolMeansTheProcesssPool) {
  ThreadPool pool(1);
  std::atomic<int> next{0}, items{0};
  pool.Submit([&] {
        RunAlongside(3, [&] {
          for (int k; (k = next++) < 50;) ++items;
        });
      })
      .get();
  EXPECT_EQ(items, 50);

  std::atomic<int> arrived{0}, in_process_pool{0};
  std::atomic<bool> gave_up{false};
  ThreadPool* process_pool = &ThreadPool::Here();
  RunAlongside(2, [&] {
    if (ThreadPool::Current() == process_pool) ++in_process_pool;
    ++arrived;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (arrived < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (arrived < 3) gave_up = true;  // not at once
  });
  EXPECT_EQ(arrived, 3);
  EXPECT_FALSE(gave_up);
  EXPECT_EQ(in_process_pool, 2);  // the two helpers; the caller is no worker
}

// Every general worker blocked in a plain wait for a leaf task: the leaf
// workers still run it (the deflate blocks a layer's compressing task
// waits for).
TEST(ThreadPoolLeafTest, PlainWaitsForLeafTasksFromEveryGeneralWorkerFinish) {
  ThreadPool pool(2, 1);
  EXPECT_EQ(pool.leaf_size(), 1);
  std::vector<std::future<int>> outer;
  for (int i = 0; i < 4; ++i) {
    outer.push_back(pool.Submit([&pool, i] {
      int sum = 0;
      for (int k = 0; k < 10; ++k) sum += pool.SubmitLeaf([i, k] { return i + k; }).get();
      return sum;
    }));
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(outer[i].wait_for(30s), std::future_status::ready) << "deadlocked";
    EXPECT_EQ(outer[i].get(), 10 * i + 45);
  }
}

// Leaf tasks run on the leaf workers only, never on a general worker nor
// the caller; a general task queued meanwhile does not wait for them.
TEST(ThreadPoolLeafTest, LeafTasksRunOnTheLeafWorkersOnly) {
  ThreadPool pool(2, 2);
  Mutex mu;
  std::set<std::thread::id> leaf_threads, general_threads;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::future<void>> leaves;
  std::atomic<int> holding{0};
  for (int i = 0; i < 2; ++i) {  // both leaf workers held, at once
    leaves.push_back(pool.SubmitLeaf([&] {
      {
        MutexLock lock(&mu);
        leaf_threads.insert(std::this_thread::get_id());
      }
      ++holding;
      released.wait();
    }));
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (holding < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(holding, 2) << "the two leaf workers did not run at once";
  // A general task runs although every leaf worker is busy.
  auto general = pool.Submit([&] {
    MutexLock lock(&mu);
    general_threads.insert(std::this_thread::get_id());
  });
  EXPECT_EQ(general.wait_for(30s), std::future_status::ready);
  release.set_value();
  for (int i = 0; i < 40; ++i) {
    leaves.push_back(pool.SubmitLeaf([&] {
      MutexLock lock(&mu);
      leaf_threads.insert(std::this_thread::get_id());
    }));
  }
  for (auto& l : leaves) l.get();
  MutexLock lock(&mu);
  EXPECT_EQ(leaf_threads.size(), 2u);
  for (const auto& id : general_threads) EXPECT_EQ(leaf_threads.count(id), 0u);
  EXPECT_EQ(leaf_threads.count(std::this_thread::get_id()), 0u);
}

// A loop starts at once, even with every worker of both kinds busy, so a
// task may wait in a plain wait for what a loop does (a reader waiting for
// its producer).
TEST(ThreadPoolLoopTest, ALoopStartsAtOnceWithEveryWorkerBusy) {
  ThreadPool pool(1, 1);
  std::promise<void> release_leaf;
  auto leaf = pool.SubmitLeaf([f = release_leaf.get_future().share()] { f.wait(); });
  auto task = pool.Submit([&pool] {
    std::promise<int> produced;
    ThreadPool::Loop producer = pool.Start([&produced] { produced.set_value(42); });
    int value = produced.get_future().get();  // the only general worker waits
    producer.Join();
    return value;
  });
  ASSERT_EQ(task.wait_for(30s), std::future_status::ready) << "the loop never started";
  EXPECT_EQ(task.get(), 42);
  release_leaf.set_value();
  leaf.get();
}

// Two loops at once run at the same time (each waits for the other); a
// loop thread that finished is reused by the next loop; Join rethrows.
TEST(ThreadPoolLoopTest, LoopsRunTogetherReuseFinishedThreadsAndJoinRethrows) {
  ThreadPool pool(1, 1);
  std::atomic<int> arrived{0};
  std::atomic<bool> gave_up{false};
  auto meet = [&] {
    ++arrived;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (arrived < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (arrived < 2) gave_up = true;
  };
  std::thread::id a_id, b_id;
  {
    ThreadPool::Loop a = pool.Start([&] {
      a_id = std::this_thread::get_id();
      meet();
    });
    ThreadPool::Loop b = pool.Start([&] {
      b_id = std::this_thread::get_id();
      meet();
    });
    a.Join();
    b.Join();
  }
  EXPECT_EQ(arrived, 2);
  EXPECT_FALSE(gave_up);

  std::set<std::thread::id> later;
  for (int i = 0; i < 5; ++i) {
    pool.Start([&] {
          later.insert(std::this_thread::get_id());
          EXPECT_EQ(ThreadPool::Current(), &pool);
        })
        .Join();
  }
  EXPECT_NE(a_id, b_id);
  for (const auto& id : later) {  // no new thread: one of the two kept for loops
    EXPECT_TRUE(id == a_id || id == b_id);
  }

  ThreadPool::Loop failing = pool.Start([] { throw std::runtime_error("loop failed"); });
  EXPECT_THROW(failing.Join(), std::runtime_error);
}

// A loop that waits for tasks does not run them itself (it would hold up
// what it is there to do): they run on the general workers.
TEST(ThreadPoolLoopTest, ALoopWaitingForTasksLeavesThemToTheWorkers) {
  ThreadPool pool(2, 1);
  std::thread::id loop_id;
  Mutex mu;
  std::set<std::thread::id> ran_on;
  pool.Start([&] {
        loop_id = std::this_thread::get_id();
        TaskGroup group(ThreadPool::Here());
        for (int i = 0; i < 20; ++i) {
          group.Submit([&] {
            MutexLock lock(&mu);
            ran_on.insert(std::this_thread::get_id());
          });
        }
        group.Wait();
      })
      .Join();
  MutexLock lock(&mu);
  EXPECT_EQ(ran_on.count(loop_id), 0u);
  EXPECT_FALSE(ran_on.empty());
}

// Here() is the calling worker's pool, and the one process pool elsewhere.
TEST(ThreadPoolTest, HereIsTheWorkersPoolElseTheProcesssOwn) {
  ThreadPool pool(1);
  EXPECT_EQ(pool.Submit([] { return &ThreadPool::Here(); }).get(), &pool);
  EXPECT_EQ(pool.SubmitLeaf([] { return &ThreadPool::Here(); }).get(), &pool);
  EXPECT_EQ(ThreadPool::Current(), nullptr);
  ThreadPool& process = ThreadPool::Here();
  EXPECT_NE(&process, &pool);
  EXPECT_EQ(&ThreadPool::Here(), &process);
  EXPECT_EQ(std::async(std::launch::async, [] { return &ThreadPool::Here(); }).get(), &process);
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(process.size(), 2 * cores + 2);
  EXPECT_EQ(process.leaf_size(), cores);
}

// A wait helps with the tasks it waits for only: a task of another group
// queued first stays for the workers (a wait in one archive's import does
// not take up another archive's whole import).
TEST(TaskGroupTest, AWaitRunsOnlyTheTasksOfWhatItWaitsFor) {
  ThreadPool pool(1);
  std::atomic<bool> other_ran{false};
  std::atomic<bool> other_ran_during_wait{true};
  TaskGroup other(pool);
  pool.Submit([&] {
        other.Submit([&] { other_ran = true; });  // queued first
        TaskGroup mine(pool);
        std::atomic<int> done{0};
        for (int i = 0; i < 3; ++i) mine.Submit([&] { ++done; });
        mine.Wait();  // the only worker: it runs its own three itself
        EXPECT_EQ(done, 3);
        other_ran_during_wait = other_ran.load();
        std::future<int> f = pool.Submit([] { return 5; });
        EXPECT_EQ(pool.Await(std::move(f)), 5);  // ungrouped: Await runs it
      })
      .get();
  other.Wait();
  EXPECT_FALSE(other_ran_during_wait);
  EXPECT_TRUE(other_ran);
}

// A loop started after Shutdown still runs, on a thread of its own, and is
// joined (a thread that left at Shutdown is not handed it).
TEST(ThreadPoolLoopTest, ALoopStartedAfterShutdownRuns) {
  ThreadPool pool(1, 1);
  pool.Start([] {}).Join();  // one loop thread, idle afterwards
  pool.Shutdown();
  std::atomic<bool> ran{false};
  ThreadPool::Loop late = pool.Start([&] { ran = true; });
  auto joined = std::async(std::launch::async, [&] { late.Join(); });
  ASSERT_EQ(joined.wait_for(30s), std::future_status::ready) << "handed to a thread that left";
  EXPECT_TRUE(ran);
}

// SubmitFirst goes ahead of what is queued, in a bounded group too.
TEST(TaskGroupTest, SubmitFirstRunsAheadOfTheQueuedTasks) {
  ThreadPool pool(1);
  std::promise<void> release;
  std::vector<int> order;  // the one worker's only
  TaskGroup group(pool, /*max_parallel=*/1);
  group.Submit([f = release.get_future().share()] { f.wait(); });
  for (int i = 1; i <= 3; ++i) group.Submit([&order, i] { order.push_back(i); });
  group.SubmitFirst([&order] { order.push_back(0); });
  release.set_value();
  group.Wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));

  std::promise<void> hold;
  std::vector<int> plain;
  TaskGroup unbounded(pool);
  unbounded.Submit([f = hold.get_future().share()] { f.wait(); });
  unbounded.Submit([&plain] { plain.push_back(1); });
  unbounded.SubmitFirst([&plain] { plain.push_back(0); });
  hold.set_value();
  unbounded.Wait();
  EXPECT_EQ(plain, (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace ppa
