// ReadyFirst: tasks run in the order they become ready; the first failure
// stops the rest; a thread with nothing ready sleeps until told of a change
// (Wake, a task added, done or failed, Clear), never on a timer.
#include "importer/load/ready_first.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ppa {
namespace {

// A task whose readiness the test switches on (telling the runner, as a
// blob made does), recording when it ran and how often its readiness was
// asked.
class Probe {
 public:
  explicit Probe(ReadyFirst& runner) : runner_(runner) {}
  ReadyFirst::Task Task(int id, Status result = Status::Ok(),
                        std::chrono::milliseconds takes = std::chrono::milliseconds(0)) {
    flags_[id] = false;
    return {[this, id] {
              ++checks_[id];
              return flags_[id].load();
            },
            [this, id, result, takes] {
              std::this_thread::sleep_for(takes);
              std::lock_guard lock(mu_);
              ran_.push_back(id);
              return result;
            }};
  }
  void MakeReady(int id) {
    flags_[id] = true;
    runner_.Wake();
  }
  int checks(int id) const { return checks_[id]; }
  std::vector<int> ran() {
    std::lock_guard lock(mu_);
    return ran_;
  }

 private:
  ReadyFirst& runner_;
  std::atomic<bool> flags_[16] = {};
  std::atomic<int> checks_[16] = {};
  std::mutex mu_;
  std::vector<int> ran_;
};

// RunAll(threads) on a thread of its own, so a test can tell whether it
// returns.
std::future<Status> RunAllAsync(ReadyFirst& runner, int threads) {
  return std::async(std::launch::async, [&runner, threads] { return runner.RunAll(threads); });
}

bool Returns(std::future<Status>& done) {
  return done.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
}

TEST(ReadyFirstTest, RunReadyRunsOnlyWhatIsReadyWhateverTheOrderOfAdding) {
  ReadyFirst runner;
  Probe probe(runner);
  for (int id = 0; id < 4; ++id) runner.Add(probe.Task(id));
  std::atomic<bool> stop{false};

  EXPECT_TRUE(runner.RunReady(stop).ok());
  EXPECT_TRUE(probe.ran().empty());

  // The last one added is ready first: it does not wait for the others.
  probe.MakeReady(3);
  probe.MakeReady(1);
  EXPECT_TRUE(runner.RunReady(stop).ok());
  EXPECT_EQ(probe.ran(), (std::vector<int>{1, 3}));
  EXPECT_FALSE(runner.empty());

  probe.MakeReady(0);
  probe.MakeReady(2);
  stop = true;  // nothing runs once stopped
  EXPECT_TRUE(runner.RunReady(stop).ok());
  EXPECT_EQ(probe.ran().size(), 2u);
  stop = false;
  EXPECT_TRUE(runner.RunReady(stop).ok());
  EXPECT_EQ(probe.ran(), (std::vector<int>{1, 3, 0, 2}));
  EXPECT_TRUE(runner.empty());
}

TEST(ReadyFirstTest, RunAllWaitsForTasksThatAreNotReadyYet) {
  ReadyFirst runner;
  Probe probe(runner);
  for (int id = 0; id < 3; ++id) runner.Add(probe.Task(id));
  probe.MakeReady(2);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe.MakeReady(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe.MakeReady(1);
  });
  Status done = runner.RunAll(2);
  later.join();
  EXPECT_TRUE(done.ok());
  EXPECT_EQ(probe.ran(), (std::vector<int>{2, 0, 1}));
  EXPECT_TRUE(runner.empty());
}

TEST(ReadyFirstTest, TheFirstFailureStopsTheRest) {
  ReadyFirst runner;
  Probe probe(runner);
  runner.Add(probe.Task(0));
  runner.Add(probe.Task(1, IoError("registry went away")));
  runner.Add(probe.Task(2));
  probe.MakeReady(1);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    probe.MakeReady(0);
    probe.MakeReady(2);
  });
  Status done = runner.RunAll(1);
  later.join();
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.ToString().find("registry went away"), std::string::npos);
  EXPECT_EQ(probe.ran(), (std::vector<int>{1}));
  // Later calls report the same failure and run nothing.
  std::atomic<bool> stop{false};
  EXPECT_FALSE(runner.RunReady(stop).ok());
  EXPECT_EQ(probe.ran(), (std::vector<int>{1}));

  runner.Clear();
  EXPECT_TRUE(runner.empty());
  EXPECT_TRUE(runner.RunReady(stop).ok());
}

TEST(ReadyFirstTest, RunAllWithNothingQueuedReturnsAtOnce) {
  ReadyFirst runner;
  EXPECT_TRUE(runner.RunAll(4).ok());
}

