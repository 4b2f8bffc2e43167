#include "importer/load/charts_stage.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <utility>

#include "base/confined.h"
#include "base/file_util.h"
#include "archive/tar/safe_path.h"
#include "archive/tar/tar_index.h"
#include "base/url_userinfo.h"
#include "docker_io/image/image_reference.h"
#include "helm_io/chart.h"
#include "helm_io/chart_package.h"
#include "helm_io/helm_oci.h"
#include "helm_io/values_rewrite.h"

namespace ppa {
namespace {

// What a chart file and its provenance may weigh: charts are kilobytes to a
// few MiB (Helm refuses more than 100 MiB unpacked), a provenance file is a
// signed hash list of a few KiB. Both are held in memory, and copied for
// the upload.
constexpr uint64_t kMaxChartFileBytes = 16ull << 20;
constexpr uint64_t kMaxProvenanceBytes = 1ull << 20;

// A chart ready to be written and sent.
struct PreparedChart {
  ChartInfo info;
  std::string file_name;  // base name of the chart file
  std::string bytes;      // the package as written and uploaded
  std::string chart_yaml;
  std::optional<std::string> provenance;
  int64_t chart_yaml_mtime = 0;
  bool rewritten = false;
};

// The servers of one HandleCharts call: the ChartMuseum (made on first
// use, through the target's transport) and the target's blob pusher.
class ChartTargets {
 public:
  explicit ChartTargets(const ChartsContext& ctx)
      : ctx_(ctx), pusher_(ctx.sink ? *ctx.sink : ctx.target->sink()) {}

  Result<ChartMuseumClient*> ChartMuseum() {
    if (!museum_) {
      museum_ = std::make_unique<ChartMuseumClient>(
          ResolveChartMuseumConfig(ctx_.options, [](const char* name) {
            const char* v = std::getenv(name);
            return std::string(v != nullptr ? v : "");
          }),
          ctx_.target->transport());
      museum_status_ = museum_->Discover();
    }
    if (!museum_status_.ok()) return museum_status_;
    return museum_.get();
  }

  // HEAD, mount, upload of the chart's blobs, on the target every image
  // goes to.
  BlobPusher& Pusher() { return pusher_; }

