#include "importer/save/save_sources.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "archive/manifest/ppa_manifest.h"
#include "docker_io/sign/cosign.h"

namespace ppa {
namespace {

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// A file name made of the image's path and tag: only the grammar's
// characters occur in them, so '/' is the one to replace. A digest-only
// reference uses the digest's first 12 hex digits.
std::string FileStem(const ImageReference& ref) {
  std::string stem = ref.path;
  for (char& c : stem) {
    if (c == '/') c = '_';
  }
  const std::string version = !ref.tag.empty() ? ref.tag : ref.digest.substr(7, 12);
  return stem + "_" + version;
}

// Where a reference is read from: "oci:DIR" or its registry.
std::string SourceOf(const std::string& given) {
  if (given.rfind("oci:", 0) == 0 && given.rfind("oci://", 0) != 0) {
    return given.substr(0, given.find(':', 4));
  }
  auto ref = ParseImageReference(given);
  return ref.ok() ? ref->domain : "";
}

}  // namespace

Result<std::vector<std::string>> ListFileReferences(std::string_view text) {
  // A PPA manifest: a YAML map whose images: is a list (a plain list has no
  // line "images:").
  if (text.find("images:") != std::string_view::npos &&
      (text.rfind("images:", 0) == 0 || text.find("\nimages:") != std::string_view::npos)) {
    PPA_ASSIGN_OR_RETURN(PpaManifest manifest, ParsePpaManifestYaml(text));
    std::vector<std::string> out;
    for (const PpaImage& image : manifest.images) {
      // A saved archive lists cosign's tags of its images as entries of
      // their own: they come with their images again (--remove-signatures).
      if (!IsCosignAttachment(image.image)) out.push_back(image.image);
    }
    if (out.empty()) {
      return InvalidInput("the manifest.yaml given to --images-from lists no images");
    }
    return out;
  }
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line = Trim(text.substr(start, end - start));
    if (!line.empty() && line.front() != '#') out.push_back(std::move(line));
    start = end + 1;
  }
  return out;
}

std::string WithSourceRegistry(const std::string& name, const std::string& registry) {
  if (registry.empty() || name.rfind("oci:", 0) == 0 || name.find("://") != std::string::npos) {
    return name;
  }
  auto ref = ParseImageReference(name);
  if (!ref.ok() || !ref->domain.empty()) return name;
  return registry + "/" + name;
}

Result<std::vector<SaveSource>> ParseSaveSources(const std::vector<std::string>& references) {
  std::vector<SaveSource> out;
  std::map<std::string, std::string> given_for;  // archive name -> the reference that named it
  for (const std::string& given : references) {
    std::string layout_dir;
    std::string name = given;
    if (given.rfind("oci:", 0) == 0 && given.rfind("oci://", 0) != 0) {
      const size_t colon = given.find(':', 4);
      if (colon == std::string::npos || colon == 4 || colon + 1 == given.size()) {
        return InvalidInput("'" + given + "' names no image of the layout",
                            "write oci:DIR:REPO:TAG, REPO:TAG as the layout's index.json names "
                            "the image (org.opencontainers.image.ref.name)");
      }
      layout_dir = given.substr(4, colon - 4);
      name = given.substr(colon + 1);
    }
    std::string layout_ref;
    if (!layout_dir.empty()) {
      layout_ref = name;
      // A bare tag (oci:DIR:latest, as skopeo writes layouts): the image is
      // named after the folder in the archive.
      const bool bare_tag = name.find_first_of(":@/") == std::string::npos;
      if (bare_tag) {
        std::filesystem::path dir = std::filesystem::absolute(layout_dir).lexically_normal();
        if (dir.filename().empty()) dir = dir.parent_path();  // a trailing '/'
        const std::string folder = dir.filename().string();
        name = folder + ":" + name;
      }
    }
    Result<ImageReference> parsed = ParseImageReference(name);
    if (!parsed.ok()) {
      return parsed.status().WithContext("'" + given + "'").WithHint(
          layout_dir.empty() ? parsed.status().hint()
                             : "write oci:DIR:REPO:TAG as index.json names the image; a bare "
                               "tag names it after the folder, which must then be a valid "
                               "repository name");
    }
    ImageReference ref = *parsed;
    const bool tagged = name.find_first_of(":@", name.rfind('/') == std::string::npos
                                                     ? 0
                                                     : name.rfind('/')) != std::string::npos;
    if (!layout_dir.empty() && !tagged) {
      return InvalidInput("'" + given + "': the layout's image needs a repository and a tag",
                          "write oci:DIR:REPO:TAG (the name index.json gives it), so the "
                          "archive can name it");
    }
    if (layout_dir.empty() && ref.domain.empty()) {
      return InvalidInput("image '" + given + "' names no registry",
                          "write the registry the image is pulled from: HOST[:PORT]/REPO:TAG "
                          "(for Docker Hub, docker.io/REPO:TAG), or give --source-registry HOST");
    }
    SaveSource source{.given = given, .ref = ref, .layout_dir = layout_dir};
    source.layout_ref = layout_ref;
    // A reference with both tag and digest is pulled by digest and keeps
    // its tag in the archive.
    source.archive_name = ref.path + (ref.tag.empty() ? "@" + ref.digest : ":" + ref.tag);
    auto [it, added] = given_for.emplace(source.archive_name, given);
    if (!added) {
      if (SourceOf(it->second) == SourceOf(given)) continue;  // named twice
      return InvalidInput("'" + it->second + "' and '" + given + "' would both be '" +
                              source.archive_name + "' in the archive",
                          "save images of the same name from different registries into "
                          "different archives");
    }
    out.push_back(std::move(source));
  }
  // Names, then files, in name order: the archive does not depend on the
  // order the references were given in.
  std::sort(out.begin(), out.end(), [](const SaveSource& a, const SaveSource& b) {
    return a.archive_name < b.archive_name;
  });
  std::set<std::string> files;
  for (SaveSource& source : out) {
    const std::string stem = "images/" + FileStem(source.ref);
    source.file = stem + ".tar";
    for (int n = 2; !files.insert(source.file).second; ++n) {
      source.file = stem + "-" + std::to_string(n) + ".tar";
    }
  }
  return out;
}

}  // namespace ppa
