// Small OCI image layout tarballs built in the test, for the kept-digest
// tests (docker_io/image/kept_digest.h): one image or a multi-arch index,
// layers stored gzip, zstd or uncompressed, OCI or Docker media types. The
// documents are written the way a vendor's tool might (indented JSON, key
// order of its own), so a manifest ppa-import builds never has their bytes:
// an image lands with its archive digest only when it is pushed as stored.
// Listed in tests/data/images/README.md.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa::test {

struct OciTestLayer {
  std::string tar;         // the layer's uncompressed tar: its diff_id
  std::string stored;      // its blob as stored (compressed or the tar itself)
  std::string media_type;  // in the manifest
  // The size the manifest gives it; unset: the stored blob's true size.
  std::optional<size_t> declared_size;
};

// A layer of one file `name` holding `content`, stored gzip-compressed.
inline OciTestLayer GzipTestLayer(const std::string& name, const std::string& content) {
  std::string tar = BuildRawTar({{name, '0', content}});
  return {.tar = tar, .stored = Gzip(tar), .media_type = std::string(media_types::kOciLayerGzip)};
}

// The same, stored as the uncompressed tar.
inline OciTestLayer TarTestLayer(const std::string& name, const std::string& content) {
  std::string tar = BuildRawTar({{name, '0', content}});
  return {.tar = tar, .stored = tar, .media_type = std::string(media_types::kOciLayerTar)};
}

// The same, stored zstd-compressed by the zstd program (in `scratch`).
inline OciTestLayer ZstdTestLayer(const std::string& name, const std::string& content,
                                  const std::string& scratch) {
  std::string tar = BuildRawTar({{name, '0', content}});
  std::string in = scratch + "/zstd-in-" + std::string(DigestHex(Sha256Digest(tar))) + ".tar";
  WriteFileOrDie(in, tar);
  ProcessResult z = RunProcess({"zstd", "-q", "-f", "-19", in, "-o", in + ".zst"});
  if (z.exit_code != 0) return {};
  auto stored = ReadFileToString(in + ".zst");
  return {.tar = tar,
          .stored = stored.ok() ? *stored : std::string(),
          .media_type = std::string(media_types::kOciLayerZstd)};
}

struct OciTestImage {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::vector<OciTestLayer> layers;
  std::string manifest_media_type = std::string(media_types::kOciManifest);
  std::string config_media_type = std::string(media_types::kOciConfig);
  std::string name;  // ref.name annotation of its descriptor; "" for none
  // The sizes the manifest gives its config and the index gives the
  // manifest; unset: the true sizes.
  std::optional<size_t> config_declared_size;
  std::optional<size_t> manifest_declared_size;
};

struct OciTestLayout {
  std::map<std::string, std::string> blobs;  // digest -> bytes
  std::string index_json;
  std::vector<std::string> manifests;  // digests of the image manifests, in order
  std::vector<std::string> attestations;  // digests of the attestation manifests
  std::string index;                   // digest of the index blob; "" without one

  std::string Tar() const {
    std::vector<RawTarEntry> entries = {{"oci-layout", '0', R"({"imageLayoutVersion":"1.0.0"})"},
                                        {"index.json", '0', index_json},
                                        {"blobs/", '5'},
                                        {"blobs/sha256/", '5'}};
    for (const auto& [digest, bytes] : blobs) {
      entries.push_back({"blobs/sha256/" + std::string(DigestHex(digest)), '0', bytes});
    }
    return BuildRawTar(entries);
  }
  // Adds `bytes` as a blob; returns its digest.
  std::string Add(const std::string& bytes) {
    std::string digest = Sha256Digest(bytes);
    blobs[digest] = bytes;
    return digest;
  }
};

// A descriptor in a vendor's key order ("digest" first, unlike ours).
inline nlohmann::ordered_json TestDescriptor(const std::string& media_type,
                                             const std::string& digest, size_t size) {
  return {{"digest", digest}, {"mediaType", media_type}, {"size", size}};
}

