// Files of an unpacked archive are opened beneath its work directory, on
// disk, whatever the archive's links say.
//
// Unpack checks each link target as text (ResolveLinkTarget), but on disk a
// link resolves through the links before it: "d/s -> .." is inside the tree,
// and so, as text, is "e -> d/s/d/s/..", which on disk is the folder above
// the tree. So the text check is not what holds the rule; this is:
//
//  - every file below a confined directory is opened with
//    openat2(RESOLVE_BENEATH) from that directory's handle: the kernel
//    follows each component, links included, and refuses any step that
//    leaves the directory (kUnsafeArchive);
//  - OpenFile (and with it OpenForRead and every reader built on it) finds
//    the confined directory a path lies in by itself, so no caller can
//    forget it.
//
// Paths outside every confined directory (the archive itself, the user's
// files, caches) are opened as open(2) opens them.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/file_util.h"
#include "base/status.h"

namespace ppa {

// Opens `rel` (relative; "" or "." is the directory itself) below the
// directory `dir_fd` with open(2) `flags` (O_CLOEXEC is added) and `mode`,
// resolving every component beneath it: a step above `dir_fd`, an absolute
// link, a /proc "magic" link or a link loop fails with kUnsafeArchive
// naming `shown`; other failures are IoErrors naming `shown`, with
// kNotFound for ENOENT.
Result<UniqueFd> OpenBeneath(int dir_fd, std::string_view rel, int flags, mode_t mode,
                             const std::string& shown);

// A directory whose files are opened beneath it (see the top of this file)
// for as long as this object lives. Thread-safe: any thread may confine,
// open and release.
class ConfinedDir {
 public:
  // Confines the existing directory `dir` (an absolute path, as every path
  // under it is formed: AbsolutePath). Confining one directory twice is
  // allowed; the innermost confined directory of a path is the one used.
  static Result<std::shared_ptr<ConfinedDir>> Confine(const std::string& dir);
  ~ConfinedDir();
  ConfinedDir(const ConfinedDir&) = delete;
  ConfinedDir& operator=(const ConfinedDir&) = delete;

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

 private:
  ConfinedDir(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

// Opens `path` with `flags` (O_CLOEXEC added): beneath the confined
// directory holding it when there is one (OpenBeneath), else as open(2)
// does. Errors as OpenBeneath's.
Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0);

// Frees the whole 4 KiB blocks of `size` bytes at `offset` of `path`,
// opened as OpenFile does (best effort: a file system without hole
// punching keeps them). The file keeps its size; the range reads as zeros.
void PunchHole(const std::string& path, uint64_t offset, uint64_t size);

// Whether `path` is a regular file (following links as OpenFile does):
// false when nothing is there; an error when the path leads out of its
// confined directory or cannot be looked at.
Result<bool> IsRegularFile(const std::string& path);

}  // namespace ppa
