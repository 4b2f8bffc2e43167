// The local blob cache: remembers which compressed blob an uncompressed layer
// became, so a re-import can skip compression when the registry already has
// the blob. SQLite in WAL mode (safe for concurrent runs), by default at
// $XDG_CACHE_HOME/ppa-import/blobs.db or ~/.cache/ppa-import/blobs.db.
//
// The cache is an accelerator, never the truth: callers confirm a cached
// digest with the registry (HEAD) and compress again when it is missing.
// Every failure to open, read or write the cache is swallowed (the cache is
// then simply empty). Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace ppa {

struct CachedBlob {
  std::string digest;
  uint64_t size = 0;
};

class BlobCache {
 public:
  // Opens (creating) the database at `path`; on any error the cache is
  // disabled and Lookup always misses.
  explicit BlobCache(const std::string& path);
  ~BlobCache();
  BlobCache(const BlobCache&) = delete;
  BlobCache& operator=(const BlobCache&) = delete;

  // The default database path ("" when no home directory is known).
  static std::string DefaultPath();

  // `settings` names the compression (CompressionOptions::Key()).
  std::optional<CachedBlob> Lookup(const std::string& diff_id, const std::string& settings);
  void Store(const std::string& diff_id, const std::string& settings, const CachedBlob& blob);
  bool enabled() const { return db_ != nullptr; }

 private:
  struct Db;
  std::mutex mu_;
  std::unique_ptr<Db> db_;
};

}  // namespace ppa
