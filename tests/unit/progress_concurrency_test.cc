// ProgressDisplay entered from the run's pool: every method from many tasks
// at once while its ticker redraws (run under scripts/test.sh --tsan), and
// a ticker that stops on its signal, not at the end of an interval.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>

#include "base/thread_pool.h"
#include "importer/report/progress.h"

namespace ppa {
namespace {

using namespace std::chrono_literals;

void Hammer(ProgressDisplay& display, ThreadPool& pool, int archive) {
  TaskGroup tasks(pool);
  for (int i = 0; i < 64; ++i) {
    tasks.Submit([&display, archive, i] {
      const std::string key = "r@l" + std::to_string(i);
      int id = display.Begin(key, 1000);
      for (uint64_t done = 0; done <= 1000; done += 250) {
        display.Update(id, done);
        display.Credit(archive, key, done);
      }
      display.Above([] {});
      display.End(id);
      (void)display.Snapshot(archive);
    });
  }
  tasks.Wait();
}

std::map<std::string, uint64_t> Plan() {
  std::map<std::string, uint64_t> work;
  for (int i = 0; i < 64; ++i) work["r@l" + std::to_string(i)] = 1000;
  return work;
}

TEST(ProgressConcurrencyTest, TerminalModeFromManyTasksWhileTheTickerRedraws) {
  ThreadPool pool(4);
  std::FILE* sink = std::fopen("/dev/null", "w");
  ASSERT_NE(sink, nullptr);
  {
    ProgressDisplay display(sink, /*enabled=*/true);
    display.ShowLabels(true);
    int a = display.BeginArchive("a.tgz", 1000, 1000);
    display.UnpackRead(a, 1000);
    display.Planned(a, Plan());
    Hammer(display, pool, a);
    EXPECT_EQ(display.Snapshot(a).done, 64u * 1000);
    EXPECT_EQ(display.Snapshot(a).blobs_done, 64);
    display.EndArchive(a);
  }
  std::fclose(sink);
}

TEST(ProgressConcurrencyTest, LogModeFromManyTasksWhileTheTickerLogs) {
  ThreadPool pool(4);
  std::ostringstream log;
  {
    ProgressDisplay display(ProgressMode::kLog, nullptr, &log, 1ms);
    int a = display.BeginArchive("a.tgz", 1000, 1000);
    int b = display.BeginArchive("b.tgz", 1000, 1000);
    display.Planned(a, Plan());
    display.Planned(b, Plan());
    TaskGroup archives(pool);
    archives.Submit([&] { Hammer(display, pool, a); });
    archives.Submit([&] { Hammer(display, pool, b); });
    archives.Wait();
    EXPECT_EQ(display.Snapshot(a).done, 64u * 1000);
    EXPECT_EQ(display.Snapshot(b).done, 64u * 1000);
  }
  // Each line the ticker logged is whole (the log is written under the lock).
  std::istringstream lines(log.str());
  for (std::string line; std::getline(lines, line);) EXPECT_EQ(line.rfind("Progress: ", 0), 0u) << line;
}

// The ticker waits for its interval on the stop signal: the display goes
// away at once, not after the interval (an hour here).
TEST(ProgressConcurrencyTest, TickerStopsOnItsSignalNotAtTheNextTick) {
  std::ostringstream log;
  const auto start = std::chrono::steady_clock::now();
  { ProgressDisplay display(ProgressMode::kLog, nullptr, &log, std::chrono::hours(1)); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(log.str(), "");
}

}  // namespace
}  // namespace ppa
