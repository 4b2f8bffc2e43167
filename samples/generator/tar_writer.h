// Deterministic tar writing for the sample generator (libarchive stays in
// the .cc file).
//
// Entries are written sorted by path (stable for equal paths), in ustar form
// (pax extensions only when ustar cannot express an entry), with mtime
// kSampleMtime, uid/gid 0 and no user or group names, so the same entries
// always give the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "samples/generator/byte_sink.h"

namespace ppa::samples {

// 2024-01-01T00:00:00Z: the one timestamp of every generated file.
inline constexpr int64_t kSampleMtime = 1704067200;
inline constexpr const char* kSampleCreated = "2024-01-01T00:00:00Z";

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink };

  // A regular file from an in-memory string.
  static TarEntry File(std::string path, std::string data, int mode = 0644);
  // A regular file of `size` bytes written by `producer` (which must write
  // exactly `size` bytes into the sink it is given). For big contents.
  static TarEntry Streamed(std::string path, uint64_t size,
                           std::function<Status(ByteSink&)> producer, int mode = 0644);
  static TarEntry Directory(std::string path, int mode = 0755);
  static TarEntry Symlink(std::string path, std::string target);

  std::string path;
  Type type = Type::kFile;
  int mode = 0644;
  std::string data;
  uint64_t size = 0;
  std::function<Status(ByteSink&)> producer;
  std::string link_target;
};

// Writes `entries` (sorted by path) as one tar stream into `out`. Does not
// close `out`. `pad_to_record` false ends the stream right after the two
// zero blocks (as Go's archive/tar does) instead of padding to 10240 bytes.
Status WriteTar(std::vector<TarEntry> entries, ByteSink& out, bool pad_to_record = true);

}  // namespace ppa::samples
