#include "importer/pipeline.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

#include "archive/file_util.h"
#include "archive/url_userinfo.h"
#include "docker_io/blob_sink.h"
#include "docker_io/docker_config.h"
#include "docker_io/image_reference.h"
#include "docker_io/oci_layout_sink.h"
#include "importer/ahead_of_unpack.h"
#include "importer/archive_list.h"
#include "importer/charts_stage.h"
#include "importer/cli.h"
#include "importer/credentials.h"
#include "importer/plan.h"
#include "importer/layer_preparer.h"
#include "importer/progress.h"
#include "importer/push_images.h"
#include "importer/report.h"
#include "importer/run_report.h"
#include "importer/workspace.h"

namespace ppa {
namespace {

// Connects to the registry and checks, once, that it answers as a registry
// and accepts the credentials: a wrong password is one clear failure, not
// one per image.
Result<std::unique_ptr<BlobSink>> ConnectRegistry(const RegistryAddress& address,
                                                  const LoadOptions& options) {
  std::shared_ptr<HttpTransport> transport = MakeCurlTransport(options.transport);
  // The cli resolved them (importer/credentials.h); a caller that did not
  // (source still empty) gets the same resolution without the flags.
  Credentials credentials = options.credentials;
  if (credentials.empty() && credentials.source.empty()) {
    CredentialRequest request{.host = address.endpoint.host, .userinfo = address.userinfo};
    request.repository_path = address.prefix;
    if (!options.target_namespace.empty()) {
      request.repository_path += (request.repository_path.empty() ? "" : "/") +
                                 options.target_namespace;
    }
    PPA_ASSIGN_OR_RETURN(ResolvedCredentials resolved,
                         ResolveCredentials(request, DefaultCredentialIo()));
    credentials = std::move(resolved.credentials);
  }
  auto client = std::make_shared<RegistryClient>(address.endpoint, credentials, transport);
  Status ping = client->Ping();
  if (!ping.ok()) return ping.WithContext("registry '" + address.endpoint.host + "'");
  return MakeRegistrySink(std::move(client));
}

struct Target {
  RegistryAddress address;
  std::unique_ptr<BlobSink> real;     // the registry or layout (may be null in a dry run)
  std::unique_ptr<BlobSink> dry_run;  // --dry-run: wraps `real`, writes nothing

