// An index of an uncompressed tar file: entry name -> where its data lies.
//
// Built in one pass over the 512-byte headers (ustar, GNU long names, pax
// extended headers); file data is never read. Layers are then read straight
// from the tarball with pread over their byte range: no extraction, and
// different entries can be read in parallel. Symbolic and hard links between
// entries (docker save writes duplicate layers as symlinks) are resolved
// inside the index, never on the file system.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink, kHardlink, kOther };
  Type type = Type::kOther;
  uint64_t offset = 0;  // of the data, from the start of the file
  uint64_t size = 0;
  std::string link_target;  // raw, for links
};

class TarIndex {
 public:
  // Indexes the tar file at `path`. kInvalidInput when it is not a tar file
  // (bad header checksum) or is truncated; kUnsafeArchive for entry names
  // that are absolute or contain "..".
  static Result<TarIndex> Build(const std::string& path);

  // Parses headers from memory (pure: for tests and fuzzing); `data` is the
  // whole tar file.
  static Result<TarIndex> Parse(std::string_view data);

  // The regular file `name` (clean relative path), following symlinks and
  // hard links inside the tar (at most 16 hops). kNotFound when absent or
  // when a link leads outside the tar or nowhere.
  Result<TarEntry> Find(std::string_view name) const;

  bool Contains(std::string_view name) const { return entries_.count(std::string(name)) > 0; }
  const std::map<std::string, TarEntry, std::less<>>& entries() const { return entries_; }

 private:
  template <typename ReadFn>
  static Result<TarIndex> ParseWith(uint64_t file_size, ReadFn read);

  std::map<std::string, TarEntry, std::less<>> entries_;
};

// Follows the entries of a tar file from its bytes as they go by, in order
// and in chunks of any size (no seeking, no copy of file data): for each
// regular file it reports where the data lies in the stream, then the data
// itself. Headers are read as TarIndex reads them (ustar, GNU long names,
// pax sizes and paths), so a file reported here is found by TarIndex::Build
// of the finished file at the same offset and size. Pure.
class TarStreamScanner {
 public:
  class Visitor {
   public:
    virtual ~Visitor() = default;
    // A regular file's data starts at `offset` of the stream and is `size`
    // bytes; `name` is its name as stored (not cleaned).
    virtual void BeginFile(std::string_view name, uint64_t offset, uint64_t size) = 0;
    // The next bytes of that data (never across files).
    virtual void FileData(std::string_view bytes) = 0;
    // All of its data has been passed.
    virtual void EndFile() = 0;
  };

  explicit TarStreamScanner(Visitor& visitor) : visitor_(visitor) {}

  // The next bytes of the stream. Returns false once the stream has turned
  // out not to be a tar file (a bad header): everything after is ignored
  // (a file begun then is never ended). The end-of-archive marker stops it
  // too (returning true).
  bool Feed(std::string_view bytes);

 private:
  enum class State { kHeader, kData, kMeta, kSkip, kDone, kFailed };
  void OnHeader();

  Visitor& visitor_;
  State state_ = State::kHeader;
  uint64_t pos_ = 0;       // stream offset of the next byte fed
  std::string header_;     // the header block being gathered
  uint64_t left_ = 0;      // bytes of data (kData, kMeta) or padding (kSkip) still to come
  uint64_t padding_ = 0;   // padding after the data of the current entry
  char meta_flag_ = 0;     // 'x' (pax) or 'L' (GNU long name) while in kMeta
  std::string meta_;       // its data
  std::string long_name_, pax_path_;
  std::optional<uint64_t> pax_size_;
};

// Reads `size` bytes at `offset` of the file at `path` (small files only:
// configs and manifests inside tarballs).
Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, uint64_t size);

// Reads a whole (small) file, refusing files larger than `max_size`.
Result<std::string> ReadSmallFile(const std::string& path, uint64_t max_size = 64 << 20);

}  // namespace ppa
