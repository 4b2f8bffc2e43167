// The Unpack stage: one pass over the outer PPA archive, writing its entries
// safely below a work directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/status.h"

namespace ppa {

struct UnpackOptions {
  // Refuse once the unpacked bytes pass this many (0: no absolute limit).
  uint64_t max_unpacked_bytes = 0;
};

struct UnpackResult {
  std::vector<std::string> files;  // clean relative paths of regular files written
  uint64_t unpacked_bytes = 0;
};

// Unpacks the tar at `archive_path` (plain, or gzip/zstd/xz/bzip2 compressed:
// detected by magic bytes) into the existing directory `dest_dir`.
//
// Safety: every name goes through SanitizeEntryPath; every file is created
// relative to a directory handle with O_NOFOLLOW on each component, so no
// symlink (planted by the archive or not) can redirect a write; symlinks must
// point inside the tree; hard links must name an entry inside the tree;
// device nodes, FIFOs and sockets are refused. Files are created 0600,
// directories 0700. Returns kUnsafeArchive naming the entry for anything
// unsafe, kInvalidInput when the file is not a readable archive.
Result<UnpackResult> UnpackArchive(const std::string& archive_path, const std::string& dest_dir,
                                   const UnpackOptions& options = {});

// Writes the content of a file compressed as a whole (gzip, zstd, xz, bzip2)
// to `dest_path` (mode 0600), streaming.
Status DecompressFile(const std::string& src_path, const std::string& dest_path);

}  // namespace ppa
