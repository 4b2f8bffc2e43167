// Progress of a load, in two forms:
//  - on a terminal (kTerminal): lines redrawn in place on stderr, at most ten
//    times a second: one per active upload (bytes, rate, ETA) and one per
//    archive: the unpack (archive bytes read of its size) and then the push
//    (a bar in bytes of all the blobs the plan holds, rate, ETA);
//  - in a pipe or a CI log (kLog): plain lines on stdout, one per archive
//    every log interval (default 10 s) with bytes done, total, rate and ETA,
//    whatever the run is doing (a long unpack too): never minutes of silence.
// kOff (with -q, --json -) writes nothing. Thread-safe: every method may be
// called from any thread; a ticker (a loop of the run's pool) redraws and logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "base/thread_pool.h"

namespace ppa {

// "1.5 KiB", "12.0 MiB", "3.2 GiB".
std::string HumanBytes(uint64_t bytes);
// "0:03", "12:05", "1:02:03" (hours only when needed).
std::string FormatClock(uint64_t seconds);
// "0.4 s", "12.4 s", "2 min 5 s", "1 h 2 min".
std::string FormatElapsed(double seconds);

// "label  12.3 MiB / 45.6 MiB  34.5 MiB/s  ETA 0:02" fitted into `width`
// columns (pure, for tests). The label goes through DisplayLine
// (importer/report/display_text.h): its controls are escaped.
std::string FormatTransferLine(const std::string& label, uint64_t done, uint64_t total,
                               double bytes_per_second, size_t width);

// Where one archive stands (the input of the pure formatters below).
struct ArchiveProgress {
  enum class Phase { kUnpacking, kPushing };
  std::string label;  // the archive's file name; "" when the run has one archive
  Phase phase = Phase::kUnpacking;
  uint64_t done = 0;   // bytes: archive bytes read, or blob bytes pushed
  uint64_t total = 0;  // 0: not known (an archive whose inflated size cannot be told)
  double bytes_per_second = 0;  // 0: not known yet
  int blobs_done = 0, blobs_total = 0;  // kPushing only
  bool dry_run = false;  // nothing is pushed: the push phase says "checked"
  bool saving = false;   // `save`: the blobs are written to an archive ("saved")
};

// The terminal line of an archive, fitted into `width` columns:
// "[label: ]Pushing    [#####...............]  25%  25.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:07  3 of 12 blob(s)".
std::string FormatArchiveBar(const ArchiveProgress& p, size_t width);
// The plain log line of an archive:
// "Progress[ label]: pushed 25.0 MiB of 100.0 MiB (25%), 3 of 12 blob(s), 10.0 MiB/s, ETA 0:07".
std::string FormatArchiveLog(const ArchiveProgress& p);

// The inflated size of an archive of `file_size` bytes whose gzip trailer
// says `gzip_isize` (the size mod 2^32; nullopt: not gzip): the smallest
// isize + k * 2^32 not below the file's size (a PPA archive holds compressed
// layers: it barely shrinks when compressed). Pure.
uint64_t EstimateInflatedSize(uint64_t file_size, std::optional<uint32_t> gzip_isize);
// What the tar stream of the archive at `path` amounts to: its size for a
// plain tar, EstimateInflatedSize for gzip, 0 (unknown) for other
// compressions or an unreadable file.
uint64_t EstimateTarStreamBytes(const std::string& path);

enum class ProgressMode { kOff, kTerminal, kLog };

// How often kLog writes its lines: 10 s, or the milliseconds in the
// test-only environment variable PPA_TEST_PROGRESS_INTERVAL_MS (tests only;
// not a user setting, and outside the PPA_IMPORT_ names the CLI reads).
std::chrono::milliseconds LogIntervalFromEnvironment();

class ProgressDisplay {
 public:
  // kTerminal when `enabled`, else kOff; draws on `terminal` (stderr).
  ProgressDisplay(std::FILE* terminal, bool enabled);
  // kTerminal draws on `terminal`; kLog writes to `log` every `log_interval`.
  // The ticker is a loop of `pool` (the run's).
  ProgressDisplay(ProgressMode mode, std::FILE* terminal, std::ostream* log,
                  std::chrono::milliseconds log_interval, ThreadPool& pool = ThreadPool::Here());
  // Stops the ticker and removes the terminal lines.
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // True when stdout and stderr are terminals.
  static bool TerminalAttached();

  bool enabled() const { return mode_ != ProgressMode::kOff; }
  ProgressMode mode() const { return mode_; }
  // Several archives: each archive's lines name it.
  void ShowLabels(bool show);
  // A dry run: the push phase is "Checking"/"checked", never "pushed".
  void SetDryRun(bool dry_run);
  // `save`: the push phase is "Saving"/"saved", the blobs written to an archive.
  void SetSaving(bool saving);

