// Deterministic tar writing, for `save` and the sample generator (libarchive
// stays in the .cc file).
//
// Entries are written sorted by path (stable for equal paths), in ustar form
// (pax extensions only when ustar cannot express an entry), with one fixed
// mtime, uid/gid 0 and no user or group names, so the same entries always
// give the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "archive/write/byte_sink.h"

namespace ppa {

struct TarWriteEntry {
  enum class Type { kFile, kDirectory, kSymlink };

  // A regular file from an in-memory string.
  static TarWriteEntry File(std::string path, std::string data, int mode = 0644);
  // A regular file of `size` bytes written by `producer` (which must write
  // exactly `size` bytes into the sink it is given). For big contents.
  static TarWriteEntry Streamed(std::string path, uint64_t size,
                           std::function<Status(ByteSink&)> producer, int mode = 0644);
  static TarWriteEntry Directory(std::string path, int mode = 0755);
  static TarWriteEntry Symlink(std::string path, std::string target);

  std::string path;
  Type type = Type::kFile;
  int mode = 0644;
  std::string data;
  uint64_t size = 0;
  std::function<Status(ByteSink&)> producer;
  std::string link_target;
};

struct TarOptions {
  int64_t mtime = 0;  // of every entry (seconds since the epoch)
  // false ends the stream right after the two zero blocks (as Go's
  // archive/tar does) instead of padding it to a 10240-byte record, and
  // hands every byte to the sink as it is written (no 10240-byte blocks).
  bool pad_to_record = true;
};

// Writes `entries` (sorted by path) as one tar stream into `out`. Does not
// close `out`.
Status WriteTar(std::vector<TarWriteEntry> entries, ByteSink& out, const TarOptions& options);

// The exact number of bytes WriteTar writes for `entries` with
// pad_to_record false, so a tar can be streamed as an entry of another tar
// (whose header needs the size first). kInvalidInput for an entry ustar
// cannot hold without a pax extension header (a path over 99 bytes, a file
// of 8 GiB or more), whose size WriteTar's libarchive decides.
Result<uint64_t> TarStreamSize(const std::vector<TarWriteEntry>& entries);

// Where each entry's data starts in the stream WriteTar writes (sorted by
// path, after its one ustar header block), given in the order of
// `entries`; the same refusals as TarStreamSize, whose layout this is.
Result<std::vector<uint64_t>> TarContentOffsets(const std::vector<TarWriteEntry>& entries);

}  // namespace ppa
