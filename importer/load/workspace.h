// The work directory of a run and the first two stages that fill it:
// Unpack (the outer archive into ppa-import/<uuid>/) and reading the PPA
// manifests. Shared by `load` and `inspect`.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/confined.h"
#include "base/file_util.h"
#include "archive/manifest/ppa_manifest.h"
#include "base/status.h"
#include "archive/tar/unpack.h"

namespace ppa {

// <base>/<uuid>/ holds the unpacked archive; <base>/<uuid>.tmp/ inflated
// tarballs, spooled layers and restored image files; <base>/charts/ the
// charts (kept). Root and scratch are confined (base/confined.h) while a
// copy of the Workspace lives: every file below them is opened beneath them.
struct Workspace {
  std::string base;     // absolute work directory ("./ppa-import")
  std::string root;     // base/<uuid>
  std::string scratch;  // base/<uuid>.tmp
  std::string charts;   // base/charts
  std::shared_ptr<const ConfinedDir> confined_root, confined_scratch;
  std::shared_ptr<const UniqueFd> live;  // flock on scratch: this run is alive
};

// Holds an exclusive lock on <workdir>/.lock for the life of the returned
// handle, so two runs sharing a work directory (its charts folder, its OCI
// layout) do not collide: the second waits, saying so through `say`. Once
// locked, removes what runs that died (killed, interrupted, a power cut)
// left in it (RemoveDeadWorkspaces), saying how much was freed. A work
// directory that cannot be created or written (read-only, full, not ours)
// is one error with a hint (ExplainWorkdirError) naming the space that
// `archives` need.
Result<UniqueFd> LockWorkdir(const std::string& workdir,
                             const std::function<void(const std::string&)>& say,
                             const std::vector<std::string>& archives = {});

// Creates the folders (mode 0700) and holds a lock on the scratch folder
// while a copy of the Workspace lives, which tells a live run's folders
// from a dead one's. Errors as LockWorkdir's, for `archive`.
Result<Workspace> PrepareWorkspace(const std::string& workdir, const std::string& archive = "");

// Removes root and scratch (the charts stay).
void RemoveWorkspace(const Workspace& ws);

// What runs that ended without cleaning up left in `workdir`: each
// <uuid>.tmp scratch folder no live run holds the lock of (every way out of
// a run removes its scratch folder, so one left behind marks a dead run),
// with its <uuid> folder. Folders a run kept on purpose (--keep-workdir, the
// unpacked archive after failed items) have no scratch folder and stay.
// Returns the bytes freed (disk blocks) and the folders removed.
struct Leftovers {
  uint64_t bytes = 0;
  int folders = 0;
};
Leftovers RemoveDeadWorkspaces(const std::string& workdir);

// Whether `path` is a PPA archive extracted before: a directory holding
// manifest.yaml or manifest.json. It is imported as an archive
// (UnpackArchive copies it, reading beneath it), not searched for archives.
bool IsExtractedPpaDirectory(const std::string& path);

// The disk space unpacking `archive` takes, estimated from the file
// (EstimateUnpackedSize of its first and last bytes and size).
uint64_t EstimateUnpackedBytes(const std::string& archive);
// Pure: an uncompressed tar unpacks to its size; a gzip file to the size its
// trailer records (`gzip_isize`, modulo 4 GiB), taken as the smallest such
// value that is at least the file's size; other compressions to twice the
// file's size.
uint64_t EstimateUnpackedSize(Compression compression, uint64_t file_size, uint32_t gzip_isize);

// `error` (from writing below `workdir`) explained when the work directory
// is read-only, not writable or full: "work directory '<dir>' is read-only:
// <error>" with a hint naming --workdir and `needed_bytes` (0: unknown).
// Other errors come back unchanged.
Status ExplainWorkdirError(const Status& error, const std::string& workdir, uint64_t needed_bytes);

struct UnpackedArchive {
  std::vector<std::string> files;       // relative paths of regular files
  std::optional<PpaManifest> manifest;  // merged; nullopt when the archive has none
};

// Reads and merges manifest.yaml / manifest.json among `files` (relative to
// `root`); nullopt when neither exists.
Result<std::optional<PpaManifest>> ReadPpaManifest(const std::string& root,
                                                   const std::vector<std::string>& files);

// Inflate indexes (archive/tar/unpack.h) kept beside the blob cache, so that
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
// manifests. An error here means the archive itself is unreadable or unsafe
// (exit status 3), except kIo (our disk: ExplainWorkdirError) and
// kUnsupported (not a PPA archive); UnpackExitCode maps them.
Result<UnpackedArchive> UnpackAndReadManifest(const std::string& archive, const Workspace& ws,
                                              const UnpackOptions& unpack = {});

// What a tar whose entries are `files` is when it is an image tarball and
// not a PPA archive: "a docker save image tarball" (manifest.json, the JSON
// array docker save writes, and no manifest.yaml), "an OCI image layout
// tarball" (oci-layout and index.json, no PPA manifest); "" otherwise
// (pure; `manifest_json` is the content of manifest.json, "" when none).
std::string ImageTarballKind(const std::vector<std::string>& files,
                             std::string_view manifest_json);

// kUnsupported naming what `archive` (unpacked in `root`) is, when it is an
// image tarball (ImageTarballKind), with a hint.
Status RefuseImageTarball(const std::string& archive, const std::string& root,
                          const std::vector<std::string>& files);

// The exit status for an error of UnpackAndReadManifest: 1 for our disk
// (kIo), 2 for an input that is not a PPA archive (kUnsupported: an image
// tarball given as the archive), 3 for an unreadable or unsafe archive.
int UnpackExitCode(const Status& error);

}  // namespace ppa
