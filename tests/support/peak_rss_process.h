// Runs a program and reports its peak resident set size, for the tests that
// hold the binary to a memory budget (tests/integration/hostile_memory_test.cc).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace ppa::test {

struct MeasuredProcess {
  ProcessResult result;
  uint64_t peak_rss_bytes = 0;  // the program's ru_maxrss (wait4, by GNU time), in bytes
};

// Runs argv[0] (a path) with argv under /usr/bin/time (Debian package
// `time`, installed by scripts/setup.sh), stdin from /dev/null, `env` added
// to the current environment, in `working_dir`. The program's address space
// is limited to `address_space_limit` bytes (RLIMIT_AS) and its CPU time to
// 300 s (RLIMIT_CPU), so that a regression fails the test instead of taking
// the machine. stdout and stderr are captured through files. Blocks until
// exit.
MeasuredProcess RunMeasured(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env,
                            const std::string& working_dir, uint64_t address_space_limit);

}  // namespace ppa::test
