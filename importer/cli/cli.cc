#include "importer/cli/cli.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "archive/tar/unpack.h"
#include "base/url_userinfo.h"
#include "importer/cli/chart_flags.h"
#include "importer/cli/sign_flags.h"
#include "importer/commands/verify.h"
#include "importer/cli/completion.h"
#include "importer/cli/config_file.h"
#include "importer/cli/connection_flags.h"
#include "importer/cli/credentials.h"
#include "importer/report/display_text.h"
#include "importer/cli/doctor_flags.h"
#include "importer/cli/save_flags.h"
#include "importer/commands/inspect.h"
#include "importer/cli/interrupt.h"
#include "importer/load/pipeline.h"
#include "importer/cli/usage_checks.h"
#include "importer/cli/usage_cli.h"
#include "importer/cli/usage_errors.h"
#include "importer/cli/usage_report.h"

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

// Resolves the registry credentials once, before any work (README,
// Credentials; importer/cli/credentials.h): load, its charts' OCI push and
// doctor use the same order.
Status ResolveCredentials(TargetOptions& target, bool password_stdin,
                          const CredentialFlags& flags) {
  CredentialRequest request{.creds = flags.creds,
                            .username = target.credentials.username,
                            .password_stdin = password_stdin,
                            .authfile = flags.authfile};
  SetRegistryOfRequest(target.registry, target.plain_http, target.target_namespace, &request);
  PPA_ASSIGN_OR_RETURN(ResolvedCredentials resolved,
                       ResolveCredentials(request, DefaultCredentialIo()));
  target.credentials = std::move(resolved.credentials);
  return Status::Ok();
}

// Every long flag of `cmd` also reads PPA_IMPORT_<FLAG> (e.g. --namespace
// from PPA_IMPORT_NAMESPACE) when not given on the command line; the
// environment wins over the config file (see config_file.h). Not: flags
// that read stdin, `skip`, and the flags whose variable the code reads
// itself (kEnvironmentReadDirectly: credentials), so it knows their source.
void UseEnvironmentForFlags(CLI::App* cmd, std::string_view skip = "") {
  for (CLI::Option* opt : cmd->get_options()) {
    const auto& names = opt->get_lnames();
    if (names.empty() || names.front() == "help" || names.front() == "password-stdin" ||
        names.front() == "chartmuseum-password-stdin" || names.front() == skip) {
      continue;
    }
    const std::string env = ConfigEnvName(names.front());
    if (env != "PPA_IMPORT_REGISTRY" &&
        std::find(std::begin(kEnvironmentReadDirectly), std::end(kEnvironmentReadDirectly),
                  env) != std::end(kEnvironmentReadDirectly)) {
      continue;
    }
    opt->envname(env);
  }
}

constexpr char kEnvironmentFooter[] =
    "Every long flag can also be set as PPA_IMPORT_<FLAG> (e.g. PPA_IMPORT_NAMESPACE) or as a "
    "key of the config file (--config); the command line wins, then the environment, then the "
    "file. An unknown variable or key is an error.";

struct LoadFlags {
  LoadOptions options;
  std::vector<std::string> archive_flags;
  bool password_stdin = false;
  CredentialFlags credential_flags;  // --creds, --authfile
  bool verbose = false;
  std::string format;  // "" when not given: Docker, or OCI for zstd (ChooseManifestFormat)
};

