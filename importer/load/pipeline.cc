#include "importer/load/pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <exception>
#include <set>
#include <string_view>
#include <thread>

#include "base/file_util.h"
#include "base/thread_pool.h"
#include "base/url_userinfo.h"
#include "docker_io/target/blob_sink.h"
#include "docker_io/registry/docker_config.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/target/oci_layout_sink.h"
#include "importer/load/ahead_of_unpack.h"
#include "importer/cli/archive_list.h"
#include "importer/load/charts_stage.h"
#include "importer/cli/cli.h"
#include "importer/cli/credentials.h"
#include "importer/load/plan.h"
#include "importer/load/sign_images.h"
#include "importer/load/layer_preparer.h"
#include "importer/load/load_target.h"
#include "importer/report/progress.h"
#include "importer/load/push_images.h"
#include "importer/report/report.h"
#include "importer/report/report_destinations.h"
#include "importer/report/run_report.h"
#include "importer/cli/usage_report.h"
#include "importer/load/carry_signatures.h"
#include "importer/load/warm_import.h"
#include "importer/load/workspace.h"
#include "importer/load/written_blobs.h"

namespace ppa {
namespace {

// A fresh copy of the image file `origin` of `archive`, unpacked again into
// a new folder of the scratch directory (and inflated when compressed as a
// whole), charged to the archive's `budget` like the first time.
Result<std::string> RestoreImageFile(const std::string& archive, const Workspace& ws,
                                     const std::string& origin, const WorkOptions& work,
                                     InflationBudget& budget) {
  UnpackOptions unpack;
  unpack.budget = &budget;
  unpack.inflate_index = CachedInflateIndex(work.no_blob_cache);
  PPA_ASSIGN_OR_RETURN(std::string dir, RestoreArchiveFile(archive, ws, origin, unpack));
  return PrepareImageTarball(dir + "/" + origin, dir, &budget);
}

// An unreadable archive (exit 3) never gets a manifest pushed: the stages
// stop before the Images stage. Layers uploaded ahead of the Unpack stage
// before that was known stay in the target, untagged: one warning says so;
// the JSON report lists them (ArchiveOutcome::untagged_blobs).
void ReportUntaggedBlobs(const RecordingSink& sink, Reporter& reporter) {
  std::vector<WrittenBlob> left = sink.written();
  if (left.empty()) return;
  uint64_t bytes = 0;
  std::set<std::string> repositories;
  for (const auto& b : left) bytes += b.size, repositories.insert(b.repository);
  std::string names;
  for (const auto& r : repositories) names += (names.empty() ? "'" : ", '") + r + "'";
  reporter.Warning(std::to_string(left.size()) + " blob(s) (" + std::to_string(bytes) +
                   " bytes) were uploaded to " + names +
                   " before the archive was found unreadable; they are untagged and no manifest "
                   "names them (the registry's garbage collection removes them)");
}

// What the stages of one archive did, as values: every image, manifest
// list and chart item in plan order, and the blobs sent (the JSON report).
struct StageResults {
  std::vector<ItemResult> items;
  TransferStats transfer;
};

// The stages for one archive, in its work directory `ws`. Every worker
// thread has stopped when this returns.
int RunStages(const std::string& archive, const Workspace* ws, const Target& target,
              RecordingSink& sink, const LoadOptions& options, ProgressDisplay* progress,
              Reporter& reporter, StageResults& results) {
  // The OCI image layout spec (and skopeo's reader) index OCI manifests
  // only, so a layout target always gets OCI media types.
  ManifestFormat format = target.is_registry() ? options.images.format : ManifestFormat::kOci;
  BlobCache cache(options.work.no_blob_cache ? "" : BlobCache::DefaultPath());
  RangeDigests hashed_on_unpack;
  // Everything this archive inflates to: the outer unpack and the image
  // files inflated to be read, each at most once.
  InflationBudget budget(InflationLimitOf(archive, options.work.max_unpacked_bytes));
  PreparerOptions prepare{.format = format,
                          .compression = options.images.compression,
                          .spool_dir = ws->scratch,
                          .jobs = options.work.jobs,
                          .cache = cache.enabled() ? &cache : nullptr,
                          .cache_scope = options.dry_run ? "" : sink.Locate("")};
  // Layers are taken out of the unpacked tarballs as they are made into
  // blobs (or freed once done with); one needed again comes from a second
  // pass over the archive. Not when the user keeps the unpacked archive.
  if (!options.work.keep_workdir && !IsStdinArchive(archive)) {  // a pipe is read once
    prepare.restore_image_file = [&](const std::string& origin) {
      return RestoreImageFile(archive, *ws, origin, options.work, budget);
    };
  }
  prepare.take_layers = !options.work.keep_workdir;
  prepare.digests = &hashed_on_unpack;
  prepare.budget = &budget;
  prepare.spool_budget = SpoolBudgetOf(archive);  // README, Disk
  // A pipe's size is unknown: its budget grows with the bytes read
  // (told by the unpacking, on_input_read below).
  auto archive_read = std::make_shared<std::atomic<uint64_t>>(0);
  if (IsStdinArchive(archive) && !SpoolBudgetFixed()) {
    prepare.archive_read = [archive_read] { return archive_read->load(); };
  }
  LayerPreparer preparer(sink, std::move(prepare));
  ArchiveProgressScope shown(progress, archive);  // unpack, then push, on the display
  ImagesStage images(sink, preparer, PushOptions{.format = format,
                                                 .progress = progress,
                                                 .upload_jobs = JobsFor(options.work.jobs),
                                                 .progress_archive = shown.id(),
                                                 .keep_digests = {
                                                     .format_given = options.images.format_given,
                                                     .oci_only = !target.is_registry(),
                                                 }});
  PlanInput input{.root = ws->root,
                  .scratch_dir = ws->scratch,
                  .registry_prefix = target.prefix(),
                  .target_namespace = options.target.target_namespace,
                  .architectures = options.images.architectures,
                  .read_image_file = [&](const std::string& path, const std::string& rel) {
                    return preparer.ImageFile(path, rel);
                  }};
  // Layers are verified, compressed and (when the PPA manifest comes first)
  // uploaded while the archive is still being unpacked; a dry run only
  // prepares them.
  AheadOfUnpack ahead(input, preparer, options.dry_run ? nullptr : &images);
  reporter.Progress("Unpacking archive to '" + ws->root + "'...");
  UnpackOptions unpack_options;
  unpack_options.budget = &budget;
  unpack_options.limit_given = options.work.max_unpacked_bytes != 0;
  unpack_options.inflate_index = CachedInflateIndex(options.work.no_blob_cache);
  unpack_options.on_input_read = [archive_read](uint64_t bytes) { archive_read->store(bytes); };
  unpack_options.on_file = [&](const std::string& rel) { ahead.OnFile(rel); };
  unpack_options.on_file_begin = [&](const std::string& rel) { ahead.OnFileBegin(rel); };
  unpack_options.on_data = [&](const std::string& rel, uint64_t offset, std::string_view data,
                               const UnpackOptions::BlockWriter& write) {
    shown.Read(data.size());
    return ahead.OnData(rel, offset, data, write);
  };
  auto unpacked = UnpackAndReadManifest(archive, *ws, unpack_options);
  ahead.Stop();
  if (!unpacked.ok()) {
    // Our own disk (full, unwritable) is not the archive's fault: exit 1.
    int code = UnpackExitCode(unpacked.status());
    reporter.SetFatal(unpacked.status(), code);
    if (code == kExitBadArchive) ReportUntaggedBlobs(sink, reporter);
    return code;
  }
  input.files = std::move(unpacked->files);
  input.manifest = std::move(unpacked->manifest);
  ImportPlan plan = BuildImportPlan(input);
  if (budget.exceeded()) {  // an image file inflated past what the archive may
    reporter.SetFatal(budget.ExceededError(archive), kExitBadArchive);
    ReportUntaggedBlobs(sink, reporter);
    return kExitBadArchive;
  }
  if (!plan.platform_filter.ok()) {  // nothing of this archive is wanted: never "OK"
    reporter.SetFatal(plan.platform_filter, kExitItemFailed);
    return kExitItemFailed;
  }
  reporter.Progress("Found " + std::to_string(plan.ImageCount()) + " image(s) and " +
                    std::to_string(plan.charts.size()) + " chart(s) to import.");
  if (plan.skipped_platforms > 0) {
    reporter.Progress("Skipping " + std::to_string(plan.skipped_platforms) +
                      " image(s) of other platforms (--architectures/--platform).");
  }
  for (const auto& w : plan.warnings) reporter.Warning(w);

  ImagesPushed pushed = images.Push(plan, reporter);
  results.transfer = pushed.transfer;
  ChartsContext charts{.charts_dir = ws->charts,
                       .options = options.charts,
                       .target = &target,
                       .sink = &sink,
                       .target_namespace = options.target.target_namespace,
                       .unimported_repositories = UnimportedRepositories(plan, pushed.items)};
  std::vector<ItemResult> charted = HandleCharts(plan, charts, reporter);
  results.items = std::move(pushed.items);
  // What a saved archive carries of the images' simple signatures.
  CarrySignatures(ws->root, results.items, target, options.sign.registries_d, options.dry_run,
                  reporter);
  results.items.insert(results.items.end(), charted.begin(), charted.end());
  return reporter.failed_items() > 0 ? kExitItemFailed : kExitOk;
}

// Runs the stages in a new work directory, then removes it: all of it after
// success (unless --keep-workdir) or an unreadable archive; only the scratch
// files when items failed, so the unpacked archive can be looked at.
int ImportArchive(const std::string& archive, const Target& target, RecordingSink& sink,
                  const LoadOptions& options, ProgressDisplay* progress,
                  Reporter& reporter, StageResults& results) {
  auto ws = PrepareWorkspace(options.work.workdir, archive);
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
  } remove_on_throw{.ws = *ws};
  int code = RunStages(archive, &*ws, target, sink, options, progress, reporter, results);
  if (!reporter.fatal().ok() || (code == kExitOk && !options.work.keep_workdir)) {
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

namespace {

constexpr char kTargetForms[] =
    "a registry is HOST[:PORT][/PREFIX] (or oci://HOST..., docker://HOST..., https://HOST...); "
    "an OCI image layout is oci:DIR";

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) {
  return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "sha256:<hex>" after the text's last '@': a digest reference, which no
// registry address holds (and which user info never ends in).
bool EndsInDigest(std::string_view text) {
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view digest = text.substr(at + 1);
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view hex = digest.substr(colon + 1);
  return hex.size() >= 32 && std::all_of(hex.begin(), hex.end(), IsHexDigit) &&
         std::all_of(digest.begin(), digest.begin() + colon,
                     [](char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); });
}

// The scheme or transport name a text starts with ("oci" for "oci://x" and
// "oci:x", "ftp" for "ftp://x"), or "" when it starts with a host
// ("reg", "reg:5000/x": the colon is followed by a port).
std::string SchemeOf(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !IsAsciiAlpha(text[0])) return "";
  std::string_view name = text.substr(0, colon);
  bool scheme_chars = std::all_of(name.begin(), name.end(), [](char c) {
    return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '+' || c == '-' || c == '.';
  });
  if (!scheme_chars) return "";
  std::string_view after = text.substr(colon + 1);
  size_t port_end = after.find('/');
  std::string_view port = after.substr(0, port_end);
  if (!port.empty() && std::all_of(port.begin(), port.end(), IsAsciiDigit)) return "";
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

// "host", "host:5000", "10.0.0.1:443", "[::1]:5000" (letters, digits, '.',
// '-', '_'; a port of digits).
bool IsValidHost(std::string_view host) {
  std::string_view name = host, port;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view inside = host.substr(1, close - 1);
    if (!std::all_of(inside.begin(), inside.end(),
                     [](char c) { return IsHexDigit(c) || c == ':' || c == '.'; })) {
      return false;
    }
    std::string_view rest = host.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
    return !port.empty() && std::all_of(port.begin(), port.end(), IsAsciiDigit);
  }
  if (size_t colon = host.find(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), IsAsciiDigit)) return false;
  }
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '.' || c == '-' || c == '_';
  });
}