// Was: a thread with nothing ready looked again every 20 ms (21 looks in
// these 200 ms). Now it looks once, then once more when woken.
TEST(ReadyFirstTest, AWaitingRunAllLooksAgainOnlyWhenWokenNotOnATimer) {
  ReadyFirst runner;
  Probe probe(runner);
  runner.Add(probe.Task(0));
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    probe.MakeReady(0);
  });
  EXPECT_TRUE(runner.RunAll(2).ok());
  later.join();
  EXPECT_EQ(probe.ran(), (std::vector<int>{0}));
  EXPECT_LE(probe.checks(0), 4);
}

// Was: the thread waiting for a task that never becomes ready noticed the
// other thread's failure only at its next look, 20 ms later, and looked
// again and again while the failing task ran.
TEST(ReadyFirstTest, AFailureWakesTheThreadsWaitingInRunAll) {
  ReadyFirst runner;
  Probe probe(runner);
  runner.Add(probe.Task(0));  // never ready
  runner.Add(probe.Task(1, IoError("registry went away"), std::chrono::milliseconds(200)));
  std::future<Status> done = RunAllAsync(runner, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // both threads wait
  probe.MakeReady(1);
  ASSERT_TRUE(Returns(done));
  Status status = done.get();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(probe.ran(), (std::vector<int>{1}));
  EXPECT_LE(probe.checks(0), 6);
}

TEST(ReadyFirstTest, ClearWakesTheThreadsWaitingInRunAll) {
  ReadyFirst runner;
  Probe probe(runner);
  runner.Add(probe.Task(0));  // never ready
  runner.Add(probe.Task(1));  // never ready
  std::future<Status> done = RunAllAsync(runner, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  runner.Clear();
  ASSERT_TRUE(Returns(done));
  EXPECT_TRUE(done.get().ok());
  EXPECT_TRUE(probe.ran().empty());
  EXPECT_LE(probe.checks(0) + probe.checks(1), 8);
}

// The upload to a blob's first repository done is what the others wait
// for: a task of the runner, whose end wakes the threads waiting for it.
TEST(ReadyFirstTest, ATaskDoneWakesTheTasksWaitingForIt) {
  ReadyFirst runner;
  std::atomic<bool> first_done{false};
  std::atomic<int> checks{0};
  runner.Add({[&] {
                ++checks;
                return first_done.load();
              },
              [] { return Status::Ok(); }});
  runner.Add({[] { return true; },
              [&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
                first_done = true;
                return Status::Ok();
              }});
  std::future<Status> done = RunAllAsync(runner, 2);
  ASSERT_TRUE(Returns(done));
  EXPECT_TRUE(done.get().ok());
  EXPECT_TRUE(runner.empty());
  EXPECT_LE(checks.load(), 6);
}

// A change told between a thread's look and its wait must still wake it:
// thousands of tasks, each made ready at about the moment the runner looks
// (its adding woke the runner), each awaited; a task never ready keeps
// RunAll waiting between them.
TEST(ReadyFirstTest, NoWakeUpIsLostBetweenTheLookAndTheWait) {
  constexpr int kTasks = 3000;
  ReadyFirst runner;
  std::vector<std::atomic<bool>> ready(kTasks + 1);
  std::atomic<int> ran{0};
  auto task = [&](int id) -> ReadyFirst::Task {
    return {[&ready, id] { return ready[id].load(); },
            [&ran] {
              ++ran;
              return Status::Ok();
            }};
  };
  runner.Add(task(kTasks));  // ready at the end
  std::future<Status> done = RunAllAsync(runner, 1);
  int lost = -1;
  for (int i = 0; i < kTasks && lost < 0; ++i) {
    runner.Add(task(i));
    if (i % 3 == 1) std::this_thread::yield();
    if (i % 3 == 2) std::this_thread::sleep_for(std::chrono::microseconds(i % 40));
    ready[i] = true;
    runner.Wake();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (ran < i + 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (ran < i + 1) lost = i;
  }
  ready[kTasks] = true;
  runner.Wake();
  ASSERT_TRUE(Returns(done));
  EXPECT_EQ(lost, -1) << "the runner slept through the change of task " << lost;
  EXPECT_TRUE(done.get().ok());
  EXPECT_EQ(ran.load(), kTasks + 1);
}

// Every change the waiting threads must see wakes them: a task added, made
// ready (Wake), done, and Clear.
TEST(ReadyFirstTest, EveryChangeWakesTheWaiters) {
  ReadyFirst runner;
  Probe probe(runner);
  const uint64_t before = runner.wakes();
  runner.Add(probe.Task(0));  // 1
  probe.MakeReady(0);         // 2
  std::atomic<bool> stop{false};
  EXPECT_TRUE(runner.RunReady(stop).ok());  // 3: a task done
  runner.Clear();                           // 4
  EXPECT_EQ(runner.wakes() - before, 4u);
}

}  // namespace
}  // namespace ppa
