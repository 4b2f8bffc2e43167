// The Report stage's state: what happened to each item, the human lines on
// stdout/stderr in the original tool's rhythm (README, Usage), and the exit
// status. Thread-safe: stages may report from worker threads.
//
// Every line passes through DisplayLine (importer/report/display_text.h): names and
// messages from archives and servers are printed with their control bytes
// and invalid UTF-8 escaped and URLs without user info, so no line can move
// the cursor, forge another line or show a password.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "importer/report/progress.h"

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

// A signature of a stored image or manifest list (README, "Signing").
struct SignatureResult {
  std::string scheme;     // "simple-signing" or "cosign"
  std::string reference;  // the docker-reference it names: "host/repo:tag"
  std::string digest;     // the manifest digest it signs
  std::string key;        // the signing key: an OpenPGP fingerprint, a public key's digest
  std::string stored;     // where it is: a file, a registry URL, a tag
  bool added = true;      // false: an equal signature by the same key was there already
};

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
  // Manifest lists: the digests of the platform manifests it lists, all in
  // its own repository. Not in the JSON report (the warm re-import confirms
  // them, importer/load/warm_import.h).
  std::vector<std::string> children;
  // Images and lists the target stored: whether it holds the archive's own
  // manifest (or index) bytes, so the digest is the archive's
  // (docker_io/image/kept_digest.h); unset when nothing was stored.
  std::optional<bool> digest_kept;
  std::string archive_digest;  // the archive's digest for it; "" when it has none
  std::string digest_note;     // why a new manifest was made; "" when kept
  // Charts: name and version from Chart.yaml, and each destination.
  std::string chart_name;
  std::string chart_version;
  std::vector<std::string> destinations;
  // Images and lists: the signatures made (or found) for it; with
  // --sign-by / --sign-key only.
  std::vector<SignatureResult> signatures;
};

// What a verdict line says: "OK (6 images, 2 charts, 103.3 MiB in 12.4 s)".
struct VerdictCounts {
  int archives = 0;  // 0: the verdict of one archive (not named)
  int images = 0;    // platform images imported (manifest lists not counted)
  int charts = 0;
  int failures = 0;  // items failed, and archives that could not be read
  uint64_t bytes = 0;  // distinct blobs of the imported images
  double seconds = 0;
  bool dry_run = false;
};
// The closing line: the verdict word first ("OK" or "FAILED", so scripts
// grepping `^OK` keep working), then the counts in parentheses. Pure.
std::string FormatVerdict(bool ok, const VerdictCounts& counts);
// The counts of one archive's items.
VerdictCounts CountItems(const std::vector<ItemResult>& items);

struct ArchiveOutcome;  // importer/report/run_report.h
// The one closing line of a run over several archives (-q): archives,
// images, charts, failures, bytes and elapsed time.
std::string RunVerdictLine(const std::vector<ArchiveOutcome>& archives, double seconds,
                           bool dry_run);

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
  // Without it, Finish prints the failures but no verdict line (the run
  // prints one for all its archives: -q with several archives).
  void SetVerdictLine(bool print) { verdict_line_ = print; }

  bool dry_run() const { return dry_run_; }
  // The verb of an action line: `doing` in a real run ("Pushing"), `would`
  // in a dry run ("Would push"). Every line about a write says it through
  // here, so no dry-run line claims a write that did not happen.
  std::string Verb(std::string_view doing, std::string_view would) const {
    return std::string(dry_run_ ? would : doing);
  }

  // Marks the archive itself as unreadable/unsafe (exit status 3) or the run
  // as stopped before any item (usage, target unreachable).
  void SetFatal(const Status& status, int exit_code) EXCLUDES(mu_);
  Status fatal() const EXCLUDES(mu_);
  int fatal_exit_code() const EXCLUDES(mu_);

  void Progress(const std::string& line) EXCLUDES(mu_);  // "Importing ... and pushing it to ..."
  void Result(const std::string& line) EXCLUDES(mu_);    // "tag: digest: sha256:... size: N"
  void Warning(const std::string& line) EXCLUDES(mu_);
  // "Error: <message>" then "Hint: <hint>" when there is one.
  void Failure(const Status& status) EXCLUDES(mu_);

  void Record(ItemResult item) EXCLUDES(mu_);
  // Replaces the recorded item of the same kind, name and target by `item`
  // (a later stage's additions: its signatures, or why signing failed).
  void Amend(const ItemResult& item) EXCLUDES(mu_);
  void AddTransfer(const TransferStats& stats) EXCLUDES(mu_);

  // Prints the closing lines: the transfer line, the verdict (FormatVerdict,
  // with the time since the Reporter was made), and the failed items.
  void Finish() EXCLUDES(mu_);
  // Closing for an error that stopped the run (archive unreadable, usage).
  void Fatal(const Status& status) EXCLUDES(mu_);

  int failed_items() const EXCLUDES(mu_);
  std::vector<ItemResult> items() const EXCLUDES(mu_);
  TransferStats transfer() const EXCLUDES(mu_);

 private:
  std::ostream& out_;
  std::ostream& err_;
  bool quiet_;
  bool dry_run_;
  bool verdict_line_ = true;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
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
  inline static Mutex mu_;
  std::vector<ItemResult> items_ GUARDED_BY(mu_);
  TransferStats transfer_ GUARDED_BY(mu_);
  Status fatal_ GUARDED_BY(mu_);
  int fatal_exit_code_ GUARDED_BY(mu_) = 0;
};

}  // namespace ppa
