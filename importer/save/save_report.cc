#include "importer/save/save_report.h"

#include "importer/report/json_text.h"

namespace ppa {
namespace {

OrderedJson ImageJson(const SavedImage& image) {
  OrderedJson j;
  SetJsonText(j, "name", image.source.archive_name);
  SetJsonText(j, "source", image.source.given);
  j["file"] = image.source.file;
  j["media_type"] = image.top.media_type;
  j["digest"] = image.top.digest;
  j["index_rebuilt"] = image.index_rebuilt;
  OrderedJson platforms = OrderedJson::array();
  for (const SavedDocument& m : image.manifests) {
    OrderedJson p = {{"digest", m.digest}};
    p["platform"] = m.platform ? m.platform->ToString() : "";
    platforms.push_back(std::move(p));
  }
  j["manifests"] = std::move(platforms);
  OrderedJson attachments = OrderedJson::array();
  for (const SavedAttachment& a : image.attachments) {
    attachments.push_back({{"tag", a.tag}, {"digest", a.manifest.digest}});
  }
  j["attachments"] = std::move(attachments);
  j["simple_signatures"] = image.simple_signatures.size();
  j["blobs"] = image.blobs.size();
  j["bytes"] = image.Bytes();
  return j;
}

OrderedJson ChartJson(const SavedChart& chart) {
  OrderedJson j;
  j["file"] = chart.file;
  SetJsonText(j, "name", chart.metadata.name);
  SetJsonText(j, "version", chart.metadata.version);
  SetJsonText(j, "source", chart.source.given);
  j["digest"] = chart.digest;
  j["bytes"] = chart.size;
  j["provenance"] = chart.provenance.has_value();
  return j;
}

}  // namespace

std::string SaveReportJson(const SaveReport& report, int indent) {
  OrderedJson j = {{"schema_version", 1},
                   {"tool", {{"name", "ppa-import"}, {"version", PPA_IMPORT_VERSION}}},
                   {"command", "save"},
                   {"started", report.started},
                   {"finished", report.finished}};
  SetJsonText(j, "output", report.output);
  j["dry_run"] = report.dry_run;
  j["status"] = report.exit_code == 0 ? "ok" : "failed";
  j["exit_code"] = report.exit_code;
  if (!report.error.ok()) {
    SetJsonText(j, "error", report.error.message());
    if (!report.error.hint().empty()) SetJsonText(j, "hint", report.error.hint());
  }
  uint64_t total = 0;
  OrderedJson images = OrderedJson::array();
  for (const SavedImage* image : report.images) {
    total += image->Bytes();
    images.push_back(ImageJson(*image));
  }
  OrderedJson charts = OrderedJson::array();
  for (const SavedChart* chart : report.charts) {
    total += chart->size + (chart->provenance ? chart->provenance->size() : 0);
    charts.push_back(ChartJson(*chart));
  }
  j["images"] = std::move(images);
  j["charts"] = std::move(charts);
  j["bytes"] = total;
  return DumpJson(j, indent) + "\n";
}

}  // namespace ppa
