#include "docker_io/image/image_formats.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "archive/manifest/bounded_json.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"

namespace ppa {
namespace {

using nlohmann::json;

std::string GetString(const json& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

// Every document of an image tarball is checked against the bounds of
// untrusted JSON before its DOM is built.
Result<json> ParseJson(std::string_view text, const char* what) {
  PPA_RETURN_IF_ERROR(CheckJsonBounds(text, what));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidInput(std::string(what) + " is not valid JSON");
  return j;
}

std::optional<Platform> ParsePlatform(const json& j) {
  auto it = j.find("platform");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  Platform p{GetString(*it, "os"), GetString(*it, "architecture"), GetString(*it, "variant")};
  if (p.empty()) return std::nullopt;
  return p;
}

Result<Descriptor> ParseDescriptor(const json& j, const char* what) {
  if (!j.is_object()) return InvalidInput(std::string(what) + ": descriptor is not an object");
  Descriptor d;
  d.media_type = GetString(j, "mediaType");
  d.digest = GetString(j, "digest");
  if (!IsValidSha256Digest(d.digest)) {
    return InvalidInput(std::string(what) + ": descriptor has an invalid digest '" + d.digest + "'");
  }
  auto size = j.find("size");
  if (size != j.end() && size->is_number_unsigned()) d.size = size->get<uint64_t>();
  auto ann = j.find("annotations");
  if (ann != j.end() && ann->is_object()) {
    for (auto& [k, v] : ann->items()) {
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
    }
  }
  d.platform = ParsePlatform(j);
  return d;
}

std::vector<std::string> StringArray(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

Result<DockerSaveEntry> ParseDockerSaveEntry(const json& j) {
  if (!j.is_object()) return InvalidInput("manifest.json: entry is not an object");
  DockerSaveEntry e;
  e.config = GetString(j, "Config");
  if (e.config.empty()) return InvalidInput("manifest.json: entry has no Config");
  e.repo_tags = StringArray(j, "RepoTags");
  e.layers = StringArray(j, "Layers");
  auto sources = j.find("LayerSources");
  if (sources != j.end() && sources->is_object()) {
    for (auto& [digest, desc] : sources->items()) {
      auto d = ParseDescriptor(desc, "manifest.json LayerSources");
      if (d.ok()) e.layer_sources[digest] = *d;
    }
  }
  return e;
}

}  // namespace

Result<std::vector<DockerSaveEntry>> ParseDockerSaveManifest(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(json j, ParseJson(text, "manifest.json"));
  if (!j.is_array() || j.empty()) {
    return InvalidInput("manifest.json lists no image (it is empty, null or not a list)");
  }
  std::vector<DockerSaveEntry> out;
  for (const auto& item : j) {
    PPA_ASSIGN_OR_RETURN(DockerSaveEntry e, ParseDockerSaveEntry(item));
    out.push_back(std::move(e));
  }
  return out;
}

Result<OciIndex> ParseOciIndex(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(json j, ParseJson(text, "index.json"));
  if (!j.is_object()) return InvalidInput("index.json is not an object");
  OciIndex index;
  index.media_type = GetString(j, "mediaType");
  auto it = j.find("manifests");
  if (it == j.end() || !it->is_array()) return InvalidInput("index.json has no manifests list");
  for (const auto& m : *it) {
    PPA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(m, "index.json"));
    index.manifests.push_back(std::move(d));
  }
  return index;
}

Result<ImageManifest> ParseImageManifest(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(json j, ParseJson(text, "image manifest"));
  if (!j.is_object()) return InvalidInput("image manifest is not an object");
  ImageManifest m;
  m.media_type = GetString(j, "mediaType");
  auto config = j.find("config");
  if (config == j.end()) return InvalidInput("image manifest has no config");
  PPA_ASSIGN_OR_RETURN(m.config, ParseDescriptor(*config, "image manifest config"));
  auto layers = j.find("layers");
  if (layers != j.end() && layers->is_array()) {
    for (const auto& l : *layers) {
      PPA_ASSIGN_OR_RETURN(Descriptor d, ParseDescriptor(l, "image manifest layer"));
      m.layers.push_back(std::move(d));
    }
  }
  return m;
}

Result<ImageConfig> ParseImageConfig(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(json j, ParseJson(text, "image config"));
  if (!j.is_object()) return InvalidInput("image config is not an object");
  ImageConfig c;
  c.platform = {GetString(j, "os"), GetString(j, "architecture"), GetString(j, "variant")};
  auto rootfs = j.find("rootfs");
  if (rootfs != j.end() && rootfs->is_object()) {
    c.diff_ids = StringArray(*rootfs, "diff_ids");
  }
  for (const auto& d : c.diff_ids) {
    if (!IsValidSha256Digest(d)) return InvalidInput("image config has an invalid diff_id '" + d + "'");
  }
  return c;
}

bool IsIndexMediaType(std::string_view media_type) {
  return media_type == media_types::kOciIndex || media_type == media_types::kDockerManifestList;
}

bool IsImageManifestMediaType(std::string_view media_type) {
  return media_type == media_types::kOciManifest || media_type == media_types::kDockerManifest;
}

bool IsArtifactManifest(const ImageManifest& manifest) {
  const std::string& config = manifest.config.media_type;
  if (!config.empty() && config != media_types::kOciConfig && config != media_types::kDockerConfig) {
    return true;
  }
  // An image config with layers that are documents, not filesystems:
  // cosign's simple-signing payloads, DSSE envelopes, in-toto statements,
  // SBOMs (JSON or text). Any other layer type (a tar under whatever name)
  // is an image's layer.
  for (const Descriptor& layer : manifest.layers) {
    const std::string_view type = layer.media_type;
    const bool document = type.ends_with("json") || type.starts_with("text/") ||
                          type.starts_with("application/vnd.dev.cosign.") ||
                          type.starts_with("application/vnd.dsse.") ||
                          type.starts_with("application/vnd.in-toto");
    if (document) return true;
  }
  return false;
}

}  // namespace ppa
