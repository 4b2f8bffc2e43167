// Image names as written in PPA manifests and tarballs ("org/name:tag",
// "docker.io/library/busybox", "host:5000/a/b@sha256:...") and the OCI
// distribution grammar that target names must satisfy.
//
// The grammar (OCI distribution spec, CNCF distribution/reference):
//   repository  component ("/" component)*, at most 255 characters
//   component   [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
//   tag         [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
//   digest      sha256:[a-f0-9]{64} (the only algorithm ppa-import uses)
//   domain      host components [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? joined
//               by ".", or "[ipv6]", then an optional ":port"
// Nothing outside it (no "..", no empty component, no "%", "?", "#", space
// or control character) can reach a URL or a file name built from a name.
// All functions here are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

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

// Parses a reference. kInvalidInput "invalid image name '<text>': <why>"
// with a hint when any part breaks the grammar above (the domain, when the
// first component has a '.' or ':' or is "localhost", included; the whole
// name at most 255 characters).
Result<ImageReference> ParseImageReference(std::string_view text);

// Why `path` is not a repository name of the grammar above (one short
// phrase naming the offending part), or "" when it is one.
std::string RepositoryPathProblem(std::string_view path);
// Why `tag` is not a tag, or "" when it is one.
std::string TagProblem(std::string_view tag);

bool IsValidRepositoryPath(std::string_view path);
bool IsValidTag(std::string_view tag);

// The checks the senders make before building a URL or an index entry from
// a name. kInvalidInput "invalid image name '<repo>': <why>" (resp.
// "invalid tag '<tag>': <why>") with a hint.
Status CheckRepositoryName(std::string_view repo);
Status CheckTag(std::string_view tag);
// What follows /manifests/ in a URL: a tag or a sha256 digest.
Status CheckManifestReference(std::string_view reference);

// The hint given with every invalid image name.
inline constexpr std::string_view kImageNameHint =
    "image names are lowercase letters and digits in path components joined by single '/', "
    "with '.', '_', '__' or '-' only between letters or digits, at most 255 characters in all "
    "(OCI distribution spec); tags are 1 to 128 letters, digits, '_', '.' or '-', not starting "
    "with '.' or '-'. Fix the name in the archive or name the image in its manifest.yaml";

// The MatchKey of `text`, or "" when it does not parse.
std::string NameMatchKey(std::string_view text);

// "host/repo" of a full docker reference "host/repo:tag" or
// "host/repo@sha256:..." (its tag and digest dropped): what a cosign
// signature names, and what signature rules compare. Pure.
std::string ReferenceRepository(std::string_view reference);

// The scopes containers-policy.json(5) and containers-registries.d(5)
// match a full docker reference against, most specific first: the
// reference itself, its repository, each parent namespace, the host
// ("h/a/b:t", "h/a/b", "h/a", "h"). Pure.
std::vector<std::string> ReferenceScopes(std::string_view reference);

// Joins non-empty parts with '/': JoinRepository("pfx", "ns", "org/app").
// Leading and trailing slashes of each part are dropped; callers check the
// result with CheckRepositoryName.
std::string JoinRepository(std::string_view a, std::string_view b, std::string_view c);

}  // namespace ppa
