// ReadyFirst: tasks run in the order they become ready; the first failure
// stops the rest.
#include "importer/load/ready_first.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ppa {
namespace {

// A task whose readiness the test switches on, recording when it ran.
class Probe {
 public:
  ReadyFirst::Task Task(int id, Status result = Status::Ok()) {
    flags_[id] = false;
    return {[this, id](std::chrono::milliseconds wait) {
              auto deadline = std::chrono::steady_clock::now() + wait;
              while (!flags_[id]) {
                if (std::chrono::steady_clock::now() >= deadline) return false;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
              }
              return true;
            },
            [this, id, result] {
              std::lock_guard lock(mu_);
              ran_.push_back(id);
              return result;
            }};
  }
  void MakeReady(int id) { flags_[id] = true; }
  std::vector<int> ran() {
    std::lock_guard lock(mu_);
    return ran_;
  }

 private:
  std::atomic<bool> flags_[16] = {};
  std::mutex mu_;
  std::vector<int> ran_;
};

TEST(ReadyFirstTest, RunReadyRunsOnlyWhatIsReadyWhateverTheOrderOfAdding) {
  Probe probe;
  ReadyFirst runner;
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
  Probe probe;
  ReadyFirst runner;
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
  Probe probe;
  ReadyFirst runner;
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

}  // namespace
}  // namespace ppa
