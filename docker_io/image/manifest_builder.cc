#include "docker_io/image/manifest_builder.h"

#include <nlohmann/json.hpp>

#include "docker_io/image/media_types.h"
#include "docker_io/image/json_dump.h"

namespace ppa {
namespace {

using Json = nlohmann::ordered_json;

Json Descriptor(const BlobRef& b) {
  return Json{{"mediaType", b.media_type}, {"size", b.size}, {"digest", b.digest}};
}

}  // namespace

BuiltManifest BuildImageManifest(ManifestFormat format, const BlobRef& config,
                                 const std::vector<BlobRef>& layers) {
  BuiltManifest out;
  out.media_type = std::string(format == ManifestFormat::kOci ? media_types::kOciManifest
                                                               : media_types::kDockerManifest);
  Json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = out.media_type;
  j["config"] = Descriptor(config);
  j["layers"] = Json::array();
  for (const auto& l : layers) j["layers"].push_back(Descriptor(l));
  out.body = DumpJsonDocument(j);
  return out;
}

BuiltManifest BuildManifestList(ManifestFormat format, const std::vector<ListEntry>& entries) {
  BuiltManifest out;
  out.media_type = std::string(format == ManifestFormat::kOci ? media_types::kOciIndex
                                                               : media_types::kDockerManifestList);
  Json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = out.media_type;
  j["manifests"] = Json::array();
  for (const auto& e : entries) {
    Json d = Descriptor(e.manifest);
    Json p{{"architecture", e.platform.architecture}, {"os", e.platform.os}};
    if (!e.platform.variant.empty()) p["variant"] = e.platform.variant;
    d["platform"] = p;
    j["manifests"].push_back(d);
  }
  out.body = DumpJsonDocument(j);
  return out;
}

}  // namespace ppa
