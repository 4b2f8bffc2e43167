// Chart packages in memory: read a chart `.tgz` entry by entry, replace
// files, and write it back deterministically (README, Usage: a chart whose
// values.yaml was rewritten is repackaged).
//
// Only for charts InspectChartArchive accepted (regular files and
// directories, at most 100 MiB unpacked). Pure functions over bytes, except
// ReadChartPackage, which reads one file. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

struct ChartEntry {
  std::string name;  // as stored ("mychart/values.yaml")
  bool is_dir = false;
  int mode = 0644;   // permission bits
  int64_t mtime = 0;
  std::string data;  // file contents (empty for directories)
};

struct ChartPackage {
  std::vector<ChartEntry> entries;  // in archive order

  // The entry named `name` (after a leading "./" is dropped), or nullptr.
  const ChartEntry* Find(std::string_view name) const;
  ChartEntry* Find(std::string_view name);
};

// Reads the gzip'd tar `bytes`. kInvalidInput when it is not one.
Result<ChartPackage> ParseChartPackage(std::string_view bytes);
// Reads the chart file at `path` (ParseChartPackage of its bytes).
Result<ChartPackage> ReadChartPackage(const std::string& path);

// Fixed modification time of every entry of a repackaged chart
// (2000-01-01T00:00:00Z), so the same chart always gives the same bytes.
inline constexpr int64_t kRepackMtime = 946684800;

// Writes `chart` as a gzip'd tar: the same entry order, every mtime
// kRepackMtime, uid/gid 0, no user or group names, permission bits kept,
// no gzip timestamp. The same package always gives the same bytes.
Result<std::string> WriteChartPackage(const ChartPackage& chart);

}  // namespace ppa
