// Small file-system helpers shared by the stages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ppa {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership: the caller closes the returned descriptor.
  int release() { return std::exchange(fd_, -1); }
  void Reset();

 private:
  int fd_ = -1;
};

// Opens `path` read-only; below a confined directory, beneath it
// (base/confined.h).
Result<UniqueFd> OpenForRead(const std::string& path);

// A regular file mapped read-only into memory, whole, for reading it without
// copying its bytes (read and pread copy each byte out of the page cache).
// Pages are brought in block by block (Populate) and let go once read
// (Release), so the process's resident memory does not grow with the file.
// A file cut short by another process while mapped makes the kernel stop us
// with SIGBUS when a page past the new end is touched: Populate reports a
// cut it sees as false, which leaves only the moments between a Populate and
// the reading of that block. Move-only.
class MappedFile {
 public:
  MappedFile() = default;
  // Maps `fd`; an empty MappedFile (data() null) when it is not a regular
  // file, is empty, or cannot be mapped: the caller reads it instead.
  static MappedFile Map(int fd);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  // Maps the pages of [offset, offset + size) now, reading what is not in
  // the page cache; false when part of the range is gone (the file shrank).
  bool Populate(uint64_t offset, uint64_t size) const;
  // The pages of [offset, offset + size) no longer count as ours (the page
  // cache keeps them); reading them again maps them again.
  void Release(uint64_t offset, uint64_t size) const;

 private:
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Creates `path` and its parents (mode 0700 for the ones created).
Status MakeDirs(const std::string& path);

// Reads `size` bytes at `offset` of `fd` (pread, retried on EINTR and short
// reads): returns the count, fewer only at the end of the file; -1 with
// errno set on an error.
long PreadFull(int fd, char* buf, size_t size, uint64_t offset);

// Writes all of `data` at `offset` of `fd` (pwrite, retried on EINTR and
// short writes). Errors name `path`; a full disk's (ENOSPC, EDQUOT) has a
// hint about room and --workdir.
Status PwriteAll(int fd, const char* data, size_t size, uint64_t offset, const std::string& path);

// Removes a directory tree (no error when it does not exist). Does not
// follow symbolic links.
Status RemoveTree(const std::string& path);

// `rel` and the other paths under `root` (relative to it, sorted) that are
// hard links of the same file: just {rel} when the file has one name or
// cannot be read. Does not follow symbolic links.
std::vector<std::string> NamesOfSameFile(const std::string& root, const std::string& rel);

// Absolute form of `path` (without resolving symlinks).
std::string AbsolutePath(const std::string& path);

// A random RFC 4122 version-4 UUID string.
std::string NewUuid();

// A new file name in the directory `dir` for a file made from `source` (a
// path whose base name came from an archive): at most the first 64 bytes of
// its base name, a random part and `suffix`, so it fits the file system's
// name limit whatever the archive's name (up to 255 bytes) was.
std::string ScratchName(const std::string& dir, std::string_view source, std::string_view suffix);

// Whole-file compression detected by magic bytes.
enum class Compression { kNone, kGzip, kZstd, kXz, kBzip2 };
const char* CompressionName(Compression c);
Compression DetectCompression(std::string_view first_bytes);
// Reads the first bytes of the file region and detects its compression.
Result<Compression> DetectFileCompression(const std::string& path, uint64_t offset = 0);

// Writes `data` to `path` (mode 0600), replacing it atomically.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// Where a path a user named for output really leads: its symbolic links
// followed (a dangling one to the file it names), and whether any step is
// under /dev or /proc (/dev/stdout, /proc/self/fd/N), where the final
// name says nothing about what a write reaches.
struct OutputPath {
  std::string real;          // the path with every link followed
  bool through_special = false;
};
Result<OutputPath> ResolveOutputPath(const std::string& path);

// Writes `data` to a file the user named (a report), as `>` would but never
// leaving half a file: a regular file (new, or reached through symbolic
// links) is replaced atomically, the links kept, a new one with mode 0666
// less the umask and an existing one keeping its mode (and, for root, its
// owner). Anything else that exists (a FIFO, a terminal, /dev/stdout, a
// file reached through /dev or /proc) is written in place, appended to,
// never replaced. A directory is an error.
Status WriteUserNamedFile(const std::string& path, std::string_view data);

// Copies a file (mode 0600) through a temporary name, replacing `to`.
Status CopyFile(const std::string& from, const std::string& to);

}  // namespace ppa
