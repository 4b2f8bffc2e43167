#include "importer/load/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/file_util.h"
#include "archive/tar/tar_index.h"
#include "archive/tar/unpack.h"
#include "importer/load/blob_cache.h"
#include "importer/cli/cli.h"
#include "importer/cli/interrupt.h"
#include "importer/report/progress.h"  // HumanBytes

namespace ppa {

namespace {

constexpr char kScratchSuffix[] = ".tmp";

// The space the archives need, for hints (0 when none is known).
uint64_t NeededBytes(const std::vector<std::string>& archives) {
  uint64_t total = 0;
  for (const auto& a : archives) total += EstimateUnpackedBytes(a);
  return total;
}

// The nearest existing folder of `path` (itself when it exists).
std::string ExistingAncestor(std::string path) {
  struct stat st {};
  while (!path.empty() && ::stat(path.c_str(), &st) != 0) {
    size_t slash = path.rfind('/');
    path = slash == 0 ? "/" : slash == std::string::npos ? "" : path.substr(0, slash);
  }
  return path.empty() ? "." : path;
}

// The disk blocks of a tree, without following links.
uint64_t DiskUsage(const std::string& path) {
  namespace fs = std::filesystem;
  uint64_t bytes = 0;
  std::error_code ec;
  auto add = [&](const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0) bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  add(path);
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    add(it->path());
  }
  return bytes;
}

}  // namespace

uint64_t EstimateUnpackedSize(Compression compression, uint64_t file_size, uint32_t gzip_isize) {
  switch (compression) {
    case Compression::kNone:
      return file_size;
    case Compression::kGzip: {
      uint64_t size = gzip_isize;
      while (size < file_size) size += 1ull << 32;
      return size;
    }
    default:
      return 2 * file_size;
  }
}

bool IsExtractedPpaDirectory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
  for (const char* manifest : {"/manifest.yaml", "/manifest.json"}) {
    if (::stat((path + manifest).c_str(), &st) == 0 && S_ISREG(st.st_mode)) return true;
  }
  return false;
}

