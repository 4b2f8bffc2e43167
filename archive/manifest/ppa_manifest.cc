#include "archive/manifest/ppa_manifest.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "archive/manifest/bounded_json.h"
#include "archive/manifest/bounded_yaml.h"

namespace ppa {
namespace {

using Json = nlohmann::json;

constexpr char kYamlFile[] = "manifest.yaml";
constexpr char kJsonFile[] = "manifest.json";

// ---------------------------------------------------------------------------
// Small string helpers.

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(kSpace);
  return s.substr(begin, end - begin + 1);
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// True when `name` ("org/name:tag", "host:5000/org/name") carries a tag or
// a digest after its last path component.
bool HasTagOrDigest(std::string_view name) {
  if (name.find('@') != std::string_view::npos) return true;
  const size_t slash = name.rfind('/');
  const size_t colon = name.rfind(':');
  return colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash);
}

// The name under which two manifests' entries are compared: "docker.io/" and
// "library/" dropped, ":latest" added when there is no tag.
std::string ComparableName(std::string_view name) {
  name = Trim(name);
  for (std::string_view host : {"docker.io/", "index.docker.io/", "registry-1.docker.io/"}) {
    if (StartsWith(name, host)) {
      name.remove_prefix(host.size());
      break;
    }
  }
  if (StartsWith(name, "library/")) name.remove_prefix(std::string_view("library/").size());
  std::string result(name);
  if (!result.empty() && !HasTagOrDigest(result)) result += ":latest";
  return result;
}

std::string Basename(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// ---------------------------------------------------------------------------
// manifest.yaml

// "manifest.yaml: line 3, column 7" (1-based), or "manifest.yaml" without a mark.
std::string YamlLocation(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return kYamlFile;
  return std::string(kYamlFile) + ": line " + std::to_string(mark.line + 1) + ", column " +
         std::to_string(mark.column + 1);
}

// Where a node is, for messages: "manifest.yaml line 12".
std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return kYamlFile;
  return std::string(kYamlFile) + " line " + std::to_string(mark.line + 1);
}

// Reads a scalar field of a mapping as its original text. Missing and null
// fields give "". A list or mapping where text is expected gives "" and a
// warning.
std::string YamlText(const YAML::Node& map, const char* key, std::vector<std::string>& warnings) {
  const YAML::Node value = map[key];
  if (!value.IsDefined() || value.IsNull()) return {};
  if (!value.IsScalar()) {
    warnings.push_back(Where(value) + ": '" + key + "' is not a text value; ignored");
    return {};
  }
  return std::string(Trim(value.Scalar()));
}

std::optional<Platform> YamlPlatform(const YAML::Node& ref, std::vector<std::string>& warnings) {
  const YAML::Node node = ref["platform"];
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  if (!node.IsMap()) {
    warnings.push_back(Where(node) + ": 'platform' is not a mapping; ignored");
    return std::nullopt;
  }
  Platform platform;
  platform.os = YamlText(node, "os", warnings);
  platform.architecture = YamlText(node, "architecture", warnings);
  platform.variant = YamlText(node, "variant", warnings);
  if (platform.empty()) return std::nullopt;
  return platform;
}

// One entry of `references:`; nullopt (with a warning) when it is unusable.
std::optional<PpaImageReference> YamlReference(const YAML::Node& node, const std::string& image,
                                               std::vector<std::string>& warnings) {
  if (!node.IsMap()) {
    warnings.push_back(Where(node) + ": a reference of '" + image + "' is not a mapping; skipped");
    return std::nullopt;
  }
  PpaImageReference ref;
  ref.repository = YamlText(node, "repository", warnings);
  if (ref.repository.empty()) {
    warnings.push_back(Where(node) + ": a reference of '" + image +
                       "' has no 'repository'; skipped");
    return std::nullopt;
  }
  ref.pull_repository = YamlText(node, "pull-repository", warnings);
  ref.platform = YamlPlatform(node, warnings);
  ref.archive = NormalizeManifestPath(YamlText(node, "archive", warnings));
  return ref;
}

// One entry of `images:`; nullopt (with a warning) when it is unusable.
std::optional<PpaImage> YamlImage(const YAML::Node& node, std::vector<std::string>& warnings) {
  if (!node.IsMap()) {
    warnings.push_back(Where(node) + ": an entry of 'images' is not a mapping; skipped");
    return std::nullopt;
  }
  PpaImage image;
  image.image = YamlText(node, "image", warnings);
  if (image.image.empty()) {
    warnings.push_back(Where(node) + ": an entry of 'images' has no 'image'; skipped");
    return std::nullopt;
  }
  const YAML::Node refs = node["references"];
  if (!refs.IsDefined() || refs.IsNull() || (refs.IsSequence() && refs.size() == 0)) {
    // No references: the image is its own single reference.
    PpaImageReference ref;
    ref.repository = image.image;
    ref.archive = NormalizeManifestPath(YamlText(node, "archive", warnings));
    image.references.push_back(std::move(ref));
    return image;
  }
  if (!refs.IsSequence()) {
    warnings.push_back(Where(refs) + ": 'references' of '" + image.image +
                       "' is not a list; image skipped");
    return std::nullopt;
  }
  for (const YAML::Node& ref_node : refs) {
    if (auto ref = YamlReference(ref_node, image.image, warnings)) {
      image.references.push_back(std::move(*ref));
    }
  }
  if (image.references.empty()) {
    warnings.push_back(Where(node) + ": image '" + image.image +
                       "' has no usable reference; skipped");
    return std::nullopt;
  }
  return image;
}

// `repository-keys`: a list of text values (a single text value is accepted).
std::vector<std::string> YamlKeys(const YAML::Node& chart, std::vector<std::string>& warnings) {
  std::vector<std::string> keys;
  const YAML::Node node = chart["repository-keys"];
  if (!node.IsDefined() || node.IsNull()) return keys;
  if (node.IsScalar()) {
    if (!Trim(node.Scalar()).empty()) keys.emplace_back(Trim(node.Scalar()));
    return keys;
  }
  if (!node.IsSequence()) {
    warnings.push_back(Where(node) + ": 'repository-keys' is not a list; ignored");
    return keys;
  }
  for (const YAML::Node& key : node) {
    if (key.IsScalar() && !Trim(key.Scalar()).empty()) {
      keys.emplace_back(Trim(key.Scalar()));
    } else if (!key.IsNull()) {
      warnings.push_back(Where(key) + ": an entry of 'repository-keys' is not text; ignored");
    }
  }
  return keys;
}

std::optional<PpaChart> YamlChart(const YAML::Node& node, std::vector<std::string>& warnings) {
  if (!node.IsMap()) {
    warnings.push_back(Where(node) + ": an entry of 'charts' is not a mapping; skipped");
    return std::nullopt;
  }
  PpaChart chart;
  chart.archive = NormalizeManifestPath(YamlText(node, "archive", warnings));
  if (chart.archive.empty()) {
    warnings.push_back(Where(node) + ": an entry of 'charts' has no 'archive'; skipped");
    return std::nullopt;
  }
  chart.repository_keys = YamlKeys(node, warnings);
  return chart;
}

// The list under `key`, or an empty node when the section is absent or null.
Result<YAML::Node> YamlSection(const YAML::Node& root, const char* key) {
  const YAML::Node node = root[key];
  if (!node.IsDefined() || node.IsNull()) return YAML::Node(YAML::NodeType::Sequence);
  if (!node.IsSequence()) {
    return InvalidInput(YamlLocation(node.Mark()) + ": '" + key + "' must be a list");
  }
  return node;
}

Result<PpaManifest> YamlManifest(const YAML::Node& root) {
  if (!root.IsMap()) {
    return InvalidInput(YamlLocation(root.Mark()) +
                        ": the top level must be a mapping with 'images' and/or 'charts'");
  }
  PpaManifest manifest;
  PPA_ASSIGN_OR_RETURN(const YAML::Node images, YamlSection(root, "images"));
  for (const YAML::Node& node : images) {
    if (auto image = YamlImage(node, manifest.warnings)) {
      manifest.images.push_back(std::move(*image));
    }
  }
  PPA_ASSIGN_OR_RETURN(const YAML::Node charts, YamlSection(root, "charts"));
  for (const YAML::Node& node : charts) {
    if (auto chart = YamlChart(node, manifest.warnings)) {
      manifest.charts.push_back(std::move(*chart));
    }
  }
  return manifest;
}

// ---------------------------------------------------------------------------
// manifest.json

// Builds a Json document like nlohmann's own parser, except that numbers
// with a fraction or exponent are stored as their original text: a tag
// written as 1.10 must stay "1.10", not become 1.1.
class TextPreservingJsonSax {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  bool null() { return Add(Json(nullptr)); }
  bool boolean(bool v) { return Add(Json(v)); }
  bool number_integer(number_integer_t v) { return Add(Json(v)); }
  bool number_unsigned(number_unsigned_t v) { return Add(Json(v)); }
  bool number_float(number_float_t, const string_t& text) { return Add(Json(text)); }
  bool string(string_t& v) { return Add(Json(v)); }
  bool binary(binary_t&) { return false; }  // not produced by JSON text
  bool start_object(std::size_t) { return Open(Json::object()); }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }
  bool key(string_t& k) {
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) {
    error_ = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (const size_t end = error_.find("] ");
        !error_.empty() && error_[0] == '[' && end != std::string::npos) {
      error_.erase(0, end + 2);
    }
    return false;
  }

