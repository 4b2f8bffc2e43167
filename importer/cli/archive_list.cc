#include "importer/cli/archive_list.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "archive/tar/tar_index.h"
#include "archive/tar/unpack.h"
#include "base/file_util.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

Result<int> ParseNonNegative(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 6 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidInput("invalid " + what + " '" + text + "'");
  }
  return std::stoi(text);
}

// Archives are recognised by content: a compressed stream, or "ustar" at
// offset 257.
bool LooksLikeArchive(const std::string& path) {
  auto c = DetectFileCompression(path);
  if (c.ok() && *c != Compression::kNone) return true;
  auto head = ReadFileRange(path, 257, 5);
  return head.ok() && *head == "ustar";
}

// The archives directly in the directory `path` (sorted); an error naming
// the directory and what was looked for when it holds none.
Status AddDirectory(const std::string& path, std::vector<std::string>& out) {
  std::error_code ec;
  std::vector<std::string> found;
  size_t other_files = 0, subdirectories = 0;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      ++subdirectories;
    } else if (it->is_regular_file(type_ec) && LooksLikeArchive(it->path().string())) {
      found.push_back(it->path().string());
    } else {
      ++other_files;
    }
  }
  if (ec) return IoError("cannot list directory '" + path + "': " + ec.message());
  if (found.empty()) {
    return NotFound(
        "directory '" + path + "' holds no archive (" + std::to_string(other_files) +
            " other file(s), " + std::to_string(subdirectories) + " subdirectory(ies))",
        "an archive is a tar file, plain or gzip, zstd, xz or bzip2 compressed, recognised by "
        "its content whatever its name, directly in the directory (subdirectories are not "
        "searched): name the archive files or their own directory");
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
  return Status::Ok();
}

Status AddPath(const std::string& path, std::vector<std::string>& out) {
  if (IsStdinArchive(path)) {
    if (std::find(out.begin(), out.end(), path) != out.end()) {
      return InvalidInput("the archive '-' (standard input) is given twice",
                          "standard input holds one archive: name the other archives by their "
                          "files (a file named '-' as ./-)");
    }
    out.push_back(path);
    return Status::Ok();
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) return AddDirectory(path, out);
  if (!fs::is_regular_file(path, ec)) return NotFound("archive '" + path + "' does not exist");
  out.push_back(path);
  return Status::Ok();
}

}  // namespace

Result<Shard> ParseShard(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return InvalidInput("invalid shard '" + text + "'", "use I/N, e.g. 0/4");
  PPA_ASSIGN_OR_RETURN(int index, ParseNonNegative(text.substr(0, slash), "shard index"));
  PPA_ASSIGN_OR_RETURN(int count, ParseNonNegative(text.substr(slash + 1), "shard count"));
  if (count == 0 || index >= count) {
    return InvalidInput("invalid shard '" + text + "'", "the index counts from 0 and is below the count");
  }
  return Shard{.index = index, .count = count};
}

Result<std::optional<Shard>> ResolveShard(const std::string& flag, const std::string& env_index,
                                          int count) {
  if (!flag.empty()) {
    PPA_ASSIGN_OR_RETURN(Shard s, ParseShard(flag));
    return std::optional<Shard>(s);
  }
  if (count <= 0) return std::optional<Shard>();
  const std::string hint =
      "--shard-count takes the shard index from JOB_COMPLETION_INDEX, which a Kubernetes "
      "Indexed Job (completionMode: Indexed) sets to 0..N-1; elsewhere use --shard I/N";
  if (env_index.empty()) {
    return InvalidInput("--shard-count " + std::to_string(count) +
                            " given but JOB_COMPLETION_INDEX is not set",
                        hint);
  }
  auto index = ParseNonNegative(env_index, "JOB_COMPLETION_INDEX");
  if (!index.ok()) return index.status().WithHint(hint);
  if (*index >= count) {
    return InvalidInput("JOB_COMPLETION_INDEX " + env_index + " is not below --shard-count " +
                            std::to_string(count),
                        hint);
  }
  const int valid_index = *index;
  return std::optional<Shard>(Shard{.index = valid_index, .count = count});
}

std::vector<std::string> SelectShard(std::vector<std::string> archives, const Shard& shard) {
  std::sort(archives.begin(), archives.end());
  std::vector<std::string> out;
  for (size_t i = static_cast<size_t>(shard.index); i < archives.size();
       i += static_cast<size_t>(shard.count)) {
    out.push_back(archives[i]);
  }
  return out;
}

Result<std::vector<std::string>> ExpandArchives(const std::vector<std::string>& args,
                                                const std::vector<std::string>& list_files) {
  std::vector<std::string> out;
  for (const auto& a : args) PPA_RETURN_IF_ERROR(AddPath(a, out));
  for (const auto& list : list_files) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(list));
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(start, end - start);
      start = end + 1;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line.front() == '#') continue;
      PPA_RETURN_IF_ERROR(AddPath(line, out).WithContext("list '" + list + "'"));
    }
  }
  std::set<std::string> seen;
  std::vector<std::string> unique;
  for (auto& a : out) {
    if (seen.insert(IsStdinArchive(a) ? a : AbsolutePath(a)).second) unique.push_back(a);
  }
  return unique;
}

}  // namespace ppa
