// The load pipeline: one function that lists the stages (Unpack, Plan,
// Images, Charts, Report) for each archive.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "archive/status.h"
#include "docker_io/http_transport.h"
#include "docker_io/layer_blob.h"
#include "docker_io/registry_client.h"
#include "importer/chart_options.h"

namespace ppa {

struct LoadOptions {
  std::vector<std::string> archives;    // files or directories of archives
  std::vector<std::string> list_files;  // --from-list: one archive path per line
  std::string shard;                    // "I/N": every Nth archive of the sorted list
  int shard_count = 0;                  // with JOB_COMPLETION_INDEX (Indexed Jobs)
  std::string job_completion_index;     // env JOB_COMPLETION_INDEX
  int parallel_archives = 1;
  std::string json_report;              // --json FILE, or "-" for stdout
  std::string target_namespace;
  std::string namespace_rules = "ibm";  // "ibm" or "none"
  std::string registry;                 // HOST[:PORT][/PREFIX]
  TransportOptions transport;           // TLS options, --timeout
  bool plain_http = false;
  Credentials credentials;
  std::string workdir = "ppa-import";
  bool keep_workdir = false;
  uint64_t max_unpacked_bytes = 0;  // --max-unpacked-size; 0: derived from the archive size
  bool dry_run = false;  // everything but the writes: verify, plan, HEAD checks
  std::vector<std::string> architectures;  // empty: every platform
  ManifestFormat format = ManifestFormat::kDocker;
  CompressionOptions compression;
  int jobs = 0;                // --jobs: layers prepared concurrently (0: the cores)
  bool no_blob_cache = false;  // --no-cache: no blob cache (importer/blob_cache.h), no inflate index
  bool quiet = false;
  ChartOptions charts;  // chart flags (importer/chart_flags.h)
};

// Runs `ppa-import load`; returns the exit status (README, Usage).
int RunLoad(const LoadOptions& options, std::ostream& out, std::ostream& err);

// IBM Cloud Container Registry namespace rules: 4 to 30 characters,
// lowercase letters, digits and underscores, starting with a letter or a
// digit. With rules "none" only the distribution grammar applies.
Status ValidateNamespace(const std::string& ns, const std::string& rules);

struct RegistryAddress {
  RegistryEndpoint endpoint;
  std::string prefix;  // path below the host, may be empty
  // "user:password@" written into the address (archive/url_userinfo.h),
  // percent-decoded; used when no other credentials are given. A secret.
  Credentials userinfo;
};
// Parses "HOST[:PORT][/PREFIX]" (an "http://" or "https://" scheme is
// accepted; "http://" means plain HTTP). User info ("user:pw@HOST") is
// taken out into `userinfo`; error messages never show it.
Result<RegistryAddress> ParseRegistryAddress(const std::string& text, bool plain_http);

}  // namespace ppa
