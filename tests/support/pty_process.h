// Runs a program on a pseudo-terminal (forkpty): its stdin, stdout and
// stderr are the terminal's slave side, and it is the session leader, so
// /dev/tty is that terminal. For tests of terminal prompts.
//
// Bounded: the run is killed after `timeout`. Thread-compatible.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace ppa::test {

struct PtyResult {
  int exit_code = -1;  // 128 + N when killed by signal N
  std::string output;  // everything the program wrote to the terminal
  bool answered = false;  // `expect` was seen and `answer` written
  bool timed_out = false;
  bool echo_after = false;  // the terminal echoes typed keys once the program has ended
};

// Runs argv (PATH lookup, no shell) with `env` added to the environment.
// Once the terminal output contains `expect`, writes `answer` to it (as
// typed keys; "" writes nothing). Then reads until the program exits.
PtyResult RunOnPty(const std::vector<std::string>& argv,
                   const std::map<std::string, std::string>& env, const std::string& expect,
                   const std::string& answer,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60),
                   const std::string& working_dir = "");

}  // namespace ppa::test
