// The Unpack stage: one pass over the outer PPA archive, writing its entries
// safely below a work directory.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

// Unpacked-size limit when none is given: max(kUnpackRatio x the archive's
// size on disk, kUnpackFloorBytes), never above kUnpackCapBytes. A PPA
// archive holds compressed layers, so it barely grows when unpacked; a
// decompression bomb grows a thousandfold.
inline constexpr uint64_t kUnpackRatio = 100;
inline constexpr uint64_t kUnpackFloorBytes = 1ull << 30;  // 1 GiB
inline constexpr uint64_t kUnpackCapBytes = 1ull << 40;    // 1 TiB
// Entries accepted in one archive when none is given.
inline constexpr uint64_t kDefaultMaxEntries = 1000000;
// Bytes of entry names (and link targets) accepted in one archive: the
// names are held in memory for the plan. A PPA archive has hundreds of
// entries with short names.
inline constexpr uint64_t kMaxEntryNameBytes = 32ull << 20;

// The archive name that means standard input (`ppa-import load -`). The
// archive is then read once, as a stream: nothing seeks in it, no inflate
// index is kept, and no file of it is ever unpacked again.
inline constexpr char kStdinArchive[] = "-";
inline bool IsStdinArchive(std::string_view archive) { return archive == kStdinArchive; }

// Inflating a gzip archive again on several cores. The first unpack of a
// gzip archive writes its inflate index (checkpoints of the inflate, about
// 60 KB per `spacing` inflated bytes) into `dir`; an unpack of the same file
// later inflates it on `workers` threads from there. The index is a cache:
// a stale or damaged one costs speed, never correctness
// (archive/inflate/parallel_inflate.h).
struct InflateIndexOptions {
  std::string dir;                             // empty: no index
  uint64_t min_archive_bytes = 64ull << 20;    // smaller archives get none
  uint64_t spacing = 16ull << 20;              // inflated bytes between checkpoints
  unsigned workers = 0;                        // 0: one per core (at most 4)
};

// What one archive may inflate to, all inflation together: the outer
// unpack (each regular file at its logical size, so a sparse entry counts
// for what it claims), each image file compressed as a whole that is
// inflated to be read, and each file unpacked again later. A decompression
// bomb nested in the archive meets the same total as one in its outer
// stream. Thread-safe: every inflating thread of a run charges one budget.
class InflationBudget {
 public:
  explicit InflationBudget(uint64_t limit) : limit_(limit) {}
  // Raises the limit to `limit` (never lowers it). For an archive read from
  // a pipe, whose size is not known before its end: the limit follows the
  // bytes read so far (DefaultUnpackLimit of them), so the ratio a
  // decompression bomb needs is refused as soon as it is reached.
  void RaiseLimit(uint64_t limit);
  // Takes `bytes` from the budget for `what` (a path, for the message);
  // kUnsafeArchive once the total passes the limit, for this call and every
  // later one (the budget stays exceeded).
  Status Charge(uint64_t bytes, const std::string& what);
  bool exceeded() const { return exceeded_.load(); }
  uint64_t limit() const { return limit_.load(); }
  uint64_t used() const { return used_.load(); }
  // The error of an exceeded budget (names the limit and the flag).
  Status ExceededError(const std::string& what) const;

 private:
  std::atomic<uint64_t> limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<bool> exceeded_{false};
};

struct UnpackOptions {
  // Refuse once the unpacked bytes pass this many (0: DefaultUnpackLimit of
  // the archive's size). Only when `budget` is null.
  uint64_t max_unpacked_bytes = 0;
  // The run's budget of inflated bytes, shared with the inflation of the
  // image files (null: one of this unpack's own, of max_unpacked_bytes).
  InflationBudget* budget = nullptr;
  // The budget's limit was given (--max-unpacked-size): for standard input
  // it is then kept, not raised as the archive is read.
  bool limit_given = false;
  // Refuse an archive with more entries than this (0: kDefaultMaxEntries).
  uint64_t max_entries = 0;
  // For standard input (IsStdinArchive), whose size is not known: told the
  // bytes read from it so far (as they came, compressed), on the unpacking
  // thread as the data of its files passes.
  std::function<void(uint64_t bytes)> on_input_read;
  // Called on the unpacking thread once each regular file (not a hard link)
  // is completely written and closed, with its clean relative path, so later
  // stages can start on it while the rest of the archive is unpacked. The
  // file may still be replaced by a later entry of the same name.
  std::function<void(const std::string& path)> on_file;
  // Called on the unpacking thread before anything is written at `path` (a
  // regular file, hard link or symlink, maybe replacing an earlier entry of
  // that name).
  std::function<void(const std::string& path)> on_file_begin;
  // When set, a regular file's data is not written by Unpack: each block goes
  // to this hook instead (on the unpacking thread, in order; `offset` is
  // where it lies in the file), which stores the parts to keep with `write`
  // (any part, any order). What it leaves out reads as zeros: the file still
  // gets its full size. Lets later stages look at the bytes as they go by
  // instead of reading them back, and take what they consume out of the
  // file. An error from `write` or the hook stops Unpack.
  using BlockWriter = std::function<Status(uint64_t offset, std::string_view bytes)>;
  std::function<Status(const std::string& path, uint64_t offset, std::string_view data,
                       const BlockWriter& write)>
      on_data;
  // When set, only the regular files and links whose clean relative path it
  // accepts are written (the others are still checked and counted); used to
  // restore one file of an archive unpacked earlier.
  std::function<bool(const std::string& path)> select;
  InflateIndexOptions inflate_index;
};

