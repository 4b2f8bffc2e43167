#include "importer/commands/inspect.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>

#include "base/file_util.h"
#include "helm_io/chart.h"
#include "importer/cli/cli.h"
#include "importer/report/display_text.h"
#include "importer/report/json_text.h"
#include "importer/load/plan.h"
#include "importer/report/progress.h"
#include "importer/report/run_report.h"
#include "importer/load/workspace.h"

namespace ppa {
namespace {

using Json = OrderedJson;

// The problems of an archive, in the words `inspect` prints them.
using Problems = std::vector<std::string>;

}  // namespace

const char* LayerCompressionName(Compression c) {
  return c == Compression::kNone ? "uncompressed" : CompressionName(c);
}

std::vector<std::string> GroupPlatforms(const PlannedGroup& group) {
  std::set<std::string> seen;
  for (const auto& img : group.images) {
    if (img.platform) {
      seen.insert(img.platform->ToString());
    } else if (img.source && img.source->problem.ok()) {
      seen.insert(img.source->platform.ToString());
    }
  }
  return {seen.begin(), seen.end()};
}

namespace {

Json ImageJson(const PlannedImage& image, Problems& problems) {
  Json j = Json::object();
  SetJsonText(j, "name", image.name);
  SetJsonText(j, "platform", image.platform ? image.platform->ToString() : "");
  if (image.source) {
    const ImageSource& src = *image.source;
    SetJsonText(j, "source", src.origin);
    SetJsonTextList(j, "names_in_tarball", src.names);
    SetJsonText(j, "config_digest", src.config_digest);
    Json layers = Json::array();
    uint64_t total = 0;
    for (const auto& l : src.layers) {
      Json layer = Json::object();
      SetJsonText(layer, "diff_id", l.diff_id);
      layer["size"] = l.size;
      layer["compression"] = LayerCompressionName(l.compression);
      layers.push_back(std::move(layer));
      total += l.size;
    }
    j["layers"] = layers;
    j["size"] = total;
  }
  if (!image.problem.ok()) {
    SetJsonText(j, "problem", image.problem.message());
    problems.push_back(image.name + ": " + image.problem.message());
  }
  return j;
}

Json ChartJson(const PlannedChart& chart, Problems& problems) {
  Json j = Json::object();
  SetJsonText(j, "file", chart.name);
  SetJsonTextList(j, "repository_keys", chart.repository_keys);
  Status problem = chart.problem;
  if (problem.ok()) {
    auto info = InspectChartArchive(chart.path);
    if (info.ok()) {
      SetJsonText(j, "name", info->metadata.name);
      SetJsonText(j, "version", info->metadata.version);
    } else {
      problem = info.status();
    }
  }
  if (!problem.ok()) {
    SetJsonText(j, "problem", problem.message());
    problems.push_back(chart.name + ": " + problem.message());
  }
  return j;
}

Json Describe(const std::string& archive, const UnpackedArchive& unpacked, const ImportPlan& plan) {
  Json j = Json::object();
  j["schema_version"] = kJsonReportSchemaVersion;  // the load report's, one schema history
  SetJsonText(j, "archive", archive);
  j["manifests"] = unpacked.manifest ? "manifest.yaml/manifest.json" : "none";
  Problems problems = plan.warnings;
  Json images = Json::array();
  for (const auto& group : plan.groups) {
    Json g = Json::object();
    SetJsonText(g, "image", group.name);
    // Multi-arch only with two platforms or more; a manifest list of one
    // platform (what the PPA manifest asks for) is a manifest list all the same.
    std::vector<std::string> platforms = GroupPlatforms(group);
    g["multi_arch"] = platforms.size() > 1;
    g["manifest_list"] = group.list_target.has_value();
    SetJsonTextList(g, "platforms", platforms);
    if (!group.problem.ok()) problems.push_back(group.name + ": " + group.problem.message());
    g["references"] = Json::array();
    for (const auto& img : group.images) g["references"].push_back(ImageJson(img, problems));
    if (!group.problem.ok()) SetJsonText(g, "problem", group.problem.message());
    images.push_back(g);
  }
  j["images"] = images;
  j["charts"] = Json::array();
  for (const auto& c : plan.charts) j["charts"].push_back(ChartJson(c, problems));
  SetJsonTextList(j, "problems", problems);
  return j;
}

// The original bytes of j[key], escaped for the terminal.
std::string Shown(const Json& j, const std::string& key) { return DisplayLine(JsonTextOf(j, key)); }

void PrintHuman(const Json& j, std::ostream& out) {
  out << "Archive: " << Shown(j, "archive") << "\n\nImages:\n";
  for (const auto& g : j["images"]) {
    out << "  " << Shown(g, "image");
    if (g["multi_arch"].get<bool>()) {
      std::string platforms;
      for (size_t i = 0; i < g["platforms"].size(); ++i) {
        platforms += (i ? ", " : "") + DisplayLine(JsonTextAt(g, "platforms", i));
      }
      out << "  (multi-arch: " << platforms << ")";
    } else if (g["manifest_list"].get<bool>()) {
      out << "  (manifest list of one platform)";
    }
    out << "\n";
    for (const auto& r : g["references"]) {
      out << "    " << Shown(r, "name");
      if (!JsonTextOf(r, "platform").empty()) out << "  " << Shown(r, "platform");
      if (r.contains("source")) {
        std::string comp;
        for (const auto& l : r["layers"]) {
          std::string c = l["compression"];
          if (comp.find(c) == std::string::npos) comp += (comp.empty() ? "" : ",") + c;
        }
        out << "  from " << Shown(r, "source") << ", " << r["layers"].size() << " layer(s), "
            << HumanBytes(r["size"].get<uint64_t>())
            << (comp.empty() ? "" : ", layers " + comp);
      }
      out << "\n";
    }
  }
  out << "\nCharts:\n";
  for (const auto& c : j["charts"]) {
    out << "  " << Shown(c, "file");
    if (c.contains("name")) out << "  " << Shown(c, "name") << " " << Shown(c, "version");
    out << "\n";
  }
  out << "\nProblems:" << (j["problems"].empty() ? " none" : "") << "\n";
  for (size_t i = 0; i < j["problems"].size(); ++i) {
    out << "  " << DisplayLine(JsonTextAt(j, "problems", i)) << "\n";
  }
}

// Removes the work folder when the run leaves RunInspect, however it leaves.
class WorkspaceRemover {
 public:
  explicit WorkspaceRemover(const Workspace& ws) : ws_(ws) {}
  ~WorkspaceRemover() { RemoveWorkspace(ws_); }
  WorkspaceRemover(const WorkspaceRemover&) = delete;
  WorkspaceRemover& operator=(const WorkspaceRemover&) = delete;

