// docs/guarantees.md, "Secrets and names": what the tool prints and reports about names
// that hold control bytes or are not UTF-8. The JSON encoding
// (importer/report/json_text.h) round-trips every byte; the human choke points
// (Reporter, progress lines, summary table, log formatter) escape them.
#include <gtest/gtest.h>

#include <algorithm>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/text_escape.h"
#include "docker_io/image/digest.h"
#include "importer/report/display_text.h"
#include "importer/report/json_text.h"
#include "importer/report/progress.h"
#include "importer/report/report.h"
#include "importer/report/run_report.h"

namespace ppa {
namespace {

// No byte a terminal acts on: nothing below 0x20 but '\n', no DEL, valid
// UTF-8 without C1 controls.
void ExpectTerminalSafe(const std::string& text, const std::string& where) {
  for (unsigned char c : text) {
    EXPECT_TRUE((c >= 0x20 && c != 0x7f) || c == '\n') << where << ": raw byte " << int(c)
                                                       << " in\n" << text;
  }
  EXPECT_TRUE(IsValidUtf8(text)) << where << ":\n" << text;
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << where;
}

const std::vector<std::string> kHostileNames = {
    "images/\x1b[2Jclear.tar",
    "charts/ok\r\nOK\n.tgz",
    "\x1b]0;pwned\x07title",
    "csi\x9b" "31mred",
    "c1\xc2\x9b" "31mred",
    "latin1-caf\xe9",
    "bell\x07\x7f",
};

TEST(JsonTextTest, FieldsRoundTripEveryByteAndStayValidJson) {
  for (const std::string& name : kHostileNames) {
    OrderedJson j = OrderedJson::object();
    SetJsonText(j, "name", name);
    SetJsonTextList(j, "names", {"plain", name});
    const std::string text = DumpJson(j, 2);
    OrderedJson parsed = OrderedJson::parse(text);  // throws on invalid JSON / UTF-8
    EXPECT_EQ(JsonTextOf(parsed, "name"), name);
    EXPECT_EQ(JsonTextAt(parsed, "names", 0), "plain");
    EXPECT_EQ(JsonTextAt(parsed, "names", 1), name);
    EXPECT_EQ(parsed.contains("name_base64"), !IsValidUtf8(name)) << text;
    if (!IsValidUtf8(name)) {
      EXPECT_EQ(parsed["name"], ToValidUtf8(name));
      EXPECT_EQ(parsed["name_base64"], Base64Encode(name));
      EXPECT_TRUE(parsed["names_base64"][0].is_null());
    }
  }
}

TEST(JsonTextTest, ValidUtf8NeedsNoBase64Sibling) {
  OrderedJson j = OrderedJson::object();
  SetJsonText(j, "name", "caf\xc3\xa9");
  SetJsonTextList(j, "names", {"a", "b"});
  EXPECT_EQ(DumpJson(j), "{\"name\":\"caf\xc3\xa9\",\"names\":[\"a\",\"b\"]}");
}

TEST(JsonTextTest, DumpNeverThrowsOnAStringThatSkippedSetJsonText) {
  OrderedJson j = {{"raw", "bad\xff"}};
  EXPECT_NO_THROW((void)DumpJson(j));
  EXPECT_EQ(DumpJson(j), "{\"raw\":\"bad\xef\xbf\xbd\"}");
}

RunReport ReportWithNonUtf8Names() {
  RunReport r;
  r.target = "127.0.0.1:5000";
  r.target_namespace = "ns";
  ArchiveOutcome a;
  a.archive = "/x/archive-\xff\xfe.tgz";
  a.exit_code = 1;
  ItemResult image;
  image.name = "org/app:1";
  image.source = "images/app-\xe9.tar";
  ItemResult bad;
  bad.name = "org/bad:1";
  bad.status = UnsafeArchive("entry 'x\xff\x1b[2J' is not safe", "hint \xfe");
  ItemResult chart;
  chart.kind = ItemResult::Kind::kChart;
  chart.name = "charts/c-\x80.tgz";
  chart.destinations = {"/w/charts/c-\x80.tgz", "http://127.0.0.1:1/"};
  a.items = {image, bad, chart};
  ArchiveOutcome fatal;
  fatal.archive = "/x/second-\xc0.tgz";
  fatal.exit_code = 3;
  fatal.fatal = UnsafeArchive("entry '\xff/..' escapes");
  r.archives = {a, fatal};
  return r;
}

TEST(RunReportJsonTest, NonUtf8NamesNeverAbortAndRoundTrip) {
  const RunReport r = ReportWithNonUtf8Names();
  std::string text;
  ASSERT_NO_THROW(text = RenderJsonReport(r));
  nlohmann::ordered_json j;
  ASSERT_NO_THROW(j = nlohmann::ordered_json::parse(text)) << text;
  const auto& a = j["archives"][0];
  EXPECT_EQ(JsonTextOf(a, "archive"), r.archives[0].archive);
  EXPECT_EQ(JsonTextOf(a["images"][0], "source"), "images/app-\xe9.tar");
  EXPECT_EQ(JsonTextOf(a["images"][1], "error"), r.archives[0].items[1].status.message());
  EXPECT_EQ(JsonTextOf(a["images"][1], "hint"), "hint \xfe");
  EXPECT_EQ(JsonTextOf(a["charts"][0], "file"), "charts/c-\x80.tgz");
  EXPECT_EQ(JsonTextAt(a["charts"][0], "destinations", 0), "/w/charts/c-\x80.tgz");
  EXPECT_EQ(JsonTextAt(a["charts"][0], "destinations", 1), "http://127.0.0.1:1/");
  EXPECT_EQ(JsonTextOf(j["archives"][1], "archive"), "/x/second-\xc0.tgz");
  EXPECT_EQ(JsonTextOf(j["archives"][1], "error"), "entry '\xff/..' escapes");
}

TEST(RunReportJsonTest, UserInfoInTheTargetOrAMessageIsRedacted) {
  RunReport r;
  r.target = "u:Pw0rd@127.0.0.1:5000";
  ArchiveOutcome a;
  a.archive = "a.tgz";
  a.fatal = NetworkError("redirected to http://u:Pw0rd@127.0.0.1:1/v2/", "see http://x:Pw0rd@h");
  r.archives = {a};
  const std::string text = RenderJsonReport(r);
  EXPECT_EQ(text.find("Pw0rd"), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.1:5000"), std::string::npos) << text;
}

TEST(SummaryTableTest, ArchiveNamesAreEscaped) {
  RunReport r = ReportWithNonUtf8Names();
  r.archives[0].archive = "/x/\x1b[2J\x1b]0;t\x07" "evil\r\nOK.tgz";
  const std::string table = RenderSummaryTable(r);
  ExpectTerminalSafe(table, "summary table");
  EXPECT_NE(table.find("\\x1b[2J"), std::string::npos) << table;
  EXPECT_NE(table.find("second-\\xc0.tgz"), std::string::npos) << table;
}

TEST(ReporterTest, EveryLineEscapesControlsAndInvalidUtf8) {
  for (const std::string& name : kHostileNames) {
    std::ostringstream out, err;
    Reporter reporter(out, err, /*quiet=*/false);
    reporter.Progress("Importing '" + name + "'...");
    reporter.Result(name + ": digest: sha256:x size: 1");
    reporter.Warning("chart '" + name + "' has no values.yaml");
    reporter.Failure(InvalidInput("invalid image name '" + name + "'", "rename '" + name + "'"));
    ItemResult item;
    item.name = name;
    item.status = InvalidInput("bad '" + name + "'");
    reporter.Record(item);
    reporter.Finish();
    ExpectTerminalSafe(out.str(), "stdout for " + EscapeControls(name));
    ExpectTerminalSafe(err.str(), "stderr for " + EscapeControls(name));
    EXPECT_NE(err.str().find("Error: invalid image name '" + EscapeControls(name) + "'\n"),
              std::string::npos)
        << err.str();
    // One line per call: the name cannot add a line ("OK" forged).
    const std::string lines = "Importing '" + EscapeControls(name) + "'...\n" +
                              EscapeControls(name) +
                              ": digest: sha256:x size: 1\nUploaded 0 blob(s) (0 B); 0 "
                              "already present.\nFAILED (0 images, 0 charts, 1 failure, 0 B in ";
    const std::string printed = out.str();
    EXPECT_EQ(printed.substr(0, lines.size()), lines);
    EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 4) << printed;
  }
}

TEST(ProgressLineTest, LabelIsEscapedAndCutBetweenCharacters) {
  for (const std::string& name : kHostileNames) {
    const std::string line = FormatTransferLine(name + "-\xc3\xa9\xc3\xa9\xc3\xa9", 5, 10, 0, 30);
    ExpectTerminalSafe(line, "progress line");
  }
}

TEST(LogFormatterTest, MessagesAreEscapedAndUrlsRedacted) {
  std::ostringstream stream;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
  spdlog::logger logger("test", sink);
  logger.set_formatter(MakeEscapingLogFormatter("%l: %v"));
  logger.warn("GET {} -> {}", "http://u:S3cret@h/v2/\x1b[2J", "\r\nOK");
  logger.warn("name {}", "\x9b\xff");
  EXPECT_EQ(stream.str(),
            "warning: GET http://h/v2/\\x1b[2J -> \\r\\nOK\n"
            "warning: name \\x9b\\xff\n");
}

}  // namespace
}  // namespace ppa
