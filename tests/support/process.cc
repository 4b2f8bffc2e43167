#include "tests/support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ppa::test {
namespace {

// "NAME=value" strings: our environment with `overrides` applied.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (overrides.count(name) == 0) out.push_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// In the child: exec, or report errno on `err_fd` and exit 127. Only
// async-signal-safe calls from here on.
[[noreturn]] void ExecChild(char** argv, char** envp, const char* cwd, int err_fd) {
  if (cwd != nullptr && chdir(cwd) != 0) {
    const int e = errno;
    (void)!write(err_fd, &e, sizeof e);
    _exit(127);
  }
  execvpe(argv[0], argv, envp);
  const int e = errno;
  (void)!write(err_fd, &e, sizeof e);
  _exit(127);
}

// Reads the exec-error pipe: 0 when exec succeeded (pipe closed by CLOEXEC).
int ReadExecError(int fd) {
  int e = 0;
  ssize_t n;
  do {
    n = read(fd, &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof e) ? e : 0;
}

// Feeds stdin and drains stdout/stderr until both close.
void PumpPipes(int in_fd, const std::string& input, int out_fd, int err_fd, ProcessResult& r) {
  size_t written = 0;
  char buf[65536];
  if (in_fd >= 0 && input.empty()) CloseFd(in_fd);
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        const ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EINTR && errno != EAGAIN) written = input.size();
        if (written == input.size()) CloseFd(in_fd);
        continue;
      }
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (fds[i].fd == out_fd ? r.stdout_text : r.stderr_text).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(fds[i].fd == out_fd ? out_fd : err_fd);
      }
    }
  }
  CloseFd(in_fd);
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::optional<std::string>& stdin_data,
                         const std::map<std::string, std::string>& env,
                         const std::string& working_dir) {
  ProcessResult result;
  if (argv.empty()) {
    result.exit_code = 127;
    result.stderr_text = "RunProcess: empty argv";
    return result;
  }
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = MergedEnvironment(env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(envs);

  int in[2] = {-1, -1}, out[2], err[2], exec_err[2];
  if (stdin_data && pipe2(in, O_CLOEXEC) != 0) return {127, "", "pipe failed"};
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(exec_err, O_CLOEXEC) != 0) {
    return {127, "", "pipe failed"};
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = stdin_data ? -1 : open("/dev/null", O_RDONLY);
    dup2(stdin_data ? in[0] : null_fd, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    ExecChild(c_args.data(), c_env.data(), working_dir.empty() ? nullptr : working_dir.c_str(),
              exec_err[1]);
  }
  close(out[1]);
  close(err[1]);
  close(exec_err[1]);
  if (stdin_data) {
    close(in[0]);
    // Non-blocking, so a child that stops reading until we drain its
    // output cannot wedge us in write().
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
  }
  if (pid < 0) {
    close(out[0]);
    close(err[0]);
    close(exec_err[0]);
    if (stdin_data) close(in[1]);
    return {127, "", std::string("fork failed: ") + std::strerror(errno)};
  }
  // A child gone before reading stdin must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  PumpPipes(stdin_data ? in[1] : -1, stdin_data ? *stdin_data : std::string(), out[0], err[0],
            result);
  const int exec_errno = ReadExecError(exec_err[0]);
  close(exec_err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeWaitStatus(status);
  if (exec_errno != 0) {
    result.exit_code = 127;
    result.stderr_text += "cannot run '" + argv[0] + "': " + std::strerror(exec_errno);
  }
  return result;
}

// ---- ChildProcess ----

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env,
                                         const std::string& log_path) {
  if (argv.empty()) return InvalidInput("ChildProcess: empty argv");
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = MergedEnvironment(env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(envs);
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoError("cannot open log", log_path, errno);
  int exec_err[2];
  if (pipe2(exec_err, O_CLOEXEC) != 0) {
    close(log_fd);
    return ErrnoError("pipe", log_path, errno);
  }
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    ExecChild(c_args.data(), c_env.data(), nullptr, exec_err[1]);
  }
  close(log_fd);
  close(exec_err[1]);
  if (pid < 0) {
    close(exec_err[0]);
    return ErrnoError("fork for", argv[0], errno);
  }
  const int exec_errno = ReadExecError(exec_err[0]);
  close(exec_err[0]);
  ChildProcess child(pid);
  if (exec_errno != 0) {
    child.Stop();
    return ErrnoError("cannot run", argv[0], exec_errno);
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { Stop(); }

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  pid_ = -1;  // exited (or not ours any more): reaped
  return false;
}

void ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!Running()) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

// ---- TempDir ----

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// ---- files ----

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("cannot open", path, errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteStringToFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return ErrnoError("cannot create", path, errno);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return ErrnoError("cannot write", path, errno);
  return Status::Ok();
}

}  // namespace ppa::test
