#include "importer/report/progress.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "importer/report/display_text.h"

namespace ppa {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr auto kTerminalTick = std::chrono::milliseconds(500);
constexpr auto kDefaultLogInterval = std::chrono::seconds(10);
constexpr int kBarWidth = 20;

size_t TerminalWidth(std::FILE* out) {
  struct winsize ws {};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// At most width - 1 bytes (so never a wrapped line, which would leave a
// stale frame behind when the display is cleared), cut between characters.
std::string Fit(std::string line, size_t width) {
  if (width > 0 && line.size() >= width) {
    size_t cut = width - 1;
    while (cut > 0 && IsUtf8Continuation(line[cut])) --cut;  // whole characters only
    line.resize(cut);
  }
  return line;
}

// The last `room` bytes of `text` behind "...", cut between characters.
std::string KeepEnd(const std::string& text, size_t room) {
  if (text.size() <= room) return text;
  size_t start = text.size() - (room - 3);
  while (start < text.size() && IsUtf8Continuation(text[start])) ++start;
  return "..." + text.substr(start);
}

int Percent(uint64_t done, uint64_t total) {
  if (total == 0) return 0;
  return std::clamp(static_cast<int>(static_cast<double>(done) * 100 / static_cast<double>(total)),
                    0, 100);
}

// "ETA 0:07" when it can be told, else "".
std::string Eta(uint64_t done, uint64_t total, double bytes_per_second) {
  if (bytes_per_second <= 0 || total <= done) return "";
  return "ETA " + FormatClock(static_cast<uint64_t>(static_cast<double>(total - done) /
                                                    bytes_per_second));
}

std::string Rate(double bytes_per_second) {
  return bytes_per_second > 0 ? HumanBytes(static_cast<uint64_t>(bytes_per_second)) + "/s" : "";
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string FormatClock(uint64_t seconds) {
  char buf[48];
  if (seconds >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu",
                  static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60),
                  static_cast<unsigned long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  }
  return buf;
}

std::string FormatElapsed(double seconds) {
  char buf[48];
  seconds = std::max(seconds, 0.0);
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
    return buf;
  }
  auto s = static_cast<unsigned long long>(seconds + 0.5);
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%llu min %llu s", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%llu h %llu min", s / 3600, s / 60 % 60);
  }
  return buf;
}

std::string FormatTransferLine(const std::string& label, uint64_t done, uint64_t total,
                               double bytes_per_second, size_t width) {
  std::string tail = "  " + HumanBytes(done) + " / " + HumanBytes(total);
  if (bytes_per_second > 0) {
    tail += "  " + Rate(bytes_per_second);
    if (std::string eta = Eta(done, total, bytes_per_second); !eta.empty()) tail += "  " + eta;
  }
  size_t room = width > tail.size() + 4 ? width - tail.size() - 1 : 4;
  return Fit(KeepEnd(DisplayLine(label), room) + tail, width);
}

std::string FormatArchiveBar(const ArchiveProgress& p, size_t width) {
  const bool unpacking = p.phase == ArchiveProgress::Phase::kUnpacking;
  std::string line = p.label.empty() ? "" : DisplayLine(p.label) + ": ";
  line += unpacking ? "Unpacking " : p.dry_run ? "Checking  " : p.saving ? "Saving    " : "Pushing   ";
  if (p.total == 0) {  // a size nobody can tell: what was read, and how fast
    line += " " + HumanBytes(p.done) + (unpacking ? " read" : "");
  } else {
    int pct = Percent(p.done, p.total);
    int filled = pct * kBarWidth / 100;
    char buf[16];
    std::snprintf(buf, sizeof buf, "] %3d%%  ", pct);
    line += "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + buf +
            HumanBytes(p.done) + " / " + HumanBytes(p.total);
  }
  // The rest as room allows, the least needed last: ETA, rate, blob count.
  std::string eta = Eta(p.done, p.total, p.bytes_per_second);
  std::string rate = Rate(p.bytes_per_second);
  std::string blobs = unpacking ? "" : std::to_string(p.blobs_done) + "/" +
                                           std::to_string(p.blobs_total) + " blobs";
  bool with_rate = !rate.empty(), with_blobs = !blobs.empty();
  auto compose = [&] {
    std::string out = line;
    if (with_rate) out += "  " + rate;
    if (!eta.empty()) out += "  " + eta;
    if (with_blobs) out += "  " + blobs;
    return out;
  };
  std::string full = compose();
  if (full.size() >= width && with_blobs) with_blobs = false, full = compose();
  if (full.size() >= width && with_rate) with_rate = false, full = compose();
  return Fit(full, width);
}

