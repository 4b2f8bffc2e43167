#include "importer/cli.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "archive/url_userinfo.h"
#include "importer/chart_flags.h"
#include "importer/config_file.h"
#include "importer/connection_flags.h"
#include "importer/credentials.h"
#include "importer/display_text.h"
#include "importer/doctor_flags.h"
#include "importer/inspect.h"
#include "importer/pipeline.h"

namespace ppa {
namespace {

// The archive is read through a mapping (MappedFile): a page of it that
// another process cut off raises SIGBUS when touched. Say so and stop with
// the status of an unreadable archive instead of dying without a word.
void OnBusError(int) {
  static const char kMessage[] =
      "Error: an input file was cut short while it was read (SIGBUS)\n"
      "Hint: leave the archive unchanged while ppa-import reads it, then run the import again\n";
  ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  (void)ignored;
  ::_exit(3);
}

void ReportBusErrors() {
  struct sigaction action {};
  action.sa_handler = OnBusError;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, nullptr);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void SetUpLogging(bool verbose, bool quiet) {
  auto logger = spdlog::stderr_color_mt("ppa-import");
  spdlog::set_default_logger(logger);
  spdlog::set_formatter(MakeEscapingLogFormatter("%^%l%$: %v"));  // controls escaped
  spdlog::set_level(verbose ? spdlog::level::debug
                            : quiet ? spdlog::level::err
                                    : spdlog::level::warn);
}

// Fills credentials from flags, then the environment (README, Usage), as
// `doctor` does (importer/credentials.h).
Status ResolveCredentials(LoadOptions& options, bool password_stdin) {
  PPA_ASSIGN_OR_RETURN(ResolvedCredentials resolved,
                       ResolveRegistryCredentials(options.credentials, password_stdin, std::cin,
                                                  ProcessEnv));
  options.credentials = std::move(resolved.credentials);
  return Status::Ok();
}

// Every long flag of `cmd` also reads PPA_IMPORT_<FLAG> (e.g. --namespace
// from PPA_IMPORT_NAMESPACE) when not given on the command line; the
// environment wins over the config file (see config_file.h).
void UseEnvironmentForFlags(CLI::App* cmd) {
  for (CLI::Option* opt : cmd->get_options()) {
    const auto& names = opt->get_lnames();
    if (names.empty() || names.front() == "help" || names.front() == "password-stdin" ||
        names.front() == "chartmuseum-password-stdin") {
      continue;
    }
    opt->envname(ConfigEnvName(names.front()));
  }
}

struct LoadFlags {
  LoadOptions options;
  std::vector<std::string> archive_flags;
  bool password_stdin = false;
  bool verbose = false;
  std::string format = "docker";
};

void AddLoadCommand(CLI::App& app, LoadFlags& f) {
  CLI::App* load = app.add_subcommand(
      "load", "Import a PPA archive's images into a registry and extract its charts");
  LoadOptions& o = f.options;
  load->add_option("ARCHIVE", o.archives, "PPA archive(s) to import, or directories of them")
      ->check(CLI::ExistingPath);
  load->add_option("--archive", f.archive_flags, "PPA archive to import (repeatable)")
      ->check(CLI::ExistingPath);
  load->add_option("--from-list", o.list_files, "File listing archives, one path per line")
      ->check(CLI::ExistingFile);
  load->add_option("--parallel-archives", o.parallel_archives, "Archives imported at once")
      ->check(CLI::Range(1, 64));
  load->add_option("--shard", o.shard,
                   "I/N: import every Nth archive of the sorted list, starting at I (0-based)");
  load->add_option("--shard-count", o.shard_count,
                   "N for Kubernetes Indexed Jobs: the shard index comes from JOB_COMPLETION_INDEX")
      ->check(CLI::Range(1, 100000));
  load->add_option("--json", o.json_report, "Write a JSON report to FILE ('-' for stdout)");
  load->add_option("--namespace", o.target_namespace, "Target namespace in the registry")
      ->required();
  AddConnectionFlags(load, {&o.registry, &o.namespace_rules, &o.plain_http, &o.transport,
                            &o.credentials.username, &f.password_stdin});
  load->add_option("--architectures", o.architectures,
                   "Import only these platforms, e.g. amd64,ppc64le (default: all)")
      ->delimiter(',');
  load->add_option("--format", f.format, "Manifest media types: docker or oci")
      ->check(CLI::IsMember({"docker", "oci"}));
  load->add_option("--compression-level", o.compression.gzip_level,
                   "gzip level for uncompressed layers (1-9)")
      ->check(CLI::Range(1, 9));
  load->add_option("--compression", o.compression.algorithm,
                   "What uncompressed layers become: gzip (default), zstd or none")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Compression>{
              {"gzip", Compression::kGzip}, {"zstd", Compression::kZstd}, {"none", Compression::kNone}},
          CLI::ignore_case));
  load->add_option("--jobs", o.jobs, "Layers verified, compressed and uploaded in parallel (default: cores)")
      ->check(CLI::Range(1, 256));
  load->add_flag("--no-cache", o.no_blob_cache,
                 "Do not use the local blob cache or inflate indexes (~/.cache/ppa-import)");
  load->add_option("--workdir", o.workdir, "Work directory (default ./ppa-import)");
  load->add_flag("--keep-workdir", o.keep_workdir, "Keep the unpacked archive after success");
  load->add_option("--max-unpacked-size", o.max_unpacked_bytes,
                   "Refuse an archive unpacking to more than SIZE (e.g. 2T; default: 100 x its "
                   "size, at least 1G, at most 1T)")
      ->transform(CLI::AsSizeValue(false));
  load->add_option("--timeout", o.transport.timeout_seconds,
                   "Seconds a server may keep a request waiting: to connect, with nothing "
                   "moving, and for a whole request without a large body (default 20; a server "
                   "that times out twice in a row is given up on)")
      ->check(CLI::Range(1, 600));
  load->add_flag("--dry-run", o.dry_run,
                 "Unpack, verify every layer and check the registry, but write nothing");
  load->add_flag("-q,--quiet", o.quiet, "Print only failures and the verdict");
  load->add_flag("-v,--verbose", f.verbose, "Log requests (never credentials) to stderr");
  AddChartFlags(load, o.charts);
  UseEnvironmentForFlags(load);
}

