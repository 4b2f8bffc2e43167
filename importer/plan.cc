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

ImageTarget TargetFor(const ImageReference& ref, const PlanInput& input) {
  return {JoinRepository(input.registry_prefix, input.target_namespace, ref.TargetPath()), ref.tag};
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

PlannedImage PlanReference(const PpaImageReference& ref, ImageFiles& files,
                           const PlanInput& input) {
  PlannedImage planned;
  planned.name = ref.repository;
  planned.platform = ref.platform;
  auto parsed = ParseImageReference(ref.repository);
  if (!parsed.ok()) {
    planned.problem = parsed.status();
    return planned;
  }
  planned.target = TargetFor(*parsed, input);
  planned.problem = ResolveSource(ref, files, planned.source);
  if (planned.problem.ok() && !planned.source->problem.ok()) {
    planned.problem = planned.source->problem.WithContext("image file '" + planned.source->origin + "'");
  }
  if (planned.problem.ok() && !planned.platform) planned.platform = planned.source->platform;
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
  auto parsed = ParseImageReference(image.image);
  if (!parsed.ok()) {
    group.problem = parsed.status();
    return group;
  }
  group.list_target = TargetFor(*parsed, input);
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
      group.images.push_back(PlannedImage{rel, nullptr, std::nullopt, {}, images.status()});
      plan.groups.push_back(std::move(group));
      continue;
    }
    for (const ImageSource* img : *images) {
      if (img->names.empty()) {
        PlannedGroup group;
        group.name = rel;
        group.images.push_back(PlannedImage{
            rel, img, std::nullopt, {},
            InvalidInput("an image in '" + rel + "' has no name and no manifest names it",
                         "add a manifest.yaml entry for it")});
        plan.groups.push_back(std::move(group));
        continue;
      }
      for (const auto& name : img->names) {
        PpaImage entry{name, {PpaImageReference{name, "", std::nullopt, rel}}};
        plan.groups.push_back(PlanGroup(entry, files, input));
        plan.groups.back().images.back().source = img;
        plan.groups.back().images.back().problem = img->problem;
        if (img->problem.ok()) plan.groups.back().images.back().platform = img->platform;
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
  planned.problem = NotFound("chart '" + chart.archive + "' is not in the archive (looked for '" +
                             chart.archive + "' and 'charts/" +
                             std::string(BaseName(chart.archive)) + "')");
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
