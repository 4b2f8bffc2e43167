// The Charts stage (README, Usage): each chart is validated as Helm would
// load it, its image repositories in values.yaml get the target prefix
// (repository-keys; repackaged deterministically), and it is written to the
// charts folder, uploaded to ChartMuseum and pushed as a Helm OCI artifact
// as configured. A bad chart fails alone (Reporter item + one error line).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "docker_io/http_transport.h"
#include "docker_io/registry_client.h"
#include "helm_io/chartmuseum_client.h"
#include "importer/chart_options.h"
#include "importer/plan.h"
#include "importer/report.h"

namespace ppa {

struct ChartsContext {
  std::string charts_dir;  // ppa-import/charts (absolute)
  ChartOptions options;
  RegistryEndpoint registry;    // the target registry (values prefix, --charts-oci)
  std::string registry_prefix;  // path below the registry host; may be empty
  std::string target_namespace;
  Credentials credentials;      // for --charts-oci
  TransportOptions transport;   // TLS options, shared by ChartMuseum and the registry
  bool dry_run = false;         // validate and report only
  // The network seam; nullptr means MakeCurlTransport(transport).
  std::shared_ptr<HttpTransport> http;
};

void HandleCharts(const ImportPlan& plan, const ChartsContext& ctx, Reporter& reporter);

// The ChartMuseum settings from the flags, then the environment
// (PPA_IMPORT_CHARTMUSEUM_USER / _PASSWORD / _TOKEN) through `getenv`.
ChartMuseumConfig ResolveChartMuseumConfig(
    const ChartOptions& options, const std::function<std::string(const char*)>& getenv);

}  // namespace ppa
