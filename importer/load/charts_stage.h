// The Charts stage (README, Usage): each chart is validated as Helm would
// load it, its image repositories in values.yaml get the target prefix
// (repository-keys; repackaged deterministically), and it is written to the
// charts folder, uploaded to ChartMuseum and pushed as a Helm OCI artifact
// as configured. A bad chart fails alone (Reporter item + one error line).
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"
#include "helm_io/chartmuseum_client.h"
#include "importer/load/chart_options.h"
#include "importer/load/plan.h"
#include "importer/report/report.h"

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
  // Target repositories (below the registry host, "<prefix>/<namespace>/
  // <path>") a values.yaml value must not be pointed at: those of the
  // archive's images of which none was imported (UnimportedRepositories).
  std::set<std::string> unimported_repositories;
};

void HandleCharts(const ImportPlan& plan, const ChartsContext& ctx, Reporter& reporter);

// The target repositories of `plan` that got no image: every image planned
// for them failed (by `items`, the Images stage's results, matched by name)
// or --architectures left them out. A chart value naming a repository the
// archive has no image for at all is not among them (it comes from
// elsewhere). Pure.
std::set<std::string> UnimportedRepositories(const ImportPlan& plan,
                                             const std::vector<ItemResult>& items);

// The ChartMuseum settings from the flags, then the environment
// (PPA_IMPORT_CHARTMUSEUM_USER / _PASSWORD / _TOKEN) through `getenv`.
ChartMuseumConfig ResolveChartMuseumConfig(
    const ChartOptions& options, const std::function<std::string(const char*)>& getenv);

}  // namespace ppa
