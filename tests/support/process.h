// Running other programs from tests: RunProcess (fork/execvp, no shell,
// captured output), ChildProcess (a long-running server whose output goes to
// a log file, stopped on destruction) and TempDir.
//
// All of it is thread-compatible; RunProcess may be called from several
// threads at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace ppa::test {

struct ProcessResult {
  // The exit status; 128 + N when killed by signal N; 127 when the program
  // could not be started (stderr then says why).
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv[0] (looked up in PATH) with argv, without a shell. `stdin_data`
// is written to its stdin (closed right after; /dev/null when absent).
// `env` overrides or adds variables of the current environment.
// `working_dir` is the child's cwd ("" = ours). Both pipes are drained
// while stdin is fed, so large outputs do not deadlock. Blocks until exit.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::optional<std::string>& stdin_data = std::nullopt,
                         const std::map<std::string, std::string>& env = {},
                         const std::string& working_dir = "");

// A started background process; stdout and stderr appended to `log_path`.
// The destructor stops it (SIGTERM, then SIGKILL after a grace period), so
// a failing test never leaks it. Movable, not copyable.
class ChildProcess {
 public:
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const std::map<std::string, std::string>& env,
                                    const std::string& log_path);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // False once the process has exited (reaps it).
  bool Running();
  // SIGTERM, wait up to `grace`, then SIGKILL; reaps. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// A fresh directory (mkdtemp under $TMPDIR or /tmp), removed recursively on
// destruction. Movable, not copyable.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ppa-test");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Reads a whole file ("" plus a failed status when unreadable).
Result<std::string> ReadFileToString(const std::string& path);
// Writes (truncates) a file.
Status WriteStringToFile(const std::string& path, const std::string& data);

// Waits until `done` holds, polling every 20 ms, for at most `limit`;
// returns whether it held.
template <typename Pred>
bool WaitFor(Pred done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace ppa::test
