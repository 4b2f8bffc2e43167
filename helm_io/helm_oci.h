// Helm charts as OCI artifacts, pushed the way `helm push` (Helm 3.8+) does
// (README, Usage): a config blob holding the Chart.yaml metadata as JSON,
// the chart `.tgz` as the one content layer (plus the provenance file when
// there is one), and an OCI image manifest with Helm's annotations.
//
// The builders are pure functions; PushHelmChart sends through the run's
// target like every image (docker_io/target/blob_pusher.h): a registry, an
// OCI image layout (where the chart is a Helm OCI artifact tagged in
// index.json, as `oras copy --to-oci-layout` leaves it) or a dry run.
// Thread-safe as the pusher and its sink are.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "docker_io/target/blob_pusher.h"

namespace ppa {

namespace helm_media_types {
inline constexpr std::string_view kConfig = "application/vnd.cncf.helm.config.v1+json";
inline constexpr std::string_view kChartContent =
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
inline constexpr std::string_view kProvenance =
    "application/vnd.cncf.helm.chart.provenance.v1.prov";
}  // namespace helm_media_types

// The config blob: Chart.yaml as Helm marshals its chart.Metadata to JSON
// (Go field order, empty fields left out: name, home, sources, version,
// description, keywords, maintainers, icon, apiVersion, condition, tags,
// appVersion, deprecated, annotations, kubeVersion, dependencies, type).
// kInvalidInput when `chart_yaml` is not a YAML mapping.
Result<std::string> HelmConfigJson(std::string_view chart_yaml);

// The tag Helm uses for a chart version: "+" becomes "_" (OCI tags cannot
// hold "+").
std::string HelmOciTag(std::string_view version);

// Where --charts-oci pushes a chart: "<prefix>/<namespace>/charts/<name>"
// (prefix left out when empty) and HelmOciTag(version).
struct HelmOciTarget {
  std::string repository;
  std::string tag;
};

// The target of the chart `name` at `version`, checked against the OCI
// distribution grammar (docker_io/image/image_reference.h) before anything is
// sent. kInvalidInput with a hint: "invalid chart name '<name>': <why>"
// when the name is not one repository path component (lowercase letters
// and digits, '.', '_', '__' or '-' between them: no '/', '?', '#', '%',
// space, uppercase); "invalid tag '<tag>'" for a version that gives no tag;
// "invalid image name" when the combined repository breaks the grammar.
Result<HelmOciTarget> HelmChartTarget(std::string_view prefix, std::string_view target_namespace,
                                      std::string_view name, std::string_view version);

struct HelmChartArtifact {
  std::string chart_yaml;                 // the chart's Chart.yaml text
  std::string chart_tgz;                  // the package bytes as uploaded
  std::optional<std::string> provenance;  // the .prov file, when present
  std::string created;                    // RFC 3339 UTC, e.g. "2024-05-01T10:00:00Z"
};

struct HelmOciManifest {
  std::string config;    // config blob bytes
  std::string manifest;  // OCI image manifest JSON
  std::string tag;
};

// Builds the config and the manifest (annotations: org.opencontainers.image.
// title/version/description/url/source/authors/created and the chart's own
// annotations, as Helm's generateOCIAnnotations writes them).
Result<HelmOciManifest> BuildHelmOciManifest(const HelmChartArtifact& chart);

struct HelmPushResult {
  std::string reference;  // "<repo>:<tag>"
  std::string digest;     // manifest digest
  size_t manifest_size = 0;
};

// Pushes `chart` to `<repo>:<tag>` (repo like "ns/charts/mychart") through
// `pusher`: the config and content blobs (and the provenance) the target
// lacks (HEAD, mount, upload), then the manifest, last, through the
// pusher's sink. kInvalidInput, with nothing sent, when `repo`, the
// chart's name or the tag breaks the grammar (HelmChartTarget); an error
// when the target stores the manifest under another digest.
Result<HelmPushResult> PushHelmChart(BlobPusher& pusher, const std::string& repo,
                                     const HelmChartArtifact& chart);

}  // namespace ppa
