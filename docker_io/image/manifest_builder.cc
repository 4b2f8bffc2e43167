#include "docker_io/image/manifest_builder.h"

#include <nlohmann/json.hpp>

#include "docker_io/image/media_types.h"
#include "docker_io/image/image_formats.h"
#include "docker_io/image/json_dump.h"

namespace ppa {
namespace {

using Json = nlohmann::ordered_json;

Json DescriptorJson(const BlobRef& b) {
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
  j["config"] = DescriptorJson(config);
  j["layers"] = Json::array();
  for (const auto& l : layers) j["layers"].push_back(DescriptorJson(l));
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
    Json d = DescriptorJson(e.manifest);
    Json p{{"architecture", e.platform.architecture}, {"os", e.platform.os}};
    if (!e.platform.variant.empty()) p["variant"] = e.platform.variant;
    d["platform"] = p;
    j["manifests"].push_back(d);
  }
  out.body = DumpJsonDocument(j);
  return out;
}

Result<BuiltManifest> ImageManifestToPush(const ImageSource& image, const DigestDecision& decision,
                                          ManifestFormat format, const BlobRef& config,
                                          const std::vector<BlobRef>& layers) {
  if (!decision.kept || !image.manifest) return BuildImageManifest(format, config, layers);
  const StoredDocument& stored = *image.manifest;
  PPA_ASSIGN_OR_RETURN(ImageManifest named, ParseImageManifest(*stored.bytes));
  bool same = named.config.digest == config.digest && named.layers.size() == layers.size();
  for (size_t i = 0; same && i < layers.size(); ++i) {
    same = named.layers[i].digest == layers[i].digest;
  }
  if (!same) {
    return InvalidInput("the blobs pushed are not those its manifest " + stored.digest +
                        " names in the archive");
  }
  return BuiltManifest{.media_type = stored.media_type, .body = *stored.bytes};
}

BuiltManifest ManifestListToPush(const std::vector<const ImageSource*>& children,
                                 const DigestDecision& decision, ManifestFormat format,
                                 const std::vector<ListEntry>& entries) {
  if (!decision.kept || children.empty() || !children.front()->index) {
    return BuildManifestList(format, entries);
  }
  const StoredDocument& stored = children.front()->index->document;
  return BuiltManifest{.media_type = stored.media_type, .body = *stored.bytes};
}

}  // namespace ppa
