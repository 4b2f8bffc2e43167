// Chart checks (README, Usage): a chart `.tgz` is validated the way Helm
// would load it before it is written out, rewritten or uploaded.
//
// ParseChartYaml is a pure function. InspectChartArchive reads one file and
// streams through it once; nothing is extracted to disk. Both are
// thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// The fields of `Chart.yaml` that ppa-import uses. Unknown keys are ignored.
struct ChartMetadata {
  std::string api_version;  // "v1" or "v2"; "v1" when Chart.yaml has none
  std::string name;         // a plain file name
  std::string version;      // SemVer 2, Helm's lenient form ("1.2", "v1.2.3")
  std::string app_version;  // may be empty
  std::string description;  // may be empty
};

// Parses `Chart.yaml`. Requires `name` (non-empty, no "/", "\", not "." or
// "..") and `version` (valid as Helm parses it: optional "v", one to three
// numeric parts, optional "-prerelease" and "+build"); `apiVersion`, when
// present, must be "v1" or "v2". Scalars are kept as written (`version: 1.10`
// is "1.10"). Returns kInvalidInput naming the problem on bad input.
Result<ChartMetadata> ParseChartYaml(std::string_view text);

// True when `version` is a version Helm accepts (see ParseChartYaml).
bool IsValidChartVersion(std::string_view version);

struct ChartInfo {
  ChartMetadata metadata;
  std::string top_dir;     // the one top directory ("frobnitz")
  uint64_t unpacked_size;  // bytes of file data, counted while reading
};

// Size limits, counted on the data actually read (headers are not trusted).
struct ChartLimits {
  uint64_t max_total_bytes = 100ull << 20;  // all files together
  uint64_t max_file_bytes = 5ull << 20;     // any one file
};

// Reads the chart archive at `path` and checks it: a gzip-compressed tar;
// exactly one top directory holding every entry; no absolute paths, no ".."
// components, no links or device entries; `<top>/Chart.yaml` present and
// valid per ParseChartYaml; the size limits. Every error message names the
// chart file. Codes: kNotFound / kIo for a file that cannot be read,
// kUnsafeArchive for entries that could escape a directory, kInvalidInput
// for everything else.
Result<ChartInfo> InspectChartArchive(const std::string& path, const ChartLimits& limits = {});

// The same checks of a chart held in memory (`save` reads charts from
// ChartMuseum and OCI registries); messages name `label` ("chart 'URL'").
Result<ChartInfo> InspectChartBytes(std::string_view bytes, const std::string& label,
                                    const ChartLimits& limits = {});

}  // namespace ppa