std::string FormatArchiveLog(const ArchiveProgress& p) {
  const bool unpacking = p.phase == ArchiveProgress::Phase::kUnpacking;
  std::string line = "Progress";
  if (!p.label.empty()) line += " " + DisplayLine(p.label);
  line += unpacking ? ": unpacked " : p.dry_run ? ": checked " : p.saving ? ": saved " : ": pushed ";
  line += HumanBytes(p.done);
  if (p.total > 0) {
    line += " of " + HumanBytes(p.total) + " (" + std::to_string(Percent(p.done, p.total)) + "%)";
  }
  if (!unpacking) {
    line += ", " + std::to_string(p.blobs_done) + " of " + std::to_string(p.blobs_total) +
            " blob(s)";
  }
  line += ", " + (p.bytes_per_second > 0 ? Rate(p.bytes_per_second) : std::string("0 B/s"));
  if (std::string eta = Eta(p.done, p.total, p.bytes_per_second); !eta.empty()) line += ", " + eta;
  return line;
}

uint64_t EstimateInflatedSize(uint64_t file_size, std::optional<uint32_t> gzip_isize) {
  if (!gzip_isize) return file_size;
  uint64_t size = *gzip_isize;
  while (size < file_size) size += 1ull << 32;
  return size;
}

uint64_t EstimateTarStreamBytes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st {};
  unsigned char head[6] = {0};
  unsigned char tail[4] = {0};
  uint64_t estimate = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 32 &&
      ::pread(fd, head, sizeof head, 0) == static_cast<ssize_t>(sizeof head)) {
    const auto size = static_cast<uint64_t>(st.st_size);
    const bool gzip = head[0] == 0x1f && head[1] == 0x8b;
    const bool other = (head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f) ||  // zstd
                       (head[0] == 0xfd && head[1] == '7' && head[2] == 'z') ||    // xz
                       (head[0] == 'B' && head[1] == 'Z' && head[2] == 'h');       // bzip2
    if (gzip && ::pread(fd, tail, sizeof tail, st.st_size - 4) == 4) {
      uint32_t isize = tail[0] | (tail[1] << 8) | (tail[2] << 16) |
                       (static_cast<uint32_t>(tail[3]) << 24);
      estimate = EstimateInflatedSize(size, isize);
    } else if (!gzip && !other) {
      estimate = size;
    }
  }
  ::close(fd);
  return estimate;
}

std::chrono::milliseconds LogIntervalFromEnvironment() {
  if (const char* v = std::getenv("PPA_TEST_PROGRESS_INTERVAL_MS"); v && *v) {
    char* end = nullptr;
    long ms = std::strtol(v, &end, 10);
    if (end && *end == '\0' && ms > 0) return std::chrono::milliseconds(ms);
  }
  return kDefaultLogInterval;
}

ProgressDisplay::ProgressDisplay(std::FILE* terminal, bool enabled)
    : ProgressDisplay(enabled ? ProgressMode::kTerminal : ProgressMode::kOff, terminal, nullptr,
                      kDefaultLogInterval) {}

ProgressDisplay::ProgressDisplay(ProgressMode mode, std::FILE* terminal, std::ostream* log,
                                 std::chrono::milliseconds log_interval, ThreadPool& pool)
    : mode_(mode == ProgressMode::kLog && !log ? ProgressMode::kOff : mode),
      terminal_(terminal),
      log_(log),
      interval_(mode_ == ProgressMode::kLog ? log_interval : kTerminalTick) {
  if (mode_ != ProgressMode::kOff) ticker_ = pool.Start([this] { Tick(); });
}

ProgressDisplay::~ProgressDisplay() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    stop_.SignalAll();
  }
  ticker_.Join();
  MutexLock lock(&mu_);
  ClearLocked();
}

bool ProgressDisplay::TerminalAttached() { return ::isatty(1) && ::isatty(2); }

void ProgressDisplay::ShowLabels(bool show) {
  MutexLock lock(&mu_);
  show_labels_ = show;
}

