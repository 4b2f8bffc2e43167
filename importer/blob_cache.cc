#include "importer/blob_cache.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace ppa {

struct BlobCache::Db {
  sqlite3* handle = nullptr;
  ~Db() { sqlite3_close(handle); }
};

namespace {

struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

Stmt Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) return Stmt();
  return Stmt(s);
}

void BindText(sqlite3_stmt* s, int i, const std::string& text) {
  sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS blobs ("
    "  diff_id TEXT NOT NULL, settings TEXT NOT NULL,"
    "  digest TEXT NOT NULL, size INTEGER NOT NULL,"
    "  PRIMARY KEY (diff_id, settings));";

}  // namespace

BlobCache::BlobCache(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto db = std::make_unique<Db>();
  if (sqlite3_open_v2(path.c_str(), &db->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    return;
  }
  sqlite3_busy_timeout(db->handle, 5000);
  if (sqlite3_exec(db->handle, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return;
  ::chmod(path.c_str(), 0600);
  db_ = std::move(db);
}

BlobCache::~BlobCache() = default;

std::string BlobCache::DefaultPath() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/ppa-import/blobs.db";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/ppa-import/blobs.db";
  }
  return "";
}

std::optional<CachedBlob> BlobCache::Lookup(const std::string& diff_id,
                                            const std::string& settings) {
  std::lock_guard lock(mu_);
  if (!db_) return std::nullopt;
  Stmt s =
      Prepare(db_->handle, "SELECT digest, size FROM blobs WHERE diff_id = ? AND settings = ?");
  if (!s) return std::nullopt;
  BindText(s.get(), 1, diff_id);
  BindText(s.get(), 2, settings);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  const unsigned char* digest = sqlite3_column_text(s.get(), 0);
  if (!digest) return std::nullopt;
  return CachedBlob{reinterpret_cast<const char*>(digest),
                    static_cast<uint64_t>(sqlite3_column_int64(s.get(), 1))};
}

void BlobCache::Store(const std::string& diff_id, const std::string& settings,
                      const CachedBlob& blob) {
  std::lock_guard lock(mu_);
  if (!db_) return;
  Stmt s = Prepare(db_->handle,
                   "INSERT OR REPLACE INTO blobs (diff_id, settings, digest, size) "
                   "VALUES (?, ?, ?, ?)");
  if (!s) return;
  BindText(s.get(), 1, diff_id);
  BindText(s.get(), 2, settings);
  BindText(s.get(), 3, blob.digest);
  sqlite3_bind_int64(s.get(), 4, static_cast<sqlite3_int64>(blob.size));
  sqlite3_step(s.get());
}

}  // namespace ppa
