#include "importer/cli/usage_report.h"

#include <ostream>

#include "base/url_userinfo.h"
#include "importer/cli/cli.h"
#include "importer/report/display_text.h"
#include "importer/report/json_text.h"
#include "importer/report/report_destinations.h"
#include "importer/report/run_report.h"

namespace ppa {

std::string RenderUsageErrorReport(const Status& error, const std::string& target_namespace,
                                   int indent) {
  RunReport report;
  report.started = report.finished = NowRfc3339();
  report.target_namespace = target_namespace;
  report.exit_code = kExitUsage;
  OrderedJson j = OrderedJson::parse(RenderJsonReport(report));
  SetJsonText(j, "error", RedactUserInfoInText(error.message()));
  if (!error.hint().empty()) SetJsonText(j, "hint", RedactUserInfoInText(error.hint()));
  return DumpJson(j, indent) + "\n";
}

int ReportUsageError(const Status& error, const std::vector<std::string>& json_values,
                     const std::string& target_namespace, std::ostream& out, std::ostream& err) {
  PrintError(err, error);
  WriteReportTo(
      ReportDestinationsOf(json_values),
      [&](int indent) { return RenderUsageErrorReport(error, target_namespace, indent); }, out,
      [](const Status&) {});  // best effort: the run's error is already on `err`
  return kExitUsage;
}

}  // namespace ppa