void ProgressDisplay::SetDryRun(bool dry_run) {
  MutexLock lock(&mu_);
  dry_run_ = dry_run;
}

void ProgressDisplay::SetSaving(bool saving) {
  MutexLock lock(&mu_);
  saving_ = saving;
}

void ProgressDisplay::Tick() {
  MutexLock lock(&mu_);
  while (true) {
    // A timer on the stop signal: one interval, or until stopping.
    const auto deadline = Clock::now() + interval_;
    while (!stopping_ && stop_.WaitUntil(&mu_, deadline)) {
    }
    if (stopping_) return;
    if (mode_ == ProgressMode::kLog) {
      LogLocked();
    } else {
      ClearLocked();
      DrawLocked();
    }
  }
}

int ProgressDisplay::BeginArchive(const std::string& label, uint64_t file_size,
                                  uint64_t stream_bytes) {
  MutexLock lock(&mu_);
  int id = next_archive_++;
  if (!enabled()) return id;
  Archive a;
  a.label = label;
  a.file_size = file_size;
  a.stream_estimate = stream_bytes;
  a.started = a.push_started = Clock::now();
  archives_[id] = std::move(a);
  MaybeDrawLocked();
  return id;
}

void ProgressDisplay::UnpackRead(int archive, uint64_t stream_bytes) {
  if (!enabled()) return;
  MutexLock lock(&mu_);
  auto it = archives_.find(archive);
  if (it == archives_.end()) return;
  Archive& a = it->second;
  a.stream_read = std::max(a.stream_read, stream_bytes);
  // A gzip size read from the trailer is only the size mod 2^32.
  while (a.stream_estimate > 0 && a.stream_read > a.stream_estimate &&
         a.stream_estimate > a.file_size) {
    a.stream_estimate += 1ull << 32;
  }
  if (a.stream_estimate > 0) {
    const double share = static_cast<double>(std::min(a.stream_read, a.stream_estimate)) /
                         static_cast<double>(a.stream_estimate);
    a.unpack_shown = std::max(a.unpack_shown,
                              static_cast<uint64_t>(share * static_cast<double>(a.file_size)));
  }
  MaybeDrawLocked();
}

void ProgressDisplay::Planned(int archive, std::map<std::string, uint64_t> work) {
  if (!enabled()) return;
  MutexLock lock(&mu_);
  auto it = archives_.find(archive);
  if (it == archives_.end()) return;
  Archive& a = it->second;
  a.work = std::move(work);
  std::erase_if(a.credit, [&](const auto& c) { return a.work.count(c.first) == 0; });
  a.planned = true;
  a.phase = ArchiveProgress::Phase::kPushing;
  a.push_started = Clock::now();
  a.done_at_plan = SnapshotLocked(a, a.push_started).done;
  ClearLocked();
  DrawLocked();
}

void ProgressDisplay::Credit(int archive, const std::string& key, uint64_t bytes) {
  if (!enabled()) return;
  MutexLock lock(&mu_);
  auto it = archives_.find(archive);
  if (it == archives_.end()) return;
  Archive& a = it->second;
  if (a.planned) {
    auto w = a.work.find(key);
    if (w == a.work.end()) return;  // not in the plan (a manifest list's copy)
    bytes = std::min(bytes, w->second);
  }
  uint64_t& c = a.credit[key];
  c = std::max(c, bytes);
  MaybeDrawLocked();
}

void ProgressDisplay::EndArchive(int archive) {
  if (!enabled()) return;
  MutexLock lock(&mu_);
  archives_.erase(archive);
  ClearLocked();
  DrawLocked();
}

ArchiveProgress ProgressDisplay::Snapshot(int archive) {
  MutexLock lock(&mu_);
  auto it = archives_.find(archive);
  if (it == archives_.end()) return {};
  return SnapshotLocked(it->second, Clock::now());
}

