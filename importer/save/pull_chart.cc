#include "importer/save/pull_chart.h"

#include <filesystem>

#include "archive/tar/tar_index.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_formats.h"
#include "helm_io/helm_oci.h"
#include "importer/report/progress.h"

namespace ppa {
namespace {

// A chart package as read, and its provenance file.
struct ChartBytes {
  std::string package;
  std::optional<std::string> provenance;
};

Status TooLarge(const std::string& what, uint64_t size, uint64_t max) {
  return InvalidInput(what + " has " + HumanBytes(size) + "; a chart may have at most " +
                      HumanBytes(max));
}

Result<ChartBytes> ReadFileChart(const ChartSource& source, bool with_provenance) {
  ChartBytes out;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(source.location, ec)) {
    return NotFound("chart file '" + source.location + "' does not exist or is not a file",
                    "name a chart package (helm package writes NAME-VERSION.tgz)");
  }
  PPA_ASSIGN_OR_RETURN(out.package, ReadSmallFile(source.location, kMaxChartPackageBytes));
  const std::string prov = source.location + ".prov";
  if (with_provenance && std::filesystem::is_regular_file(prov, ec)) {
    PPA_ASSIGN_OR_RETURN(out.provenance, ReadSmallFile(prov, kMaxProvenanceBytes));
  }
  return out;
}

Result<ChartBytes> ReadUrlChart(const ChartSource& source, ChartClients& clients,
                                bool with_provenance) {
  std::unique_ptr<ChartMuseumClient> client = clients.repository(source.location);
  ChartBytes out;
  PPA_ASSIGN_OR_RETURN(std::optional<std::string> package,
                       client->Download(source.location, kMaxChartPackageBytes));
  if (!package) {
    return NotFound("chart '" + source.given + "': the server has no such file (HTTP 404)",
                    "take the chart's URL from the repository's index.yaml (urls:)");
  }
  out.package = std::move(*package);
  if (with_provenance) {
    // Optional: a server without it says 404, or 403 (object stores).
    PPA_ASSIGN_OR_RETURN(out.provenance,
                         client->Download(source.location + ".prov", kMaxProvenanceBytes,
                                          /*forbidden_is_missing=*/true));
  }
  return out;
}

// The chart and provenance layers of a Helm OCI artifact's manifest.
struct HelmLayers {
  Descriptor chart;
  std::optional<Descriptor> provenance;
};

Result<HelmLayers> HelmArtifactLayers(const ChartSource& source, const std::string& manifest) {
  Result<ImageManifest> parsed = ParseImageManifest(manifest);
  if (!parsed.ok()) return parsed.status().WithContext("chart '" + source.given + "'");
  if (parsed->config.media_type != helm_media_types::kConfig) {
    return InvalidInput("'" + source.given + "' is no Helm chart: its config is of type '" +
                            parsed->config.media_type + "'",
                        "name a chart `helm push` pushed (or save an image without oci://)");
  }
  HelmLayers out;
  int charts = 0;
  for (const Descriptor& layer : parsed->layers) {
    if (layer.media_type == helm_media_types::kChartContent) {
      out.chart = layer;
      ++charts;
    } else if (layer.media_type == helm_media_types::kProvenance) {
      out.provenance = layer;
    }
  }
  if (charts != 1) {
    return InvalidInput("Helm chart '" + source.given + "' has " + std::to_string(charts) +
                        " chart layers; one was expected");
  }
  return out;
}

Result<std::string> PullOciLayer(RegistryClient& client, const std::string& repo,
                                 const Descriptor& layer, size_t max, const std::string& what) {
  if (!IsValidSha256Digest(layer.digest) || !layer.size) {
    return InvalidInput(what + " has no sha256 digest or no size");
  }
  if (*layer.size > max) return TooLarge(what, *layer.size, max);
  std::string bytes;
  PPA_RETURN_IF_ERROR(client.GetBlob(repo, layer.digest, *layer.size, [&](std::string_view data) {
    bytes.append(data);
    return Status::Ok();
  }));
  return bytes;
}

Result<ChartBytes> ReadOciChart(const ChartSource& source, ChartClients& clients,
                                bool with_provenance) {
  PPA_ASSIGN_OR_RETURN(RegistryClient * client, clients.registry(source.ref.domain));
  const std::string reference = source.ref.digest.empty() ? source.ref.tag : source.ref.digest;
  PPA_ASSIGN_OR_RETURN(PulledManifest manifest, client->GetManifest(source.ref.path, reference));
  PPA_ASSIGN_OR_RETURN(HelmLayers layers, HelmArtifactLayers(source, manifest.body));
  ChartBytes out;
  PPA_ASSIGN_OR_RETURN(out.package,
                       PullOciLayer(*client, source.ref.path, layers.chart, kMaxChartPackageBytes,
                                    "chart '" + source.given + "'"));
  if (with_provenance && layers.provenance) {
    PPA_ASSIGN_OR_RETURN(out.provenance,
                         PullOciLayer(*client, source.ref.path, *layers.provenance,
                                      kMaxProvenanceBytes,
                                      "the provenance of '" + source.given + "'"));
  }
  return out;
}

Result<ChartBytes> ReadChart(const ChartSource& source, ChartClients& clients,
                             bool with_provenance) {
  switch (source.kind) {
    case ChartSource::Kind::kFile:
      return ReadFileChart(source, with_provenance);
    case ChartSource::Kind::kUrl:
      return ReadUrlChart(source, clients, with_provenance);
    case ChartSource::Kind::kOci:
      break;
  }
  return ReadOciChart(source, clients, with_provenance);
}

}  // namespace

Result<SavedChart> PullChart(const ChartSource& source, ChartClients& clients) {
  PPA_ASSIGN_OR_RETURN(ChartBytes read, ReadChart(source, clients, /*with_provenance=*/true));
  if (read.package.size() > kMaxChartPackageBytes) {
    return TooLarge("chart '" + source.given + "'", read.package.size(), kMaxChartPackageBytes);
  }
  PPA_ASSIGN_OR_RETURN(ChartInfo info,
                       InspectChartBytes(read.package, "chart '" + source.given + "'"));
  SavedChart chart{.source = source,
                   .metadata = info.metadata,
                   .digest = Sha256Digest(read.package),
                   .size = read.package.size(),
                   .provenance = std::move(read.provenance)};
  chart.file = ChartFileName(chart.metadata);
  return chart;
}

Result<std::string> ReadChartAgain(const SavedChart& chart, ChartClients& clients) {
  PPA_ASSIGN_OR_RETURN(ChartBytes read, ReadChart(chart.source, clients, false));
  if (Sha256Digest(read.package) != chart.digest) {
    return InvalidInput("chart '" + chart.source.given + "' changed while it was being saved",
                        "save again");
  }
  return std::move(read.package);
}

}  // namespace ppa