Status LayoutWithRegistryFlags(const std::string& layout, const RegistryOnlyFlags& flags) {
  std::vector<std::string> given;
  if (flags.plain_http) given.push_back("--plain-http");
  if (const TransportOptions* t = flags.transport; t && !flags.tls_server_besides) {
    if (t->insecure) given.push_back("--insecure");
    if (!t->ca_file.empty()) given.push_back("--ca-file");
    if (!t->cert_file.empty()) given.push_back("--cert-file");
    if (!t->key_file.empty()) given.push_back("--key-file");
    if (!t->cert_dir.empty()) given.push_back("--cert-dir");
  }
  if (given.empty()) return Status::Ok();
  std::string names;
  for (const auto& g : given) names += (names.empty() ? "" : ", ") + g;
  return InvalidInput(
      names + (given.size() == 1 ? " applies" : " apply") +
          " only to a registry, and the target is the OCI image layout '" + layout +
          "'",
      "name a registry (--registry HOST[:PORT] or oci://HOST[:PORT]), or drop " + names +
          " (also from PPA_IMPORT_* variables and the config file)");
}

// "oci:" followed by no "//": an OCI image layout directory.
Result<std::string> ParseLayoutDir(const std::string& text) {
  std::string dir = text.substr(4);
  if (dir.empty()) {
    return InvalidInput("'--registry oci:' names no directory",
                        "write oci:DIR for an OCI image layout, oci://HOST[:PORT] for a registry");
  }
  if (dir.find(':') != std::string::npos) {
    return InvalidInput("'--registry " + RedactUserInfo(text) +
                            "' is ambiguous: a directory with ':' in its name, skopeo's "
                            "oci:DIR:REFERENCE, or a registry written without '//'",
                        "write oci://HOST[:PORT][/PREFIX] for a registry; oci:DIR for an OCI "
                        "image layout takes no reference (images keep their own names)");
  }
  if (dir.front() == '~') {
    return InvalidInput("'--registry " + text + "': the shell does not expand '~' after 'oci:'",
                        "write the directory out, e.g. oci:$HOME/DIR");
  }
  return dir;
}

}  // namespace

