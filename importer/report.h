// The Report stage's state: what happened to each item, the human lines on
// stdout/stderr in the original tool's rhythm (README, Usage), and the exit
// status. Thread-safe: stages may report from worker threads.
//
// Every line passes through DisplayLine (importer/display_text.h): names and
// messages from archives and servers are printed with their control bytes
// and invalid UTF-8 escaped and URLs without user info, so no line can move
// the cursor, forge another line or show a password.
#pragma once

#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include "archive/status.h"
#include "importer/progress.h"

namespace ppa {

// What happened to one layer or config blob of an image.
struct BlobResult {
  enum class Action { kUploaded, kPresent, kMounted };
  std::string digest;
  std::string diff_id;  // layers only
  uint64_t size = 0;
  Action action = Action::kUploaded;
  uint64_t bytes_sent = 0;
};
const char* BlobActionName(BlobResult::Action action);

struct ItemResult {
  enum class Kind { kImage, kManifestList, kChart };
  Kind kind = Kind::kImage;
  std::string name;    // as the PPA manifest names it
  std::string target;  // where it went
  std::string digest;
  uint64_t size = 0;
  Status status;
  // Images: where they came from and what each blob needed.
  std::string source;    // image file inside the archive
  std::string platform;  // "linux/amd64"
  std::string config_digest;
  std::vector<BlobResult> blobs;
  // Charts: name and version from Chart.yaml, and each destination.
  std::string chart_name;
  std::string chart_version;
  std::vector<std::string> destinations;
};

struct TransferStats {
  int blobs_uploaded = 0;
  int blobs_present = 0;  // already in the registry: not sent
  uint64_t bytes_uploaded = 0;
};

class Reporter {
 public:
  // `out` gets results, `err` warnings and failures. Quiet drops progress
  // lines but keeps failures and the final verdict.
  Reporter(std::ostream& out, std::ostream& err, bool quiet, bool dry_run = false);

  // Lines are printed above this display's progress lines (may be null).
  void SetProgressDisplay(ProgressDisplay* display) { display_ = display; }

  // Marks the archive itself as unreadable/unsafe (exit status 3) or the run
  // as stopped before any item (usage, target unreachable).
  void SetFatal(const Status& status, int exit_code);
  const Status& fatal() const { return fatal_; }
  int fatal_exit_code() const { return fatal_exit_code_; }

  void Progress(const std::string& line);  // "Importing ... and pushing it to ..."
  void Result(const std::string& line);    // "tag: digest: sha256:... size: N"
  void Warning(const std::string& line);
  // "Error: <message>" then "Hint: <hint>" when there is one.
  void Failure(const Status& status);

  void Record(ItemResult item);
  void AddTransfer(const TransferStats& stats);

  // Prints the closing lines: "OK", or "FAILED" and the failed items.
  void Finish();
  // Closing for an error that stopped the run (archive unreadable, usage).
  void Fatal(const Status& status);

  int failed_items() const;
  const std::vector<ItemResult>& items() const { return items_; }
  TransferStats transfer() const;

 private:
  std::ostream& out_;
  std::ostream& err_;
  bool quiet_;
  bool dry_run_;
  ProgressDisplay* display_ = nullptr;

  // Writes through the progress display when there is one.
  template <typename F>
  void Print(F print) {
    if (display_) {
      display_->Above(print);
    } else {
      print();
    }
  }
  // One lock for every Reporter: archives imported in parallel print whole
  // lines, never interleaved ones.
  inline static std::mutex mu_;
  std::vector<ItemResult> items_;
  TransferStats transfer_;
  Status fatal_;
  int fatal_exit_code_ = 0;
};

}  // namespace ppa