  // An archive's progress, from BeginArchive to EndArchive. The unpack
  // phase: `file_size` bytes on disk whose tar stream is about
  // `stream_bytes` long (EstimateTarStreamBytes; 0: unknown).
  int BeginArchive(const std::string& label, uint64_t file_size, uint64_t stream_bytes);
  // Bytes of the tar stream read so far (UnpackOptions::on_progress).
  void UnpackRead(int archive, uint64_t stream_bytes);
  // The plan is known: the push phase, whose total is the sum of `work`
  // (key -> bytes: one entry per blob to push to a repository). Credits
  // given before (uploads that started during the unpack) count when their
  // key is in `work`.
  void Planned(int archive, std::map<std::string, uint64_t> work);
  // `bytes` of the blob `key` are done (sent, found present or mounted);
  // repeated and decreasing credits count once, at their highest.
  void Credit(int archive, const std::string& key, uint64_t bytes);
  void EndArchive(int archive);

  // One upload's line on a terminal (no-ops in the other modes).
  int Begin(const std::string& label, uint64_t total);
  void Update(int id, uint64_t done);
  void End(int id);

  // Removes the terminal lines, runs `print` (which writes ordinary output),
  // then draws them again: keeps result lines and the display apart. Every
  // line written to stdout/stderr while the display runs goes through here,
  // so log lines never interleave with them either.
  template <typename F>
  void Above(F print) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    ClearLocked();
    print();
    DrawLocked();
  }

  // Where `archive` stands now (for tests and the formatters).
  ArchiveProgress Snapshot(int archive);

 private:
  struct Transfer {
    std::string label;
    uint64_t total = 0, done = 0;
    std::chrono::steady_clock::time_point started;
  };
  struct Archive {
    std::string label;
    ArchiveProgress::Phase phase = ArchiveProgress::Phase::kUnpacking;
    uint64_t file_size = 0, stream_estimate = 0, stream_read = 0;
    // The archive bytes shown as read: never less than before, also when
    // the estimate of the tar stream grows by 4 GiB (a gzip trailer's size
    // is the size mod 2^32).
    uint64_t unpack_shown = 0;
    std::chrono::steady_clock::time_point started, push_started;
    bool planned = false;
    std::map<std::string, uint64_t> work;     // key -> bytes to push
    std::map<std::string, uint64_t> credit;   // key -> bytes done
    uint64_t done_at_plan = 0;
  };
  ArchiveProgress SnapshotLocked(const Archive& a,
                                 std::chrono::steady_clock::time_point now) const REQUIRES(mu_);
  void ClearLocked() REQUIRES(mu_);
  void DrawLocked() REQUIRES(mu_);
  void MaybeDrawLocked() REQUIRES(mu_);
  void LogLocked() REQUIRES(mu_);
  void Tick() EXCLUDES(mu_);

  const ProgressMode mode_;
  std::FILE* terminal_;
  std::ostream* log_;
  const std::chrono::milliseconds interval_;
  // Every method takes mu_ (the ticker thread too), so the display may be
  // used from any thread; the terminal and the log are written under it.
  Mutex mu_;
  CondVar stop_;  // the ticker's timer; signalled by the destructor
  bool stopping_ GUARDED_BY(mu_) = false;
  bool show_labels_ GUARDED_BY(mu_) = false;
  bool dry_run_ GUARDED_BY(mu_) = false;
  bool saving_ GUARDED_BY(mu_) = false;
  std::map<int, Transfer> active_ GUARDED_BY(mu_);
  std::map<int, Archive> archives_ GUARDED_BY(mu_);
  int next_id_ GUARDED_BY(mu_) = 0;
  int next_archive_ GUARDED_BY(mu_) = 0;
  int lines_drawn_ GUARDED_BY(mu_) = 0;
  std::chrono::steady_clock::time_point last_draw_ GUARDED_BY(mu_){};
  ThreadPool::Loop ticker_;  // last: started once the rest is set up
};

// An archive shown by a display (which may be null or off) for the scope's
// lifetime: BeginArchive with its file's size and EstimateTarStreamBytes,
// EndArchive when it goes. Read() is called with each block of file data the
// unpack passes by (UnpackOptions::on_data): the tar stream read, less its
// headers. Not copyable; Read from the unpacking thread.
class ArchiveProgressScope {
 public:
  ArchiveProgressScope(ProgressDisplay* display, const std::string& archive_path);
  ~ArchiveProgressScope();
  ArchiveProgressScope(const ArchiveProgressScope&) = delete;
  ArchiveProgressScope& operator=(const ArchiveProgressScope&) = delete;

  int id() const { return id_; }
  void Read(uint64_t bytes);

 private:
  ProgressDisplay* display_;
  int id_ = -1;
  uint64_t read_ = 0;
};

}  // namespace ppa
