// Where `load --json` sends its JSON report (README, "The JSON report").
// --json is repeatable; each value is a FILE or "-" (stdout).
//
// What stdout carries:
//  - "-" the only destination: the report and nothing else, indented (no
//    result lines, no progress): `ppa-import load ... --json - | jq`.
//  - "-" beside one FILE or more (a Kubernetes pod: a file on a volume and
//    the pod's log): the usual output, then the report as the last line of
//    stdout, on one line: `... | tail -n 1 | jq`.
//  - no "-": the usual output.
// stderr (warnings, errors, logs, progress on a terminal) is the same in
// every case. Files always get the indented report.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"

namespace ppa {

struct ReportDestinations {
  std::vector<std::string> files;  // in the order given, each once
  bool to_stdout = false;          // "-" given

  bool empty() const { return files.empty() && !to_stdout; }
  // stdout carries the report and nothing else: "-" without a FILE.
  bool stdout_only() const { return to_stdout && files.empty(); }
  // The JSON indentation of the report on stdout: 2 when stdout carries only
  // the report, -1 (one line) when it follows the usual output.
  int stdout_indent() const { return stdout_only() ? 2 : -1; }
};

// The destinations of the --json values as given (command line, else
// PPA_IMPORT_JSON, else the config file's `json`), pure: "-" means stdout,
// anything else a file; empty values are ignored and repeats count once.
ReportDestinations ReportDestinationsOf(const std::vector<std::string>& json_values);

// Writes the report to every destination: `render(indent)` is its text
// (ending in a newline) for a JSON indentation (2, or -1 for one line). Each
// FILE gets render(2), atomically, in order; a FILE that cannot be written
// is passed to `on_file_error` (its Status names the file) right away. stdout
// comes last, so nothing this writes follows the report there.
void WriteReportTo(const ReportDestinations& destinations,
                   const std::function<std::string(int indent)>& render, std::ostream& out,
                   const std::function<void(const Status&)>& on_file_error);

}  // namespace ppa