  BlobSink& sink() const { return dry_run ? *dry_run : *real; }
};

// The registry named by --registry / PPA_IMPORT_REGISTRY, an OCI layout
// with "oci:DIR", or, with none configured, the embedded default target:
// an OCI image layout in <workdir>/oci-layout.
Result<Target> ConnectTarget(const LoadOptions& options, Reporter& reporter) {
  std::string layout;
  if (options.registry.empty()) {
    layout = AbsolutePath(options.workdir + "/oci-layout");
    reporter.Progress("No registry configured (--registry, PPA_IMPORT_REGISTRY): writing images "
                      "to the OCI image layout '" + layout + "'.");
  } else if (options.registry.rfind("oci:", 0) == 0) {
    layout = AbsolutePath(options.registry.substr(4));
  }
  if (!layout.empty()) {
    if (options.dry_run) {
      return Target{RegistryAddress{}, nullptr, MakeDryRunSink(nullptr, "oci:" + layout + ":")};
    }
    PPA_ASSIGN_OR_RETURN(auto sink, MakeOciLayoutSink(layout));
    return Target{RegistryAddress{}, std::move(sink), nullptr};
  }
  PPA_ASSIGN_OR_RETURN(RegistryAddress address,
                       ParseRegistryAddress(options.registry, options.plain_http));
  PPA_ASSIGN_OR_RETURN(auto sink, ConnectRegistry(address, options));
  if (options.dry_run) {
    auto dry = MakeDryRunSink(sink.get(), "");
    return Target{std::move(address), std::move(sink), std::move(dry)};
  }
  return Target{std::move(address), std::move(sink), nullptr};
}

// A fresh copy of the image file `origin` of `archive`, unpacked again into
// a new folder of the scratch directory (and inflated when compressed as a
// whole), charged to the archive's `budget` like the first time.
Result<std::string> RestoreImageFile(const std::string& archive, const Workspace& ws,
                                     const std::string& origin, const LoadOptions& options,
                                     InflationBudget& budget) {
  UnpackOptions unpack;
  unpack.budget = &budget;
  unpack.inflate_index = CachedInflateIndex(options.no_blob_cache);
  PPA_ASSIGN_OR_RETURN(std::string dir, RestoreArchiveFile(archive, ws, origin, unpack));
  return PrepareImageTarball(dir + "/" + origin, dir, &budget);
}

// The stages for one archive, in its work directory `ws`. Every worker
// thread has stopped when this returns.
int RunStages(const std::string& archive, const Workspace* ws, const RegistryAddress& address,
              BlobSink& sink, const LoadOptions& options, ProgressDisplay* progress,
              Reporter& reporter) {
  // The OCI image layout spec (and skopeo's reader) index OCI manifests
  // only, so a layout target always gets OCI media types.
  ManifestFormat format = address.endpoint.host.empty() ? ManifestFormat::kOci : options.format;
  BlobCache cache(options.no_blob_cache ? "" : BlobCache::DefaultPath());
  RangeDigests hashed_on_unpack;
  // Everything this archive inflates to: the outer unpack and the image
  // files inflated to be read, each at most once.
  InflationBudget budget(InflationLimitOf(archive, options.max_unpacked_bytes));
  PreparerOptions prepare{format, options.compression, ws->scratch, options.jobs,
                          cache.enabled() ? &cache : nullptr,
                          options.dry_run ? "" : sink.Locate("")};
  // Layers are taken out of the unpacked tarballs as they are made into
  // blobs (or freed once done with); one needed again comes from a second
  // pass over the archive. Not when the user keeps the unpacked archive.
  if (!options.keep_workdir) {
    prepare.restore_image_file = [&](const std::string& origin) {
      return RestoreImageFile(archive, *ws, origin, options, budget);
    };
  }
  prepare.digests = &hashed_on_unpack;
  prepare.budget = &budget;
  LayerPreparer preparer(sink, std::move(prepare));
  ImagesStage images(sink, preparer, PushOptions{format, progress, JobsFor(options.jobs)});
  PlanInput input{ws->root,       {},
                  std::nullopt,   ws->scratch,
                  address.prefix, options.target_namespace,
                  options.architectures,
                  [&](const std::string& path, const std::string& rel) {
                    return preparer.ImageFile(path, rel);
                  }};
  // Layers are verified, compressed and (when the PPA manifest comes first)
  // uploaded while the archive is still being unpacked; a dry run only
  // prepares them.
  AheadOfUnpack ahead(input, preparer, options.dry_run ? nullptr : &images);
  reporter.Progress("Unpacking archive to '" + ws->root + "'...");
  UnpackOptions unpack_options;
  unpack_options.budget = &budget;
  unpack_options.inflate_index = CachedInflateIndex(options.no_blob_cache);
  unpack_options.on_file = [&](const std::string& rel) { ahead.OnFile(rel); };
  unpack_options.on_file_begin = [&](const std::string& rel) { ahead.OnFileBegin(rel); };
  unpack_options.on_data = [&](const std::string& rel, uint64_t offset, std::string_view data,
                               const UnpackOptions::BlockWriter& write) {
    return ahead.OnData(rel, offset, data, write);
  };
  auto unpacked = UnpackAndReadManifest(archive, *ws, unpack_options);
  ahead.Stop();
  if (!unpacked.ok()) {
    // Our own disk (full, unwritable) is not the archive's fault: exit 1.
    int code = unpacked.status().code() == StatusCode::kIo ? kExitItemFailed : kExitBadArchive;
    reporter.SetFatal(unpacked.status(), code);
    return code;
  }
  input.files = std::move(unpacked->files);
  input.manifest = std::move(unpacked->manifest);
  ImportPlan plan = BuildImportPlan(input);
  if (budget.exceeded()) {  // an image file inflated past what the archive may
    reporter.SetFatal(budget.ExceededError(archive), kExitBadArchive);
    return kExitBadArchive;
  }
  reporter.Progress("Found " + std::to_string(plan.ImageCount()) + " image(s) and " +
                    std::to_string(plan.charts.size()) + " chart(s) to import.");
  if (plan.skipped_platforms > 0) {
    reporter.Progress("Skipping " + std::to_string(plan.skipped_platforms) +
                      " image(s) of other architectures (--architectures).");
  }
  for (const auto& w : plan.warnings) reporter.Warning(w);

  images.Push(plan, reporter);
  ChartsContext charts{ws->charts, options.charts, address.endpoint, address.prefix,
                       options.target_namespace,
                       options.credentials.empty() ? address.userinfo : options.credentials,
                       options.transport, options.dry_run, /*http=*/nullptr};
  HandleCharts(plan, charts, reporter);
  return reporter.failed_items() > 0 ? kExitItemFailed : kExitOk;
}

// Runs the stages in a new work directory, then removes it: all of it after
// success (unless --keep-workdir) or an unreadable archive; only the scratch
// files when items failed, so the unpacked archive can be looked at.
int ImportArchive(const std::string& archive, const RegistryAddress& address, BlobSink& sink,
                  const LoadOptions& options, ProgressDisplay* progress, Reporter& reporter) {
  auto ws = PrepareWorkspace(options.workdir);
  if (!ws.ok()) {
    reporter.SetFatal(ws.status(), kExitItemFailed);
    return kExitItemFailed;
  }
  // An exception leaving the stages (a bug; ImportOne reports it) must not
  // leave the unpacked archive behind.
  struct RemoveOnThrow {
    const Workspace& ws;
    int uncaught = std::uncaught_exceptions();
    ~RemoveOnThrow() {
      if (std::uncaught_exceptions() > uncaught) RemoveWorkspace(ws);
    }
  } remove_on_throw{*ws};
  int code = RunStages(archive, &*ws, address, sink, options, progress, reporter);
  if (!reporter.fatal().ok() || (code == kExitOk && !options.keep_workdir)) {
    RemoveWorkspace(*ws);
  } else {
    (void)RemoveTree(ws->scratch);
  }
  return code;
}

}  // namespace

Status ValidateNamespace(const std::string& ns, const std::string& rules) {
  if (ns.empty()) return InvalidInput("no namespace given", "pass --namespace NS");
  if (rules == "none") {
    if (!IsValidRepositoryPath(ns)) {
      return InvalidInput("namespace '" + ns + "' is not a valid repository path",
                          "use lowercase letters, digits and . _ - separators");
    }
    return Status::Ok();
  }
  bool chars_ok = std::all_of(ns.begin(), ns.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
  bool first_ok = !ns.empty() && ns.front() != '_';
  if (ns.size() < 4 || ns.size() > 30 || !chars_ok || !first_ok) {
    return InvalidInput("namespace '" + ns + "' breaks the namespace rules",
                        "a namespace has 4 to 30 characters: lowercase letters, digits and "
                        "underscores, starting with a letter or a digit (other registries: "
                        "--namespace-rules none)");
  }
  return Status::Ok();
}

Result<RegistryAddress> ParseRegistryAddress(const std::string& given, bool plain_http) {
  RegistryAddress address;
  // "user:password@" becomes credentials; no message below can show it.
  UrlUserInfo userinfo = SplitUserInfo(given);
  if (userinfo.present) {
    address.userinfo = Credentials(std::move(userinfo.username), std::move(userinfo.password));
  }
  const std::string text = std::move(userinfo.url);
  std::string rest = text;
  address.endpoint.plain_http = plain_http;
  if (rest.rfind("http://", 0) == 0) {
    address.endpoint.plain_http = true;
    rest = rest.substr(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
  }
  size_t slash = rest.find('/');
  address.endpoint.host = rest.substr(0, slash);
  if (slash != std::string::npos) {
    address.prefix = rest.substr(slash + 1);
    while (!address.prefix.empty() && address.prefix.back() == '/') address.prefix.pop_back();
  }
  if (address.endpoint.host.empty() ||
      address.endpoint.host.find_first_of(" \t@?#") != std::string::npos) {
    return InvalidInput("invalid registry '" + text + "'", "use HOST[:PORT][/PREFIX]");
  }
  if (!address.prefix.empty() && !IsValidRepositoryPath(address.prefix)) {
    return InvalidInput("invalid registry path prefix '" + address.prefix + "'");
  }
  return address;
}

namespace {

// The archives of this run: arguments, directories and lists expanded, then
// this pod's shard.
Result<std::vector<std::string>> SelectArchives(const LoadOptions& options) {
  PPA_ASSIGN_OR_RETURN(auto archives, ExpandArchives(options.archives, options.list_files));
  PPA_ASSIGN_OR_RETURN(auto shard, ResolveShard(options.shard, options.job_completion_index,
                                                options.shard_count));
  if (shard) archives = SelectShard(std::move(archives), *shard);
  return archives;
}

ArchiveOutcome ImportOne(const std::string& archive, const Target& target,
                         const LoadOptions& options, ProgressDisplay* progress, std::ostream& out,
                         std::ostream& err) {
  ArchiveOutcome outcome;
  outcome.archive = archive;
  outcome.started = NowRfc3339();
  Reporter reporter(out, err, options.quiet, options.dry_run);
  reporter.SetProgressDisplay(progress);
  try {
    outcome.exit_code =
        ImportArchive(archive, target.address, target.sink(), options, progress, reporter);
  } catch (const std::exception& e) {  // a bug: this archive fails, the run goes on
    outcome.exit_code = kExitItemFailed;
    reporter.SetFatal(Unsupported(std::string("internal error: ") + e.what(),
                                  "the work directory was removed; please report this bug"),
                      outcome.exit_code);
  }
  if (reporter.fatal().ok()) reporter.Finish();
  outcome.fatal = reporter.fatal();
  outcome.items = reporter.items();
  outcome.transfer = reporter.transfer();
  outcome.finished = NowRfc3339();
  return outcome;
}

// Imports every archive, `parallel` at a time; one failed archive does not
// stop the others.
std::vector<ArchiveOutcome> ImportAll(const std::vector<std::string>& archives,
                                      const Target& target, const LoadOptions& options,
                                      ProgressDisplay* progress, std::ostream& out,
                                      std::ostream& err) {
  std::vector<ArchiveOutcome> outcomes(archives.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < archives.size(); i = next++) {
      outcomes[i] = ImportOne(archives[i], target, options, progress, out, err);
    }
  };
  size_t threads = std::clamp<size_t>(static_cast<size_t>(std::max(1, options.parallel_archives)),
                                      1, archives.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return outcomes;
}

// --json FILE|-: the report, on stdout or in FILE.
void WriteReport(const std::string& path, const RunReport& report, std::ostream& stdout_stream,
                 Reporter& reporter) {
  if (path == "-") {
    stdout_stream << RenderJsonReport(report);
  } else if (!path.empty()) {
    Status written = WriteJsonReport(path, report);
    if (!written.ok()) reporter.Failure(written);
  }
}

std::string DescribeTarget(const Target& target) {
  if (target.address.endpoint.host.empty()) return target.sink().Locate("");
  return target.address.endpoint.host +
         (target.address.prefix.empty() ? "" : "/" + target.address.prefix);
}

}  // namespace

int RunLoad(const LoadOptions& options, std::ostream& stdout_stream, std::ostream& err) {
  // With --json -, stdout carries the JSON report and nothing else.
  std::ostream discard(nullptr);
  std::ostream& out = options.json_report == "-" ? discard : stdout_stream;
  RunReport report;
  report.started = NowRfc3339();
  report.target_namespace = options.target_namespace;
  Reporter usage(out, err, options.quiet);
  auto archives = SelectArchives(options);
  if (!archives.ok()) {
    usage.Fatal(archives.status());
    return kExitUsage;
  }
  if (archives->empty()) {
    if (!options.shard.empty() || !options.job_completion_index.empty()) {
      usage.Progress("This shard has no archive to import.");
      return kExitOk;
    }
    usage.Fatal(InvalidInput("no archive given",
                             "pass archive files or directories as arguments, --archive or --from-list"));
    return kExitUsage;
  }
  Status ns = ValidateNamespace(options.target_namespace, options.namespace_rules);
  if (!ns.ok()) {
    usage.Fatal(ns);
    return kExitUsage;
  }
  auto target = ConnectTarget(options, usage);
  if (!target.ok()) {
    usage.Fatal(target.status());
    report.exit_code =
        target.status().code() == StatusCode::kInvalidInput ? kExitUsage : kExitItemFailed;
    // Pipelines still get a report saying why nothing was imported.
    for (const auto& archive : *archives) {
      report.archives.push_back(
          ArchiveOutcome{archive, report.exit_code, target.status(), {}, {}, "", ""});
    }
    report.finished = NowRfc3339();
    WriteReport(options.json_report, report, stdout_stream, usage);
    return report.exit_code;
  }
  auto lock = LockWorkdir(options.workdir, [&](const std::string& line) { usage.Progress(line); });
  if (!lock.ok()) {
    usage.Fatal(lock.status());
    return kExitItemFailed;
  }
  report.target = DescribeTarget(*target);
  // Progress lines only on a terminal, never in pipes, with -q or --json -.
  ProgressDisplay progress(stderr, !options.quiet && options.json_report != "-" &&
                                       ProgressDisplay::TerminalAttached());
  report.archives = ImportAll(*archives, *target, options, &progress, out, err);
  for (const auto& a : report.archives) report.exit_code = std::max(report.exit_code, a.exit_code);
  report.finished = NowRfc3339();
  if (report.archives.size() > 1 && !options.quiet) out << RenderSummaryTable(report);
  WriteReport(options.json_report, report, stdout_stream, usage);
  return report.exit_code;
}

}  // namespace ppa