  Json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  // Places `value` in the current container (or as the root); returns where.
  Json* Place(Json value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
      return &parent.back();
    }
    Json& slot = parent[key_];
    slot = std::move(value);
    return &slot;
  }
  bool Add(Json value) {
    Place(std::move(value));
    return true;
  }
  bool Open(Json container) {
    stack_.push_back(Place(std::move(container)));
    return true;
  }
  bool Close() {
    stack_.pop_back();
    return true;
  }

  Json root_;
  std::vector<Json*> stack_;  // open containers; a child is complete before its parent grows
  std::string key_;
  std::string error_;
};

// A text field: strings as they are, numbers as their text, else "".
std::string JsonText(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return {};
  if (it->is_string()) return std::string(Trim(it->get_ref<const std::string&>()));
  if (it->is_number()) return it->dump();
  return {};
}

std::string JsonWhere(const char* section, size_t index) {
  return std::string(kJsonFile) + ": " + section + "[" + std::to_string(index) + "]";
}

// Adds one `images` entry to `manifest`, deduplicating on "image:tag".
void AddJsonImage(const Json& entry, size_t index, std::map<std::string, size_t>& seen,
                  PpaManifest& manifest) {
  const std::string where = JsonWhere("images", index);
  if (!entry.is_object()) {
    manifest.warnings.push_back(where + " is not an object; skipped");
    return;
  }
  std::string name = JsonText(entry, "image");
  if (name.empty()) {
    manifest.warnings.push_back(where + " has no 'image'; skipped");
    return;
  }
  const std::string tag = JsonText(entry, "tag");
  if (!tag.empty()) {
    name += ":" + tag;
  } else if (!HasTagOrDigest(name)) {
    name += ":latest";
    manifest.warnings.push_back(where + ": '" + name + "' has no tag; using 'latest'");
  }
  const std::string archive = NormalizeManifestPath(JsonText(entry, "archive"));
  const auto [it, inserted] = seen.emplace(name, manifest.images.size());
  if (!inserted) {
    const std::string& first = manifest.images[it->second].references[0].archive;
    if (first != archive) {
      manifest.warnings.push_back(where + ": '" + name + "' is listed again with archive '" +
                                  archive + "'; keeping '" + first + "'");
    }
    return;
  }
  PpaImageReference ref;
  ref.repository = name;
  ref.archive = archive;
  manifest.images.push_back(PpaImage{name, {std::move(ref)}});
}

