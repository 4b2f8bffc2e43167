#include "docker_io/image/kept_digest.h"

#include <set>

#include "docker_io/image/image_formats.h"
#include "docker_io/image/media_types.h"

namespace ppa {
namespace {

constexpr char kFormatGiven[] = "--format was given: the manifest is made in that format";

bool IsDockerType(std::string_view media_type) {
  return media_type == media_types::kDockerManifest ||
         media_type == media_types::kDockerManifestList;
}

DigestDecision Converted(std::string archive_digest, std::string reason) {
  return {.kept = false, .archive_digest = std::move(archive_digest), .reason = std::move(reason)};
}

}  // namespace

DigestDecision DecideImageDigest(const ImageSource& image, const KeepDigestRules& rules) {
  if (!image.manifest) {
    return Converted("",
                     "the image file holds no registry manifest for it (docker save): one is "
                     "made");
  }
  const StoredDocument& manifest = *image.manifest;
  if (rules.format_given) return Converted(manifest.digest, kFormatGiven);
  for (size_t i = 0; i < image.layers.size(); ++i) {
    if (image.layers[i].compression == Compression::kNone) {
      return Converted(manifest.digest, "layer " + std::to_string(i + 1) + " of " +
                                            std::to_string(image.layers.size()) +
                                            " is stored uncompressed: it is compressed and a "
                                            "manifest is made");
    }
  }
  if (!IsImageManifestMediaType(manifest.media_type)) {
    return Converted(manifest.digest,
                     "its manifest's media type '" + manifest.media_type + "' is not pushed as is");
  }
  if (rules.oci_only && IsDockerType(manifest.media_type)) {
    return Converted(manifest.digest,
                     "an OCI layout holds OCI manifests: its Docker manifest is "
                     "converted (as skopeo does)");
  }
  return {.kept = true, .archive_digest = manifest.digest, .reason = ""};
}

DigestDecision DecideListDigest(const std::vector<const ImageSource*>& children,
                                const KeepDigestRules& rules) {
  const StoredIndex* index = children.empty() ? nullptr : children.front()->index.get();
  for (const ImageSource* child : children) {
    if (child->index.get() != index) index = nullptr;
  }
  if (!index)
    return Converted("", "the archive holds no index of these platform images: one is made");
  const std::string& digest = index->document.digest;
  if (rules.format_given) return Converted(digest, kFormatGiven);
  for (const ImageSource* child : children) {
    if (!DecideImageDigest(*child, rules).kept) {
      return Converted(digest, "a platform image of it was converted: a new list is made");
    }
  }
  // The manifests it names, its artifacts aside (they go with it).
  std::set<std::string> named(index->children.begin(), index->children.end());
  for (const StoredArtifact& artifact : index->artifacts) named.erase(artifact.manifest.digest);
  std::set<std::string> pushed;
  for (const ImageSource* child : children) pushed.insert(child->manifest->digest);
  if (named != pushed) {
    return Converted(digest, "the archive's index names " + std::to_string(named.size()) +
                                 " manifest(s) and " + std::to_string(pushed.size()) +
                                 " of them are pushed (--architectures or the PPA manifest leave "
                                 "some out): a new list is made");
  }
  for (const StoredArtifact& artifact : index->artifacts) {
    Status pushable = artifact.problem;
    if (pushable.ok() && !IsImageManifestMediaType(artifact.manifest.media_type)) {
      pushable = Unsupported("its media type '" + artifact.manifest.media_type +
                             "' is not pushed as is");
    }
    if (pushable.ok() && rules.oci_only && IsDockerType(artifact.manifest.media_type)) {
      pushable = Unsupported("an OCI layout holds OCI manifests");
    }
    if (!pushable.ok()) {
      return Converted(digest, "an attestation its index names cannot be pushed as it is (" +
                                   pushable.message() + "): a new list is made");
    }
  }
  if (!IsIndexMediaType(index->document.media_type)) {
    return Converted(
        digest, "its index's media type '" + index->document.media_type + "' is not pushed as is");
  }
  if (rules.oci_only && IsDockerType(index->document.media_type)) {
    return Converted(digest,
                     "an OCI layout holds OCI indexes: its Docker manifest list is "
                     "converted (as skopeo does)");
  }
  return {.kept = true, .archive_digest = digest, .reason = ""};
}

}  // namespace ppa
