// The checks of `load`'s values that end a run with exit status 2 before any
// work starts (nothing unpacked, nothing connected): so a mistake costs no
// time, and `--json` still gets a report naming it (importer/cli/usage_report.h).
#pragma once

#include <string>

#include "base/file_util.h"
#include "base/status.h"
#include "docker_io/image/layer_blob.h"
#include "importer/load/pipeline.h"

namespace ppa {

// The manifest format of a run (pure). `format_flag` is --format as given
// ("" when not given anywhere: command line, environment, config file).
// Docker manifests cannot carry zstd layers, so with --compression zstd an
// explicit "docker" is kInvalidInput (hint: --format oci), and no --format
// means OCI with `*warning` set to one line saying so. Otherwise "oci" is
// OCI and "docker" or "" is Docker; `*warning` is left empty.
Result<ManifestFormat> ChooseManifestFormat(const std::string& format_flag,
                                            Compression compression, std::string* warning);

// The usage errors `load` would otherwise find late, in this order: a
// --json FILE cannot be written (each in turn) (importer/cli/usage_errors.h); a malformed
// --chartmuseum-uri (importer/cli/chart_flags.h); a signing flag without a
// key, or a malformed --sign-identity (importer/cli/sign_flags.h); --shard / --shard-count with
// JOB_COMPLETION_INDEX (importer/cli/archive_list.h); a namespace that breaks
// --namespace-rules; no archive given, or an archive path that does not
// exist (what a directory holds is judged by the run, ExpandArchives).
// Reads the file system (stat, directory listings, one probe file).
Status CheckLoadUsage(const LoadOptions& options);

}  // namespace ppa
