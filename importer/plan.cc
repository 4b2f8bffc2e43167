#include "importer/plan.h"

#include <algorithm>
#include <set>

#include "archive/safe_path.h"
#include "docker_io/image_reference.h"

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

// Picks the image a reference means among the images of one file: the only
// one, else the one named like `repository`, then like `pull_repository`.
const ImageSource* SelectImage(const std::vector<const ImageSource*>& images,
                               const PpaImageReference& ref) {
  if (images.size() == 1) return images.front();
  for (const std::string* name : {&ref.repository, &ref.pull_repository}) {
    std::string key = NameMatchKey(*name);
    for (const ImageSource* img : images) {
      if (HasName(*img, key)) return img;
    }
  }
  return nullptr;
}

// Resolves one reference to an image in the archive.
Status ResolveSource(const PpaImageReference& ref, ImageFiles& files, const ImageSource*& out) {
  if (!ref.archive.empty()) {
    std::string rel = ref.archive;
    if (!files.Exists(rel)) {
      return NotFound("image file '" + ref.archive + "' named by the manifest is not in the archive");
    }
    PPA_ASSIGN_OR_RETURN(auto images, files.Load(rel));
    out = SelectImage(images, ref);
    if (!out) {
      return NotFound("image file '" + rel + "' holds " + std::to_string(images.size()) +
                      " images and none is named '" + ref.repository + "'" +
                      (ref.pull_repository.empty() ? "" : " or '" + ref.pull_repository + "'"));
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
  if (planned.problem.ok() && !planned.platform) planned.platform = planned.source->platform;
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
  if (image.problem.ok()) planned.platform = image.platform;
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

// --architectures: drops platform images of other architectures (a manifest
// list is then built from the ones left); a group left empty goes.
void FilterArchitectures(const std::vector<std::string>& wanted, ImportPlan& plan) {
  if (wanted.empty()) return;
  for (auto& group : plan.groups) {
    auto before = group.images.size();
    std::erase_if(group.images, [&](const PlannedImage& img) {
      if (!img.platform) return false;  // unknown: a failing item; keep it to report it
      return std::find(wanted.begin(), wanted.end(), img.platform->architecture) == wanted.end();
    });
    plan.skipped_platforms += static_cast<int>(before - group.images.size());
  }
  std::erase_if(plan.groups, [](const PlannedGroup& g) { return g.images.empty(); });
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
      bool other = ref.platform && std::find(wanted.begin(), wanted.end(),
                                             ref.platform->architecture) == wanted.end();
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
  FilterArchitectures(input.architectures, plan);
  DropDuplicateTargets(plan);
  return plan;
}

}  // namespace ppa
