#include "importer/cli/interrupt.h"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>

#include "base/mutex.h"
#include "importer/save/partial_archive.h"
#include "base/thread_annotations.h"
#include "importer/report/display_text.h"

namespace ppa {
namespace {

// Written by the signal handler (async-signal-safe: lock-free atomics and
// write(2) only), read by the watcher thread and by InterruptRequested.
std::atomic<int> g_signal{0};
int g_pipe_write = -1;  // set once by InstallInterruptHandlers, before the handlers
static_assert(std::atomic<int>::is_always_lock_free);

// What the message names; entered from the pipeline's threads and the watcher.
struct Progress {
  Mutex mu;
  std::vector<std::string> work_directories GUARDED_BY(mu);
  int images_pushed GUARDED_BY(mu) = 0;
  std::string last_pushed GUARDED_BY(mu);
  int tty_fd GUARDED_BY(mu) = -1;  // RestoreTerminalOnInterrupt
  termios tty_saved GUARDED_BY(mu){};
  std::string save_writing GUARDED_BY(mu);  // KeepPartialOnInterrupt
  std::string save_partial GUARDED_BY(mu);
};

Progress& State() {
  static Progress* state = new Progress;  // never destroyed: the watcher may outlive main
  return *state;
}

void OnInterrupt(int signal) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, signal)) ::_exit(128 + expected);  // a second one
  const char byte = static_cast<char>(signal);
  const int saved = errno;
  ssize_t ignored = ::write(g_pipe_write, &byte, 1);
  (void)ignored;
  errno = saved;
}

// Runs on its own thread: waits for a signal, reports, ends the process.
void Watch(int read_fd) {
  char byte = 0;
  while (::read(read_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  const int signal = g_signal.load();
  std::string message;
  {
    Progress& state = State();
    MutexLock lock(&state.mu);
    if (!state.save_writing.empty()) {
      KeepLongerPartial(state.save_writing, state.save_partial);
      message = SaveInterruptMessage(signal, state.save_partial);
    } else {
      message = InterruptMessage(signal, state.images_pushed, state.last_pushed,
                                 state.work_directories);
    }
    if (state.tty_fd >= 0) ::tcsetattr(state.tty_fd, TCSANOW, &state.tty_saved);
  }
  for (size_t done = 0; done < message.size();) {
    ssize_t n = ::write(STDERR_FILENO, message.data() + done, message.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::_exit(128 + signal);
}

}  // namespace

void InstallInterruptHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;  // no handler: the default action stays
    g_pipe_write = fds[1];
    // The process's signal watcher: it lives as long as the process, before
    // and after any run and its pool, so it is the one thread of its own.
    std::thread(Watch, fds[0]).detach();
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
  });
}

bool InterruptRequested() { return g_signal.load() != 0; }

int InterruptExitCode() {
  const int signal = g_signal.load();
  return signal == 0 ? 0 : 128 + signal;
}

void RegisterWorkDirectory(const std::string& path) {
  Progress& state = State();
  MutexLock lock(&state.mu);
  state.work_directories.push_back(path);
}

void UnregisterWorkDirectory(const std::string& path) {
  Progress& state = State();
  MutexLock lock(&state.mu);
  auto& dirs = state.work_directories;
  dirs.erase(std::remove(dirs.begin(), dirs.end(), path), dirs.end());
}

void KeepPartialOnInterrupt(const std::string& writing, const std::string& partial) {
  Progress& state = State();
  MutexLock lock(&state.mu);
  state.save_writing = writing;
  state.save_partial = partial;
}

std::string SaveInterruptMessage(int signal, const std::string& partial) {
  const char* name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
  return "\nError: interrupted (" + std::string(name) +
         "): the archive is not complete; what was written is kept in " + partial + "\n"
         "Hint: run the same command again to go on: the blobs written are not pulled again "
         "(delete " + partial + " to start over)\n";
}

void RestoreTerminalOnInterrupt(int fd, const termios* saved) {
  Progress& state = State();
  MutexLock lock(&state.mu);
  state.tty_fd = saved ? fd : -1;
  if (saved) state.tty_saved = *saved;
}

void NoteImagePushed(const std::string& name) {
  Progress& state = State();
  MutexLock lock(&state.mu);
  ++state.images_pushed;
  state.last_pushed = name;
}

std::string InterruptMessage(int signal, int images_pushed, const std::string& last_pushed,
                             const std::vector<std::string>& work_directories) {
  const char* name = signal == SIGINT ? "SIGINT" : signal == SIGTERM ? "SIGTERM" : "a signal";
  std::string text = "\nError: interrupted (" + std::string(name) + "): uploads stopped; " +
                     std::to_string(images_pushed) + " image(s) pushed and tagged" +
                     (last_pushed.empty() ? "" : " (the last: '" + DisplayLine(last_pushed) + "')") +
                     ", the others not tagged";
  for (size_t i = 0; i < work_directories.size(); ++i) {
    text += (i == 0 ? "; work directory left in '" : "', '") + DisplayLine(work_directories[i]);
    if (i + 1 == work_directories.size()) text += "'";
  }
  text +=
      "\nHint: run the same command again: it sends only what is missing, and removes the work "
      "directories that interrupted runs left\n";
  return text;
}

}  // namespace ppa
