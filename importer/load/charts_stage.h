// The Charts stage (README, Usage): each chart is validated as Helm would
// load it, its image repositories in values.yaml get the target prefix
// (repository-keys; repackaged deterministically), and it is written to the
// charts folder, uploaded to ChartMuseum and pushed as a Helm OCI artifact
// as configured, through the run's Target like every image (a registry, or
// the OCI image layout, where the chart is a Helm OCI artifact tagged in
// index.json). A bad chart fails alone (Reporter item + one error line).
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "docker_io/target/target.h"
#include "helm_io/chartmuseum_client.h"
#include "importer/load/chart_options.h"
#include "importer/load/plan.h"
#include "importer/report/report.h"

namespace ppa {

struct ChartsContext {
  std::string charts_dir;  // ppa-import/charts (absolute)
  ChartOptions options;
  // The run's target (not owned): the values prefix, the --charts-oci push
  // (with its credentials and TLS settings) and the transport a ChartMuseum
  // is reached through. In a dry run nothing is written or sent.
  const Target* target = nullptr;
  // Where --charts-oci writes (not owned): the archive's view of
  // target->sink() (importer/load/written_blobs.h); null: target->sink().
  BlobSink* sink = nullptr;
  std::string target_namespace;
  // Target repositories (below the registry host, "<prefix>/<namespace>/
  // <path>") a values.yaml value must not be pointed at: those of the
  // archive's images of which none was imported (UnimportedRepositories).
  std::set<std::string> unimported_repositories;
};

// Handles every chart of `plan`; returns one item per chart, in plan order
// (each also recorded with `reporter`, which prints the lines).
std::vector<ItemResult> HandleCharts(const ImportPlan& plan, const ChartsContext& ctx,
                                     Reporter& reporter);

// The target repositories of `plan` that got no image: every image planned
// for them failed (by `items`, the Images stage's results: ImagesPushed::
// items, matched by name) or --architectures left them out. A chart value
// naming a repository the archive has no image for at all is not among
// them (it comes from elsewhere). Pure.
std::set<std::string> UnimportedRepositories(const ImportPlan& plan,
                                             const std::vector<ItemResult>& items);

// The ChartMuseum settings from the flags, then the environment
// (PPA_IMPORT_CHARTMUSEUM_USER / _PASSWORD / _TOKEN) through `getenv`.
ChartMuseumConfig ResolveChartMuseumConfig(
    const ChartOptions& options, const std::function<std::string(const char*)>& getenv);

}  // namespace ppa
