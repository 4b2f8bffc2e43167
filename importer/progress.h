// Progress of long transfers on a terminal: one line per active transfer
// (bytes, rate, ETA) and an overall bar, redrawn in place at most ten times a
// second. Disabled (every call a no-op) when stdout or stderr is not a
// terminal, or with -q: pipes and logs never see it. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

namespace ppa {

// "label  12.3 MiB / 45.6 MiB  34.5 MiB/s  ETA 0:02" fitted into `width`
// columns (pure, for tests). The label goes through DisplayLine
// (importer/display_text.h): its controls are escaped.
std::string FormatTransferLine(const std::string& label, uint64_t done, uint64_t total,
                               double bytes_per_second, size_t width);

// "[#####.....]  40%  3 of 12 blob(s)" (pure).
std::string FormatOverallLine(uint64_t done_bytes, uint64_t total_bytes, int done_items,
                              int total_items, size_t width);

// "1.5 KiB", "12.0 MiB", "3.2 GiB".
std::string HumanBytes(uint64_t bytes);

class ProgressDisplay {
 public:
  // Draws on `out` (normally stderr) when `enabled`.
  ProgressDisplay(std::FILE* out, bool enabled);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // True when stdout and stderr are terminals.
  static bool TerminalAttached();

  bool enabled() const { return enabled_; }
  int Begin(const std::string& label, uint64_t total);
  void Update(int id, uint64_t done);
  void End(int id);
  // Removes the progress lines, runs `print` (which writes ordinary output),
  // then draws them again: keeps result lines and the display apart.
  template <typename F>
  void Above(F print) {
    std::lock_guard lock(mu_);
    ClearLocked();
    print();
    DrawLocked();
  }

 private:
  struct Transfer {
    std::string label;
    uint64_t total = 0, done = 0;
    std::chrono::steady_clock::time_point started;
  };
  void ClearLocked();
  void DrawLocked();
  void MaybeDrawLocked();

  std::FILE* out_;
  bool enabled_;
  std::mutex mu_;
  std::map<int, Transfer> active_;
  int next_id_ = 0;
  int lines_drawn_ = 0;
  int items_done_ = 0, items_total_ = 0;
  uint64_t bytes_done_ = 0, bytes_total_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace ppa