uint64_t EstimateUnpackedBytes(const std::string& archive) {
  if (IsStdinArchive(archive)) return 0;                // a pipe: not known before its end
  if (IsDirectory(archive)) return DiskUsage(archive);  // copied as it is
  auto fd = OpenForRead(archive);
  struct stat st {};
  if (!fd.ok() || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  char head[8] = {};
  long got = PreadFull(fd->get(), head, sizeof head, 0);
  Compression compression = DetectCompression(std::string_view(head, got > 0 ? got : 0));
  uint32_t isize = 0;
  unsigned char tail[4] = {};
  if (compression == Compression::kGzip && size >= 4 &&
      PreadFull(fd->get(), reinterpret_cast<char*>(tail), 4, size - 4) == 4) {
    isize = tail[0] | tail[1] << 8 | tail[2] << 16 | static_cast<uint32_t>(tail[3]) << 24;
  }
  return EstimateUnpackedSize(compression, size, isize);
}

Status ExplainWorkdirError(const Status& error, const std::string& workdir, uint64_t needed_bytes) {
  if (error.ok() || error.code() != StatusCode::kIo) return error;
  const std::string dir = AbsolutePath(workdir);
  const std::string& m = error.message();
  auto says = [&](int err) { return m.find(std::strerror(err)) != std::string::npos; };
  struct statvfs vfs {};
  const bool have_vfs = ::statvfs(ExistingAncestor(dir).c_str(), &vfs) == 0;
  const uint64_t free_bytes = have_vfs ? static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize : 0;
  const std::string need = needed_bytes > 0 ? "; the run needs about " + HumanBytes(needed_bytes) +
                                                  " there (the archive unpacked)"
                                            : "";
  if (says(EROFS) || (have_vfs && (vfs.f_flag & ST_RDONLY) != 0)) {
    return IoError("work directory '" + dir + "' is on a read-only file system: " + m,
                   "remount it read-write, or pass --workdir DIR on a writable disk" + need);
  }
  if (says(ENOSPC) || says(EDQUOT)) {
    return IoError("no space left in the work directory '" + dir + "': " + m,
                   "free some space there, or pass --workdir DIR on a disk with more room" + need +
                       ", " + HumanBytes(free_bytes) + " are free now");
  }
  if (says(EACCES) || says(EPERM)) {
    return IoError("work directory '" + dir + "' is not writable: " + m,
                   "give this user write access to it, or pass --workdir DIR on a writable disk" +
                       need);
  }
  return error;
}

namespace {

// "3f6c0a9e-1b2c-4d5e-8f90-123456789abc": the names NewUuid gives run
// folders, the only names a clean-up may take for a dead run's.
bool IsUuidShaped(std::string_view name) {
  if (name.size() != 36) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

Leftovers RemoveDeadWorkspaces(const std::string& workdir) {
  Leftovers freed;
  const std::string base = AbsolutePath(workdir);
  std::vector<std::string> scratch_dirs;
  if (DIR* d = ::opendir(base.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      const size_t n = sizeof kScratchSuffix - 1;
      // <uuid>.tmp, as PrepareWorkspace names them; nothing else is taken.
      if (name.size() == 36 + n && name.compare(36, n, kScratchSuffix) == 0 &&
          IsUuidShaped(std::string_view(name).substr(0, 36))) {
        scratch_dirs.push_back(name);
      }
    }
    ::closedir(d);
  }
  for (const auto& name : scratch_dirs) {
    const std::string scratch = base + "/" + name;
    UniqueFd fd(::open(scratch.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // alive, or not ours
    const std::string root = base + "/" + name.substr(0, 36);
    for (const auto& dir : {root, scratch}) {
      struct stat st {};
      if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      const uint64_t bytes = DiskUsage(dir);
      if (RemoveTree(dir).ok()) freed.bytes += bytes, ++freed.folders;
    }
  }
  return freed;
}

Result<UniqueFd> LockWorkdir(const std::string& workdir,
                             const std::function<void(const std::string&)>& say,
                             const std::vector<std::string>& archives) {
  auto explain = [&](const Status& s) { return ExplainWorkdirError(s, workdir, NeededBytes(archives)); };
  PPA_RETURN_IF_ERROR(explain(MakeDirs(workdir)));
  std::string path = AbsolutePath(workdir) + "/.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return explain(ErrnoError("cannot open lock file", path, errno));
  UniqueFd lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError("cannot lock", path, errno);
    say("Waiting for another ppa-import run that uses '" + AbsolutePath(workdir) + "'...");
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoError("cannot lock", path, errno);
    }
  }
  Leftovers freed = RemoveDeadWorkspaces(workdir);
  if (freed.folders > 0) {
    say("Removed " + std::to_string(freed.folders) + " work folder(s) that interrupted runs left in '" +
        AbsolutePath(workdir) + "', freeing " + HumanBytes(freed.bytes) + ".");
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

Result<Workspace> PrepareWorkspace(const std::string& workdir, const std::string& archive) {
  auto explain = [&](const Status& s) {
    return ExplainWorkdirError(s, workdir, archive.empty() ? 0 : EstimateUnpackedBytes(archive));
  };
  Workspace ws;
  ws.base = AbsolutePath(workdir);
  std::string id = NewUuid();
  ws.root = ws.base + "/" + id;
  ws.scratch = ws.base + "/" + id + kScratchSuffix;
  ws.charts = ws.base + "/charts";
  // The scratch folder first, locked at once: a folder without it is never
  // taken for a dead run's (RemoveDeadWorkspaces).
  for (const auto& dir : {ws.base, ws.scratch}) PPA_RETURN_IF_ERROR(explain(MakeDirs(dir)));
  UniqueFd live(::open(ws.scratch.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!live.valid() || ::flock(live.get(), LOCK_EX | LOCK_NB) != 0) {
    return ErrnoError("cannot lock", ws.scratch, errno);
  }
  ws.live = std::make_shared<const UniqueFd>(std::move(live));
  for (const auto& dir : {ws.root, ws.charts}) PPA_RETURN_IF_ERROR(explain(MakeDirs(dir)));
  PPA_ASSIGN_OR_RETURN(ws.confined_root, ConfinedDir::Confine(ws.root));
  PPA_ASSIGN_OR_RETURN(ws.confined_scratch, ConfinedDir::Confine(ws.scratch));
  RegisterWorkDirectory(ws.root);
  return ws;
}

void RemoveWorkspace(const Workspace& ws) {
  UnregisterWorkDirectory(ws.root);
  (void)RemoveTree(ws.root);
  (void)RemoveTree(ws.scratch);
}

int UnpackExitCode(const Status& error) {
  switch (error.code()) {
    case StatusCode::kIo: return kExitItemFailed;
    case StatusCode::kUnsupported: return kExitUsage;
    default: return kExitBadArchive;
  }
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

std::string ImageTarballKind(const std::vector<std::string>& files,
                             std::string_view manifest_json) {
  auto has = [&](const char* name) {
    return std::find(files.begin(), files.end(), name) != files.end();
  };
  if (has("manifest.yaml")) return "";
  // A PPA manifest.json is an object; docker save writes an array.
  size_t first = manifest_json.find_first_not_of(" \t\r\n");
  if (has("manifest.json") && first != std::string_view::npos && manifest_json[first] == '[') {
    return "a docker save image tarball";
  }
  if (!has("manifest.json") && has("oci-layout") && has("index.json")) {
    return "an OCI image layout tarball";
  }
  return "";
}

Status RefuseImageTarball(const std::string& archive, const std::string& root,
                          const std::vector<std::string>& files) {
  std::string manifest_json;
  if (std::find(files.begin(), files.end(), "manifest.json") != files.end()) {
    auto text = ReadSmallFile(root + "/manifest.json");
    if (text.ok()) manifest_json = std::move(text).value();
  }
  const std::string kind = ImageTarballKind(files, manifest_json);
  if (kind.empty()) return Status::Ok();
  return Unsupported("'" + archive + "' is " + kind + ", not a PPA archive",
                     "a PPA archive holds manifest.yaml or manifest.json with images/ and charts/; "
                     "push a single image with skopeo copy " +
                         std::string(kind.find("docker") != std::string::npos ? "docker-archive:" : "oci-archive:") +
                         archive + " docker://REGISTRY/NAMESPACE/NAME:TAG, or put it in a PPA "
                         "archive with a manifest.yaml naming it");
}

Result<UnpackedArchive> UnpackAndReadManifest(const std::string& archive, const Workspace& ws,
                                              const UnpackOptions& unpack) {
  auto result = UnpackArchive(archive, ws.root, unpack);
  if (!result.ok()) return ExplainWorkdirError(result.status(), ws.base, EstimateUnpackedBytes(archive));
  UnpackResult unpacked = std::move(result).value();
  if (unpacked.inflate_segments_verified > 0) {
    spdlog::debug("inflated '{}' on several threads from its inflate index ({} checkpoints held)",
                  archive, unpacked.inflate_segments_verified);
  } else if (unpacked.inflate_checkpoints_written > 0) {
    spdlog::debug("wrote the inflate index of '{}' ({} checkpoints) for the next read of it",
                  archive, unpacked.inflate_checkpoints_written);
  }
  PPA_RETURN_IF_ERROR(RefuseImageTarball(archive, ws.root, unpacked.files));
  auto manifest = ReadPpaManifest(ws.root, unpacked.files);
  if (!manifest.ok()) return manifest.status().WithContext("archive '" + archive + "'");
  return UnpackedArchive{std::move(unpacked.files), std::move(manifest).value()};
}

}  // namespace ppa
