// The JSON report of a run that stopped on a usage error (exit status 2)
// before any archive was read: every --json destination still gets one JSON
// object (stdout as importer/report/report_destinations.h says), with the report's
// usual fields (README, "The JSON report"), no archives, and "error"/"hint"
// saying why.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"

namespace ppa {

// The report of a run stopped by `error` (pure): RenderJsonReport of an
// empty run with exit_code 2 (and the namespace, when known), plus the
// top-level fields "error" and "hint" (user info of URLs removed); indented
// by `indent` spaces, or on one line with -1; ends in a newline.
std::string RenderUsageErrorReport(const Status& error, const std::string& target_namespace,
                                   int indent = 2);

// Prints `error` as one Error/Hint pair on `err` and sends its report to
// the destinations of `json_values` (the --json values, ReportDestinationsOf):
// "-" to `out`, each FILE when it can be written (best effort: the error is
// already on `err`). Returns 2.
int ReportUsageError(const Status& error, const std::vector<std::string>& json_values,
                     const std::string& target_namespace, std::ostream& out, std::ostream& err);

}  // namespace ppa