// Adds one `charts` entry, merging the keys of a chart listed twice.
void AddJsonChart(const Json& entry, size_t index, std::map<std::string, size_t>& seen,
                  PpaManifest& manifest) {
  const std::string where = JsonWhere("charts", index);
  if (!entry.is_object()) {
    manifest.warnings.push_back(where + " is not an object; skipped");
    return;
  }
  PpaChart chart;
  chart.archive = NormalizeManifestPath(JsonText(entry, "archive"));
  if (chart.archive.empty()) {
    manifest.warnings.push_back(where + " has no 'archive'; skipped");
    return;
  }
  const auto keys = entry.find("images");
  if (keys != entry.end() && keys->is_array()) {
    for (const Json& key : *keys) {
      if (key.is_string() && !Trim(key.get_ref<const std::string&>()).empty()) {
        chart.repository_keys.emplace_back(Trim(key.get_ref<const std::string&>()));
      }
    }
  }
  const auto [it, inserted] = seen.emplace(chart.archive, manifest.charts.size());
  if (inserted) {
    manifest.charts.push_back(std::move(chart));
    return;
  }
  std::vector<std::string>& merged = manifest.charts[it->second].repository_keys;
  if (merged != chart.repository_keys) {
    manifest.warnings.push_back(where + ": chart '" + chart.archive +
                                "' is listed again with other keys; using both lists");
  }
  for (std::string& key : chart.repository_keys) {
    if (std::find(merged.begin(), merged.end(), key) == merged.end()) {
      merged.push_back(std::move(key));
    }
  }
}

