// Image names as written in PPA manifests and tarballs ("org/name:tag",
// "docker.io/library/busybox", "host:5000/a/b@sha256:...") and the OCI
// distribution grammar that target names must satisfy.
#pragma once

#include <string>
#include <string_view>

#include "archive/status.h"

namespace ppa {

struct ImageReference {
  std::string domain;  // "docker.io", "host:5000", or "" when none was written
  std::string path;    // "org/name" (docker.io's "library/" kept here)
  std::string tag;     // "latest" when none was written and there is no digest
  std::string digest;  // "sha256:..." or ""

  // The path as it is pushed below a namespace: "docker.io/" domain and a
  // leading "library/" dropped, any other domain dropped too.
  std::string TargetPath() const;
  // "path:tag" with docker.io and library/ dropped: the key used to match
  // names from manifests against names inside tarballs.
  std::string MatchKey() const;
};

// Parses a reference. kInvalidInput (naming it) when it breaks the grammar:
// path components of lowercase letters and digits joined by '.', '_', '__'
// or '-' runs; tags of [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
Result<ImageReference> ParseImageReference(std::string_view text);

bool IsValidRepositoryPath(std::string_view path);
bool IsValidTag(std::string_view tag);

// The MatchKey of `text`, or "" when it does not parse.
std::string NameMatchKey(std::string_view text);

// Joins non-empty parts with '/': JoinRepository("pfx", "ns", "org/app").
std::string JoinRepository(std::string_view a, std::string_view b, std::string_view c);

}  // namespace ppa
