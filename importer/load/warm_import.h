// The warm re-import: an archive already imported completely into the same
// target, with the same options, is not inflated again when the target
// still holds every tag at the digest recorded then, and every blob.
//
// Identity: the archive is its content, the SHA-256 of the file (never its
// name or mtime), read in large blocks (FileSha256). A record in the blob
// cache's database (BlobCache::RecordImport) maps (archive sha256, target,
// settings) to the items the import produced: images and manifest lists
// with their tag and manifest digest, charts with their file in the charts
// folder (and its sha256) and their Helm OCI tag and digest. It is written
// only after a fully successful import (exit 0, not a dry run).
//
// On the next run: the archive is hashed, the record looked up, and every
// recorded item confirmed in the target through BlobSink::TaggedManifest
// (a HEAD per tag for a registry, index.json for an OCI layout) and
// BlobSink::HasBlob for the blobs of each image (a registry that lost one
// gets it again from the full import); the charts' files are made present
// in this run's charts folder (kept when there with the recorded sha256,
// else written again from the copy the record keeps). All confirmed: the run ends without
// inflating the archive, with one line ("Already imported: ..."). Anything
// missing or different: one progress line says why, and the full import
// runs.
//
// Off with --no-blob-cache (no database), --dry-run, a ChartMuseum upload
// (its copy cannot be confirmed cheaply), an extracted folder and stdin.
// Not thread-safe; one WarmImport per archive of a run.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "docker_io/target/blob_sink.h"
#include "importer/load/pipeline.h"
#include "importer/report/report.h"

namespace ppa {

// "sha256:<hex>" of the file at `path`, read in blocks of 4 MiB (OpenSSL
// EVP through Sha256).
// `stop` (may be null) set: stops early with kIo "stopped".
Result<std::string> FileSha256(const std::string& path, const std::atomic<bool>* stop = nullptr);

// Every option that changes what lands, as one canonical text (pure): the
// target (Target::Describe(), with its path prefix), namespace, every
// ImageOptions field (format and whether --format was given, compression,
// architectures sorted), chart flags (--keep-chart-values, --charts-oci).
// The charts folder is not: a chart file missing there is written again
// (RestoreWarmCharts). Credentials, --timeout, WorkOptions (--jobs...) and
// other flags that change only how are left out.
// "" when a text in them is not UTF-8 (no warm re-import then).
std::string WarmSettings(const LoadOptions& options, const std::string& target = "");

// One recorded item and how to confirm it.
struct WarmItem {
  ItemResult item;         // as the report showed it (kind, name, target, digest, size...)
  std::string repository;  // images, lists, Helm OCI charts: where the manifest is
  std::string reference;   // its tag (or digest)
  std::string chart_file;  // charts: the .tgz's name in the charts folder
  std::string chart_sha256;
  // Images: the layer and config blobs, in `repository`. Lists: those of
  // the platform images copied into its repository from another.
  std::vector<std::string> blobs;
  // Lists: the platform manifests it lists, which must be in `repository`
  // too (a list whose tag stands over a deleted child pulls broken).
  std::vector<std::string> children;
};

// The items to record for a successful import, from its report items;
// `location` is the target's BlobSink::Locate(""). nullopt (with why) when
// an item cannot be confirmed later (a target outside this sink). Pure,
// except that chart files are hashed.
Result<std::vector<WarmItem>> WarmItemsOf(const std::vector<ItemResult>& items,
                                          const std::string& location);

// The record's text and back (JSON). Pure. "" when a name in it is not
// UTF-8 (such an import is not recorded).
std::string SerializeWarmItems(const std::vector<WarmItem>& items);
Result<std::vector<WarmItem>> ParseWarmItems(std::string_view text);

// "repo", "tag" of a report target "<location><repo>:<tag>" (or
// "<location><repo>@sha256:..."); nullopt when it is not below `location`.
// Pure.
std::optional<std::pair<std::string, std::string>> SplitWarmTarget(std::string_view target,
                                                                   std::string_view location);

// OK when every item is still in `sink` as recorded (its tag at the
// recorded digest, each blob of an image present); else why not (one short
// clause: "'ns/app:1.0' now names sha256:... (recorded sha256:...)").
Status ConfirmWarmItems(const std::vector<WarmItem>& items, BlobSink& sink);

// Makes each chart file of `items` present in `charts_dir` with its
// recorded sha256: kept when it is there, else written again from the
// bytes `load` returns for that sha256 (the blob cache keeps them); the
// items' target and destinations then name it there. Not OK (why) when a
// file can be neither found nor written.
Status RestoreWarmCharts(std::vector<WarmItem>& items, const std::string& charts_dir,
                         const std::function<std::optional<std::string>(const std::string&)>& load);

class WarmImport {
 public:
  // Decides whether the warm path applies to `archive` (see above); when
  // it does and some import into this target with these options was
  // recorded, hashes the archive and looks its record up. Else the hash is
  // made beside the import, as a task of the run's pool when the caller is
  // one of its workers (else in Record), and Record waits for it: a first
  // import records its archive without a pass of its own at the end.
  // `target` names the whole destination (Target::Describe(): host and
  // path prefix, or the layout): a record is found only for the same one.
  WarmImport(const std::string& archive, BlobSink& sink, const std::string& target,
             const LoadOptions& options);
  ~WarmImport();  // a hash still being made stops
  WarmImport(const WarmImport&) = delete;
  WarmImport& operator=(const WarmImport&) = delete;

  // True when the archive was found imported: prints the one line, records
  // the items into `reporter` (the report lists them as the first run did)
  // and nothing else is to be done. False: the full import runs (a line
  // says why when a record existed but no longer holds).
  bool Done(Reporter& reporter);

  // Done() found the archive imported (for the report's "warm" mark).
  bool done() const { return done_; }

  // After the full import: records what it produced when it succeeded
  // completely (exit 0, nothing failed). `items` are the report's.
  void Record(int exit_code, const std::vector<ItemResult>& items);

 private:
  bool enabled_ = false;
  bool done_ = false;  // Done() found the archive imported
  BlobSink& sink_;
  std::string location_;
  std::string settings_;
  std::string cache_path_;
  std::string charts_dir_;  // where this run's chart files go
  std::string archive_;
  std::string archive_sha256_;           // "" until hashed
  // The archive file as it was when the run began (size, mtime, inode): a
  // file replaced meanwhile is not recorded (its hash would name other
  // content than what was imported).
  std::string file_identity_;
  std::optional<std::string> recorded_;  // the record found, if any
  // The archive's hash being made on `pool_` beside the import (when no
  // record could be looked up first); `stop_hashing_` ends it early.
  ThreadPool* pool_ = nullptr;
  std::future<Result<std::string>> hashing_;
  std::shared_ptr<std::atomic<bool>> stop_hashing_;
};

}  // namespace ppa
