#include "importer/cli/usage_checks.h"

#include "importer/cli/sign_flags.h"

#include <filesystem>

#include "archive/tar/unpack.h"
#include "importer/cli/archive_list.h"
#include "importer/cli/chart_flags.h"
#include "importer/report/report_destinations.h"
#include "importer/cli/usage_errors.h"

namespace ppa {

Result<ManifestFormat> ChooseManifestFormat(const std::string& format_flag,
                                            Compression compression, std::string* warning) {
  if (compression == Compression::kZstd) {
    if (format_flag == "docker") {
      return InvalidInput("--compression zstd cannot be used with --format docker: Docker "
                          "manifests have no media type for zstd layers",
                          "use --format oci with zstd, or --compression gzip for Docker manifests");
    }
    if (format_flag.empty()) {
      *warning =
          "--compression zstd: writing OCI manifests (Docker manifests have no media type for "
          "zstd layers); pass --format oci to say so";
      return ManifestFormat::kOci;
    }
  }
  return format_flag == "oci" ? ManifestFormat::kOci : ManifestFormat::kDocker;
}

Status CheckLoadUsage(const LoadOptions& o) {
  for (const std::string& file : ReportDestinationsOf(o.report.json_reports).files) {
    PPA_RETURN_IF_ERROR(CheckReportPathWritable(file));
  }
  PPA_RETURN_IF_ERROR(ValidateChartMuseumUri(o.charts.chartmuseum_uri));
  PPA_RETURN_IF_ERROR(CheckSignUsage(o.sign));
  const ArchiveSelection& selection = o.selection;
  PPA_RETURN_IF_ERROR(
      ResolveShard(selection.shard, selection.job_completion_index, selection.shard_count)
          .status());
  PPA_RETURN_IF_ERROR(ValidateNamespace(o.target.target_namespace, o.target.namespace_rules));
  if (selection.archives.empty() && selection.list_files.empty()) {
    return InvalidInput("no archive given",
                        "pass archive files or directories as arguments, --archive or --from-list");
  }
  // Only existence: what a directory holds is ExpandArchives's to judge, in
  // the run itself.
  for (const auto& path : selection.archives) {
    std::error_code ec;
    if (!IsStdinArchive(path) && !std::filesystem::exists(path, ec)) {
      return NotFound("archive '" + path + "' does not exist",
                      "check the path; pass archive files or directories of them");
    }
  }
  return Status::Ok();
}

}  // namespace ppa
