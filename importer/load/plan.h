// The Plan stage: the merged PPA manifest plus the unpacked files become an
// ImportPlan that says which image of which tarball goes to which target, and
// which chart files to handle. Problems found here (a missing file, a name no
// tarball holds) are attached to the item, which then fails alone.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archive/manifest/ppa_manifest.h"
#include "base/status.h"
#include "docker_io/image/image_source.h"

namespace ppa {

struct ImageTarget {
  std::string repository;  // "<prefix>/<namespace>/<image path>", a valid repository name
  std::string tag;         // a valid tag; empty: pushed by digest only
};

// Why a plan item cannot go: the first problem any planning step found.
// Later steps add theirs with Add, which never replaces an earlier one, so
// a step that finds nothing wrong (or something else) cannot hide why an
// item must fail (an invalid name stays reported even when its image file
// is fine). Reads as the Status it holds.
class ItemProblem {
 public:
  ItemProblem() = default;
  explicit ItemProblem(Status first) : status_(std::move(first)) {}

  // Records `problem` unless one is recorded already; OK is ignored.
  void Add(Status problem) {
    if (status_.ok()) status_ = std::move(problem);
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const std::string& message() const { return status_.message(); }
  operator const Status&() const { return status_; }  // NOLINT: reads as its Status

 private:
  Status status_;
};

// One platform image to push.
struct PlannedImage {
  std::string name;                 // as the PPA manifest names it ("org/app:1.0-amd64")
  const ImageSource* source = nullptr;  // owned by ImportPlan::sources
  std::optional<Platform> platform;     // from the PPA manifest, else the config's
  ImageTarget target;                   // set only when every name it is made of is valid
  ItemProblem problem;
};

// One `images:` entry: its platform images and, for multi-arch entries, the
// manifest list pushed after them.
struct PlannedGroup {
  std::string name;                        // the fat manifest name
  std::vector<PlannedImage> images;
  std::optional<ImageTarget> list_target;  // set for multi-arch entries
  ItemProblem problem;                     // for the list as a whole
};

struct PlannedChart {
  std::string name;  // archive-relative path ("charts/x.tgz")
  std::string path;  // file on disk
  std::vector<std::string> repository_keys;
  ItemProblem problem;
};

struct ImportPlan {
  std::vector<PlannedGroup> groups;
  int skipped_platforms = 0;  // references left out by --architectures
  // The target repositories of the images left out by --architectures (a
  // chart's values must not be pointed at one that gets no image).
  std::set<std::string> skipped_repositories;
  // Not OK when --architectures matched no image of an archive that has
  // images of known platforms: the archive fails (exit 1), and the hint
  // names the platforms it has. Nothing is imported from it.
  Status platform_filter;
  std::vector<PlannedChart> charts;
  std::vector<std::string> warnings;
  std::deque<ImageSource> sources;  // stable addresses for PlannedImage::source

  size_t ImageCount() const;
};

struct PlanInput {
  std::string root;                         // the unpacked archive
  std::vector<std::string> files;           // its regular files, relative paths
  std::optional<PpaManifest> manifest;      // merged; nullopt when the archive has none
  std::string scratch_dir;                  // for inflated image tarballs
  std::string registry_prefix;              // "" or a path below the registry host
  std::string target_namespace;
  // --architectures / --platform: import only these platforms
  // (ParsePlatformFilter's forms: "amd64", "linux/arm64/v8"...); empty: all.
  std::vector<std::string> architectures;
  // Reads the images of the image file at `path` (archive-relative `rel`);
  // when unset, ReadImageFile into scratch_dir. LayerPreparer::ImageFile
  // hands out what was read while the archive was being unpacked.
  std::function<Result<std::vector<ImageSource>>(const std::string& path, const std::string& rel)>
      read_image_file;
};

// Every name an item's target is made of (the PPA manifest's repository,
// pull-repository and fat-manifest names; without a manifest the tarball's
// RepoTags and index annotations) and the combined "<prefix>/<namespace>/
// <path>" are checked against the distribution grammar
// (image_reference.h): an invalid one fails that item with "invalid image
// name '...'" and leaves its target empty; nothing is sent for it.
ImportPlan BuildImportPlan(const PlanInput& input);

// The target `name` (an image reference) is pushed to below `prefix` and
// `target_namespace`, or kInvalidInput "invalid image name '...'" when the
// name or the combined repository breaks the grammar.
Result<ImageTarget> PlanTarget(std::string_view name, std::string_view prefix,
                               std::string_view target_namespace);

// One --architectures / --platform entry, normalized as containerd does.
struct PlatformFilter {
  std::string os;            // "" matches every OS
  std::string architecture;  // never empty
  std::string variant;       // "" matches every variant
  std::string given;         // as the user wrote it
};

// Parses "ARCH", "OS/ARCH" or "OS/ARCH/VARIANT" (case-insensitive), as
// crane, podman and containerd take them: "aarch64" is arm64, "x86_64" and
// "x86-64" amd64, "i386" 386, "armhf" arm/v7, "armel" arm/v6; an arm64
// variant "8" or "v8" is v8 (arm64's only variant, so "linux/arm64/v8"
// matches images that name none), and "7" is v7. kInvalidInput for an
// empty part or more than three parts.
Result<PlatformFilter> ParsePlatformFilter(std::string_view text);

// `platform` as the filters compare it: architecture and variant
// normalized as above, an arm64 image without variant taken as v8 and an
// arm image without variant as v7 (containerd's defaults), lowercase. An
// image without OS matches a filter of any OS.
Platform NormalizePlatform(Platform platform);

// Whether the image platform `platform` is one `filter` selects.
bool PlatformMatches(const PlatformFilter& filter, const Platform& platform);

// Whether any of `filters` (ParsePlatformFilter's forms; unparsable ones
// never match) selects `platform`; true when `filters` is empty.
bool PlatformWanted(const std::vector<std::string>& filters, const Platform& platform);

// The image files (archive-relative) that `manifest` names only for
// platforms other than the `wanted` architectures: nothing in them will be
// imported. Empty when `wanted` is, or when a wanted reference names no file
// (it may be found in any of them).
std::set<std::string> ImageFilesOfOtherArchitectures(const PpaManifest& manifest,
                                                     const std::vector<std::string>& wanted);

}  // namespace ppa
