// Reads the charts `ppa-import save` saves (importer/save/saved_chart.h):
// a local package, a package URL of a chart repository (ChartMuseum's, or
// any Helm repository's, through helm_io/chartmuseum_client.h), or a Helm
// OCI artifact in a registry (docker_io/registry/registry_client.h). Every
// chart is checked as `load` checks charts before it goes into an archive.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "docker_io/registry/registry_client.h"
#include "helm_io/chartmuseum_client.h"
#include "importer/save/saved_chart.h"

namespace ppa {

// The clients a chart is read through, by host.
struct ChartClients {
  std::function<Result<RegistryClient*>(const std::string& host)> registry;
  std::function<std::unique_ptr<ChartMuseumClient>(const std::string& url)> repository;
};

// Reads `source`, checks it (InspectChartBytes) and its size (at most
// kMaxChartPackageBytes), and reads its provenance file when the source has
// one (FILE.prov beside a file, URL.prov beside a URL, the provenance layer
// of an OCI artifact). An OCI artifact must be a Helm chart (its config's
// media type) with one chart layer.
Result<SavedChart> PullChart(const ChartSource& source, ChartClients& clients);

// The package of `chart` read again from its source: it must still have
// `chart.digest` (kInvalidInput when it changed since PullChart).
Result<std::string> ReadChartAgain(const SavedChart& chart, ChartClients& clients);

}  // namespace ppa