 private:
  const ChartsContext& ctx_;
  std::unique_ptr<ChartMuseumClient> museum_;
  Status museum_status_;
  BlobPusher pusher_;
};

std::string Rfc3339(int64_t seconds) {
  if (seconds <= 0) {
    seconds = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Applies repository-keys to values.yaml; warnings go to the reporter.
Status RewriteValues(const PlannedChart& chart, const ChartsContext& ctx, ChartPackage& package,
                     PreparedChart& out, Reporter& reporter) {
  const std::string values_name = out.info.top_dir + "/values.yaml";
  ChartEntry* values = package.Find(values_name);
  if (values == nullptr) {
    reporter.Warning("chart '" + chart.name + "' has no '" + values_name +
                     "'; its repository keys are ignored");
    return Status::Ok();
  }
  const std::string& registry_prefix = ctx.target->prefix();
  const std::string prefix =
      ImageRepositoryPrefix(ctx.target->endpoint().host, registry_prefix, ctx.target_namespace);
  // Never point a value at a repository this run left without an image.
  auto refuse = [&ctx](const std::string& value) -> std::string {
    std::string repo = JoinRepository(ctx.target->prefix(), ctx.target_namespace, value);
    if (!ctx.unimported_repositories.count(repo)) return "";
    return "whose images were not imported (left out by --architectures/--platform, or failed)";
  };
  Result<ValuesRewrite> rewrite =
      RewriteValuesRepositories(values->data, chart.repository_keys, prefix, refuse);
  if (!rewrite.ok()) return rewrite.status().WithContext("chart '" + chart.name + "'");
  for (const std::string& w : rewrite->warnings) reporter.Warning("chart '" + chart.name + "': " + w);
  if (rewrite->rewritten == 0) return Status::Ok();
  values->data = std::move(rewrite->text);
  PPA_ASSIGN_OR_RETURN(out.bytes, WriteChartPackage(package));
  out.rewritten = true;
  reporter.Progress(reporter.Verb("Rewrote ", "Would rewrite ") +
                    std::to_string(rewrite->rewritten) + " image repository value(s) in '" +
                    values_name + "' to '" + prefix + "...'.");
  return Status::Ok();
}

// Validates, reads and (unless --keep-chart-values) rewrites one chart.
Result<PreparedChart> PrepareChart(const PlannedChart& chart, const ChartsContext& ctx,
                                   Reporter& reporter) {
  PPA_RETURN_IF_ERROR(chart.problem);
  PreparedChart out;
  PPA_ASSIGN_OR_RETURN(out.info, InspectChartArchive(chart.path));
  out.file_name = std::string(BaseName(chart.path));
  PPA_ASSIGN_OR_RETURN(out.bytes, ReadSmallFile(chart.path, kMaxChartFileBytes));
  Result<ChartPackage> parsed = ParseChartPackage(out.bytes);
  if (!parsed.ok()) return parsed.status().WithContext("chart '" + chart.name + "'");
  ChartPackage package = std::move(parsed).value();
  if (const ChartEntry* yaml = package.Find(out.info.top_dir + "/Chart.yaml")) {
    out.chart_yaml = yaml->data;
    out.chart_yaml_mtime = yaml->mtime;
  }
  // An OCI layout target has no registry name to point the values at.
  if (!ctx.options.keep_values && !chart.repository_keys.empty() && ctx.target->is_registry()) {
    PPA_RETURN_IF_ERROR(RewriteValues(chart, ctx, package, out, reporter));
  }
  const std::string prov_path = chart.path + ".prov";
  PPA_ASSIGN_OR_RETURN(bool has_provenance, IsRegularFile(prov_path));
  if (has_provenance) {
    if (out.rewritten) {
      reporter.Warning("chart '" + chart.name +
                       "': its provenance file no longer matches the rewritten chart and is not "
                       "passed on (--keep-chart-values keeps it)");
    } else {
      PPA_ASSIGN_OR_RETURN(out.provenance, ReadSmallFile(prov_path, kMaxProvenanceBytes));
    }
  }
  return out;
}

Status WriteChart(const PreparedChart& chart, const ChartsContext& ctx) {
  const std::string dest = ctx.charts_dir + "/" + chart.file_name;
  PPA_RETURN_IF_ERROR(WriteFileAtomic(dest, chart.bytes));
  if (chart.provenance) PPA_RETURN_IF_ERROR(WriteFileAtomic(dest + ".prov", *chart.provenance));
  return Status::Ok();
}

Status UploadToChartMuseum(const PreparedChart& chart, const ChartsContext& ctx,
                           ChartTargets& targets, Reporter& reporter) {
  reporter.Progress("Uploading chart '" + chart.file_name + "' to ChartMuseum '" +
                    RedactUserInfo(ctx.options.chartmuseum_uri) + "'...");
  PPA_ASSIGN_OR_RETURN(ChartMuseumClient * museum, targets.ChartMuseum());
  ChartUpload upload{.file_name = chart.file_name,
                     .chart_name = chart.info.metadata.name,
                     .version = chart.info.metadata.version,
                     .bytes = chart.bytes,
                     .provenance = chart.provenance};
  PPA_ASSIGN_OR_RETURN(const UploadOutcome outcome, museum->Upload(upload));
  if (outcome == UploadOutcome::kAlreadyPresent) {
    reporter.Result(chart.file_name + ": already present in ChartMuseum (same digest)");
  } else {
    reporter.Result(chart.file_name + ": saved");
  }
  return Status::Ok();
}

// The chart as a Helm OCI artifact at `target` (HelmChartTarget), on the
// run's target: a registry or the OCI image layout.
Status PushToTarget(const PreparedChart& chart, const HelmOciTarget& target,
                    const ChartsContext& ctx, ChartTargets& targets, Reporter& reporter,
                    ItemResult& item) {
  const std::string where = ctx.target->Locate(target.repository) + ":" + target.tag;
  reporter.Progress("Pushing chart '" + chart.info.metadata.name + ":" +
                    chart.info.metadata.version + "' to '" + where + "'...");
  HelmChartArtifact artifact{.chart_yaml = chart.chart_yaml,
                             .chart_tgz = chart.bytes,
                             .provenance = chart.provenance,
                             .created = Rfc3339(chart.chart_yaml_mtime)};
  Result<HelmPushResult> pushed = PushHelmChart(targets.Pusher(), target.repository, artifact);
  if (!pushed.ok()) {
    return pushed.status().WithContext("push of chart '" + chart.info.metadata.name + "'");
  }
  item.digest = pushed->digest;
  item.size = pushed->manifest_size;
  item.destinations.push_back(ctx.target->is_registry() ? "oci://" + where : where);
  reporter.Result(target.tag + ": digest: " + pushed->digest +
                  " size: " + std::to_string(pushed->manifest_size));
  return Status::Ok();
}

Status HandleChart(const PlannedChart& chart, const ChartsContext& ctx, ChartTargets& targets,
                   Reporter& reporter, ItemResult& item) {
  PPA_ASSIGN_OR_RETURN(const PreparedChart prepared, PrepareChart(chart, ctx, reporter));
  const ChartMetadata& md = prepared.info.metadata;
  item.chart_name = md.name;
  item.chart_version = md.version;
  item.target = ctx.charts_dir + "/" + prepared.file_name;
  // A name that cannot be an OCI reference fails the chart before anything
  // is written or sent (dry runs included).
  std::optional<HelmOciTarget> oci;
  if (ctx.options.oci) {
    PPA_ASSIGN_OR_RETURN(oci, HelmChartTarget(ctx.target->prefix(), ctx.target_namespace,
                                              md.name, md.version));
  }
  reporter.Progress(reporter.Verb("Extracting", "Would extract") + " chart '" + chart.name +
                    "' to '" + ctx.charts_dir + "'.");
  if (ctx.target->dry_run()) return Status::Ok();
  PPA_RETURN_IF_ERROR(WriteChart(prepared, ctx));
  item.destinations.push_back(item.target);
  if (!ctx.options.chartmuseum_uri.empty()) {
    PPA_RETURN_IF_ERROR(UploadToChartMuseum(prepared, ctx, targets, reporter));
    item.destinations.push_back(RedactUserInfo(ctx.options.chartmuseum_uri));
  }
  if (oci) PPA_RETURN_IF_ERROR(PushToTarget(prepared, *oci, ctx, targets, reporter, item));
  return Status::Ok();
}

void WarnAboutSecrets(const ChartOptions& options, Reporter& reporter) {
  if (options.password_on_command_line) {
    reporter.Warning(
        "--chartmuseum-password is visible to other users in the process list; use "
        "--chartmuseum-password-stdin or PPA_IMPORT_CHARTMUSEUM_PASSWORD instead");
  }
}

}  // namespace

std::set<std::string> UnimportedRepositories(const ImportPlan& plan,
                                             const std::vector<ItemResult>& items) {
  std::set<std::string> imported_names;
  for (const auto& item : items) {
    if (item.kind == ItemResult::Kind::kImage && item.status.ok()) imported_names.insert(item.name);
  }
  std::set<std::string> imported, out = plan.skipped_repositories;
  for (const auto& group : plan.groups) {
    for (const auto& image : group.images) {
      if (image.target.repository.empty()) continue;
      bool ok = image.problem.ok() && imported_names.count(image.name);
      (ok ? imported : out).insert(image.target.repository);
    }
  }
  for (const auto& repo : imported) out.erase(repo);
  return out;
}

ChartMuseumConfig ResolveChartMuseumConfig(
    const ChartOptions& options, const std::function<std::string(const char*)>& getenv) {
  ChartMuseumConfig config;
  // "user:password@" in the URI counts as --chartmuseum-user/-password.
  UrlUserInfo userinfo = SplitUserInfo(options.chartmuseum_uri);
  config.uri = userinfo.url;
  if (options.context_path_set) config.context_path = options.chartmuseum_context_path;
  config.username = !options.chartmuseum_user.empty() ? options.chartmuseum_user
                    : !userinfo.username.empty()      ? userinfo.username
                                                      : getenv("PPA_IMPORT_CHARTMUSEUM_USER");
  config.password = !options.chartmuseum_password.empty() ? options.chartmuseum_password
                    : !userinfo.password.empty()          ? userinfo.password
                                                  : getenv("PPA_IMPORT_CHARTMUSEUM_PASSWORD");
  config.token = options.chartmuseum_token.empty() ? getenv("PPA_IMPORT_CHARTMUSEUM_TOKEN")
                                                   : options.chartmuseum_token;
  config.force = options.force;
  return config;
}

std::vector<ItemResult> HandleCharts(const ImportPlan& plan, const ChartsContext& ctx,
                                     Reporter& reporter) {
  std::vector<ItemResult> items;
  if (plan.charts.empty()) return items;
  WarnAboutSecrets(ctx.options, reporter);
  ChartTargets targets(ctx);
  // A server that is down fails every chart the same way: one Error/Hint
  // pair says so, each chart is still recorded as failed.
  Status last_printed;
  int repeated = 0;
  for (const auto& chart : plan.charts) {
    ItemResult item{.kind = ItemResult::Kind::kChart, .name = chart.name};
    item.status = HandleChart(chart, ctx, targets, reporter, item);
    if (!item.status.ok()) {
      if (!last_printed.ok() && item.status.message() == last_printed.message()) {
        ++repeated;
      } else {
        reporter.Failure(item.status);
        last_printed = item.status;
      }
    }
    reporter.Record(item);
    items.push_back(std::move(item));
  }
  if (repeated > 0) {
    reporter.Warning("the same failure for " + std::to_string(repeated) + " more chart(s)");
  }
  return items;
}

}  // namespace ppa
