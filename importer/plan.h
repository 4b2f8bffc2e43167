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
#include <vector>

#include "archive/ppa_manifest.h"
#include "archive/status.h"
#include "docker_io/image_source.h"

namespace ppa {

struct ImageTarget {
  std::string repository;  // "<prefix>/<namespace>/<image path>"
  std::string tag;         // empty: pushed by digest only
};

// One platform image to push.
struct PlannedImage {
  std::string name;                 // as the PPA manifest names it ("org/app:1.0-amd64")
  const ImageSource* source = nullptr;  // owned by ImportPlan::sources
  std::optional<Platform> platform;     // from the PPA manifest, else the config's
  ImageTarget target;
  Status problem;
};

// One `images:` entry: its platform images and, for multi-arch entries, the
// manifest list pushed after them.
struct PlannedGroup {
  std::string name;                        // the fat manifest name
  std::vector<PlannedImage> images;
  std::optional<ImageTarget> list_target;  // set for multi-arch entries
  Status problem;                          // for the list as a whole
};

struct PlannedChart {
  std::string name;  // archive-relative path ("charts/x.tgz")
  std::string path;  // file on disk
  std::vector<std::string> repository_keys;
  Status problem;
};

struct ImportPlan {
  std::vector<PlannedGroup> groups;
  int skipped_platforms = 0;  // references left out by --architectures
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
  // Import only these architectures ("amd64", "ppc64le"...); empty: all.
  std::vector<std::string> architectures;
  // Reads the images of the image file at `path` (archive-relative `rel`);
  // when unset, ReadImageFile into scratch_dir. LayerPreparer::ImageFile
  // hands out what was read while the archive was being unpacked.
  std::function<Result<std::vector<ImageSource>>(const std::string& path, const std::string& rel)>
      read_image_file;
};

ImportPlan BuildImportPlan(const PlanInput& input);

// The image files (archive-relative) that `manifest` names only for
// platforms other than the `wanted` architectures: nothing in them will be
// imported. Empty when `wanted` is, or when a wanted reference names no file
// (it may be found in any of them).
std::set<std::string> ImageFilesOfOtherArchitectures(const PpaManifest& manifest,
                                                     const std::vector<std::string>& wanted);

}  // namespace ppa
