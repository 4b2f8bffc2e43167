// Which archives a run imports: arguments (files or directories), list
// files, and the Kubernetes Indexed Job shard of the sorted list.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace ppa {

struct Shard {
  int index = 0;  // 0-based
  int count = 1;
};

// Parses "I/N" (0 <= I < N).
Result<Shard> ParseShard(const std::string& text);

// The shard from `flag` ("I/N"), else from JOB_COMPLETION_INDEX (`env_index`)
// and `count` (--shard-count; 0 when not given); nullopt when neither flag
// is set. kInvalidInput when `count` is given and `env_index` is empty or
// not a number in [0, count).
Result<std::optional<Shard>> ResolveShard(const std::string& flag, const std::string& env_index,
                                          int count);

// Every `count`-th archive of the sorted list, starting at `index` (pure).
std::vector<std::string> SelectShard(std::vector<std::string> archives, const Shard& shard);

// Expands arguments into archive files: files as they are; directories to
// the regular files directly inside them whose content starts like a tar or
// a compressed stream (sorted); list files (one path per line, '#' comments)
// read and expanded the same way. Duplicates are dropped. "-" is standard
// input (kStdinArchive), kept as it is; given twice, kInvalidInput (a usage
// error). kNotFound names a path that does not exist.
Result<std::vector<std::string>> ExpandArchives(const std::vector<std::string>& args,
                                                const std::vector<std::string>& list_files);

}  // namespace ppa
