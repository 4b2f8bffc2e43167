#include "importer/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "importer/display_text.h"

namespace ppa {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

size_t TerminalWidth(std::FILE* out) {
  struct winsize ws {};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
  return 80;
}

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::string Fit(std::string line, size_t width) {
  if (line.size() >= width) {
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

std::string FormatTransferLine(const std::string& label, uint64_t done, uint64_t total,
                               double bytes_per_second, size_t width) {
  std::string tail = "  " + HumanBytes(done) + " / " + HumanBytes(total);
  if (bytes_per_second > 0) {
    tail += "  " + HumanBytes(static_cast<uint64_t>(bytes_per_second)) + "/s";
    if (total > done) {
      auto eta = static_cast<uint64_t>(static_cast<double>(total - done) / bytes_per_second);
      char buf[32];
      std::snprintf(buf, sizeof buf, "  ETA %llu:%02llu", static_cast<unsigned long long>(eta / 60),
                    static_cast<unsigned long long>(eta % 60));
      tail += buf;
    }
  }
  size_t room = width > tail.size() + 4 ? width - tail.size() - 1 : 4;
  return Fit(KeepEnd(DisplayLine(label), room) + tail, width);
}

std::string FormatOverallLine(uint64_t done_bytes, uint64_t total_bytes, int done_items,
                              int total_items, size_t width) {
  int pct = total_bytes ? static_cast<int>(done_bytes * 100 / total_bytes) : 100;
  pct = std::clamp(pct, 0, 100);
  const int bar = 20;
  int filled = pct * bar / 100;
  std::string line = "[" + std::string(filled, '#') + std::string(bar - filled, '.') + "] ";
  char buf[96];
  std::snprintf(buf, sizeof buf, "%3d%%  %d of %d blob(s)", pct, done_items, total_items);
  return Fit(line + buf, width);
}

ProgressDisplay::ProgressDisplay(std::FILE* out, bool enabled) : out_(out), enabled_(enabled) {}

ProgressDisplay::~ProgressDisplay() {
  std::lock_guard lock(mu_);
  ClearLocked();
}

bool ProgressDisplay::TerminalAttached() { return ::isatty(1) && ::isatty(2); }

int ProgressDisplay::Begin(const std::string& label, uint64_t total) {
  std::lock_guard lock(mu_);
  int id = next_id_++;
  if (!enabled_) return id;
  active_[id] = Transfer{label, total, 0, std::chrono::steady_clock::now()};
  items_total_++;
  bytes_total_ += total;
  MaybeDrawLocked();
  return id;
}

void ProgressDisplay::Update(int id, uint64_t done) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  done = std::min(done, it->second.total);
  if (done > it->second.done) bytes_done_ += done - it->second.done;
  it->second.done = done;
  MaybeDrawLocked();
}

void ProgressDisplay::End(int id) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  bytes_done_ += it->second.total - it->second.done;
  items_done_++;
  active_.erase(it);
  MaybeDrawLocked();
}

void ProgressDisplay::ClearLocked() {
  if (!enabled_ || lines_drawn_ == 0) return;
  // Up to the first progress line, then clear to the end of the screen.
  std::fprintf(out_, "\r\x1b[%dA\x1b[J", lines_drawn_);
  std::fflush(out_);
  lines_drawn_ = 0;
}

void ProgressDisplay::DrawLocked() {
  if (!enabled_ || (active_.empty() && items_done_ >= items_total_)) return;
  size_t width = TerminalWidth(out_);
  auto now = std::chrono::steady_clock::now();
  for (const auto& [id, t] : active_) {
    double secs = std::chrono::duration<double>(now - t.started).count();
    double rate = secs > 0.2 ? static_cast<double>(t.done) / secs : 0;
    std::fprintf(out_, "%s\n", FormatTransferLine(t.label, t.done, t.total, rate, width).c_str());
    lines_drawn_++;
  }
  std::fprintf(out_, "%s\n",
               FormatOverallLine(bytes_done_, bytes_total_, items_done_, items_total_, width).c_str());
  lines_drawn_++;
  std::fflush(out_);
  last_draw_ = now;
}

void ProgressDisplay::MaybeDrawLocked() {
  auto now = std::chrono::steady_clock::now();
  if (lines_drawn_ > 0 && now - last_draw_ < kRedrawInterval) return;
  ClearLocked();
  DrawLocked();
}

}  // namespace ppa
