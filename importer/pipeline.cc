#include "importer/pipeline.h"

#include <algorithm>

#include "archive/file_util.h"
#include "archive/ppa_manifest.h"
#include "archive/tar_index.h"
#include "archive/unpack.h"
#include "docker_io/blob_sink.h"
#include "docker_io/image_reference.h"
#include "importer/charts_stage.h"
#include "importer/cli.h"
#include "importer/plan.h"
#include "importer/push_images.h"
#include "importer/report.h"

namespace ppa {
namespace {

// ppa-import/<uuid>/ for this run's files; ppa-import/charts/ beside it.
struct Workspace {
  std::string base;    // absolute "ppa-import"
  std::string root;    // base/<uuid>: the unpacked archive
  std::string scratch; // base/<uuid>.tmp: inflated tarballs, spooled layers
  std::string charts;  // base/charts
};

Result<Workspace> PrepareWorkspace(const std::string& workdir) {
  Workspace ws;
  ws.base = AbsolutePath(workdir);
  std::string id = NewUuid();
  ws.root = ws.base + "/" + id;
  ws.scratch = ws.base + "/" + id + ".tmp";
  ws.charts = ws.base + "/charts";
  for (const auto& dir : {ws.base, ws.root, ws.scratch, ws.charts}) {
    PPA_RETURN_IF_ERROR(MakeDirs(dir));
  }
  return ws;
}

void RemoveWorkspace(const Workspace& ws) {
  (void)RemoveTree(ws.root);
  (void)RemoveTree(ws.scratch);
}

// Reads and merges manifest.yaml / manifest.json; nullopt when neither exists.
Result<std::optional<PpaManifest>> ReadPpaManifest(const std::string& root,
                                                   const std::vector<std::string>& files) {
  auto has = [&](const char* name) { return std::find(files.begin(), files.end(), name) != files.end(); };
  std::optional<PpaManifest> yaml, json;
  if (has("manifest.yaml")) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(root + "/manifest.yaml"));
    auto parsed = ParsePpaManifestYaml(text);
    if (!parsed.ok()) return parsed.status().WithContext("manifest.yaml");
    yaml = std::move(parsed).value();
  }
  if (has("manifest.json")) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(root + "/manifest.json"));
    auto parsed = ParsePpaManifestJson(text);
    if (!parsed.ok()) return parsed.status().WithContext("manifest.json");
    json = std::move(parsed).value();
  }
  if (!yaml && !json) return std::optional<PpaManifest>();
  return std::optional<PpaManifest>(MergePpaManifests(yaml, json));
}

// Connects to the registry and checks, once, that it answers as a registry
// and accepts the credentials: a wrong password is one clear failure, not
// one per image.
Result<std::unique_ptr<BlobSink>> ConnectRegistry(const RegistryAddress& address,
                                                  const LoadOptions& options) {
  std::shared_ptr<HttpTransport> transport = MakeCurlTransport(options.transport);
  auto client = std::make_shared<RegistryClient>(address.endpoint, options.credentials, transport);
  Status ping = client->Ping();
  if (!ping.ok()) return ping.WithContext("registry '" + address.endpoint.host + "'");
  return MakeRegistrySink(std::move(client));
}

// The stages for one archive.
int ImportArchive(const std::string& archive, const RegistryAddress& address, BlobSink& sink,
                  const LoadOptions& options, Reporter& reporter) {
  auto ws = PrepareWorkspace(options.workdir);
  if (!ws.ok()) {
    reporter.Fatal(ws.status());
    return kExitUsage;
  }
  reporter.Progress("Unpacking archive to '" + ws->root + "'...");
  auto unpacked = UnpackArchive(archive, ws->root);
  if (!unpacked.ok()) {
    reporter.Fatal(unpacked.status());
    RemoveWorkspace(*ws);
    return kExitBadArchive;
  }
  auto manifest = ReadPpaManifest(ws->root, unpacked->files);
  if (!manifest.ok()) {
    reporter.Fatal(manifest.status().WithContext("archive '" + archive + "'"));
    RemoveWorkspace(*ws);
    return kExitBadArchive;
  }
  PlanInput input{ws->root,       unpacked->files,          *manifest,           ws->scratch,
                  address.prefix, options.target_namespace, options.architectures};
  ImportPlan plan = BuildImportPlan(input);
  reporter.Progress("Found " + std::to_string(plan.ImageCount()) + " image(s) and " +
                    std::to_string(plan.charts.size()) + " chart(s) to import.");
  if (plan.skipped_platforms > 0) {
    reporter.Progress("Skipping " + std::to_string(plan.skipped_platforms) +
                      " image(s) of other architectures (--architectures).");
  }
  for (const auto& w : plan.warnings) reporter.Warning(w);

  PushImages(plan, sink, PushOptions{options.format, options.compression, ws->scratch}, reporter);
  HandleCharts(plan, ChartsOptions{ws->charts, false}, reporter);

  bool failed = reporter.failed_items() > 0;
  if (!options.keep_workdir && !failed) {
    RemoveWorkspace(*ws);
  } else {
    (void)RemoveTree(ws->scratch);
  }
  return failed ? kExitItemFailed : kExitOk;
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

Result<RegistryAddress> ParseRegistryAddress(const std::string& text, bool plain_http) {
  RegistryAddress address;
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

int RunLoad(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  Reporter usage(out, err, options.quiet);
  if (options.archives.empty()) {
    usage.Fatal(InvalidInput("no archive given", "pass the archive file as an argument or with --archive"));
    return kExitUsage;
  }
  Status ns = ValidateNamespace(options.target_namespace, options.namespace_rules);
  if (!ns.ok()) {
    usage.Fatal(ns);
    return kExitUsage;
  }
  if (options.registry.empty()) {
    usage.Fatal(InvalidInput("no target registry configured",
                             "pass --registry HOST[:PORT] or set PPA_IMPORT_REGISTRY"));
    return kExitUsage;
  }
  auto address = ParseRegistryAddress(options.registry, options.plain_http);
  if (!address.ok()) {
    usage.Fatal(address.status());
    return kExitUsage;
  }
  auto sink = ConnectRegistry(*address, options);
  if (!sink.ok()) {
    usage.Fatal(sink.status());
    return kExitItemFailed;
  }
  int worst = kExitOk;
  for (const auto& archive : options.archives) {
    Reporter reporter(out, err, options.quiet);
    int code = ImportArchive(archive, *address, **sink, options, reporter);
    if (code != kExitBadArchive && code != kExitUsage) reporter.Finish();
    worst = std::max(worst, code);
  }
  return worst;
}

}  // namespace ppa