int RunLoadCommand(LoadFlags& f) {
  LoadOptions& o = f.options;
  o.archives.insert(o.archives.end(), f.archive_flags.begin(), f.archive_flags.end());
  if (o.registry.empty()) o.registry = Env("PPA_IMPORT_REGISTRY");
  o.job_completion_index = Env("JOB_COMPLETION_INDEX");
  o.format = f.format == "oci" ? ManifestFormat::kOci : ManifestFormat::kDocker;
  SetUpLogging(f.verbose, o.quiet);
  Status creds = ResolveCredentials(o, f.password_stdin);
  if (!creds.ok()) {
    PrintError(std::cerr, creds);
    return kExitUsage;
  }
  if ((o.registry.rfind("oci:", 0) != 0 && SplitUserInfo(o.registry).present) ||
      SplitUserInfo(o.charts.chartmuseum_uri).present) {
    spdlog::warn(kUrlCredentialsWarning);
  }
  if (o.transport.insecure) {
    spdlog::warn("--insecure: TLS certificates are NOT verified; anyone on the path can read "
                 "and change what is pushed");
  }
  return RunLoad(o, std::cout, std::cerr);
}


// The subcommand named on the command line ("" when none is): the first word
// that is not an option of the program itself (only --config FILE comes
// before a subcommand).
std::string InvokedSubcommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--config") {
      ++i;  // its value
    } else if (arg.empty() || arg.front() != '-') {
      return std::string(arg);
    }
  }
  return "";
}

}  // namespace

int RunCli(int argc, char** argv) {
  ReportBusErrors();
  CLI::App app{"ppa-import: import IBM Passport Advantage archives into container registries "
               "without a Docker daemon"};
  app.require_subcommand(1);
  app.fallthrough();  // --config may follow the subcommand
  // The file's keys are flags of `load`; `doctor` takes those it has too
  // (registry, namespace, chartmuseum-uri...) and ignores the others.
  std::string invoked = InvokedSubcommand(argc, argv);
  app.config_formatter(MakeYamlConfigReader(invoked == "doctor" ? invoked : "load"));
  app.set_config("--config", DefaultConfigPath(),
                 "YAML file of load flags, also read by doctor (default "
                 "~/.config/ppa-import/config.yaml)");
  LoadFlags load;
  AddLoadCommand(app, load);
  InspectOptions inspect;
  CLI::App* inspect_cmd = app.add_subcommand(
      "inspect", "Show what a PPA archive holds (images, platforms, layers, charts, problems) "
                 "without pushing anything");
  inspect_cmd->add_option("ARCHIVE", inspect.archive, "The PPA archive")
      ->required()
      ->check(CLI::ExistingFile);
  inspect_cmd->add_flag("--json", inspect.json, "Print JSON instead of a table");
  inspect_cmd->add_option("--workdir", inspect.workdir, "Work directory (default ./ppa-import)");
  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "ppa-import " << PPA_IMPORT_VERSION << std::endl;
  });
  DoctorFlags doctor;
  AddDoctorCommand(app, doctor);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (app.got_subcommand("load")) return RunLoadCommand(load);
  if (app.got_subcommand("doctor")) {
    SetUpLogging(false, false);
    return RunDoctorCommand(doctor, std::cin, std::cout, std::cerr);
  }
  if (app.got_subcommand("inspect")) {
    SetUpLogging(false, false);
    return RunInspect(inspect, std::cout, std::cerr);
  }
  return kExitOk;
}

}  // namespace ppa
