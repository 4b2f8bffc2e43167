// The JSON report of `ppa-import save --json FILE|-` (README, "Air-gapped
// sites: save, carry, load"): what went into the archive, or would in a dry
// run, and why a run failed. Pure: the caller writes it (as `load` does,
// importer/report/report_destinations.h).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "importer/save/saved_chart.h"
#include "importer/save/saved_image.h"

namespace ppa {

struct SaveReport {
  std::string started, finished;  // RFC 3339 UTC
  std::string output;             // -o: FILE, or "-"
  bool dry_run = false;
  int exit_code = 0;
  Status error;                   // why the run failed; OK when it did not
  std::vector<const SavedImage*> images;  // in archive order
  std::vector<const SavedChart*> charts;
};

// The report as JSON text (ending in a newline), indented by `indent`
// (-1: one line). Strings from registries and files go through
// SetJsonText (importer/report/json_text.h).
std::string SaveReportJson(const SaveReport& report, int indent);

}  // namespace ppa
