// Small file-system helpers shared by the stages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archive/status.h"

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
  void Reset();

 private:
  int fd_ = -1;
};

// Opens `path` read-only.
Result<UniqueFd> OpenForRead(const std::string& path);

// Creates `path` and its parents (mode 0700 for the ones created).
Status MakeDirs(const std::string& path);

// Reads `size` bytes at `offset` of `fd` (pread, retried on EINTR and short
// reads): returns the count, fewer only at the end of the file; -1 with
// errno set on an error.
long PreadFull(int fd, char* buf, size_t size, uint64_t offset);

// Writes all of `data` at `offset` of `fd` (pwrite, retried on EINTR and
// short writes). Errors name `path`.
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

// Whole-file compression detected by magic bytes.
enum class Compression { kNone, kGzip, kZstd, kXz, kBzip2 };
const char* CompressionName(Compression c);
Compression DetectCompression(std::string_view first_bytes);
// Reads the first bytes of the file region and detects its compression.
Result<Compression> DetectFileCompression(const std::string& path, uint64_t offset = 0);

// Writes `data` to `path` (mode 0600), replacing it atomically.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// Copies a file (mode 0600) through a temporary name, replacing `to`.
Status CopyFile(const std::string& from, const std::string& to);

}  // namespace ppa