Result<RegistryAddress> ParseRegistryAddress(const std::string& given, bool plain_http) {
  if (EndsInDigest(given)) {
    return InvalidInput("--registry '" + RedactUserInfo(given.substr(0, given.rfind('@'))) +
                            "@...' ends in a digest; a registry address takes no image reference",
                        "give the registry and path only (HOST[:PORT][/PREFIX]); images keep "
                        "their own names and tags");
  }
  RegistryAddress address;
  // "user:password@" becomes credentials; no message below can show it.
  UrlUserInfo userinfo = SplitUserInfo(given);
  if (userinfo.present) {
    address.userinfo = Credentials(std::move(userinfo.username), std::move(userinfo.password));
  }
  const std::string text = std::move(userinfo.url);
  std::string rest = text;
  address.endpoint.plain_http = plain_http;
  const std::string scheme = SchemeOf(text);
  const bool slashes = !scheme.empty() && text.compare(scheme.size(), 3, "://") == 0;
  if (!scheme.empty()) {
    bool known = slashes && (scheme == "http" || scheme == "https" || scheme == "oci" ||
                             scheme == "docker");
    if (!known) {
      std::string what = slashes ? "the scheme '" + scheme + "://'" : "'" + scheme + ":'";
      return InvalidInput("--registry '" + text + "': " + what + " is no target ppa-import knows" +
                              (scheme == "oci" ? " (oci:DIR is an OCI image layout)" : ""),
                          kTargetForms);
    }
    if (scheme == "http") address.endpoint.plain_http = true;
    rest = rest.substr(scheme.size() + 3);
  }
  size_t slash = rest.find('/');
  address.endpoint.host = rest.substr(0, slash);
  if (slash != std::string::npos) {
    address.prefix = rest.substr(slash + 1);
    while (!address.prefix.empty() && address.prefix.back() == '/') address.prefix.pop_back();
  }
  if (!IsValidHost(address.endpoint.host)) {
    return InvalidInput("invalid registry '" + text + "'",
                        std::string("use HOST[:PORT][/PREFIX]; ") + kTargetForms);
  }
  std::string_view last = address.prefix;
  last = last.substr(last.rfind('/') == std::string_view::npos ? 0 : last.rfind('/') + 1);
  if (last.find(':') != std::string_view::npos) {
    return InvalidInput("--registry '" + text + "' ends in a tag ('" +
                            std::string(last.substr(last.find(':'))) +
                            "'); a registry address takes no image reference",
                        "give the registry and path only (HOST[:PORT][/PREFIX]); images keep "
                        "their own names and tags");
  }
  if (!address.prefix.empty() && !IsValidRepositoryPath(address.prefix)) {
    return InvalidInput("invalid registry path prefix '" + address.prefix + "'");
  }
  return address;
}