void AddLoadCommand(CLI::App& app, LoadFlags& f) {
  CLI::App* load = app.add_subcommand(
      "load", "Import a PPA archive's images into a registry and extract its charts");
  LoadOptions& o = f.options;
  // "-": the archive comes from standard input (archive/tar/unpack.h).
  const CLI::Validator path_or_stdin(
      [](std::string& path) {
        return IsStdinArchive(path) ? std::string() : CLI::ExistingPath(path);
      },
      "PATH|-");
  load->add_option("ARCHIVE", o.selection.archives,
                   "PPA archive(s) to import, or directories of them; - reads one from standard "
                   "input")
      ->check(path_or_stdin);
  load->add_option("--archive", f.archive_flags, "PPA archive to import (repeatable; - for "
                   "standard input)")
      ->check(path_or_stdin);
  load->add_option("--from-list", o.selection.list_files,
                   "File listing archives, one path per line")
      ->check(CLI::ExistingFile);
  load->add_option("--parallel-archives", o.work.parallel_archives, "Archives imported at once")
      ->check(CLI::Range(1, 64));
  load->add_option("--shard", o.selection.shard,
                   "I/N: import every Nth archive of the sorted list, starting at I (0-based)");
  load->add_option("--shard-count", o.selection.shard_count,
                   "N for Kubernetes Indexed Jobs: the shard index comes from JOB_COMPLETION_INDEX")
      ->check(CLI::Range(1, 100000))
      ->excludes("--shard");
  load->add_option("--json", o.report.json_reports,
                   "Write the JSON report to FILE ('-' for stdout); repeatable: with FILE and -, "
                   "the report is also the last line of stdout")
      ->type_name("FILE|-")
      ->allow_extra_args(false);  // one value per --json: `--json r.json DIR` keeps DIR
  load->add_option("--namespace", o.target.target_namespace, "Target namespace in the registry")
      ->required();
  AddConnectionFlags(load, TargetConnectionFlags(o.target, &f.password_stdin, &f.credential_flags));
  load->add_option("--architectures,--platform", o.images.architectures,
                   "Import only these platforms, e.g. amd64,ppc64le or linux/arm64/v8 "
                   "(comma lists or repeats; default: all)")
      ->type_name("PLATFORM")
      ->delimiter(',');
  load->add_option("--format", f.format,
                   "Manifest media types: docker (default) or oci (the default with zstd)")
      ->type_name("docker|oci")
      ->check(CLI::IsMember({"docker", "oci"}).description(""));
  load->add_option("--compression-level", o.images.compression.gzip_level,
                   "gzip level for uncompressed layers (1-9)")
      ->check(CLI::Range(1, 9));
  load->add_option("--compression", o.images.compression.algorithm,
                   "What uncompressed layers become: gzip (default), zstd or none")
      ->type_name("gzip|zstd|none")
      ->transform(CLI::CheckedTransformer(
                      std::map<std::string, Compression>{{"gzip", Compression::kGzip},
                                                         {"zstd", Compression::kZstd},
                                                         {"none", Compression::kNone}},
                      CLI::ignore_case)
                      .description(""));
  load->add_option("--jobs", o.work.jobs,
                   "Layers verified, compressed and uploaded in parallel (default: cores)")
      ->check(CLI::Range(1, 256));
  load->add_flag("--no-cache", o.work.no_blob_cache,
                 "Do not use the local blob cache or inflate indexes (~/.cache/ppa-import)");
  load->add_option("--workdir", o.work.workdir, "Work directory (default ./ppa-import)");
  load->add_flag("--keep-workdir", o.work.keep_workdir, "Keep the unpacked archive after success");
  load->add_option("--max-unpacked-size", o.work.max_unpacked_bytes,
                   "Refuse an archive unpacking to more than SIZE (e.g. 2T; default: 100 x its "
                   "size, at least 1G, at most 1T)")
      ->transform(CLI::AsSizeValue(false));
  load->add_option("--timeout", o.target.transport.timeout_seconds,
                   "Seconds a server may keep a request waiting: to connect, with nothing "
                   "moving, and for a whole request without a large body (default 20; a server "
                   "that times out twice in a row is given up on)")
      ->check(CLI::Range(1, 600));
  load->add_flag("--dry-run", o.dry_run,
                 "Unpack, verify every layer and check the registry, but write nothing");
  load->add_flag("-q,--quiet", o.report.quiet, "Print only failures and the verdict");
  load->add_flag("-v,--verbose", f.verbose, "Log requests (never credentials) to stderr");
  AddChartFlags(load, o.charts);
  AddSignFlags(load, o.sign);
  UseEnvironmentForFlags(load);
  load->footer(kEnvironmentFooter);
}

