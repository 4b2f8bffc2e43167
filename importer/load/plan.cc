#include "importer/load/plan.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "archive/tar/safe_path.h"
#include "docker_io/image/image_reference.h"

namespace ppa {
namespace {

bool IsUnder(const std::string& path, std::string_view dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

// Loads image tarballs on first use and keeps what they hold.
class ImageFiles {
 public:
  ImageFiles(const PlanInput& input, ImportPlan& plan) : input_(input), plan_(plan) {
    for (const auto& f : input.files) {
      if (IsUnder(f, "images")) image_files_.push_back(f);
    }
  }

  bool Exists(const std::string& rel) const {
    for (const auto& f : input_.files) {
      if (f == rel) return true;
    }
    return false;
  }

  // The images of `rel` (an archive-relative file), or why it is unusable.
  Result<std::vector<const ImageSource*>> Load(const std::string& rel) {
    auto it = loaded_.find(rel);
    if (it == loaded_.end()) it = loaded_.emplace(rel, Read(rel)).first;
    return it->second;
  }

  const std::vector<std::string>& image_files() const { return image_files_; }

 private:
  Result<std::vector<const ImageSource*>> Read(const std::string& rel) {
    std::string path = input_.root + "/" + rel;
    auto images = input_.read_image_file ? input_.read_image_file(path, rel)
                                         : ReadImageFile(path, rel, input_.scratch_dir);
    if (!images.ok()) return images.status();
    std::vector<const ImageSource*> out;
    for (auto& img : *images) {
      plan_.sources.push_back(std::move(img));
      out.push_back(&plan_.sources.back());
    }
    return out;
  }

  const PlanInput& input_;
  ImportPlan& plan_;
  std::vector<std::string> image_files_;
  std::map<std::string, Result<std::vector<const ImageSource*>>> loaded_;
};

bool HasName(const ImageSource& img, const std::string& key) {
  if (key.empty()) return false;
  for (const auto& n : img.names) {
    if (NameMatchKey(n) == key) return true;
  }
  return false;
}

// Whether `image` is of the platform a reference gives (its os, architecture
// and variant where given). No platform given, or none in the image's
// config: any.
bool OfPlatform(const ImageSource& image, const std::optional<Platform>& wanted) {
  if (!wanted || image.platform.empty()) return true;
  const Platform& p = image.platform;
  return (wanted->os.empty() || wanted->os == p.os) &&
         (wanted->architecture.empty() || wanted->architecture == p.architecture) &&
         (wanted->variant.empty() || wanted->variant == p.variant);
}

// The images of `images` named `key` (all of them for ""), and of the
// reference's platform.
std::vector<const ImageSource*> Candidates(const std::vector<const ImageSource*>& images,
                                           const std::string& key,
                                           const std::optional<Platform>& platform) {
  std::vector<const ImageSource*> out;
  for (const ImageSource* img : images) {
    if ((key.empty() || HasName(*img, key)) && OfPlatform(*img, platform)) out.push_back(img);
  }
  return out;
}

// Picks the image a reference means among the images of one file: the only
// one; else, for a reference by digest, the one whose manifest has it; else
// the one named like `repository`, then like `pull_repository`;
// else the only one of the reference's platform. Where several images
// carry the name (the platform images of a multi-arch OCI tarball inherit
// its index's name), the reference's platform picks among them. Null when
// none or several remain (`ambiguous` then says so).
const ImageSource* SelectImage(const std::vector<const ImageSource*>& images,
                               const PpaImageReference& ref, bool* ambiguous) {
  *ambiguous = false;
  if (images.size() == 1) return images.front();
  // A reference by digest ("org/app@sha256:..."): the image whose manifest
  // in the file has that digest, when one has (`save` names the platform
  // images of an index so; two of them may share a platform).
  auto parsed = ParseImageReference(ref.repository);
  if (parsed.ok() && !parsed->digest.empty()) {
    for (const ImageSource* img : images) {
      if (img->manifest && img->manifest->digest == parsed->digest) return img;
    }
  }
  for (const std::string* name : {&ref.repository, &ref.pull_repository}) {
    std::string key = NameMatchKey(*name);
    if (key.empty() || Candidates(images, key, std::nullopt).empty()) continue;
    std::vector<const ImageSource*> named = Candidates(images, key, ref.platform);
    if (named.size() == 1) return named.front();
    *ambiguous = named.size() > 1;
    return nullptr;
  }
  if (!ref.platform) return nullptr;
  std::vector<const ImageSource*> of_platform = Candidates(images, "", ref.platform);
  return of_platform.size() == 1 ? of_platform.front() : nullptr;
}

// Resolves one reference to an image in the archive.
Status ResolveSource(const PpaImageReference& ref, ImageFiles& files, const ImageSource*& out) {
  if (!ref.archive.empty()) {
    std::string rel = ref.archive;
    if (!files.Exists(rel)) {
      return NotFound("image file '" + ref.archive + "' named by the manifest is not in the archive");
    }
    PPA_ASSIGN_OR_RETURN(auto images, files.Load(rel));
    bool ambiguous = false;
    out = SelectImage(images, ref, &ambiguous);
    if (!out && ambiguous) {
      return InvalidInput("image file '" + rel + "' holds several images named '" +
                              ref.repository + "'" +
                              (ref.platform ? " of platform " + ref.platform->ToString() : "") +
                              ": which one the reference means is unclear",
                          "give the reference in the PPA manifest its platform (os, "
                          "architecture, variant)");
    }
    if (!out) {
      std::string platform = ref.platform ? " (" + ref.platform->ToString() + ")" : "";
      return NotFound("image file '" + rel + "' holds " + std::to_string(images.size()) +
                      " images and none is named '" + ref.repository + "'" +
                      (ref.pull_repository.empty() ? "" : " or '" + ref.pull_repository + "'") +
                      platform);
    }
    return Status::Ok();
  }
  // No file named anywhere: look for the name inside every image tarball.
  for (const std::string* name : {&ref.repository, &ref.pull_repository}) {
    std::string key = NameMatchKey(*name);
    if (key.empty()) continue;
    for (const auto& rel : files.image_files()) {
      auto images = files.Load(rel);
      if (!images.ok()) continue;
      for (const ImageSource* img : *images) {
        if (HasName(*img, key)) {
          out = img;
          return Status::Ok();
        }
      }
    }
  }
  return NotFound("no image file for '" + ref.repository +
                      "': no manifest names one and no tarball holds an image named '" +
                      ref.repository + "'" +
                      (ref.pull_repository.empty() ? "" : " or '" + ref.pull_repository + "'"),
                  "add an 'archive' to the reference in manifest.yaml or an entry to manifest.json");
}

// Sets `planned.target` to where `name` goes, or records why it cannot go.
void SetTarget(std::string_view name, const PlanInput& input, PlannedImage& planned) {
  auto target = PlanTarget(name, input.registry_prefix, input.target_namespace);
  if (target.ok()) {
    planned.target = std::move(target).value();
  } else {
    planned.problem.Add(target.status());
  }
}

PlannedImage PlanReference(const PpaImageReference& ref, ImageFiles& files,
                           const PlanInput& input) {
  PlannedImage planned;
  planned.name = ref.repository;
  planned.platform = ref.platform;
  SetTarget(ref.repository, input, planned);
  // Only matched against the names inside tarballs, but a name all the same.
  if (!ref.pull_repository.empty()) {
    planned.problem.Add(ParseImageReference(ref.pull_repository).status());
  }
  // The source is still looked up for an invalid name (inspect shows it);
  // the name's problem stays the item's.
  planned.problem.Add(ResolveSource(ref, files, planned.source));
  if (planned.source && !planned.source->problem.ok()) {
    planned.problem.Add(
        planned.source->problem.WithContext("image file '" + planned.source->origin + "'"));
  }
  // An artifact (a cosign signature) has no platform: --platform keeps it.
  if (planned.problem.ok() && !planned.platform && !planned.source->artifact) {
    planned.platform = planned.source->platform;
  }
  return planned;
}

// An image of the tarball `rel` under one of its own names (no PPA manifest).
PlannedImage PlanTarballName(const ImageSource& image, const std::string& name,
                             const PlanInput& input) {
  PlannedImage planned;
  planned.name = name;
  planned.source = &image;
  SetTarget(name, input, planned);
  planned.problem.Add(image.problem);
  if (image.problem.ok() && !image.artifact) planned.platform = image.platform;
  return planned;
}

PlannedGroup PlanGroup(const PpaImage& image, ImageFiles& files, const PlanInput& input) {
  PlannedGroup group;
  group.name = image.image;
  for (const auto& ref : image.references) group.images.push_back(PlanReference(ref, files, input));
  bool multi = image.references.size() > 1 ||
               (image.references.size() == 1 && NameMatchKey(image.references[0].repository) !=
                                                    NameMatchKey(image.image));
  if (!multi) return group;
  auto list_target = PlanTarget(image.image, input.registry_prefix, input.target_namespace);
  if (!list_target.ok()) {
    group.problem.Add(list_target.status());
    return group;
  }
  group.list_target = std::move(list_target).value();
  // A reference named like the list itself is pushed by digest only: the
  // list takes the tag.
  for (auto& img : group.images) {
    if (img.target.repository == group.list_target->repository &&
        img.target.tag == group.list_target->tag) {
      img.target.tag.clear();
    }
  }
  return group;
}

// No PPA manifest: every image of every tarball under its own names.
void PlanWithoutManifest(ImageFiles& files, const PlanInput& input, ImportPlan& plan) {
  for (const auto& rel : files.image_files()) {
    auto images = files.Load(rel);
    if (!images.ok()) {
      PlannedGroup group;
      group.name = rel;
      group.images.push_back(
          PlannedImage{rel, nullptr, std::nullopt, {}, ItemProblem(images.status())});
      plan.groups.push_back(std::move(group));
      continue;
    }
    for (const ImageSource* img : *images) {
      if (img->names.empty()) {
        PlannedGroup group;
        group.name = rel;
        group.images.push_back(
            PlannedImage{rel,
                         img,
                         std::nullopt,
                         {},
                         ItemProblem(InvalidInput(
                             "an image in '" + rel + "' has no name and no manifest names it",
                             "add a manifest.yaml entry for it"))});
        plan.groups.push_back(std::move(group));
        continue;
      }
      for (const auto& name : img->names) {
        PlannedGroup group;
        group.name = name;
        group.images.push_back(PlanTarballName(*img, name, input));
        plan.groups.push_back(std::move(group));
      }
    }
  }
}

PlannedChart PlanChart(const PpaChart& chart, const ImageFiles& files, const PlanInput& input) {
  PlannedChart planned;
  planned.name = chart.archive;
  planned.repository_keys = chart.repository_keys;
  // Chart paths in manifests are often wrong ("file:x.tgz"): fall back to
  // charts/<basename>.
  for (std::string candidate : {chart.archive, "charts/" + std::string(BaseName(chart.archive))}) {
    if (files.Exists(candidate)) {
      planned.name = candidate;
      planned.path = input.root + "/" + candidate;
      return planned;
    }
  }
  planned.problem.Add(NotFound("chart '" + chart.archive + "' is not in the archive (looked for '" +
                               chart.archive + "' and 'charts/" +
                               std::string(BaseName(chart.archive)) + "')"));
  return planned;
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// containerd's normalizeArch, with arm64's default variant spelled "v8".
void NormalizeArchitecture(std::string& arch, std::string& variant) {
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8.0") variant = "v8";
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm" && (variant == "5" || variant == "6" || variant == "7" ||
                               variant == "8")) {
    variant = "v" + variant;
  }
}

// --architectures / --platform: drops platform images the filters do not
// select (a manifest list is then built from the ones left); a group left
// empty goes. A filter that selects nothing of an archive with images of
// known platforms fails it; an entry that selects nothing while others do
// is a warning.
void FilterPlatforms(const std::vector<std::string>& wanted, ImportPlan& plan) {
  if (wanted.empty()) return;
  std::vector<std::optional<PlatformFilter>> filters;
  for (const auto& w : wanted) {
    auto f = ParsePlatformFilter(w);
    filters.push_back(f.ok() ? std::optional<PlatformFilter>(*f) : std::nullopt);
  }
  std::set<std::string> present;  // the archive's platforms, normalized
  std::vector<bool> used(filters.size(), false);
  for (auto& group : plan.groups) {
    auto before = group.images.size();
    std::erase_if(group.images, [&](const PlannedImage& img) {
      // Unknown: a failing item (kept to report it) or an artifact.
      if (!img.platform) return false;
      present.insert(NormalizePlatform(*img.platform).ToString());
      bool keep = false;
      for (size_t i = 0; i < filters.size(); ++i) {
        if (filters[i] && PlatformMatches(*filters[i], *img.platform)) keep = used[i] = true;
      }
      if (!keep && !img.target.repository.empty()) {
        plan.skipped_repositories.insert(img.target.repository);
      }
      return !keep;
    });
    plan.skipped_platforms += static_cast<int>(before - group.images.size());
  }
  std::erase_if(plan.groups, [](const PlannedGroup& g) { return g.images.empty(); });
  std::string given, has;
  for (const auto& w : wanted) given += (given.empty() ? "" : ", ") + w;
  for (const auto& p : present) has += (has.empty() ? "" : ", ") + p;
  if (std::none_of(used.begin(), used.end(), [](bool u) { return u; })) {
    if (present.empty()) return;  // no image of a known platform: nothing to filter
    plan.platform_filter = NotFound(
        "no image of this archive is for the platform(s) asked for (--architectures/--platform: " +
            given + ")",
        "this archive has " + has + "; ask for one of these, or leave this archive out");
    return;
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!used[i]) {
      plan.warnings.push_back("--architectures/--platform '" + wanted[i] +
                              "' matches no image of this archive (it has " + has + ")");
    }
  }
}

void DropDuplicateTargets(ImportPlan& plan) {
  std::set<std::pair<std::string, std::string>> seen;
  for (auto& group : plan.groups) {
    for (auto it = group.images.begin(); it != group.images.end();) {
      bool tagged = it->problem.ok() && !it->target.tag.empty();
      if (tagged && !seen.insert({it->target.repository, it->target.tag}).second) {
        plan.warnings.push_back("'" + it->name + "' is listed more than once; imported once");
        it = group.images.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::erase_if(plan.groups, [](const PlannedGroup& g) { return g.images.empty(); });
}

}  // namespace

Result<ImageTarget> PlanTarget(std::string_view name, std::string_view prefix,
                               std::string_view target_namespace) {
  PPA_ASSIGN_OR_RETURN(ImageReference ref, ParseImageReference(name));
  ImageTarget target{JoinRepository(prefix, target_namespace, ref.TargetPath()), ref.tag};
  std::string why = RepositoryPathProblem(target.repository);
  if (!why.empty()) {
    return InvalidInput("invalid image name '" + std::string(name) + "': its target '" +
                            target.repository + "' is no repository name: " + why,
                        std::string(kImageNameHint));
  }
  return target;
}

Result<PlatformFilter> ParsePlatformFilter(std::string_view text) {
  std::vector<std::string> parts;
  std::string lower = Lowercase(text);
  for (size_t start = 0;;) {
    size_t slash = lower.find('/', start);
    parts.push_back(lower.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  bool empty_part = std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); });
  if (parts.size() > 3 || empty_part) {
    return InvalidInput("invalid platform '" + std::string(text) + "'",
                        "write ARCH, OS/ARCH or OS/ARCH/VARIANT, e.g. amd64, linux/arm64, "
                        "linux/arm/v7");
  }
  PlatformFilter filter;
  filter.given = std::string(text);
  if (parts.size() == 1) {
    filter.architecture = parts[0];
  } else {
    filter.os = parts[0];
    filter.architecture = parts[1];
    if (parts.size() == 3) filter.variant = parts[2];
  }
  NormalizeArchitecture(filter.architecture, filter.variant);
  return filter;
}

Platform NormalizePlatform(Platform platform) {
  platform.os = Lowercase(platform.os);
  platform.architecture = Lowercase(platform.architecture);
  platform.variant = Lowercase(platform.variant);
  NormalizeArchitecture(platform.architecture, platform.variant);
  if (platform.variant.empty() && platform.architecture == "arm64") platform.variant = "v8";
  if (platform.variant.empty() && platform.architecture == "arm") platform.variant = "v7";
  return platform;
}

bool PlatformMatches(const PlatformFilter& filter, const Platform& platform) {
  Platform p = NormalizePlatform(platform);
  return p.architecture == filter.architecture &&
         (filter.os.empty() || p.os.empty() || p.os == filter.os) &&
         (filter.variant.empty() || p.variant == filter.variant);
}

bool PlatformWanted(const std::vector<std::string>& filters, const Platform& platform) {
  if (filters.empty()) return true;
  return std::any_of(filters.begin(), filters.end(), [&](const std::string& text) {
    auto filter = ParsePlatformFilter(text);
    return filter.ok() && PlatformMatches(*filter, platform);
  });
}

size_t ImportPlan::ImageCount() const {
  size_t n = 0;
  for (const auto& g : groups) n += g.images.size();
  return n;
}

std::set<std::string> ImageFilesOfOtherArchitectures(const PpaManifest& manifest,
                                                     const std::vector<std::string>& wanted) {
  if (wanted.empty()) return {};
  std::set<std::string> others, needed;
  for (const auto& image : manifest.images) {
    for (const auto& ref : image.references) {
      bool other = ref.platform && !PlatformWanted(wanted, *ref.platform);
      if (!other && ref.archive.empty()) return {};
      if (!ref.archive.empty()) (other ? others : needed).insert(ref.archive);
    }
  }
  std::erase_if(others, [&](const std::string& f) { return needed.count(f) > 0; });
  return others;
}

ImportPlan BuildImportPlan(const PlanInput& input) {
  ImportPlan plan;
  ImageFiles files(input, plan);
  if (input.manifest) {
    plan.warnings = input.manifest->warnings;
    for (const auto& image : input.manifest->images) {
      plan.groups.push_back(PlanGroup(image, files, input));
    }
    for (const auto& chart : input.manifest->charts) {
      plan.charts.push_back(PlanChart(chart, files, input));
    }
  } else {
    PlanWithoutManifest(files, input, plan);
    for (const auto& f : input.files) {
      if (IsUnder(f, "charts") && f.size() > 4 && f.compare(f.size() - 4, 4, ".tgz") == 0) {
        plan.charts.push_back(PlanChart(PpaChart{f, {}}, files, input));
      }
    }
  }
  FilterPlatforms(input.architectures, plan);
  DropDuplicateTargets(plan);
  return plan;
}

}  // namespace ppa
