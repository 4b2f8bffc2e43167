#include "importer/usage_report.h"

#include <ostream>

#include "archive/file_util.h"
#include "archive/url_userinfo.h"
#include "importer/cli.h"
#include "importer/display_text.h"
#include "importer/json_text.h"
#include "importer/run_report.h"

namespace ppa {

std::string RenderUsageErrorReport(const Status& error, const std::string& target_namespace) {
  RunReport report;
  report.started = report.finished = NowRfc3339();
  report.target_namespace = target_namespace;
  report.exit_code = kExitUsage;
  OrderedJson j = OrderedJson::parse(RenderJsonReport(report));
  SetJsonText(j, "error", RedactUserInfoInText(error.message()));
  if (!error.hint().empty()) SetJsonText(j, "hint", RedactUserInfoInText(error.hint()));
  return DumpJson(j, 2) + "\n";
}

int ReportUsageError(const Status& error, const std::string& json_path,
                     const std::string& target_namespace, std::ostream& out, std::ostream& err) {
  PrintError(err, error);
  if (json_path == "-") {
    out << RenderUsageErrorReport(error, target_namespace);
    out.flush();
  } else if (!json_path.empty()) {
    (void)WriteFileAtomic(json_path, RenderUsageErrorReport(error, target_namespace));
  }
  return kExitUsage;
}

}  // namespace ppa
