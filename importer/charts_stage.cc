#include "importer/charts_stage.h"

#include "archive/file_util.h"
#include "archive/safe_path.h"
#include "helm_io/chart.h"

namespace ppa {
namespace {

Status HandleChart(const PlannedChart& chart, const ChartsOptions& options, Reporter& reporter,
                   ItemResult& item) {
  PPA_RETURN_IF_ERROR(chart.problem);
  PPA_ASSIGN_OR_RETURN(ChartInfo info, InspectChartArchive(chart.path));
  item.name = chart.name + " (" + info.metadata.name + " " + info.metadata.version + ")";
  std::string dest = options.charts_dir + "/" + std::string(BaseName(chart.path));
  item.target = dest;
  reporter.Progress("Extracting chart '" + chart.name + "' to '" + options.charts_dir + "'.");
  if (options.dry_run) return Status::Ok();
  return CopyFile(chart.path, dest);
}

}  // namespace

void HandleCharts(const ImportPlan& plan, const ChartsOptions& options, Reporter& reporter) {
  for (const auto& chart : plan.charts) {
    ItemResult item{ItemResult::Kind::kChart, chart.name, "", "", 0, {}};
    item.status = HandleChart(chart, options, reporter, item);
    if (!item.status.ok()) reporter.Failure(item.status);
    reporter.Record(std::move(item));
  }
}

}  // namespace ppa
