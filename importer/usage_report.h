// The JSON report of a run that stopped on a usage error (exit status 2)
// before any archive was read: `--json -` still gets one JSON object on
// stdout, with the report's usual fields (README, "The JSON report"), no
// archives, and "error"/"hint" saying why.
#pragma once

#include <ostream>
#include <string>

#include "archive/status.h"

namespace ppa {

// The report of a run stopped by `error` (pure): RenderJsonReport of an
// empty run with exit_code 2 (and the namespace, when known), plus the
// top-level fields "error" and "hint" (user info of URLs removed).
std::string RenderUsageErrorReport(const Status& error, const std::string& target_namespace);

// Prints `error` as one Error/Hint pair on `err` and, when `json_path` is
// "-", its report on `out`; for a FILE path the report is written there
// when it can be (best effort: the error is already on `err`). Returns 2.
int ReportUsageError(const Status& error, const std::string& json_path,
                     const std::string& target_namespace, std::ostream& out, std::ostream& err);

}  // namespace ppa
