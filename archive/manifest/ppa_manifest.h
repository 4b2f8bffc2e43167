// The PPA archive's own manifests (README, How it works): `manifest.yaml` (newer)
// and `manifest.json` (older), parsed by pure functions and merged into one
// PpaManifest that says what to import and under which names.
//
// Nothing here touches the file system. Resolving a reference that has no
// archive file against the names inside the image tarballs happens later, in
// the planning stage (importer/), which has read the tarballs.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "ppc64le", "s390x", "arm64"
  std::string variant;       // "v8", or empty

  bool empty() const { return os.empty() && architecture.empty(); }
  // "linux/arm64/v8", or "" when empty.
  std::string ToString() const {
    if (empty()) return "";
    return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
  }
  bool operator==(const Platform&) const = default;
};

// One platform's image: pushed under `repository` (the manifest's name is
// the target, never the name inside the tarball).
struct PpaImageReference {
  std::string repository;       // "org/name:tag-amd64" (name:tag, maybe digest-less)
  std::string pull_repository;  // where the vendor pulled it from; may be empty
  std::optional<Platform> platform;
  std::string archive;          // path inside the unpacked archive ("images/x.tar.gz"),
                                // normalized (no "file:" prefix, no leading "./");
                                // empty when no manifest names the file
};

// One entry of `images:`. `image` is the multi-arch (fat) manifest name
// ("org/name:tag"); with manifest.json alone there is one reference per image
// and `image` equals that reference's repository.
struct PpaImage {
  std::string image;
  std::vector<PpaImageReference> references;
};

struct PpaChart {
  std::string archive;                       // normalized path as written in the manifest
  std::vector<std::string> repository_keys;  // dotted keys of values.yaml to rewrite
};

struct PpaManifest {
  std::vector<PpaImage> images;
  std::vector<PpaChart> charts;
  // Non-fatal findings (dropped duplicates, disagreements between dialects),
  // one human-readable line each.
  std::vector<std::string> warnings;
};

// Parses `manifest.yaml`. Unknown keys are ignored. Returns kInvalidInput
// with a message naming the file and the problem on malformed input.
Result<PpaManifest> ParsePpaManifestYaml(std::string_view text);

// Parses `manifest.json` ({"images":[{"image","tag","archive"}], "charts":
// [{"archive","images":[keys]}]}). Repeated entries are deduplicated.
Result<PpaManifest> ParsePpaManifestJson(std::string_view text);

// Merges the two dialects (either may be absent). manifest.yaml decides what
// is imported, under which names and platforms; manifest.json supplies the
// `archive` of a yaml reference that has none (matched on image name and tag:
// the reference's repository, then its pull-repository, then the fat image
// name). With only one dialect present, that one is returned as is.
PpaManifest MergePpaManifests(const std::optional<PpaManifest>& yaml,
                              const std::optional<PpaManifest>& json);

// Normalizes an archive path from a manifest: strips a "file:" prefix and
// leading "./" or "/". Does not check that the file exists.
std::string NormalizeManifestPath(std::string_view path);

}  // namespace ppa
