// Pure parsers for the JSON documents found inside image tarballs:
// `docker save`'s manifest.json, OCI index.json and image manifests, and
// image configs. No I/O; each returns kInvalidInput naming the document on
// malformed input.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "archive/manifest/ppa_manifest.h"  // Platform
#include "base/status.h"

namespace ppa {

struct Descriptor {
  std::string media_type;
  std::string digest;
  // The blob's size in bytes; unset when the document gives none (or not
  // as an unsigned number).
  std::optional<uint64_t> size;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

// One entry of docker save's manifest.json.
struct DockerSaveEntry {
  std::string config;                  // path of the config file in the tarball
  std::vector<std::string> repo_tags;  // may be empty (RepoTags: null)
  std::vector<std::string> layers;     // paths in the tarball, base layer first
  std::map<std::string, Descriptor> layer_sources;  // digest -> descriptor (Docker 25+)
};

// `[]`, `null` and an empty document are errors: a save with no image.
Result<std::vector<DockerSaveEntry>> ParseDockerSaveManifest(std::string_view json);

struct OciIndex {
  std::string media_type;  // as declared (may be empty: index.json need not say)
  std::vector<Descriptor> manifests;
};
Result<OciIndex> ParseOciIndex(std::string_view json);

struct ImageManifest {
  std::string media_type;  // as declared (may be empty in old OCI manifests)
  Descriptor config;
  std::vector<Descriptor> layers;
};
// Parses an OCI image manifest or a Docker v2 schema 2 manifest.
Result<ImageManifest> ParseImageManifest(std::string_view json);

struct ImageConfig {
  Platform platform;                  // os / architecture / variant
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, base layer first
};
Result<ImageConfig> ParseImageConfig(std::string_view json);

// True for index / manifest-list media types.
bool IsIndexMediaType(std::string_view media_type);
// True for single-image manifest media types.
bool IsImageManifestMediaType(std::string_view media_type);

// Whether `manifest` describes no container image but an OCI artifact in an
// image manifest: a config that is no image config (a Helm chart's), or a
// layer that is a document rather than a filesystem (a JSON or text media
// type, cosign's, DSSE's, in-toto's: signatures, attestations, SBOMs).
// Such a manifest is pushed as it is, its blobs untouched: they are no tar
// to verify against diff_ids or to compress. Descriptors without a media
// type, and layers of any other type, count as an image's.
bool IsArtifactManifest(const ImageManifest& manifest);

}  // namespace ppa
