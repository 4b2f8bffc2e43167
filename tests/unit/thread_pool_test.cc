// base/thread_pool.h and base/mutex.h: one fixed pool, completion signals,
// nested submit-and-wait without deadlock, bounded groups, shutdown.
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
// are threads of their own.
TEST(RunAlongside, ABusyPoolLeavesTheWorkToTheCallerAndNoPoolMeansThreads) {
  ThreadPool pool(1);
  std::atomic<int> next{0}, items{0};
  pool.Submit([&] {
        RunAlongside(3, [&] {
          for (int k; (k = next++) < 50;) ++items;
        });
      })
      .get();
  EXPECT_EQ(items, 50);

  std::atomic<int> arrived{0};
  std::atomic<bool> in_pool{false}, gave_up{false};
  RunAlongside(2, [&] {
    in_pool = in_pool || ThreadPool::Current() != nullptr;
    ++arrived;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (arrived < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (arrived < 3) gave_up = true;  // not at once
  });
  EXPECT_EQ(arrived, 3);
  EXPECT_FALSE(gave_up);
  EXPECT_FALSE(in_pool);
}

}  // namespace
}  // namespace ppa