Result<TargetSpec> ParseTarget(const std::string& registry, const std::string& workdir,
                               const RegistryOnlyFlags& flags) {
  TargetSpec spec;
  if (registry.empty()) {
    spec.default_layout = true;
    spec.layout_dir = workdir + "/oci-layout";
  } else if (registry.rfind("oci:", 0) == 0 && registry.rfind("oci://", 0) != 0) {
    PPA_ASSIGN_OR_RETURN(spec.layout_dir, ParseLayoutDir(registry));
  } else if (registry.rfind("oci:///", 0) == 0) {
    return InvalidInput("'--registry " + registry +
                            "' is ambiguous: an OCI image layout or a registry without a host?",
                        "write oci:/DIR for an OCI image layout, oci://HOST[:PORT][/PREFIX] for "
                        "a registry");
  } else {
    spec.kind = TargetSpec::Kind::kRegistry;
    PPA_ASSIGN_OR_RETURN(spec.registry, ParseRegistryAddress(registry, flags.plain_http));
    return spec;
  }
  PPA_RETURN_IF_ERROR(LayoutWithRegistryFlags(spec.layout_dir, flags));
  return spec;
}

std::string DoubledNamespaceWarning(const RegistryAddress& address,
                                    const std::string& target_namespace) {
  const std::string& prefix = address.prefix;
  const std::string& ns = target_namespace;
  if (ns.empty() || prefix.size() < ns.size()) return "";
  bool repeats = prefix == ns || (prefix.size() > ns.size() && prefix.ends_with("/" + ns));
  if (!repeats) return "";
  return "images go to '" + address.endpoint.host + "/" + prefix + "/" + ns +
         "/...': --registry already ends in the namespace '" + ns +
         "'; if that is not meant, drop '/" + ns + "' from --registry";
}