// The default unpacked-size limit for an archive of `archive_bytes` bytes:
// min(max(kUnpackRatio * archive_bytes, floor_bytes), kUnpackCapBytes).
uint64_t DefaultUnpackLimit(uint64_t archive_bytes, uint64_t floor_bytes = kUnpackFloorBytes);

// The inflation limit of the archive at `archive_path`: `max_unpacked_bytes`
// (--max-unpacked-size) when set, else DefaultUnpackLimit of its size (of
// the files it holds, for a directory). For standard input (IsStdinArchive)
// without `max_unpacked_bytes`, the floor: UnpackArchive raises it as the
// archive is read (InflationBudget::RaiseLimit).
uint64_t InflationLimitOf(const std::string& archive_path, uint64_t max_unpacked_bytes);

struct UnpackResult {
  std::vector<std::string> files;  // clean relative paths of regular files written
  uint64_t unpacked_bytes = 0;
  size_t inflate_checkpoints_written = 0;  // an inflate index was written
  size_t inflate_segments_verified = 0;    // inflated in parallel from one
};

// Whether `path` is a directory (following links).
bool IsDirectory(const std::string& path);

// Unpacks the tar at `archive_path` (plain, or gzip/zstd/xz/bzip2 compressed:
// detected by magic bytes) into the existing directory `dest_dir`;
// kStdinArchive reads standard input (a pipe or a file), with the same
// checks, except that an xz stream is refused there (its blocks' decoder
// windows are only found from its end), and with the inflation limit
// following the bytes read (InflationLimitOf) unless one is given. A
// directory at `archive_path` (an archive extracted before) is copied the
// same way, entry by entry with the same checks and hooks: each file read
// beneath it (openat2(RESOLVE_BENEATH), base/confined.h), its symbolic
// links made again in `dest_dir` and checked as an archive's (one leading
// out of the directory makes it unsafe); nothing in it is written.
//
// Safety: every name goes through SanitizeEntryPath; every file is created
// relative to a directory handle with O_NOFOLLOW on each component, so no
// symlink (planted by the archive or not) can redirect a write; symlinks must
// point inside the tree, as text and on disk (each link is resolved
// beneath `dest_dir` by the kernel when it is made and again once the
// archive is complete, since a later link can change where an earlier one
// leads; a link loop is refused too); hard links must name a regular file
// inside the tree; device nodes, FIFOs and sockets are refused; a name with
// a component longer than the file system allows (kMaxNameComponent) is the
// archive's fault. Files are created 0600, directories 0700 (setuid, setgid
// and sticky bits are never set). More entries than options.max_entries,
// or more inflated bytes than the budget (a decompression bomb; a sparse
// entry counts at its logical size), are refused too; the file being
// written when the limit is passed is removed (the caller removes
// `dest_dir`). Returns kUnsafeArchive naming the entry for anything unsafe,
// kInvalidInput when the file is not a readable archive.
Result<UnpackResult> UnpackArchive(const std::string& archive_path, const std::string& dest_dir,
                                   const UnpackOptions& options = {});

// What the first bytes `head` of a file of `size` bytes say about it when
// libarchive could not read it as an archive (`detail`: libarchive's
// words), for UnpackArchive's errors (pure):
//  - empty, a zip file, or neither tar nor a compression we read: "not a
//    tar or compressed tar archive" (saying which);
//  - a compressed stream or tar whose reading failed with an end-of-data
//    error: "truncated at byte <size>";
//  - else damaged, with `detail`.
// Each with a hint (download again, compare size and checksum).
Status DescribeUnreadableArchive(const std::string& archive_path, std::string_view head,
                                 uint64_t size, const std::string& detail);

// Writes the content of a file compressed as a whole (gzip, zstd, xz, bzip2)
// to `dest_path` (mode 0600), streaming, each block charged to `budget`.
// Once the budget is exceeded it stops with kUnsafeArchive (a decompression
// bomb) and removes `dest_path`.
Status DecompressFile(const std::string& src_path, const std::string& dest_path,
                      InflationBudget& budget);
// The same with a budget of its own: `max_bytes` (0: DefaultUnpackLimit of
// the source's size).
Status DecompressFile(const std::string& src_path, const std::string& dest_path,
                      uint64_t max_bytes = 0);

}  // namespace ppa
