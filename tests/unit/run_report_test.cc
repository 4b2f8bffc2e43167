#include "importer/report/run_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "importer/load/pipeline.h"

namespace ppa {
namespace {

RunReport SampleReport() {
  RunReport r;
  r.started = "2026-01-01T00:00:00Z";
  r.finished = "2026-01-01T00:01:00Z";
  r.target = "reg:5000";
  r.target_namespace = "ns";
  ArchiveOutcome a;
  a.archive = "/x/a.tgz";
  a.exit_code = 1;
  ItemResult ok;
  ok.name = "org/app:1";
  ok.target = "reg:5000/ns/org/app:1";
  ok.digest = "sha256:" + std::string(64, 'a');
  ok.source = "images/app.tar";
  ok.platform = "linux/amd64";
  ok.blobs.push_back({"sha256:" + std::string(64, 'b'), "sha256:" + std::string(64, 'c'), 10,
                      BlobResult::Action::kUploaded, 10});
  ItemResult bad;
  bad.name = "org/bad:1";
  bad.status = InvalidInput("layer 'x' does not match its diff_id", "re-download the archive");
  ItemResult chart;
  chart.kind = ItemResult::Kind::kChart;
  chart.name = "charts/c-1.0.0.tgz";
  chart.chart_name = "c";
  chart.chart_version = "1.0.0";
  chart.destinations = {"/w/ppa-import/charts/c-1.0.0.tgz"};
  a.items = {ok, bad, chart};
  a.transfer = {1, 2, 10};
  ArchiveOutcome unreadable;
  unreadable.archive = "/x/b.tgz";
  unreadable.exit_code = 3;
  unreadable.fatal = UnsafeArchive("entry '../x' contains '..'");
  r.archives = {a, unreadable};
  r.exit_code = 3;
  return r;
}

TEST(RenderJsonReport, Schema) {
  auto j = nlohmann::json::parse(RenderJsonReport(SampleReport()));
  EXPECT_EQ(j["tool"]["name"], "ppa-import");
  EXPECT_EQ(j["target"]["registry"], "reg:5000");
  EXPECT_EQ(j["exit_code"], 3);
  ASSERT_EQ(j["archives"].size(), 2u);
  const auto& a = j["archives"][0];
  EXPECT_EQ(a["status"], "partial");
  ASSERT_EQ(a["images"].size(), 2u);
  EXPECT_EQ(a["images"][0]["manifest_digest"], "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(a["images"][0]["blobs"][0]["action"], "uploaded");
  EXPECT_EQ(a["images"][1]["status"], "failed");
  EXPECT_EQ(a["images"][1]["hint"], "re-download the archive");
  EXPECT_EQ(a["charts"][0]["name"], "c");
  EXPECT_EQ(a["totals"]["images_failed"], 1);
  EXPECT_EQ(a["totals"]["blobs_present"], 2);
  EXPECT_EQ(j["archives"][1]["status"], "unreadable");
  EXPECT_EQ(j["totals"]["archives"], 2);
}

TEST(RenderSummaryTable, OneLinePerArchive) {
  std::string t = RenderSummaryTable(SampleReport());
  EXPECT_NE(t.find("a.tgz"), std::string::npos);
  EXPECT_NE(t.find("partial"), std::string::npos);
  EXPECT_NE(t.find("unreadable"), std::string::npos);
}

TEST(ValidateNamespace, IbmRulesTable) {
  struct Case {
    const char* ns;
    const char* rules;
    bool ok;
  };
  const Case cases[] = {{"test_ns", "ibm", true},   {"ab12", "ibm", true},
                        {"9lives", "ibm", true},    {"AB", "ibm", false},
                        {"abc", "ibm", false},      {"Upper_case", "ibm", false},
                        {"_lead", "ibm", false},    {"has-dash", "ibm", false},
                        {"a234567890123456789012345678901", "ibm", false},
                        {"a23456789012345678901234567890", "ibm", true},
                        {"ab", "none", true},       {"has-dash", "none", true},
                        {"Upper", "none", false},   {"", "none", false}};
  for (const auto& c : cases) {
    Status s = ValidateNamespace(c.ns, c.rules);
    EXPECT_EQ(s.ok(), c.ok) << c.ns << " (" << c.rules << ")";
    if (!s.ok() && std::string(c.rules) == "ibm" && *c.ns) {
      EXPECT_NE(s.hint().find("4 to 30 characters"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ppa