// Adds the config, layers and manifest of `image` to `layout`; returns the
// manifest's descriptor.
inline nlohmann::ordered_json AddTestImage(OciTestLayout& layout, const OciTestImage& image) {
  nlohmann::ordered_json diff_ids = nlohmann::ordered_json::array();
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const auto& l : image.layers) {
    diff_ids.push_back(Sha256Digest(l.tar));
    layers.push_back(TestDescriptor(l.media_type, layout.Add(l.stored),
                                    l.declared_size.value_or(l.stored.size())));
  }
  nlohmann::ordered_json config = {{"architecture", image.architecture},
                                   {"os", image.os},
                                   {"config", {{"Env", {"PATH=/usr/bin:/bin"}}}},
                                   {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  std::string config_bytes = config.dump(2);
  nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", image.manifest_media_type},
      {"config",
       TestDescriptor(image.config_media_type, layout.Add(config_bytes),
                      image.config_declared_size.value_or(config_bytes.size()))},
      {"layers", layers},
      {"annotations", {{"org.opencontainers.image.vendor", "Test Vendor"}}}};
  std::string manifest_bytes = manifest.dump(3);
  std::string digest = layout.Add(manifest_bytes);
  layout.manifests.push_back(digest);
  auto desc = TestDescriptor(image.manifest_media_type, digest,
                             image.manifest_declared_size.value_or(manifest_bytes.size()));
  desc["platform"] = {{"architecture", image.architecture}, {"os", image.os}};
  if (!image.name.empty()) {
    desc["annotations"] = {{std::string(media_types::kRefNameAnnotation), image.name}};
  }
  return desc;
}

// One image, listed by index.json.
inline OciTestLayout OciSingleImageLayout(const OciTestImage& image) {
  OciTestLayout layout;
  nlohmann::ordered_json index = {{"schemaVersion", 2},
                                  {"manifests", {AddTestImage(layout, image)}}};
  layout.index_json = index.dump();
  return layout;
}

// A BuildKit provenance attestation of the image manifest `subject`, as
// `docker buildx build` writes one beside each platform image: an OCI image
// manifest of platform unknown/unknown whose layer is an in-toto statement.
// Returns its descriptor for the index.
inline nlohmann::ordered_json AddTestAttestation(OciTestLayout& layout,
                                                 const std::string& subject) {
  nlohmann::ordered_json statement = {
      {"_type", "https://in-toto.io/Statement/v0.1"},
      {"predicateType", "https://slsa.dev/provenance/v0.2"},
      {"subject", {{{"name", "_"}, {"digest", {{"sha256", std::string(DigestHex(subject))}}}}}},
      {"predicate", {{"buildType", "https://mobyproject.org/buildkit@v1"}}}};
  std::string statement_bytes = statement.dump();
  std::string statement_digest = layout.Add(statement_bytes);
  nlohmann::ordered_json config = {
      {"architecture", "unknown"},
      {"os", "unknown"},
      {"config", nlohmann::ordered_json::object()},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {statement_digest}}}}};
  std::string config_bytes = config.dump();
  auto layer = TestDescriptor("application/vnd.in-toto+json", statement_digest,
                              statement_bytes.size());
  layer["annotations"] = {{"in-toto.io/predicate-type", "https://slsa.dev/provenance/v0.2"}};
  nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", media_types::kOciManifest},
      {"config", TestDescriptor(std::string(media_types::kOciConfig), layout.Add(config_bytes),
                                config_bytes.size())},
      {"layers", {layer}}};
  std::string bytes = manifest.dump();
  std::string digest = layout.Add(bytes);
  layout.attestations.push_back(digest);
  auto desc = TestDescriptor(std::string(media_types::kOciManifest), digest, bytes.size());
  desc["annotations"] = {{"vnd.docker.reference.digest", subject},
                         {"vnd.docker.reference.type", "attestation-manifest"}};
  desc["platform"] = {{"architecture", "unknown"}, {"os", "unknown"}};
  return desc;
}

// A multi-arch image: index.json lists one index blob (named `name`) of
// `index_media_type` that lists `images` (each named by its own `name`, so
// a PPA manifest can pick each from the one file), and with `attested` a
// BuildKit attestation of each after them.
inline OciTestLayout OciMultiArchLayout(
    const std::vector<OciTestImage>& images, const std::string& name,
    const std::string& index_media_type = std::string(media_types::kOciIndex),
    bool attested = false) {
  OciTestLayout layout;
  nlohmann::ordered_json children = nlohmann::ordered_json::array();
  for (const auto& image : images) children.push_back(AddTestImage(layout, image));
  if (attested) {
    for (size_t i = 0; i < images.size(); ++i) {
      children.push_back(AddTestAttestation(layout, layout.manifests[i]));
    }
  }
  nlohmann::ordered_json blob = {
      {"schemaVersion", 2}, {"mediaType", index_media_type}, {"manifests", children}};
  std::string bytes = blob.dump(3);
  layout.index = layout.Add(bytes);
  auto desc = TestDescriptor(index_media_type, layout.index, bytes.size());
  desc["annotations"] = {{std::string(media_types::kRefNameAnnotation), name}};
  layout.index_json = nlohmann::ordered_json{{"schemaVersion", 2}, {"manifests", {desc}}}.dump();
  return layout;
}

}  // namespace ppa::test