// The array under `key`; absent or null gives an empty array.
Result<const Json*> JsonSection(const Json& root, const char* key) {
  static const Json kEmpty = Json::array();
  const auto it = root.find(key);
  if (it == root.end() || it->is_null()) return &kEmpty;
  if (!it->is_array()) {
    return InvalidInput(std::string(kJsonFile) + ": '" + key + "' must be an array");
  }
  return &*it;
}

// ---------------------------------------------------------------------------
// Merging

// manifest.json's images by ComparableName of their name and tag.
using JsonImageIndex = std::map<std::string, const PpaImageReference*>;

JsonImageIndex IndexJsonImages(const PpaManifest& json) {
  JsonImageIndex index;
  for (const PpaImage& image : json.images) {
    for (const PpaImageReference& ref : image.references) {
      index.emplace(ComparableName(ref.repository), &ref);
    }
  }
  return index;
}

// The json image a yaml reference stands for: by repository, then
// pull-repository, then the fat image name.
const PpaImageReference* FindJsonImage(const PpaImageReference& ref, const std::string& image,
                                       const JsonImageIndex& index) {
  for (const std::string* name : {&ref.repository, &ref.pull_repository, &image}) {
    if (name->empty()) continue;
    const auto it = index.find(ComparableName(*name));
    if (it != index.end()) return it->second;
  }
  return nullptr;
}

// Fills each yaml reference's missing archive from manifest.json.
void FillArchives(PpaManifest& merged, const JsonImageIndex& index) {
  for (PpaImage& image : merged.images) {
    for (PpaImageReference& ref : image.references) {
      const PpaImageReference* found = FindJsonImage(ref, image.image, index);
      if (found == nullptr || found->archive.empty()) continue;
      if (ref.archive.empty()) {
        ref.archive = found->archive;
      } else if (found->archive != ref.archive) {
        merged.warnings.push_back("'" + ref.repository + "': manifest.yaml names archive '" +
                                  ref.archive + "', manifest.json names '" + found->archive +
                                  "'; using manifest.yaml's");
      }
    }
  }
}

// Warns about json images that no yaml entry names or uses the file of.
void WarnUnlistedJsonImages(PpaManifest& merged, const JsonImageIndex& index) {
  std::set<std::string> names;
  std::set<std::string> archives;
  for (const PpaImage& image : merged.images) {
    names.insert(ComparableName(image.image));
    for (const PpaImageReference& ref : image.references) {
      names.insert(ComparableName(ref.repository));
      if (!ref.pull_repository.empty()) names.insert(ComparableName(ref.pull_repository));
      if (!ref.archive.empty()) archives.insert(ref.archive);
    }
  }
  for (const auto& [name, ref] : index) {
    if (names.count(name) > 0 || archives.count(ref->archive) > 0) continue;
    merged.warnings.push_back("image '" + ref->repository +
                              "' is listed in manifest.json but not in manifest.yaml; "
                              "not imported");
  }
}