namespace {

// The archives of this run: arguments, directories and lists expanded, then
// this pod's shard.
Result<std::vector<std::string>> SelectArchives(const ArchiveSelection& selection) {
  // A PPA archive extracted before is one archive, not a folder of them.
  std::vector<std::string> paths, extracted;
  for (const auto& a : selection.archives) {
    (IsExtractedPpaDirectory(a) ? extracted : paths).push_back(a);
  }
  PPA_ASSIGN_OR_RETURN(auto archives, ExpandArchives(paths, selection.list_files));
  archives.insert(archives.end(), extracted.begin(), extracted.end());
  PPA_ASSIGN_OR_RETURN(auto shard, ResolveShard(selection.shard, selection.job_completion_index,
                                                selection.shard_count));
  if (shard) archives = SelectShard(std::move(archives), *shard);
  return archives;
}

// The Signing stage of one archive (importer/load/sign_images.h): what the
// import stored, or what a warm re-import found, is signed. A signing
// failure fails its item, and so the archive (exit 1).
int SignArchive(ImageSigner& signer, int exit_code, bool warm_done, StageResults& results,
                Reporter& reporter) {
  std::vector<ItemResult> items = warm_done ? reporter.items() : std::move(results.items);
  signer.SignItems(items, reporter);
  bool failed = std::any_of(items.begin(), items.end(),
                            [](const ItemResult& item) { return !item.status.ok(); });
  if (!warm_done) results.items = std::move(items);
  return failed ? std::max(exit_code, kExitItemFailed) : exit_code;
}

ArchiveOutcome ImportOne(const std::string& archive, const Target& target, ImageSigner* signer,
                         const LoadOptions& options, ProgressDisplay* progress, std::ostream& out,
                         std::ostream& err, bool verdict_line) {
  ArchiveOutcome outcome;
  outcome.archive = archive;
  outcome.started = NowRfc3339();
  Reporter reporter(out, err, options.report.quiet, options.dry_run);
  reporter.SetProgressDisplay(progress);
  reporter.SetVerdictLine(verdict_line);  // -q with several archives: one line for the run
  RecordingSink sink(target.sink());  // what this archive wrote, should it prove unreadable
  // Imported before, and still there?
  WarmImport warm(archive, target.sink(), target.Describe(), options);
  StageResults results;  // what the stages did, when they ran
  bool warm_done = false;
  try {
    warm_done = warm.Done(reporter);
    outcome.exit_code =
        warm_done ? kExitOk
                  : ImportArchive(archive, target, sink, options, progress, reporter, results);
    if (signer != nullptr && reporter.fatal().ok()) {
      outcome.exit_code = SignArchive(*signer, outcome.exit_code, warm_done, results, reporter);
    }
  } catch (const std::exception& e) {  // a bug: this archive fails, the run goes on
    outcome.exit_code = kExitItemFailed;
    reporter.SetFatal(Unsupported(std::string("internal error: ") + e.what(),
                                  "the work directory was removed; please report this bug"),
                      outcome.exit_code);
  }
  if (reporter.fatal().ok()) reporter.Finish();
  outcome.fatal = reporter.fatal();
  // The stages' values; a warm re-import has none (it recorded what it
  // found with the reporter).
  outcome.items = warm_done ? reporter.items() : std::move(results.items);
  outcome.transfer = warm_done ? reporter.transfer() : results.transfer;
  if (reporter.fatal().ok()) warm.Record(outcome.exit_code, outcome.items);
  if (outcome.exit_code == kExitBadArchive) outcome.untagged_blobs = sink.written();
  outcome.finished = NowRfc3339();
  return outcome;
}

// Imports every archive on the run's pool, --parallel-archives at a time;
// one failed archive does not stop the others.
std::vector<ArchiveOutcome> ImportAll(ThreadPool& pool, const std::vector<std::string>& archives,
                                      const Target& target, ImageSigner* signer,
                                      const LoadOptions& options, ProgressDisplay* progress,
                                      std::ostream& out, std::ostream& err) {
  std::vector<ArchiveOutcome> outcomes(archives.size());
  TaskGroup imports(pool, std::max(1, options.work.parallel_archives));
  for (size_t i = 0; i < archives.size(); ++i) {
    imports.Submit([&, i] {
      outcomes[i] = ImportOne(archives[i], target, signer, options, progress, out, err,
                              !options.report.quiet || archives.size() == 1);
    });
  }
  imports.Wait();
  return outcomes;
}

// --json FILE|- (repeatable): the report, in each FILE and on stdout, last.
void WriteReport(const ReportDestinations& destinations, const RunReport& report,
                 std::ostream& stdout_stream, Reporter& reporter) {
  WriteReportTo(
      destinations, [&](int indent) { return RenderJsonReport(report, indent); }, stdout_stream,
      [&](const Status& failed) { reporter.Failure(failed); });
}

}  // namespace

