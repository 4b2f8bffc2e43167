#include "importer/report/report.h"

#include <set>

#include "importer/report/display_text.h"
#include "importer/report/run_report.h"
#include "importer/cli/interrupt.h"

namespace ppa {

const char* BlobActionName(BlobResult::Action action) {
  switch (action) {
    case BlobResult::Action::kUploaded: return "uploaded";
    case BlobResult::Action::kPresent: return "already present";
    case BlobResult::Action::kMounted: return "mounted";
  }
  return "unknown";
}

Reporter::Reporter(std::ostream& out, std::ostream& err, bool quiet, bool dry_run)
    : out_(out), err_(err), quiet_(quiet), dry_run_(dry_run) {}

void Reporter::SetFatal(const Status& status, int exit_code) {
  Fatal(status);
  MutexLock lock(&mu_);
  fatal_ = status;
  fatal_exit_code_ = exit_code;
}

void Reporter::Progress(const std::string& line) {
  MutexLock lock(&mu_);
  if (!quiet_) Print([&] { out_ << DisplayLine(line) << std::endl; });
}

void Reporter::Result(const std::string& line) {
  MutexLock lock(&mu_);
  if (!quiet_) Print([&] { out_ << DisplayLine(line) << std::endl; });
}

void Reporter::Warning(const std::string& line) {
  MutexLock lock(&mu_);
  Print([&] { err_ << "Warning: " << DisplayLine(line) << std::endl; });
}

void Reporter::Failure(const Status& status) {
  MutexLock lock(&mu_);
  Print([&] { PrintError(err_, status); });
}

void Reporter::Record(ItemResult item) {
  if (!dry_run_ && item.status.ok() && item.kind != ItemResult::Kind::kChart) {
    NoteImagePushed(item.name);  // named should the run be interrupted
  }
  MutexLock lock(&mu_);
  items_.push_back(std::move(item));
}

void Reporter::Amend(const ItemResult& item) {
  MutexLock lock(&mu_);
  for (auto& recorded : items_) {
    if (recorded.kind == item.kind && recorded.name == item.name &&
        recorded.target == item.target) {
      recorded = item;
      return;
    }
  }
}

void Reporter::AddTransfer(const TransferStats& stats) {
  MutexLock lock(&mu_);
  transfer_.blobs_uploaded += stats.blobs_uploaded;
  transfer_.blobs_present += stats.blobs_present;
  transfer_.bytes_uploaded += stats.bytes_uploaded;
}

Status Reporter::fatal() const {
  MutexLock lock(&mu_);
  return fatal_;
}

int Reporter::fatal_exit_code() const {
  MutexLock lock(&mu_);
  return fatal_exit_code_;
}

std::vector<ItemResult> Reporter::items() const {
  MutexLock lock(&mu_);
  return items_;
}

int Reporter::failed_items() const {
  MutexLock lock(&mu_);
  int n = 0;
  for (const auto& i : items_) n += i.status.ok() ? 0 : 1;
  return n;
}

TransferStats Reporter::transfer() const {
  MutexLock lock(&mu_);
  return transfer_;
}

void Reporter::Finish() {
  int failed = failed_items();
  MutexLock lock(&mu_);
  VerdictCounts counts = CountItems(items_);
  counts.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  counts.dry_run = dry_run_;
  // What the lines below print, read under the lock (the lambda is a
  // function of its own to the analysis).
  const std::vector<ItemResult> items = items_;
  const TransferStats transfer = transfer_;
  Print([&] {
    if (!quiet_) {
      out_ << (dry_run_ ? "Dry run, nothing was written: would upload " : "Uploaded ")
           << transfer.blobs_uploaded << " blob(s) (" << HumanBytes(transfer.bytes_uploaded)
           << "); " << transfer.blobs_present << " already present." << std::endl;
    }
    if (verdict_line_) out_ << FormatVerdict(failed == 0, counts) << std::endl;
    if (failed == 0) return;
    err_ << failed << " of " << items.size() << " item(s) failed:" << std::endl;
    for (const auto& i : items) {
      if (!i.status.ok()) {
        err_ << "  " << DisplayLine(i.name + ": " + i.status.message()) << std::endl;
      }
    }
  });
}

void Reporter::Fatal(const Status& status) {
  Failure(status);
  MutexLock lock(&mu_);
  if (verdict_line_) Print([&] { out_ << "FAILED" << std::endl; });
}

namespace {

std::string Count(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::string FormatVerdict(bool ok, const VerdictCounts& c) {
  std::string line = ok ? "OK (" : "FAILED (";
  if (c.dry_run) line += "dry run: ";
  if (c.archives > 0) line += Count(c.archives, "archive", "archives") + ", ";
  line += Count(c.images, "image", "images") + ", " + Count(c.charts, "chart", "charts") + ", ";
  if (c.failures > 0) line += Count(c.failures, "failure", "failures") + ", ";
  return line + HumanBytes(c.bytes) + " in " + FormatElapsed(c.seconds) + ")";
}

VerdictCounts CountItems(const std::vector<ItemResult>& items) {
  VerdictCounts c;
  std::set<std::string> blobs;
  for (const auto& i : items) {
    if (!i.status.ok()) {
      c.failures++;
      continue;
    }
    if (i.kind == ItemResult::Kind::kChart) c.charts++;
    if (i.kind != ItemResult::Kind::kImage) continue;
    c.images++;
    for (const auto& b : i.blobs) {
      if (blobs.insert(b.digest).second) c.bytes += b.size;
    }
  }
  return c;
}

std::string RunVerdictLine(const std::vector<ArchiveOutcome>& archives, double seconds,
                           bool dry_run) {
  VerdictCounts run;
  bool ok = true;
  for (const auto& a : archives) {
    VerdictCounts one = CountItems(a.items);
    run.images += one.images;
    run.charts += one.charts;
    run.failures += one.failures + (a.fatal.ok() ? 0 : 1);
    run.bytes += one.bytes;
    ok = ok && a.exit_code == 0;
  }
  run.archives = static_cast<int>(archives.size());
  run.seconds = seconds;
  run.dry_run = dry_run;
  return FormatVerdict(ok, run);
}

}  // namespace ppa