// `cmd` is the parsed `load` subcommand (where each value came from).
int RunLoadCommand(LoadFlags& f, const CLI::App& cmd) {
  LoadOptions& o = f.options;
  std::vector<std::string>& archives = o.selection.archives;
  archives.insert(archives.end(), f.archive_flags.begin(), f.archive_flags.end());
  if (o.target.registry.empty()) o.target.registry = Env("PPA_IMPORT_REGISTRY");
  o.selection.job_completion_index = Env("JOB_COMPLETION_INDEX");
  SetUpLogging(f.verbose, o.report.quiet);
  auto usage_error = [&](const Status& error) {
    return ReportUsageError(error, o.report.json_reports, o.target.target_namespace, std::cout,
                            std::cerr);
  };
  std::string format_warning;
  Result<ManifestFormat> format =
      ChooseManifestFormat(f.format, o.images.compression.algorithm, &format_warning);
  if (!format.ok()) return usage_error(format.status());
  o.images.format = *format;
  o.images.format_given = !f.format.empty();
  if (Status usage = CheckLoadUsage(o); !usage.ok()) return usage_error(usage);
  // Standard input carries either the archive or a password, not both.
  if (std::any_of(archives.begin(), archives.end(), IsStdinArchive) &&
      (f.password_stdin || cmd.count("--chartmuseum-password-stdin") > 0)) {
    return usage_error(InvalidInput(
        "the archive '-' and a --*password-stdin flag both read standard input",
        "pass the password another way (PPA_IMPORT_PASSWORD, --authfile) or the archive as a "
        "file"));
  }
  if (!format_warning.empty()) spdlog::warn(format_warning);
  NoteChartSecretsOnCommandLine(cmd, o.charts);
  // Only a secret on the command line itself is in the process list.
  for (const std::string& warning : SecretsOnCommandLineWarnings(
           cmd, o.target.registry, o.charts.chartmuseum_uri, f.credential_flags)) {
    spdlog::warn(warning);
  }
  Status creds = ResolveCredentials(o.target, f.password_stdin, f.credential_flags);
  if (!creds.ok()) return usage_error(creds);
  if (o.target.transport.insecure) {
    spdlog::warn("--insecure: TLS certificates are NOT verified; anyone on the path can read "
                 "and change what is pushed");
  }
  return RunLoad(o, std::cout, std::cerr);
}


// What the `verify` flags set (importer/commands/verify.h).
struct VerifyFlags {
  VerifyOptions options;
  bool password_stdin = false;
  CredentialFlags credential_flags;
  std::string format;  // --format, as load's
};

void AddVerifyCommand(CLI::App& app, VerifyFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "verify", "Check that every image an import stored is in the target at its digest and "
                "signed: by --key / --gpg-key, or as a policy.json requires");
  VerifyOptions& o = f.options;
  cmd->add_option("ARCHIVE", o.archive,
                  "The PPA archive imported (its images are computed by a dry run)")
      ->check(CLI::ExistingPath);
  cmd->add_option("--report", o.report, "The JSON report of the import (load --json FILE)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  cmd->add_option("--namespace", o.target.target_namespace, "Target namespace (with ARCHIVE)");
  AddConnectionFlags(cmd, TargetConnectionFlags(o.target, &f.password_stdin, &f.credential_flags));
  cmd->add_option("--key", o.cosign_keys, "A cosign public key (PEM) whose signature each image "
                                          "needs (repeatable: any of them)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  cmd->add_option("--gpg-key", o.gpg_keys, "An OpenPGP public key (gpg --export) whose simple "
                                           "signature each image needs (repeatable: any of them)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  cmd->add_option("--policy", o.policy,
                  "A containers-policy.json whose requirements each image must meet")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  cmd->add_option("--registries.d", o.registries_d,
                  "Where simple signatures are read from (as podman and skopeo)")
      ->type_name("DIR");
  cmd->add_option("--sign-identity", o.identity,
                  "The registry and path the signatures name, when load was given it")
      ->type_name("REGISTRY[/PREFIX]");
  cmd->add_option("--architectures,--platform", o.images.architectures,
                  "With ARCHIVE: the platforms the import took (as load)")
      ->type_name("PLATFORM")
      ->delimiter(',');
  cmd->add_option("--format", f.format, "With ARCHIVE: the --format the import was given")
      ->type_name("docker|oci")
      ->check(CLI::IsMember({"docker", "oci"}).description(""));
  cmd->add_option("--workdir", o.workdir, "Work directory of the dry run (default ./ppa-import)");
}