ArchiveProgress ProgressDisplay::SnapshotLocked(const Archive& a, Clock::time_point now) const {
  ArchiveProgress p;
  p.label = show_labels_ ? a.label : "";
  p.dry_run = dry_run_;
  p.saving = saving_;
  p.phase = a.phase;
  if (a.phase == ArchiveProgress::Phase::kUnpacking) {
    // The tar stream read, in the archive file's bytes.
    if (a.stream_estimate > 0) {
      p.total = a.file_size;
      p.done = a.unpack_shown;
    } else {
      p.done = a.stream_read;
    }
    double secs = Seconds(now - a.started);
    if (secs > 0.2) p.bytes_per_second = static_cast<double>(p.done) / secs;
    return p;
  }
  for (const auto& [key, size] : a.work) {
    auto c = a.credit.find(key);
    uint64_t done = c == a.credit.end() ? 0 : c->second;
    p.done += done;
    p.blobs_done += done >= size ? 1 : 0;
    p.total += size;
  }
  p.blobs_total = static_cast<int>(a.work.size());
  double secs = Seconds(now - a.push_started);
  if (secs > 0.2 && p.done > a.done_at_plan) {
    p.bytes_per_second = static_cast<double>(p.done - a.done_at_plan) / secs;
  }
  return p;
}

int ProgressDisplay::Begin(const std::string& label, uint64_t total) {
  MutexLock lock(&mu_);
  int id = next_id_++;
  if (mode_ != ProgressMode::kTerminal) return id;
  active_[id] = Transfer{label, total, 0, Clock::now()};
  MaybeDrawLocked();
  return id;
}

void ProgressDisplay::Update(int id, uint64_t done) {
  if (mode_ != ProgressMode::kTerminal) return;
  MutexLock lock(&mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  it->second.done = std::min(done, it->second.total);
  MaybeDrawLocked();
}

void ProgressDisplay::End(int id) {
  if (mode_ != ProgressMode::kTerminal) return;
  MutexLock lock(&mu_);
  if (active_.erase(id) == 0) return;
  ClearLocked();
  DrawLocked();
}

void ProgressDisplay::ClearLocked() {
  if (mode_ != ProgressMode::kTerminal || lines_drawn_ == 0) return;
  // Up to the first progress line, then clear to the end of the screen.
  std::fprintf(terminal_, "\r\x1b[%dA\x1b[J", lines_drawn_);
  std::fflush(terminal_);
  lines_drawn_ = 0;
}

void ProgressDisplay::DrawLocked() {
  if (mode_ != ProgressMode::kTerminal || stopping_) return;
  if (active_.empty() && archives_.empty()) return;
  size_t width = TerminalWidth(terminal_);
  auto now = Clock::now();
  for (const auto& [id, t] : active_) {
    double secs = Seconds(now - t.started);
    double rate = secs > 0.2 ? static_cast<double>(t.done) / secs : 0;
    std::fprintf(terminal_, "%s\x1b[K\n",
                 FormatTransferLine("  " + t.label, t.done, t.total, rate, width).c_str());
    lines_drawn_++;
  }
  for (const auto& [id, a] : archives_) {
    std::fprintf(terminal_, "%s\x1b[K\n", FormatArchiveBar(SnapshotLocked(a, now), width).c_str());
    lines_drawn_++;
  }
  std::fflush(terminal_);
  last_draw_ = now;
}

void ProgressDisplay::MaybeDrawLocked() {
  if (mode_ != ProgressMode::kTerminal) return;
  auto now = Clock::now();
  if (lines_drawn_ > 0 && now - last_draw_ < kRedrawInterval) return;
  ClearLocked();
  DrawLocked();
}

void ProgressDisplay::LogLocked() {
  if (!log_) return;
  auto now = Clock::now();
  for (const auto& [id, a] : archives_) *log_ << FormatArchiveLog(SnapshotLocked(a, now)) << "\n";
  if (!archives_.empty()) log_->flush();
}

ArchiveProgressScope::ArchiveProgressScope(ProgressDisplay* display, const std::string& archive_path)
    : display_(display && display->enabled() ? display : nullptr) {
  if (!display_) return;
  struct stat st {};
  uint64_t size = ::stat(archive_path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  std::string label = archive_path.substr(archive_path.find_last_of('/') + 1);
  id_ = display_->BeginArchive(label, size, EstimateTarStreamBytes(archive_path));
}

ArchiveProgressScope::~ArchiveProgressScope() {
  if (display_) display_->EndArchive(id_);
}

void ArchiveProgressScope::Read(uint64_t bytes) {
  if (!display_) return;
  read_ += bytes;
  display_->UnpackRead(id_, read_);
}

}  // namespace ppa