 private:
  const Workspace& ws_;
};

}  // namespace

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  if (IsDirectory(options.archive) && !IsExtractedPpaDirectory(options.archive)) {
    PrintError(err, InvalidInput("'" + options.archive +
                                     "' is a directory that holds no manifest.yaml or "
                                     "manifest.json: no extracted PPA archive",
                                 "give a PPA archive file, or the directory it was extracted to"));
    return kExitUsage;
  }
  auto ws = PrepareWorkspace(options.workdir, options.archive);
  if (!ws.ok()) {
    PrintError(err, ws.status());
    return kExitItemFailed;  // our disk, as in load
  }
  WorkspaceRemover remover(*ws);
  InflationBudget budget(InflationLimitOf(options.archive, 0));
  UnpackOptions unpack;
  unpack.budget = &budget;
  unpack.inflate_index = CachedInflateIndex(/*no_cache=*/false);
  auto unpacked = UnpackAndReadManifest(options.archive, *ws, unpack);
  if (!unpacked.ok()) {
    PrintError(err, unpacked.status());
    return UnpackExitCode(unpacked.status());  // as in load
  }
  PlanInput input{.root = ws->root,
                  .files = unpacked->files,
                  .manifest = unpacked->manifest,
                  .scratch_dir = ws->scratch};
  input.read_image_file = [&](const std::string& path, const std::string& rel) {
    return ReadImageFile(path, rel, ws->scratch, &budget);
  };
  ImportPlan plan = BuildImportPlan(input);
  if (budget.exceeded()) {  // an image file inflated past what the archive may
    PrintError(err, budget.ExceededError(options.archive));
    return kExitBadArchive;
  }
  Json j = Describe(options.archive, *unpacked, plan);
  if (options.json) {
    out << DumpJson(j, 2) << "\n";
  } else {
    PrintHuman(j, out);
  }
  out.flush();
  return j["problems"].empty() ? kExitOk : kExitItemFailed;
}

}  // namespace ppa