int RunLoad(const LoadOptions& options, std::ostream& stdout_stream, std::ostream& err) {
  // With --json - alone, stdout carries the JSON report and nothing else;
  // beside a --json FILE, the report is the last line of the usual output.
  const ReportDestinations reports = ReportDestinationsOf(options.report.json_reports);
  std::ostream discard(nullptr);
  std::ostream& out = reports.stdout_only() ? discard : stdout_stream;
  RunReport report;
  report.started = NowRfc3339();
  report.target_namespace = options.target.target_namespace;
  Reporter usage(out, err, options.report.quiet);
  // A usage error found here is reported as one found while parsing:
  // Error/Hint, and the JSON report with the error (--json).
  auto usage_error = [&](const Status& error) {
    return ReportUsageError(error, options.report.json_reports, options.target.target_namespace,
                            stdout_stream, err);
  };
  auto archives = SelectArchives(options.selection);
  if (!archives.ok()) return usage_error(archives.status());
  if (archives->empty()) {
    if (!options.selection.shard.empty() || !options.selection.job_completion_index.empty()) {
      // A pod of an Indexed Job with more shards than archives: its report
      // says so too (no archive, exit 0), where the other pods' reports are.
      usage.Progress("This shard has no archive to import.");
      report.finished = NowRfc3339();
      WriteReport(reports, report, stdout_stream, usage);
      return kExitOk;
    }
    return usage_error(InvalidInput(
        "no archive given", "pass archive files or directories as arguments, --archive or --from-list"));
  }
  Status ns = ValidateNamespace(options.target.target_namespace, options.target.namespace_rules);
  if (!ns.ok()) return usage_error(ns);
  for (const auto& platform : options.images.architectures) {
    auto filter = ParsePlatformFilter(platform);
    if (!filter.ok()) return usage_error(filter.status());
  }
  // Stopped before any archive was imported: pipelines still get a report
  // saying why, against each archive.
  auto stopped = [&](const Status& why, int code) {
    usage.Fatal(why);
    report.exit_code = code;
    for (const auto& archive : *archives) {
      report.archives.push_back(ArchiveOutcome{.archive = archive, .exit_code = code, .fatal = why});
    }
    report.finished = NowRfc3339();
    WriteReport(reports, report, stdout_stream, usage);
    return code;
  };
  auto target = OpenLoadTarget(options, usage);
  if (!target.ok()) {
    return stopped(target.status(), target.status().code() == StatusCode::kInvalidInput
                                        ? kExitUsage
                                        : kExitItemFailed);
  }
  // The signing key is opened (and used once) before anything is pushed: a
  // missing key or a wrong passphrase stops the run here, as a
  // configuration error (exit 2).
  std::unique_ptr<ImageSigner> signer;
  if (options.sign.enabled()) {
    auto opened = ImageSigner::Open(options.sign, **target, options.target.target_namespace,
                                    options.dry_run);
    if (!opened.ok()) return stopped(opened.status(), kExitUsage);  // configuration
    signer = std::move(*opened);
    usage.Progress(std::string(options.dry_run ? "Would sign" : "Signing") +
                   " every image and manifest list with " + signer->DescribeKey() + ".");
  }
  auto lock = LockWorkdir(
      options.work.workdir, [&](const std::string& line) { usage.Progress(line); }, *archives);
  if (!lock.ok()) return stopped(lock.status(), kExitItemFailed);
  report.target = (*target)->Describe();
  // Progress redrawn on a terminal; in a pipe or a log, a plain line every
  // 10 s; none with -q or --json - alone. It stops with the imports: no
  // progress line may follow the summary or the report.
  const auto started = std::chrono::steady_clock::now();
  {
    // The run's one pool; every thread of the import is one of its. General
    // workers, for each archive imported at once: its task, which mostly
    // waits for its stages; the upload helpers beside it after the unpack
    // (RunAlongside: --jobs in all, default the cores, with that task); the
    // layer preparer's tasks (at most --jobs); and the
    // hash of the archive for the warm record. Leaf workers: --jobs for the
    // blocks of the layers being compressed. Loops (layer streams, the
    // upload ahead, the inflate producer, the progress ticker) get threads
    // as they start. Idle workers cost nothing.
    const int archives_at_once = std::max(1, options.work.parallel_archives);
    const int jobs = JobsFor(options.work.jobs);
    ThreadPool pool(archives_at_once * (2 * jobs + 1), archives_at_once * jobs);
    ProgressDisplay progress(options.report.quiet || reports.stdout_only() ? ProgressMode::kOff
                             : ProgressDisplay::TerminalAttached()  ? ProgressMode::kTerminal
                                                                    : ProgressMode::kLog,
                             stderr, &out, LogIntervalFromEnvironment(), pool);
    progress.ShowLabels(archives->size() > 1);
    progress.SetDryRun(options.dry_run);
    report.archives =
        ImportAll(pool, *archives, **target, signer.get(), options, &progress, out, err);
  }
  for (const auto& a : report.archives) report.exit_code = std::max(report.exit_code, a.exit_code);
  report.finished = NowRfc3339();
  if (report.archives.size() > 1 && !options.report.quiet) out << RenderSummaryTable(report);
  if (report.archives.size() > 1 && options.report.quiet) {
    out << RunVerdictLine(report.archives,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                              .count(),
                          options.dry_run)
        << std::endl;
  }
  WriteReport(reports, report, stdout_stream, usage);
  return report.exit_code;
}

}  // namespace ppa
