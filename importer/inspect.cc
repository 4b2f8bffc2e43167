#include "importer/inspect.h"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "archive/file_util.h"
#include "helm_io/chart.h"
#include "importer/cli.h"
#include "importer/plan.h"
#include "importer/workspace.h"

namespace ppa {
namespace {

using Json = nlohmann::ordered_json;

Json ImageJson(const PlannedImage& image) {
  Json j{{"name", image.name}, {"platform", image.platform ? image.platform->ToString() : ""}};
  if (image.source) {
    const ImageSource& src = *image.source;
    j["source"] = src.origin;
    j["names_in_tarball"] = src.names;
    j["config_digest"] = src.config_digest;
    Json layers = Json::array();
    uint64_t total = 0;
    for (const auto& l : src.layers) {
      layers.push_back({{"diff_id", l.diff_id},
                        {"size", l.size},
                        {"compression", CompressionName(l.compression)}});
      total += l.size;
    }
    j["layers"] = layers;
    j["size"] = total;
  }
  if (!image.problem.ok()) j["problem"] = image.problem.message();
  return j;
}

Json ChartJson(const PlannedChart& chart) {
  Json j{{"file", chart.name}, {"repository_keys", chart.repository_keys}};
  Status problem = chart.problem;
  if (problem.ok()) {
    auto info = InspectChartArchive(chart.path);
    if (info.ok()) {
      j["name"] = info->metadata.name;
      j["version"] = info->metadata.version;
    } else {
      problem = info.status();
    }
  }
  if (!problem.ok()) j["problem"] = problem.message();
  return j;
}

Json Describe(const std::string& archive, const UnpackedArchive& unpacked, const ImportPlan& plan) {
  Json j{{"archive", archive},
         {"manifests", unpacked.manifest ? "manifest.yaml/manifest.json" : "none"}};
  Json images = Json::array();
  for (const auto& group : plan.groups) {
    Json g{{"image", group.name}, {"multi_arch", group.list_target.has_value()}};
    g["references"] = Json::array();
    for (const auto& img : group.images) g["references"].push_back(ImageJson(img));
    if (!group.problem.ok()) g["problem"] = group.problem.message();
    images.push_back(g);
  }
  j["images"] = images;
  j["charts"] = Json::array();
  for (const auto& c : plan.charts) j["charts"].push_back(ChartJson(c));
  Json problems = Json::array();
  for (const auto& w : plan.warnings) problems.push_back(w);
  for (const auto& g : j["images"]) {
    if (g.contains("problem")) problems.push_back(g["image"].get<std::string>() + ": " + g["problem"].get<std::string>());
    for (const auto& r : g["references"]) {
      if (r.contains("problem")) problems.push_back(r["name"].get<std::string>() + ": " + r["problem"].get<std::string>());
    }
  }
  for (const auto& c : j["charts"]) {
    if (c.contains("problem")) problems.push_back(c["file"].get<std::string>() + ": " + c["problem"].get<std::string>());
  }
  j["problems"] = problems;
  return j;
}

std::string HumanSize(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else if (bytes >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

void PrintHuman(const Json& j, std::ostream& out) {
  out << "Archive: " << j["archive"].get<std::string>() << "\n\nImages:\n";
  for (const auto& g : j["images"]) {
    out << "  " << g["image"].get<std::string>() << (g["multi_arch"].get<bool>() ? "  (multi-arch)" : "")
        << "\n";
    for (const auto& r : g["references"]) {
      out << "    " << r["name"].get<std::string>();
      if (!r["platform"].get<std::string>().empty()) out << "  " << r["platform"].get<std::string>();
      if (r.contains("source")) {
        std::string comp;
        for (const auto& l : r["layers"]) {
          std::string c = l["compression"];
          if (comp.find(c) == std::string::npos) comp += (comp.empty() ? "" : ",") + c;
        }
        out << "  from " << r["source"].get<std::string>() << ", " << r["layers"].size()
            << " layer(s), " << HumanSize(r["size"].get<uint64_t>())
            << (comp.empty() ? "" : " (" + comp + ")");
      }
      out << "\n";
    }
  }
  out << "\nCharts:\n";
  for (const auto& c : j["charts"]) {
    out << "  " << c["file"].get<std::string>();
    if (c.contains("name")) out << "  " << c["name"].get<std::string>() << " " << c["version"].get<std::string>();
    out << "\n";
  }
  out << "\nProblems:" << (j["problems"].empty() ? " none" : "") << "\n";
  for (const auto& p : j["problems"]) out << "  " << p.get<std::string>() << "\n";
}

}  // namespace

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& err) {
  auto ws = PrepareWorkspace(options.workdir);
  if (!ws.ok()) {
    err << "Error: " << ws.status().message() << "\n";
    return kExitUsage;
  }
  UnpackOptions unpack;
  unpack.inflate_index = CachedInflateIndex(/*no_cache=*/false);
  auto unpacked = UnpackAndReadManifest(options.archive, *ws, unpack);
  if (!unpacked.ok()) {
    err << "Error: " << unpacked.status().message() << "\n";
    if (!unpacked.status().hint().empty()) err << "Hint: " << unpacked.status().hint() << "\n";
    RemoveWorkspace(*ws);
    return kExitBadArchive;
  }
  PlanInput input{ws->root, unpacked->files, unpacked->manifest, ws->scratch, "", "", {}};
  ImportPlan plan = BuildImportPlan(input);
  Json j = Describe(options.archive, *unpacked, plan);
  if (options.json) {
    out << j.dump(2) << "\n";
  } else {
    PrintHuman(j, out);
  }
  RemoveWorkspace(*ws);
  return j["problems"].empty() ? kExitOk : kExitItemFailed;
}

}  // namespace ppa
