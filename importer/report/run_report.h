// The outcome of a whole `load` run, across archives: the JSON report
// (documented in README.md) and the batch summary table. Rendering is pure;
// nothing here may ever hold a secret (credentials never reach ItemResult,
// and URLs in messages lose their user info here too).
//
// Strings that are not valid UTF-8 (entry names, the archive's file name)
// never abort the rendering: they are written as importer/report/json_text.h says
// (U+FFFD in the field, the exact bytes in `<field>_base64`). The summary
// table shows them escaped (importer/report/display_text.h).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "importer/report/report.h"
#include "importer/load/written_blobs.h"

namespace ppa {

struct ArchiveOutcome {
  std::string archive;
  int exit_code = 0;
  Status fatal;  // not OK when the archive could not be read at all
  std::vector<ItemResult> items;
  TransferStats transfer;
  std::string started, finished;  // RFC 3339 UTC
  // Blobs written to the target for an archive found unreadable (exit 3)
  // after its layers had started to upload: untagged, no manifest names
  // them. Empty otherwise.
  std::vector<WrittenBlob> untagged_blobs;
};

// The report's version of its own layout (README, "The JSON report"): a
// field renamed or removed, or a meaning changed, raises it; fields are
// added without.
inline constexpr int kJsonReportSchemaVersion = 1;

// An archive's verdict: "ok" (nothing failed, exit 0); "partial" (something
// failed and some image landed); "failed" (something failed and no image
// landed: every image failed, charts or not, or the archive failed before
// any item); "unreadable" (exit 3). An archive without images counts its
// charts instead.
const char* ArchiveStatus(const ArchiveOutcome& outcome);

struct RunReport {
  std::string started, finished;
  std::string target;  // "host:port[/prefix]" or "oci:DIR"
  std::string target_namespace;
  std::vector<ArchiveOutcome> archives;
  int exit_code = 0;
};

// "2026-11-28T10:26:27Z"
std::string NowRfc3339();

// The JSON report (README, "The JSON report"), ending in a newline:
// indented by `indent` spaces, or on one line with -1.
std::string RenderJsonReport(const RunReport& report, int indent = 2);

// A fixed-width table: archive, images, charts, failed, status.
std::string RenderSummaryTable(const RunReport& report);

}  // namespace ppa
