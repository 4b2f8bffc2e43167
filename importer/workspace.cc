#include "importer/workspace.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "archive/file_util.h"
#include "archive/tar_index.h"
#include "archive/unpack.h"
#include "importer/blob_cache.h"

namespace ppa {

Result<UniqueFd> LockWorkdir(const std::string& workdir,
                             const std::function<void(const std::string&)>& say) {
  PPA_RETURN_IF_ERROR(MakeDirs(workdir));
  std::string path = AbsolutePath(workdir) + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError("cannot open lock file", path, errno);
  UniqueFd lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return lock;
  if (errno != EWOULDBLOCK) return ErrnoError("cannot lock", path, errno);
  say("Waiting for another ppa-import run that uses '" + AbsolutePath(workdir) + "'...");
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoError("cannot lock", path, errno);
  }
  return lock;
}

Result<std::optional<PpaManifest>> ReadPpaManifest(const std::string& root,
                                                   const std::vector<std::string>& files) {
  auto has = [&](const char* name) {
    return std::find(files.begin(), files.end(), name) != files.end();
  };
  std::optional<PpaManifest> yaml, json;
  if (has("manifest.yaml")) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(root + "/manifest.yaml"));
    auto parsed = ParsePpaManifestYaml(text);
    if (!parsed.ok()) return parsed.status().WithContext("manifest.yaml");
    yaml = std::move(parsed).value();
  }
  if (has("manifest.json")) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(root + "/manifest.json"));
    auto parsed = ParsePpaManifestJson(text);
    if (!parsed.ok()) return parsed.status().WithContext("manifest.json");
    json = std::move(parsed).value();
  }
  if (!yaml && !json) return std::optional<PpaManifest>();
  return std::optional<PpaManifest>(MergePpaManifests(yaml, json));
}

Result<Workspace> PrepareWorkspace(const std::string& workdir) {
  Workspace ws;
  ws.base = AbsolutePath(workdir);
  std::string id = NewUuid();
  ws.root = ws.base + "/" + id;
  ws.scratch = ws.base + "/" + id + ".tmp";
  ws.charts = ws.base + "/charts";
  for (const auto& dir : {ws.base, ws.root, ws.scratch, ws.charts}) {
    PPA_RETURN_IF_ERROR(MakeDirs(dir));
  }
  PPA_ASSIGN_OR_RETURN(ws.confined_root, ConfinedDir::Confine(ws.root));
  PPA_ASSIGN_OR_RETURN(ws.confined_scratch, ConfinedDir::Confine(ws.scratch));
  return ws;
}

void RemoveWorkspace(const Workspace& ws) {
  (void)RemoveTree(ws.root);
  (void)RemoveTree(ws.scratch);
}

InflateIndexOptions CachedInflateIndex(bool no_cache) {
  InflateIndexOptions index;
  std::string db = no_cache ? "" : BlobCache::DefaultPath();
  if (!db.empty()) index.dir = db.substr(0, db.rfind('/')) + "/inflate";
  return index;
}

Result<std::string> RestoreArchiveFile(const std::string& archive, const Workspace& ws,
                                       const std::string& origin, UnpackOptions unpack) {
  std::string dir = ws.scratch + "/restore-" + NewUuid().substr(0, 8);
  PPA_RETURN_IF_ERROR(MakeDirs(dir));
  const std::vector<std::string> names = NamesOfSameFile(ws.root, origin);
  unpack.select = [&names](const std::string& path) {
    return std::binary_search(names.begin(), names.end(), path);
  };
  PPA_RETURN_IF_ERROR(UnpackArchive(archive, dir, unpack).status());
  return dir;
}

Result<UnpackedArchive> UnpackAndReadManifest(const std::string& archive, const Workspace& ws,
                                              const UnpackOptions& unpack) {
  PPA_ASSIGN_OR_RETURN(UnpackResult unpacked, UnpackArchive(archive, ws.root, unpack));
  if (unpacked.inflate_segments_verified > 0) {
    spdlog::debug("inflated '{}' on several threads from its inflate index ({} checkpoints held)",
                  archive, unpacked.inflate_segments_verified);
  } else if (unpacked.inflate_checkpoints_written > 0) {
    spdlog::debug("wrote the inflate index of '{}' ({} checkpoints) for the next read of it",
                  archive, unpacked.inflate_checkpoints_written);
  }
  auto manifest = ReadPpaManifest(ws.root, unpacked.files);
  if (!manifest.ok()) return manifest.status().WithContext("archive '" + archive + "'");
  return UnpackedArchive{std::move(unpacked.files), std::move(manifest).value()};
}

}  // namespace ppa