int RunVerifyCommand(VerifyFlags& f) {
  VerifyOptions& o = f.options;
  if (o.target.registry.empty()) o.target.registry = Env("PPA_IMPORT_REGISTRY");
  auto usage_error = [&](const Status& error) {
    return ReportUsageError(error, {}, "", std::cout, std::cerr);
  };
  std::string warning;
  Result<ManifestFormat> format =
      ChooseManifestFormat(f.format, o.images.compression.algorithm, &warning);
  if (!format.ok()) return usage_error(format.status());
  o.images.format = *format;
  o.images.format_given = !f.format.empty();
  if (!o.archive.empty() && o.target.target_namespace.empty()) {
    return usage_error(InvalidInput("verify ARCHIVE needs --namespace",
                                    "give the namespace the archive was imported to"));
  }
  if (Status identity = CheckSignUsage({.sign_by = "-", .identity = o.identity}); !identity.ok()) {
    return usage_error(identity);
  }
  Status creds = ResolveCredentials(o.target, f.password_stdin, f.credential_flags);
  if (!creds.ok()) return usage_error(creds);
  return RunVerify(o, std::cout, std::cerr);
}

// The --json values of `load` known when a usage error stops the run: those
// parsed from the command line so far, else PPA_IMPORT_JSON.
std::vector<std::string> JsonValuesOf(const CLI::App& load) {
  const CLI::Option* json = load.get_option_no_throw("--json");
  if (json != nullptr && !json->results().empty()) return json->results();
  return {LastValueOf(load, "--json")};
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

// `ppa-import help [COMMAND]`: the help of the program or of COMMAND.
int RunHelpCommand(const CLI::App& app, const std::string& topic) {
  if (topic.empty()) {
    std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
    return kExitOk;
  }
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == topic) {
      std::cout << sub->help(app.get_name());
      return kExitOk;
    }
  }
  PrintError(std::cerr, InvalidInput("unknown command '" + topic + "'" +
                                         DidYouMean(ClosestNames(topic, SubcommandNames(app))),
                                     CommandsHint(app)));
  return kExitUsage;
}

// Path-valued options whose CLI11 option does not say so (no ExistingFile
// validator or FILE type name), for the completion scripts.
const CompletionHints kCompletionPathOptions = {{"--config", CompletionValue::kFile},
                                                {"--json", CompletionValue::kFile},
                                                {"--authfile", CompletionValue::kFile},
                                                {"--workdir", CompletionValue::kDirectory}};

// `ppa-import completion bash|zsh`: the script, made from `app` itself.
int RunCompletionCommand(const CLI::App& app, const std::string& shell) {
  Result<std::string> script =
      CompletionScript(DescribeForCompletion(app, kCompletionPathOptions), shell);
  if (!script.ok()) {
    PrintError(std::cerr, script.status());
    return kExitUsage;
  }
  std::cout << *script;
  return kExitOk;
}

}  // namespace

