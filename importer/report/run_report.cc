#include "importer/report/run_report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

#include "base/file_util.h"
#include "archive/tar/safe_path.h"
#include "base/url_userinfo.h"
#include "importer/report/display_text.h"
#include "importer/report/json_text.h"

namespace ppa {
namespace {

using Json = OrderedJson;

const char* KindName(ItemResult::Kind kind) {
  switch (kind) {
    case ItemResult::Kind::kImage: return "image";
    case ItemResult::Kind::kManifestList: return "manifest-list";
    case ItemResult::Kind::kChart: return "chart";
  }
  return "unknown";
}

// "error" and "hint" of a failed status (no URL in them keeps user info).
void AddError(Json& j, const Status& status) {
  SetJsonText(j, "error", RedactUserInfoInText(status.message()));
  if (!status.hint().empty()) SetJsonText(j, "hint", RedactUserInfoInText(status.hint()));
}

void AddStatus(Json& j, const Status& status) {
  j["status"] = status.ok() ? "ok" : "failed";
  if (!status.ok()) AddError(j, status);
}

Json ImageJson(const ItemResult& item) {
  Json j{{"kind", KindName(item.kind)}};
  SetJsonText(j, "name", item.name);
  SetJsonText(j, "target", item.target);
  if (!item.source.empty()) SetJsonText(j, "source", item.source);
  if (!item.platform.empty()) SetJsonText(j, "platform", item.platform);
  if (!item.digest.empty()) j["manifest_digest"] = item.digest, j["manifest_size"] = item.size;
  if (!item.config_digest.empty()) j["config_digest"] = item.config_digest;
  if (item.kind == ItemResult::Kind::kManifestList && !item.digest.empty() &&
      !item.children.empty()) {
    j["manifests"] = item.children;
  }
  if (item.digest_kept) {
    j["digest_kept"] = *item.digest_kept;
    if (!item.archive_digest.empty()) j["archive_digest"] = item.archive_digest;
    if (!item.digest_note.empty()) j["digest_note"] = item.digest_note;
  }
  if (!item.signatures.empty()) {
    Json signatures = Json::array();
    for (const auto& sig : item.signatures) {
      Json sj{{"scheme", sig.scheme}};
      SetJsonText(sj, "reference", sig.reference);
      sj["digest"] = sig.digest;
      SetJsonText(sj, "key", sig.key);
      SetJsonText(sj, "stored", sig.stored);  // a path or our own URL: no user info
      sj["added"] = sig.added;
      signatures.push_back(sj);
    }
    j["signatures"] = signatures;
  }
  if (!item.blobs.empty()) {
    Json blobs = Json::array();
    for (const auto& b : item.blobs) {
      Json bj{{"digest", b.digest}, {"size", b.size}, {"action", BlobActionName(b.action)},
              {"bytes_sent", b.bytes_sent}};
      if (!b.diff_id.empty()) bj["diff_id"] = b.diff_id;
      blobs.push_back(bj);
    }
    j["blobs"] = blobs;
  }
  AddStatus(j, item.status);
  return j;
}

Json ChartJson(const ItemResult& item) {
  Json j = Json::object();
  SetJsonText(j, "file", item.name);
  if (!item.chart_name.empty()) {
    SetJsonText(j, "name", item.chart_name);
    SetJsonText(j, "version", item.chart_version);
  }
  SetJsonTextList(j, "destinations", item.destinations);
  AddStatus(j, item.status);
  return j;
}

struct Counts {
  int images = 0, images_failed = 0, charts = 0, charts_failed = 0;
  void Add(const ItemResult& i) {
    bool chart = i.kind == ItemResult::Kind::kChart;
    (chart ? charts : images)++;
    if (!i.status.ok()) (chart ? charts_failed : images_failed)++;
  }
};

Json TotalsJson(const Counts& c, const TransferStats& t) {
  return Json{{"images", c.images},          {"images_failed", c.images_failed},
              {"charts", c.charts},          {"charts_failed", c.charts_failed},
              {"blobs_uploaded", t.blobs_uploaded}, {"blobs_present", t.blobs_present},
              {"bytes_uploaded", t.bytes_uploaded}};
}

Json UntaggedBlobsJson(const std::vector<WrittenBlob>& blobs) {
  Json out = Json::array();
  for (const auto& b : blobs) {
    Json bj = Json::object();
    SetJsonText(bj, "repository", RedactUserInfo(b.repository));
    bj["digest"] = b.digest;
    bj["size"] = b.size;
    out.push_back(bj);
  }
  return out;
}

}  // namespace

const char* ArchiveStatus(const ArchiveOutcome& outcome) {
  if (outcome.exit_code == 3) return "unreadable";  // kExitBadArchive
  // What landed: the images (and lists); charts only count in an archive
  // without images. Charts extracted while every image failed is no import.
  int images = 0, images_ok = 0, items_ok = 0, failed = 0;
  for (const auto& item : outcome.items) {
    bool ok = item.status.ok();
    (ok ? items_ok : failed)++;
    if (item.kind != ItemResult::Kind::kChart) images++, images_ok += ok;
  }
  bool anything_failed = failed > 0 || !outcome.fatal.ok() || outcome.exit_code != 0;
  if (!anything_failed) return "ok";
  return (images > 0 ? images_ok : items_ok) > 0 ? "partial" : "failed";
}

std::string NowRfc3339() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RenderJsonReport(const RunReport& report, int indent) {
  Json target = Json::object();
  SetJsonText(target, "registry", RedactUserInfo(report.target));
  SetJsonText(target, "namespace", report.target_namespace);
  Json j{{"schema_version", kJsonReportSchemaVersion},
         {"tool", {{"name", "ppa-import"}, {"version", PPA_IMPORT_VERSION}}},
         {"started", report.started},
         {"finished", report.finished},
         {"target", target}};
  Json archives = Json::array();
  Counts all;
  TransferStats all_transfer;
  for (const auto& a : report.archives) {
    Json aj = Json::object();
    SetJsonText(aj, "archive", a.archive);
    aj["started"] = a.started;
    aj["finished"] = a.finished;
    aj["status"] = ArchiveStatus(a);
    aj["exit_code"] = a.exit_code;
    if (!a.fatal.ok()) AddError(aj, a.fatal);
    Json images = Json::array(), charts = Json::array();
    Counts c;
    for (const auto& item : a.items) {
      c.Add(item);
      all.Add(item);
      (item.kind == ItemResult::Kind::kChart ? charts : images)
          .push_back(item.kind == ItemResult::Kind::kChart ? ChartJson(item) : ImageJson(item));
    }
    aj["images"] = images;
    aj["charts"] = charts;
    aj["totals"] = TotalsJson(c, a.transfer);
    if (!a.untagged_blobs.empty()) aj["untagged_blobs"] = UntaggedBlobsJson(a.untagged_blobs);
    all_transfer.blobs_uploaded += a.transfer.blobs_uploaded;
    all_transfer.blobs_present += a.transfer.blobs_present;
    all_transfer.bytes_uploaded += a.transfer.bytes_uploaded;
    archives.push_back(aj);
  }
  j["archives"] = archives;
  j["totals"] = TotalsJson(all, all_transfer);
  j["totals"]["archives"] = report.archives.size();
  j["exit_code"] = report.exit_code;
  return DumpJson(j, indent) + "\n";
}

std::string RenderSummaryTable(const RunReport& report) {
  std::string out = "Summary:\n";
  char line[512];
  std::snprintf(line, sizeof line, "  %-40s %7s %7s %7s  %s\n", "ARCHIVE", "IMAGES", "CHARTS",
                "FAILED", "STATUS");
  out += line;
  for (const auto& a : report.archives) {
    Counts c;
    for (const auto& item : a.items) c.Add(item);
    std::string name = DisplayLine(BaseName(a.archive));
    if (name.size() > 40) {
      size_t start = name.size() - 37;  // whole UTF-8 characters only
      while (start < name.size() && (static_cast<unsigned char>(name[start]) & 0xC0) == 0x80) {
        ++start;
      }
      name = "..." + name.substr(start);
    }
    std::snprintf(line, sizeof line, "  %-40s %7d %7d %7d  %s\n", name.c_str(), c.images, c.charts,
                  c.images_failed + c.charts_failed, ArchiveStatus(a));
    out += line;
  }
  return out;
}

}  // namespace ppa