void MergeImages(PpaManifest& merged, const PpaManifest& json) {
  const JsonImageIndex index = IndexJsonImages(json);
  FillArchives(merged, index);
  WarnUnlistedJsonImages(merged, index);
}

void MergeCharts(PpaManifest& merged, const PpaManifest& json) {
  std::map<std::string, const PpaChart*> by_basename;
  for (const PpaChart& chart : json.charts) by_basename.emplace(Basename(chart.archive), &chart);
  std::set<std::string> used;
  for (PpaChart& chart : merged.charts) {
    const auto it = by_basename.find(Basename(chart.archive));
    if (it == by_basename.end()) continue;
    used.insert(it->first);
    const std::vector<std::string>& json_keys = it->second->repository_keys;
    if (chart.repository_keys.empty()) {
      chart.repository_keys = json_keys;
    } else if (!json_keys.empty() && json_keys != chart.repository_keys) {
      merged.warnings.push_back("chart '" + chart.archive +
                                "': manifest.yaml and manifest.json list different "
                                "repository-keys; using manifest.yaml's");
    }
  }
  for (const auto& [basename, chart] : by_basename) {
    if (used.count(basename) > 0) continue;
    merged.warnings.push_back("chart '" + chart->archive +
                              "' is listed in manifest.json but not in manifest.yaml; "
                              "not imported");
  }
}

}  // namespace

std::string NormalizeManifestPath(std::string_view path) {
  path = Trim(path);
  if (StartsWith(path, "file:")) path = Trim(path.substr(5));  // "file: images/x.tar"
  while (true) {
    if (StartsWith(path, "./")) {
      path.remove_prefix(2);
    } else if (StartsWith(path, "/")) {
      path.remove_prefix(1);
    } else {
      break;
    }
  }
  return std::string(path);
}

Result<PpaManifest> ParsePpaManifestYaml(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, kYamlFile));
  try {
    if (!root.IsDefined() || root.IsNull()) {
      return InvalidInput(std::string(kYamlFile) +
                          " is empty: expected a mapping with 'images' and/or 'charts'");
    }
    return YamlManifest(root);
  } catch (const YAML::Exception& e) {
    return InvalidInput(YamlLocation(e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidInput(std::string(kYamlFile) + ": " + e.what());
  }
}

Result<PpaManifest> ParsePpaManifestJson(std::string_view text) {
  PPA_RETURN_IF_ERROR(CheckJsonBounds(text, kJsonFile));
  try {
    TextPreservingJsonSax sax;
    if (!Json::sax_parse(text.begin(), text.end(), &sax)) {
      return InvalidInput(std::string(kJsonFile) + ": " + sax.error());
    }
    const Json& root = sax.root();
    if (!root.is_object()) {
      return InvalidInput(std::string(kJsonFile) + ": the top level must be an object");
    }
    PpaManifest manifest;
    PPA_ASSIGN_OR_RETURN(const Json* images, JsonSection(root, "images"));
    std::map<std::string, size_t> seen_images;
    for (size_t i = 0; i < images->size(); ++i) {
      AddJsonImage((*images)[i], i, seen_images, manifest);
    }
    PPA_ASSIGN_OR_RETURN(const Json* charts, JsonSection(root, "charts"));
    std::map<std::string, size_t> seen_charts;
    for (size_t i = 0; i < charts->size(); ++i) {
      AddJsonChart((*charts)[i], i, seen_charts, manifest);
    }
    return manifest;
  } catch (const std::exception& e) {
    return InvalidInput(std::string(kJsonFile) + ": " + e.what());
  }
}

PpaManifest MergePpaManifests(const std::optional<PpaManifest>& yaml,
                              const std::optional<PpaManifest>& json) {
  if (!yaml) return json.value_or(PpaManifest{});
  if (!json) return *yaml;
  PpaManifest merged = *yaml;
  merged.warnings.insert(merged.warnings.end(), json->warnings.begin(), json->warnings.end());
  MergeImages(merged, *json);
  MergeCharts(merged, *json);
  return merged;
}

}  // namespace ppa
