// Pure path checks for names that come from archives (outer PPA archive,
// image tarballs, charts). Every name is checked here before it is joined to
// a directory.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// Longest entry path accepted, in bytes.
inline constexpr size_t kMaxEntryPathLength = 4096;
// Longest component of an entry path accepted, in bytes: NAME_MAX of
// Linux file systems (ext4, xfs, btrfs, tmpfs).
inline constexpr size_t kMaxNameComponent = 255;

// Turns an archive entry name into a clean relative path: "./a//b/" -> "a/b".
// Returns kUnsafeArchive for absolute paths, ".." components, NUL bytes,
// over-long names and components longer than kMaxNameComponent (which no
// file system here could create); returns "" for the archive root ("." or
// "./").
Result<std::string> SanitizeEntryPath(std::string_view name);

// Resolves a link target relative to the directory holding `entry` (both
// relative paths inside one tree) and returns the clean path it points at,
// or kUnsafeArchive when the target is absolute or climbs above the root.
Result<std::string> ResolveLinkTarget(std::string_view entry, std::string_view target);

// "a/b/c" -> "a/b"; "c" -> "".
std::string_view ParentPath(std::string_view path);

// "a/b/c.tgz" -> "c.tgz".
std::string_view BaseName(std::string_view path);

}  // namespace ppa
