// The local blob cache: remembers which compressed blob an uncompressed layer
// became, and which repositories of which target were last seen holding it,
// so a re-import can skip compression when the target already has the blob
// (and mount it from another repository there). SQLite in WAL mode (safe for concurrent runs), by default at
// $XDG_CACHE_HOME/ppa-import/blobs.db or ~/.cache/ppa-import/blobs.db.
//
// The cache is an accelerator, never the truth: callers confirm a cached
// digest with the registry (HEAD) and compress again when it is missing.
// Every failure to open, read or write the cache is swallowed (the cache is
// then simply empty). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ppa {

struct CachedBlob {
  std::string digest;
  uint64_t size = 0;
};

class BlobCache {
 public:
  // The database at `path` ("": no cache), opened (created) on first use, so
  // a run that never gets to its layers leaves no trace; on any error the
  // cache is disabled and Lookup always misses.
  explicit BlobCache(const std::string& path);
  ~BlobCache();
  BlobCache(const BlobCache&) = delete;
  BlobCache& operator=(const BlobCache&) = delete;

  // The default database path ("" when no home directory is known).
  static std::string DefaultPath();

  // `settings` names the compression (CompressionOptions::Key()).
  std::optional<CachedBlob> Lookup(const std::string& diff_id, const std::string& settings);
  void Store(const std::string& diff_id, const std::string& settings, const CachedBlob& blob);
  // Whether some diff_id is known to have become `digest` under `settings`.
  bool KnowsDigest(const std::string& digest, const std::string& settings);

  // Records that the tar entry `name` of `size` bytes (a layer inside an
  // image tarball) held the layer `diff_id`.
  void RecordEntry(const std::string& name, uint64_t size, const std::string& diff_id);
  // The blob that the layer in the tar entry `name` of `size` bytes became
  // under `settings` (RecordEntry, Store): a re-import of the same archive
  // likely needs no compression for it.
  std::optional<CachedBlob> EntryBlob(const std::string& name, uint64_t size,
                                      const std::string& settings);

  // `scope` names the target (a registry host, an OCI layout): BlobSink::Locate("").
  // Records that `repository` of `scope` holds `digest` (now).
  void RecordSeen(const std::string& scope, const std::string& repository,
                  const std::string& digest);
  // Repositories of `scope` last seen holding `digest`, most recent first
  // (at most `limit`).
  std::vector<std::string> SeenIn(const std::string& scope, const std::string& digest,
                                  int limit = 4);

  // Warm re-imports (importer/load/warm_import.h): the record of a complete
  // import of the archive whose content is `archive_sha256` into `target`
  // under `settings`, as written by RecordImport; nullopt when none.
  std::optional<std::string> LookupImport(const std::string& archive_sha256,
                                          const std::string& target, const std::string& settings);
  // Whether any import into `target` under `settings` was recorded: when
  // none was, the archive need not be hashed to look its record up. Never
  // creates the database (false when there is none yet).
  bool HasImports(const std::string& target, const std::string& settings);
  // Replaces that record.
  void RecordImport(const std::string& archive_sha256, const std::string& target,
                    const std::string& settings, const std::string& record);

  // The bytes of a chart file a recorded import wrote (keyed by their
  // sha256), so a warm re-import can write it again where it is missing.
  void StoreFile(const std::string& sha256, const std::string& bytes);
  std::optional<std::string> LoadFile(const std::string& sha256);

  bool enabled() const { return !path_.empty(); }

 private:
  struct Db;
  // The open database or null.
  Db* OpenLocked() REQUIRES(mu_);

  std::string path_;
  Mutex mu_;
  bool opened_ GUARDED_BY(mu_) = false;  // an attempt was made
  std::unique_ptr<Db> db_ GUARDED_BY(mu_);
};

}  // namespace ppa
