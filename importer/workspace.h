// The work directory of a run and the first two stages that fill it:
// Unpack (the outer archive into ppa-import/<uuid>/) and reading the PPA
// manifests. Shared by `load` and `inspect`.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/confined.h"
#include "archive/file_util.h"
#include "archive/ppa_manifest.h"
#include "archive/status.h"
#include "archive/unpack.h"

namespace ppa {

// <base>/<uuid>/ holds the unpacked archive; <base>/<uuid>.tmp/ inflated
// tarballs, spooled layers and restored image files; <base>/charts/ the
// charts (kept). Root and scratch are confined (archive/confined.h) while a
// copy of the Workspace lives: every file below them is opened beneath them.
struct Workspace {
  std::string base;     // absolute work directory ("./ppa-import")
  std::string root;     // base/<uuid>
  std::string scratch;  // base/<uuid>.tmp
  std::string charts;   // base/charts
  std::shared_ptr<const ConfinedDir> confined_root, confined_scratch;
};

// Holds an exclusive lock on <workdir>/.lock for the life of the returned
// handle, so two runs sharing a work directory (its charts folder, its OCI
// layout) do not collide: the second waits, saying so through `say`.
Result<UniqueFd> LockWorkdir(const std::string& workdir,
                             const std::function<void(const std::string&)>& say);

// Creates the folders (mode 0700).
Result<Workspace> PrepareWorkspace(const std::string& workdir);

// Removes root and scratch (the charts stay).
void RemoveWorkspace(const Workspace& ws);

struct UnpackedArchive {
  std::vector<std::string> files;       // relative paths of regular files
  std::optional<PpaManifest> manifest;  // merged; nullopt when the archive has none
};

// Reads and merges manifest.yaml / manifest.json among `files` (relative to
// `root`); nullopt when neither exists.
Result<std::optional<PpaManifest>> ReadPpaManifest(const std::string& root,
                                                   const std::vector<std::string>& files);

// Inflate indexes (archive/unpack.h) kept beside the blob cache, so that
// reading a gzip archive again (load after inspect, a re-run) inflates it on
// every core; none when `no_cache` (--no-cache).
InflateIndexOptions CachedInflateIndex(bool no_cache);

// Unpacks the file `origin` (relative to ws.root, where the archive was
// unpacked before) of `archive` again, into a new folder of ws.scratch, which
// is returned: the file is <folder>/<origin>. The files `origin` is
// hard-linked to in ws.root come too, since a hard link in a tar needs its
// target. `unpack` gives the limits and the inflate index.
Result<std::string> RestoreArchiveFile(const std::string& archive, const Workspace& ws,
                                       const std::string& origin, UnpackOptions unpack);

// Unpacks `archive` into ws.root (limits from `unpack`) and reads its
// manifests. Any error here means the archive itself is unreadable or unsafe
// (exit status 3).
Result<UnpackedArchive> UnpackAndReadManifest(const std::string& archive, const Workspace& ws,
                                              const UnpackOptions& unpack = {});

}  // namespace ppa
