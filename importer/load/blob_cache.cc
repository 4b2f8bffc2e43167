#include "importer/load/blob_cache.h"

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
    "  PRIMARY KEY (diff_id, settings));"
    "CREATE TABLE IF NOT EXISTS seen ("
    "  scope TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  PRIMARY KEY (scope, digest, repository));"
    "CREATE TABLE IF NOT EXISTS entries ("
    "  name TEXT NOT NULL, size INTEGER NOT NULL, diff_id TEXT NOT NULL,"
    "  PRIMARY KEY (name, size));"
    "CREATE TABLE IF NOT EXISTS imports ("
    "  archive_sha256 TEXT NOT NULL, target TEXT NOT NULL, settings TEXT NOT NULL,"
    "  record TEXT NOT NULL, recorded INTEGER NOT NULL,"
    "  PRIMARY KEY (archive_sha256, target, settings));"
    "CREATE TABLE IF NOT EXISTS files ("
    "  sha256 TEXT NOT NULL PRIMARY KEY, bytes BLOB NOT NULL);";

}  // namespace

BlobCache::BlobCache(const std::string& path) : path_(path) {}

BlobCache::Db* BlobCache::OpenLocked() {
  if (opened_) return db_.get();
  opened_ = true;
  if (path_.empty()) return nullptr;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  auto db = std::make_unique<Db>();
  if (sqlite3_open_v2(path_.c_str(), &db->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    return nullptr;
  }
  sqlite3_busy_timeout(db->handle, 5000);
  if (sqlite3_exec(db->handle, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) return nullptr;
  ::chmod(path_.c_str(), 0600);
  db_ = std::move(db);
  return db_.get();
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

namespace {

// The (digest, size) row `s` steps to, if any.
std::optional<CachedBlob> NextBlob(sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_ROW) return std::nullopt;
  const unsigned char* digest = sqlite3_column_text(s, 0);
  if (!digest) return std::nullopt;
  return CachedBlob{reinterpret_cast<const char*>(digest),
                    static_cast<uint64_t>(sqlite3_column_int64(s, 1))};
}

}  // namespace

std::optional<CachedBlob> BlobCache::Lookup(const std::string& diff_id,
                                            const std::string& settings) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return std::nullopt;
  Stmt s =
      Prepare(db->handle, "SELECT digest, size FROM blobs WHERE diff_id = ? AND settings = ?");
  if (!s) return std::nullopt;
  BindText(s.get(), 1, diff_id);
  BindText(s.get(), 2, settings);
  return NextBlob(s.get());
}

bool BlobCache::KnowsDigest(const std::string& digest, const std::string& settings) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return false;
  Stmt s = Prepare(db->handle, "SELECT 1 FROM blobs WHERE digest = ? AND settings = ? LIMIT 1");
  if (!s) return false;
  BindText(s.get(), 1, digest);
  BindText(s.get(), 2, settings);
  return sqlite3_step(s.get()) == SQLITE_ROW;
}

void BlobCache::Store(const std::string& diff_id, const std::string& settings,
                      const CachedBlob& blob) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return;
  Stmt s = Prepare(db->handle,
                   "INSERT OR REPLACE INTO blobs (diff_id, settings, digest, size) "
                   "VALUES (?, ?, ?, ?)");
  if (!s) return;
  BindText(s.get(), 1, diff_id);
  BindText(s.get(), 2, settings);
  BindText(s.get(), 3, blob.digest);
  sqlite3_bind_int64(s.get(), 4, static_cast<sqlite3_int64>(blob.size));
  sqlite3_step(s.get());
}

void BlobCache::RecordEntry(const std::string& name, uint64_t size, const std::string& diff_id) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return;
  Stmt s =
      Prepare(db->handle, "INSERT OR REPLACE INTO entries (name, size, diff_id) VALUES (?, ?, ?)");
  if (!s) return;
  BindText(s.get(), 1, name);
  sqlite3_bind_int64(s.get(), 2, static_cast<sqlite3_int64>(size));
  BindText(s.get(), 3, diff_id);
  sqlite3_step(s.get());
}

std::optional<CachedBlob> BlobCache::EntryBlob(const std::string& name, uint64_t size,
                                               const std::string& settings) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return std::nullopt;
  Stmt s = Prepare(db->handle,
                   "SELECT b.digest, b.size FROM entries e JOIN blobs b ON b.diff_id = e.diff_id "
                   "WHERE e.name = ? AND e.size = ? AND b.settings = ? LIMIT 1");
  if (!s) return std::nullopt;
  BindText(s.get(), 1, name);
  sqlite3_bind_int64(s.get(), 2, static_cast<sqlite3_int64>(size));
  BindText(s.get(), 3, settings);
  return NextBlob(s.get());
}

