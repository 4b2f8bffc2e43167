// Internal: the inflate index of a gzip archive, a file of checkpoints
// (archive/inflate/gzip_file_inflater.h) kept in a cache directory so that a later
// read of the same archive can inflate it on several cores
// (archive/inflate/parallel_inflate.h). A cache, never the truth: a checkpoint is
// only used once an inflate from the one before it has arrived at exactly
// its state. Include from .cc files only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/file_util.h"
#include "archive/inflate/gzip_file_inflater.h"

namespace ppa::internal {

// The index file name for the archive open as `fd` (`size` bytes): made of
// its size and CRCs of its first and last 64 KiB (a gzip file ends with the
// CRC and size of everything inflated). Empty on a read error.
std::string InflateIndexName(int fd, uint64_t size);

// Writes an index while the archive is inflated from its start: Add appends
// a checkpoint to a temporary file, Commit renames it into place (and keeps
// only the few most recently used indexes of the directory). Without Commit
// the temporary file is removed.
class InflateIndexWriter {
 public:
  // Null when the directory cannot be created or written.
  static std::unique_ptr<InflateIndexWriter> Create(const std::string& dir,
                                                    const std::string& name,
                                                    uint64_t archive_size);
  ~InflateIndexWriter();
  InflateIndexWriter(const InflateIndexWriter&) = delete;
  InflateIndexWriter& operator=(const InflateIndexWriter&) = delete;

  void Add(const InflateCheckpoint& at);
  size_t count() const { return count_; }
  void Commit();

 private:
  InflateIndexWriter(std::string dir, std::string name, UniqueFd fd, std::string tmp_path)
      : dir_(std::move(dir)),
        name_(std::move(name)),
        fd_(std::move(fd)),
        tmp_path_(std::move(tmp_path)) {}

  std::string dir_;
  std::string name_;
  UniqueFd fd_;
  std::string tmp_path_;
  uint64_t written_ = 0;
  size_t count_ = 0;
  bool failed_ = false;
  bool committed_ = false;
};

// An index read back: the checkpoints' positions in memory, their ISA-L
// states read from the file when needed (memory does not grow with the
// archive).
class InflateIndex {
 public:
  // Null when there is no usable index at `path` for an archive of
  // `archive_size` bytes (missing, written by another build, damaged header).
  static std::unique_ptr<InflateIndex> Open(const std::string& path, uint64_t archive_size);
  ~InflateIndex();
  InflateIndex(const InflateIndex&) = delete;
  InflateIndex& operator=(const InflateIndex&) = delete;

  size_t size() const { return entries_.size(); }
  uint64_t out_offset(size_t i) const { return entries_[i].out_offset; }
  // Checkpoint `i` with its state; nullopt when its bytes are damaged.
  std::optional<InflateCheckpoint> Load(size_t i) const;
  // Removes the index file (it did not hold for this archive).
  void Discard() const;

 private:
  struct Entry {
    uint64_t out_offset;
    uint64_t block;
    uint32_t pos;
    uint32_t avail_in;
    uint64_t state_at;
    uint32_t state_size;
    uint32_t crc;
  };
  InflateIndex(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  UniqueFd fd_;
  std::vector<Entry> entries_;
};

}  // namespace ppa::internal
