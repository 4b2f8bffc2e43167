#include "importer/report.h"

#include "importer/display_text.h"

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
  std::lock_guard lock(mu_);
  fatal_ = status;
  fatal_exit_code_ = exit_code;
}

void Reporter::Progress(const std::string& line) {
  std::lock_guard lock(mu_);
  if (!quiet_) Print([&] { out_ << DisplayLine(line) << std::endl; });
}

void Reporter::Result(const std::string& line) {
  std::lock_guard lock(mu_);
  if (!quiet_) Print([&] { out_ << DisplayLine(line) << std::endl; });
}

void Reporter::Warning(const std::string& line) {
  std::lock_guard lock(mu_);
  Print([&] { err_ << "Warning: " << DisplayLine(line) << std::endl; });
}

void Reporter::Failure(const Status& status) {
  std::lock_guard lock(mu_);
  Print([&] { PrintError(err_, status); });
}

void Reporter::Record(ItemResult item) {
  std::lock_guard lock(mu_);
  items_.push_back(std::move(item));
}

void Reporter::AddTransfer(const TransferStats& stats) {
  std::lock_guard lock(mu_);
  transfer_.blobs_uploaded += stats.blobs_uploaded;
  transfer_.blobs_present += stats.blobs_present;
  transfer_.bytes_uploaded += stats.bytes_uploaded;
}

int Reporter::failed_items() const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& i : items_) n += i.status.ok() ? 0 : 1;
  return n;
}

TransferStats Reporter::transfer() const {
  std::lock_guard lock(mu_);
  return transfer_;
}

void Reporter::Finish() {
  int failed = failed_items();
  std::lock_guard lock(mu_);
  if (!quiet_) {
    out_ << (dry_run_ ? "Dry run, nothing was written: would upload " : "Uploaded ")
         << transfer_.blobs_uploaded << " blob(s) (" << transfer_.bytes_uploaded << " bytes); "
         << transfer_.blobs_present << " already present." << std::endl;
  }
  if (failed == 0) {
    out_ << "OK" << std::endl;
    return;
  }
  out_ << "FAILED" << std::endl;
  err_ << failed << " of " << items_.size() << " item(s) failed:" << std::endl;
  for (const auto& i : items_) {
    if (!i.status.ok()) err_ << "  " << DisplayLine(i.name + ": " + i.status.message()) << std::endl;
  }
}

void Reporter::Fatal(const Status& status) {
  Failure(status);
  std::lock_guard lock(mu_);
  out_ << "FAILED" << std::endl;
}

}  // namespace ppa