int RunCli(int argc, char** argv) {
  ReportBusErrors();
  InstallInterruptHandlers();  // Ctrl-C, SIGTERM: exit 130 / 143 (importer/cli/interrupt.h)
  CLI::App app{"ppa-import: import IBM Passport Advantage archives into container registries "
               "without a Docker daemon"};
  app.name("ppa-import");  // not argv[0], a path of this machine
  app.formatter(MakeHelpFormatter());
  app.require_subcommand(1);
  app.fallthrough();  // --config may follow the subcommand
  // Unknown arguments are collected, then named with a did-you-mean
  // (LeftoverArgumentError) before any other error they may have caused.
  app.allow_extras();
  app.set_version_flag("--version", std::string("ppa-import ") + PPA_IMPORT_VERSION,
                       "Print the version and exit");
  std::string invoked = InvokedSubcommand(argc, argv);
  app.set_config("--config", DefaultConfigPath(),
                 "YAML file of load flags, also read by doctor and inspect (default "
                 "~/.config/ppa-import/config.yaml)")
      ->type_name("FILE");
  LoadFlags load;
  AddLoadCommand(app, load);
  InspectOptions inspect;
  CLI::App* inspect_cmd = app.add_subcommand(
      "inspect", "Show what a PPA archive holds (images, platforms, layers, charts, problems) "
                 "without pushing anything");
  inspect_cmd->add_option("ARCHIVE", inspect.archive,
                          "The PPA archive, or a directory it was extracted to")
      ->required()
      ->check(CLI::ExistingPath);
  inspect_cmd->add_flag("--json", inspect.json, "Print JSON instead of a table");
  inspect_cmd->add_option("--workdir", inspect.workdir, "Work directory (default ./ppa-import)");
  UseEnvironmentForFlags(inspect_cmd, "json");  // PPA_IMPORT_JSON is load's report path
  inspect_cmd->footer(kEnvironmentFooter);
  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "ppa-import " << PPA_IMPORT_VERSION << std::endl;
  });
  DoctorFlags doctor;
  AddDoctorCommand(app, doctor);
  CLI::App* doctor_cmd = app.get_subcommand("doctor");
  UseEnvironmentForFlags(doctor_cmd);
  doctor_cmd->footer(kEnvironmentFooter);
  VerifyFlags verify;
  AddVerifyCommand(app, verify);
  CLI::App* verify_cmd = app.get_subcommand("verify");
  UseEnvironmentForFlags(verify_cmd);
  verify_cmd->footer(kEnvironmentFooter);
  SaveFlags save;
  AddSaveCommand(app, save);
  // `save` reads no PPA_IMPORT_* variable of load's flags (a load's
  // PPA_IMPORT_DRY_RUN or PPA_IMPORT_ARCHITECTURES would change what it
  // saves); its credentials are resolved as load's, per registry.
  std::string completion_shell;
  app.add_subcommand("completion",
                     "Print the shell completion script: ppa-import completion bash|zsh")
      ->add_option("SHELL", completion_shell, "bash or zsh")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));
  std::string help_topic;
  CLI::App* help_cmd =
      app.add_subcommand("help", "Show the options of a command: ppa-import help [COMMAND]");
  help_cmd->add_option("COMMAND", help_topic, "The command to explain; " + CommandsHint(app));
  // The file's keys are flags of `load`; `doctor` and `inspect` take those
  // they have too (registry, namespace, workdir...) and skip the others.
  app.config_formatter(MakeYamlConfigReader(ConfigKeysFor(app, invoked)));
  CLI::App* load_cmd = app.get_subcommand("load");
  auto usage_error = [&](const Status& error) {
    return invoked == "load" ? ReportUsageError(error, JsonValuesOf(*load_cmd),
                                                LastValueOf(*load_cmd, "--namespace"),
                                                std::cout, std::cerr)
                             : ReportUsageError(error, {}, "", std::cout, std::cerr);
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0 && app.remaining(true).empty()) return app.exit(e);  // --help
    return usage_error(ParseErrorStatus(app, e, invoked));
  }
  if (Status left = LeftoverArgumentError(app, invoked); !left.ok()) return usage_error(left);
  if (app.got_subcommand("help")) return RunHelpCommand(app, help_topic);
  if (app.got_subcommand("completion")) return RunCompletionCommand(app, completion_shell);
  if (Status env = CheckEnvironmentNames(PpaImportVariablesSet(), FlagEnvironmentNames(app));
      !env.ok()) {
    return usage_error(env);
  }
  if (app.got_subcommand("load")) return RunLoadCommand(load, *load_cmd);
  if (app.got_subcommand("doctor")) {
    SetUpLogging(false, false);
    return RunDoctorCommand(doctor, std::cin, std::cout, std::cerr);
  }
  if (app.got_subcommand("verify")) {
    SetUpLogging(false, false);
    return RunVerifyCommand(verify);
  }
  if (app.got_subcommand("save")) {
    SetUpLogging(false, false);
    return RunSaveCommand(save);
  }
  if (app.got_subcommand("inspect")) {
    SetUpLogging(false, false);
    return RunInspect(inspect, std::cout, std::cerr);
  }
  return kExitOk;
}

}  // namespace ppa