void BlobCache::RecordSeen(const std::string& scope, const std::string& repository,
                           const std::string& digest) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return;
  Stmt s = Prepare(db->handle,
                   "INSERT OR REPLACE INTO seen (scope, repository, digest, last_seen) "
                   "VALUES (?, ?, ?, strftime('%s', 'now'))");
  if (!s) return;
  BindText(s.get(), 1, scope);
  BindText(s.get(), 2, repository);
  BindText(s.get(), 3, digest);
  sqlite3_step(s.get());
}

std::vector<std::string> BlobCache::SeenIn(const std::string& scope, const std::string& digest,
                                           int limit) {
  MutexLock lock(&mu_);
  std::vector<std::string> repositories;
  Db* db = OpenLocked();
  if (!db) return repositories;
  Stmt s = Prepare(db->handle,
                   "SELECT repository FROM seen WHERE scope = ? AND digest = ? "
                   "ORDER BY last_seen DESC, repository LIMIT ?");
  if (!s) return repositories;
  BindText(s.get(), 1, scope);
  BindText(s.get(), 2, digest);
  sqlite3_bind_int(s.get(), 3, limit);
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    if (const unsigned char* repo = sqlite3_column_text(s.get(), 0)) {
      repositories.emplace_back(reinterpret_cast<const char*>(repo));
    }
  }
  return repositories;
}

std::optional<std::string> BlobCache::LookupImport(const std::string& archive_sha256,
                                                   const std::string& target,
                                                   const std::string& settings) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return std::nullopt;
  Stmt s = Prepare(db->handle,
                   "SELECT record FROM imports WHERE archive_sha256 = ? AND target = ? AND "
                   "settings = ?");
  if (!s) return std::nullopt;
  BindText(s.get(), 1, archive_sha256);
  BindText(s.get(), 2, target);
  BindText(s.get(), 3, settings);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  const unsigned char* record = sqlite3_column_text(s.get(), 0);
  if (!record) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(record));
}

void BlobCache::StoreFile(const std::string& sha256, const std::string& bytes) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return;
  Stmt s = Prepare(db->handle, "INSERT OR REPLACE INTO files (sha256, bytes) VALUES (?, ?)");
  if (!s) return;
  BindText(s.get(), 1, sha256);
  sqlite3_bind_blob64(s.get(), 2, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  sqlite3_step(s.get());
}

std::optional<std::string> BlobCache::LoadFile(const std::string& sha256) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return std::nullopt;
  Stmt s = Prepare(db->handle, "SELECT bytes FROM files WHERE sha256 = ?");
  if (!s) return std::nullopt;
  BindText(s.get(), 1, sha256);
  if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
  const void* bytes = sqlite3_column_blob(s.get(), 0);
  const int size = sqlite3_column_bytes(s.get(), 0);
  if (bytes == nullptr && size > 0) return std::nullopt;
  return std::string(static_cast<const char*>(bytes), static_cast<size_t>(size));
}

bool BlobCache::HasImports(const std::string& target, const std::string& settings) {
  MutexLock lock(&mu_);
  // Asked before the archive is read: no cache yet means no record, and
  // none is created here (an archive found unreadable leaves nothing
  // outside the work directory).
  std::error_code ec;
  if (!opened_ && !std::filesystem::exists(path_, ec)) return false;
  Db* db = OpenLocked();
  if (!db) return false;
  Stmt s = Prepare(db->handle,
                   "SELECT 1 FROM imports WHERE target = ? AND settings = ? LIMIT 1");
  if (!s) return false;
  BindText(s.get(), 1, target);
  BindText(s.get(), 2, settings);
  return sqlite3_step(s.get()) == SQLITE_ROW;
}

void BlobCache::RecordImport(const std::string& archive_sha256, const std::string& target,
                             const std::string& settings, const std::string& record) {
  MutexLock lock(&mu_);
  Db* db = OpenLocked();
  if (!db) return;
  Stmt s = Prepare(db->handle,
                   "INSERT OR REPLACE INTO imports (archive_sha256, target, settings, record, "
                   "recorded) VALUES (?, ?, ?, ?, strftime('%s', 'now'))");
  if (!s) return;
  BindText(s.get(), 1, archive_sha256);
  BindText(s.get(), 2, target);
  BindText(s.get(), 3, settings);
  BindText(s.get(), 4, record);
  sqlite3_step(s.get());
}

}  // namespace ppa
