#include "tests/support/peak_rss_process.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ppa::test {
namespace {

// A run that loops instead of failing is stopped (SIGXCPU) after this.
constexpr rlim_t kCpuSeconds = 300;

// A temporary file, unlinked right away; its descriptor stays readable.
int AnonymousFile() {
  char name[] = "/tmp/ppa-measured-XXXXXX";
  int fd = ::mkstemp(name);
  if (fd >= 0) ::unlink(name);
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

}  // namespace

MeasuredProcess RunMeasured(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env,
                            const std::string& working_dir, uint64_t address_space_limit) {
  MeasuredProcess out;
  const int out_fd = AnonymousFile();
  const int err_fd = AnonymousFile();
  const int rss_fd = AnonymousFile();
  // Linux keeps a process's peak RSS across exec, and a child forked from
  // this (large) test process starts with our pages: its ru_maxrss would
  // measure us. GNU time forks the program from its own small image and
  // reports that grandchild's ru_maxrss (wait4) in KiB.
  const std::string rss_path = "/proc/self/fd/" + std::to_string(rss_fd);
  std::vector<std::string> timed = {"/usr/bin/time", "-f", "%M", "-o", rss_path};
  timed.insert(timed.end(), argv.begin(), argv.end());
  std::vector<char*> args;
  for (const std::string& a : timed) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    for (const auto& [key, value] : env) ::setenv(key.c_str(), value.c_str(), 1);
    const struct rlimit limit = {address_space_limit, address_space_limit};
    ::setrlimit(RLIMIT_AS, &limit);
    const struct rlimit cpu = {kCpuSeconds, kCpuSeconds};
    ::setrlimit(RLIMIT_CPU, &cpu);
    if (!working_dir.empty() && ::chdir(working_dir.c_str()) != 0) ::_exit(127);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // GNU time exits with the program's status (128 + N for a signal).
  out.result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out.result.stdout_text = ReadAll(out_fd);
  out.result.stderr_text = ReadAll(err_fd);
  // "Command exited with non-zero status N" may come first: the last line.
  std::string rss = ReadAll(rss_fd);
  while (!rss.empty() && rss.back() == '\n') rss.pop_back();
  out.peak_rss_bytes = std::strtoull(rss.substr(rss.rfind('\n') + 1).c_str(), nullptr, 10) * 1024;
  if (out.peak_rss_bytes == 0) out.result.stderr_text += "\n(no peak RSS from /usr/bin/time: " + rss + ")";
  ::close(out_fd);
  ::close(err_fd);
  ::close(rss_fd);
  return out;
}

}  // namespace ppa::test
