// The options of `ppa-import load` (README, Usage), grouped by concern so
// each stage is handed the group it reads: which archives, where they go,
// what their images become, what happens to their charts, how the local
// work is done, and what the run reports. Filled by the CLI
// (importer/cli/cli.cc) from the command line, then PPA_IMPORT_* variables,
// then the config file; the defaults below are the flags' defaults.
// Plain values: copy them freely; none is shared between threads mutably.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "docker_io/image/layer_blob.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"
#include "docker_io/target/target.h"
#include "importer/load/chart_options.h"

namespace ppa {

// Which archives the run imports (importer/cli/archive_list.h): read once,
// by the pipeline's SelectArchives, before anything is connected.
struct ArchiveSelection {
  std::vector<std::string> archives;    // files or directories of archives; "-": standard input
  std::vector<std::string> list_files;  // --from-list: one archive path per line
  std::string shard;                    // --shard "I/N": every Nth archive of the sorted list
  int shard_count = 0;                  // --shard-count N, with JOB_COMPLETION_INDEX (Indexed Jobs)
  std::string job_completion_index;     // env JOB_COMPLETION_INDEX
};

// Where images and Helm OCI charts go and how to reach it: the run's one
// Target (importer/load/load_target.h). The namespace is below the target's
// path in every repository name.
struct TargetOptions {
  std::string registry;                 // --registry (ParseTarget): a registry, oci:DIR, ""
  std::string target_namespace;         // --namespace
  std::string namespace_rules = "ibm";  // --namespace-rules: "ibm" or "none" (ValidateNamespace)
  bool plain_http = false;              // --plain-http
  TransportOptions transport;           // TLS options, --timeout
  // Resolved by the CLI (importer/cli/credentials.h); left empty by another
  // caller, they are resolved without the flags (TargetCredentials).
  Credentials credentials;
  // Makes the run's HTTP transport (docker_io/target/target.h): the seam of
  // in-process tests of the whole load; null: curl.
  TransportFactory make_transport;
};

// What the images become in the target. Every field changes what lands
// (and so is part of the warm re-import's key, importer/load/warm_import.h).
struct ImageOptions {
  std::vector<std::string> architectures;  // --architectures/--platform; empty: every platform
  ManifestFormat format = ManifestFormat::kDocker;
  // --format given by the user (flag, environment or config file): every
  // image is converted to `format`; without it, an image whose manifest is
  // in the archive keeps it (docker_io/image/kept_digest.h).
  bool format_given = false;
  CompressionOptions compression;  // --compression, --compression-level
};

// How the local work is done: where, within which bound, how much at once,
// with or without the blob cache. Nothing here changes what lands.
struct WorkOptions {
  std::string workdir = "ppa-import";  // --workdir
  bool keep_workdir = false;           // --keep-workdir
  uint64_t max_unpacked_bytes = 0;  // --max-unpacked-size; 0: derived from the archive size
  // --no-cache: no blob cache (importer/load/blob_cache.h), no inflate
  // index, no warm re-import.
  bool no_blob_cache = false;
  int jobs = 0;               // --jobs: layers prepared concurrently (0: the cores)
  int parallel_archives = 1;  // --parallel-archives: archives imported at once
};

// What the run signs the images it stores with, and where signatures go
// (importer/load/sign_images.h). Empty: nothing is signed.
struct SignOptions {
  std::string sign_by;          // --sign-by: OpenPGP key (simple signing)
  std::string sign_key;         // --sign-key: private key file (cosign signatures)
  // --sign-passphrase-file: the key's passphrase (both keys' when both are
  // given); for --sign-key, COSIGN_PASSWORD when not given.
  std::string passphrase_file;
  // --sign-identity REGISTRY[/PREFIX]: what the signatures name in place of
  // the target's host and prefix (where clusters pull from, when that is not
  // the address pushed to); required for an OCI layout target.
  std::string identity;
  std::string registries_d;  // --registries.d DIR (default: as containers/image)
  bool enabled() const { return !sign_by.empty() || !sign_key.empty(); }
};

// What the run says about itself.
struct ReportOptions {
  // --json FILE|- (repeatable): where the JSON report goes, see
  // importer/report/report_destinations.h.
  std::vector<std::string> json_reports;
  bool quiet = false;  // -q: only failures and the verdict; no progress display
};

// Everything `load` is told. RunLoad reads it whole; a stage that needs
// one concern takes that group (SelectArchives: `selection`,
// TargetCredentials: `target`).
struct LoadOptions {
  ArchiveSelection selection;
  TargetOptions target;
  ImageOptions images;
  ChartOptions charts;  // chart flags (importer/cli/chart_flags.h)
  SignOptions sign;
  WorkOptions work;
  ReportOptions report;
  // --dry-run: everything but the writes (verify, plan, HEAD checks). Read
  // by every stage: the target refuses writes, the report says "would".
  bool dry_run = false;
};

}  // namespace ppa
