// Builder API for sample PPA archives: layers, image tarballs in the three
// formats a PPA archive carries, Helm charts, and the outer archive with
// its manifests (README, How it works). Used by `ppa-make-sample`, the tests and
// the benchmark.
//
// Every output is deterministic: fixed mtimes (kSampleMtime), uid/gid 0,
// entries sorted by path, gzip without timestamps, JSON with sorted keys.
// The same spec always yields byte-identical files. Layer bytes are a pure
// function of their LayerSpec and are generated while being written, so
// layers of any size use constant memory (they are generated twice: once to
// learn their digest and size, once to write them).
//
// Functions here are thread-compatible: concurrent calls on distinct
// specs and output paths are safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "samples/generator/byte_sink.h"

namespace ppa::samples {

// 2024-01-01T00:00:00Z: the one timestamp of every generated file.
inline constexpr int64_t kSampleMtime = 1704067200;
inline constexpr const char* kSampleCreated = "2024-01-01T00:00:00Z";

// ---------------------------------------------------------------- layers

// One layer: a tar of `file_count` files under `directory` (with directory
// entries for every parent). Equal specs give identical bytes, hence the
// same diff_id: that is how two images share a base layer.
struct LayerSpec {
  uint64_t seed = 1;
  int file_count = 3;
  uint64_t file_size = 512;     // bytes per file
  bool random_content = false;  // incompressible pseudo-random bytes instead of text
  std::string directory = "opt/app";
};

struct LayerInfo {
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar
  uint64_t size = 0;    // bytes of the uncompressed tar
};

// Streams the uncompressed layer tar into `out` (does not close `out`).
Status WriteLayer(const LayerSpec& spec, ByteSink& out);
// The layer's diff_id and size, computed by generating it without storing.
Result<LayerInfo> DescribeLayer(const LayerSpec& spec);
// Writes the uncompressed layer tar to `path`.
Result<LayerInfo> WriteLayerFile(const LayerSpec& spec, const std::string& path);

// ---------------------------------------------------------------- images

struct ImageSpec {
  // Names inside the tarball ("org/name:tag"). Empty: `RepoTags: null` in
  // docker formats, no ref-name annotation in OCI layouts.
  std::vector<std::string> repo_tags;
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  std::vector<std::string> cmd = {"/bin/sh"};
  std::vector<LayerSpec> layers;
};

enum class ImageTarballFormat {
  // `docker save` before Docker 25: <id>/layer.tar, <id>/json, <id>/VERSION,
  // <config-hex>.json, manifest.json, repositories. A layer repeated within
  // the tarball under another id is a symlink to its first copy.
  kDockerLegacy,
  // Docker 25+: oci-layout, index.json, blobs/sha256/ (uncompressed layers)
  // beside manifest.json (Config/Layers as blob paths, LayerSources).
  kDocker25,
  // OCI image layout: gzip layers, index.json with one descriptor per image
  // annotated with org.opencontainers.image.ref.name = repo_tags[0].
  kOciLayout,
};

struct ImageTarballSpec {
  ImageTarballFormat format = ImageTarballFormat::kDockerLegacy;
  bool gzip = false;   // gzip the whole tarball
  int gzip_level = 6;  // whole-tarball and OCI layer compression level
  std::vector<ImageSpec> images;
};

// What was written for one image, for tests to compare against.
struct WrittenImage {
  std::vector<std::string> repo_tags;
  std::string config_digest;
  std::string config_json;
  std::string manifest_digest;             // OCI manifest (kDocker25, kOciLayout); else ""
  std::vector<std::string> diff_ids;       // one per layer, in order
  std::vector<std::string> layer_digests;  // blob digests as stored (gzip ones for OCI)
};

// The image config JSON (architecture, os, variant, created, config.Cmd,
// rootfs.diff_ids, history) for `image` with the given layer diff_ids.
std::string ImageConfigJson(const ImageSpec& image, const std::vector<std::string>& diff_ids);

// Writes one image tarball holding every image of `spec` into `out` (does
// not close `out`). Fails with kInvalidInput for an image without layers.
Result<std::vector<WrittenImage>> WriteImageTarball(const ImageTarballSpec& spec, ByteSink& out);
Result<std::vector<WrittenImage>> WriteImageTarballFile(const ImageTarballSpec& spec,
                                                        const std::string& path);

// ---------------------------------------------------------------- charts

struct ChartImage {
  std::string repository_key;  // dotted values.yaml key ending in ".repository"
  std::string repository;      // "ibmcom/portal"
  std::string tag;             // "2.1.0"
};

// A Helm chart: one top directory `<name>/` with Chart.yaml (apiVersion v2),
// values.yaml (one block per image, with comments), .helmignore,
// templates/deployment.yaml (+ service.yaml, _helpers.tpl, NOTES.txt when
// `rich`), and one directory chart per entry of `subcharts` under charts/.
struct ChartSpec {
  std::string name;
  std::string version;
  std::string description;
  std::string app_version = "1.0.0";
  std::vector<ChartImage> images;
  std::vector<std::string> subcharts;
  bool rich = false;
};

// The chart's `values.yaml` text.
std::string ChartValuesYaml(const ChartSpec& chart);
// The chart packaged as Helm does (`<name>/...` entries, gzip).
Result<std::string> BuildChartTgz(const ChartSpec& chart);

// ---------------------------------------------------------------- PPA manifests

struct YamlReference {
  std::string repository;       // "org/name:tag-amd64"
  std::string pull_repository;  // "" omits the key
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "" omits the key
  std::string archive;  // "" omits the key
};
struct YamlImage {
  std::string image;  // fat manifest name "org/name:tag"
  std::vector<YamlReference> references;
};
struct YamlChart {
  std::string archive;  // as written, e.g. "file:x.tgz"
  std::vector<std::string> repository_keys;
};
struct JsonImage {
  std::string image;  // "org/name"
  std::string tag;
  std::string archive;  // "" omits the key
};
struct JsonChart {
  std::string archive;
  std::vector<std::string> images;  // values keys
};

// manifest.yaml in the newer dialect (with a leading comment).
std::string RenderManifestYaml(const std::vector<YamlImage>& images,
                               const std::vector<YamlChart>& charts);
// manifest.json in the older dialect ("manifest-revision": "1.0"), entries
// in the given order (repeats kept).
std::string RenderManifestJson(const std::vector<JsonImage>& images,
                               const std::vector<JsonChart>& charts);

// ---------------------------------------------------------------- PPA archive

struct PpaArchiveSpec {
  struct Image {
    std::string path;  // inside the archive: "images/x.tar.gz"
    ImageTarballSpec tarball;
  };
  struct Chart {
    std::string path;  // "charts/x-1.0.0.tgz"
    ChartSpec chart;
  };
  std::vector<Image> images;
  std::vector<Chart> charts;
  std::optional<std::string> manifest_yaml;  // written as manifest.yaml when set
  std::optional<std::string> manifest_json;  // written as manifest.json when set
  // Any other files (path inside the archive, content), e.g. hostile entries.
  std::vector<std::pair<std::string, std::string>> extra_files;
  bool gzip = true;  // false: plain tar
};

// Writes the outer PPA archive to `out_path`. Image tarballs are staged in
// a temporary folder beside `out_path` (removed afterwards), so memory does
// not grow with layer sizes.
Status WritePpaArchive(const PpaArchiveSpec& spec, const std::string& out_path);

// ---------------------------------------------------------------- ready-made samples

// The bundled demo sample (`ppa-make-sample sample`), see DemoSampleSpec()
// in ready_made.cc for its exact contents; under 1 MiB.
PpaArchiveSpec DemoSampleSpec();
// Shaped like public IBM PPA archives (`ppa-make-sample ibm-shaped`):
// fourteen images saved under upstream names, listed under IBM names.
PpaArchiveSpec IbmShapedSpec();

}  // namespace ppa::samples
