// Waits for a condition another thread makes true, for tests only: checks
// `done` every 10 ms, at most 30 s; returns whether it holds.
#pragma once

#include <chrono>
#include <thread>

namespace ppa::test {

template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 3000 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace ppa::test
