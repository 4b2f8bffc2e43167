// README, "Batches and Kubernetes": `--json` is repeatable, so a pod keeps its
// report on a volume (--json FILE) and prints it as the last line of its log
// (--json -). importer/report/report_destinations.h decides what stdout carries.
#include "importer/report/report_destinations.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "importer/report/run_report.h"
#include "importer/cli/usage_report.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

using test::ReadFileToString;
using test::TempDir;

TEST(ReportDestinationsOf, FilesInOrderEachOnceAndStdout) {
  struct Case {
    std::vector<std::string> values;
    std::vector<std::string> files;
    bool to_stdout;
    bool stdout_only;
    int stdout_indent;
  };
  const Case cases[] = {
      {{}, {}, false, false, -1},
      {{""}, {}, false, false, -1},
      {{"-"}, {}, true, true, 2},
      {{"r.json"}, {"r.json"}, false, false, -1},
      {{"r.json", "-"}, {"r.json"}, true, false, -1},
      {{"-", "r.json"}, {"r.json"}, true, false, -1},
      {{"-", "b.json", "a.json", "b.json", "-"}, {"b.json", "a.json"}, true, false, -1},
      {{"", "-", ""}, {}, true, true, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.values));
    ReportDestinations d = ReportDestinationsOf(c.values);
    EXPECT_EQ(d.files, c.files);
    EXPECT_EQ(d.to_stdout, c.to_stdout);
    EXPECT_EQ(d.stdout_only(), c.stdout_only);
    EXPECT_EQ(d.empty(), c.files.empty() && !c.to_stdout);
    EXPECT_EQ(d.stdout_indent(), c.stdout_indent);
  }
}

RunReport SampleReport() {
  RunReport report;
  report.started = report.finished = "2026-11-28T10:00:00Z";
  report.target = "127.0.0.1:5000";
  report.target_namespace = "portal_prod";
  ArchiveOutcome outcome;
  outcome.archive = "/archives/a.tgz";
  outcome.exit_code = 1;
  outcome.fatal = InvalidInput("line one\nline two");  // a newline inside a string
  report.archives.push_back(outcome);
  report.exit_code = 1;
  return report;
}

TEST(RenderJsonReport, OneLineHoldsWhatTheIndentedReportHolds) {
  RunReport report = SampleReport();
  std::string indented = RenderJsonReport(report);
  std::string one_line = RenderJsonReport(report, -1);
  ASSERT_FALSE(one_line.empty());
  EXPECT_EQ(one_line.back(), '\n');
  EXPECT_EQ(one_line.find('\n'), one_line.size() - 1) << one_line;
  EXPECT_GT(std::count(indented.begin(), indented.end(), '\n'), 10);
  EXPECT_EQ(nlohmann::json::parse(one_line), nlohmann::json::parse(indented));
}

TEST(RenderUsageErrorReport, OneLineHoldsWhatTheIndentedReportHolds) {
  Status error = InvalidInput("unknown option --pasword", "did you mean --password-stdin?");
  std::string one_line = RenderUsageErrorReport(error, "portal", -1);
  EXPECT_EQ(one_line.find('\n'), one_line.size() - 1) << one_line;
  auto j = nlohmann::json::parse(one_line);
  auto indented = nlohmann::json::parse(RenderUsageErrorReport(error, "portal"));
  j.erase("started"), j.erase("finished"), indented.erase("started"), indented.erase("finished");
  EXPECT_EQ(j, indented);
  EXPECT_EQ(j["exit_code"], 2);
}

TEST(WriteReportTo, FilesGetTheIndentedReportStdoutTheLastLine) {
  TempDir dir("ppa-report-dest");
  RunReport report = SampleReport();
  auto render = [&](int indent) { return RenderJsonReport(report, indent); };
  std::vector<Status> errors;
  auto on_error = [&](const Status& s) { errors.push_back(s); };

  // FILE and -: each file indented, stdout one line.
  std::ostringstream out;
  out << "OK (earlier output)\n";
  WriteReportTo(ReportDestinationsOf({dir.Join("a.json"), "-", dir.Join("b.json")}), render, out,
                on_error);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(*ReadFileToString(dir.Join("a.json")), RenderJsonReport(report));
  EXPECT_EQ(*ReadFileToString(dir.Join("b.json")), RenderJsonReport(report));
  EXPECT_EQ(out.str(), "OK (earlier output)\n" + RenderJsonReport(report, -1));

  // - alone: stdout the indented report, as before --json was repeatable.
  std::ostringstream only;
  WriteReportTo(ReportDestinationsOf({"-"}), render, only, on_error);
  EXPECT_EQ(only.str(), RenderJsonReport(report));

  // No destination: nothing rendered, nothing written.
  std::ostringstream none;
  WriteReportTo(
      ReportDestinationsOf({}),
      [](int) -> std::string {
        ADD_FAILURE();
        return "";
      },
      none, on_error);
  EXPECT_EQ(none.str(), "");
}

TEST(WriteReportTo, AFileThatCannotBeWrittenIsNamedBeforeStdoutIsWritten) {
  TempDir dir("ppa-report-dest");
  RunReport report = SampleReport();
  std::ostringstream out;
  std::vector<Status> errors;
  std::vector<std::string> stdout_at_error;
  WriteReportTo(
      ReportDestinationsOf({dir.Join("missing/r.json"), "-", dir.Join("ok.json")}),
      [&](int indent) { return RenderJsonReport(report, indent); }, out,
      [&](const Status& s) {
        errors.push_back(s);
        stdout_at_error.push_back(out.str());
      });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message().find(dir.Join("missing/r.json")), std::string::npos)
      << errors[0].ToString();
  EXPECT_FALSE(errors[0].hint().empty());
  EXPECT_EQ(stdout_at_error[0], "") << "the error comes before the report on stdout";
  EXPECT_TRUE(ReadFileToString(dir.Join("ok.json")).ok()) << "the other file is still written";
  EXPECT_EQ(out.str(), RenderJsonReport(report, -1));
}

TEST(ReportUsageError, EveryDestinationGetsTheReport) {
  TempDir dir("ppa-report-dest");
  Status error = InvalidInput("no archive given", "pass archive files");
  std::ostringstream out, err;
  EXPECT_EQ(ReportUsageError(error, {dir.Join("r.json"), "-"}, "portal", out, err), 2);
  EXPECT_EQ(err.str(), "Error: no archive given\nHint: pass archive files\n");
  ASSERT_FALSE(out.str().empty());
  EXPECT_EQ(out.str().find('\n'), out.str().size() - 1) << "one line beside a file: " << out.str();
  auto file = ReadFileToString(dir.Join("r.json"));
  ASSERT_TRUE(file.ok()) << "the file is written too";
  auto from_file = nlohmann::json::parse(*file);
  auto from_stdout = nlohmann::json::parse(out.str());
  EXPECT_EQ(from_file, from_stdout);
  EXPECT_EQ(from_stdout["error"], "no archive given");

  // - alone: indented on stdout, as before.
  std::ostringstream only, err2;
  ReportUsageError(error, {"-"}, "portal", only, err2);
  const std::string indented = only.str();
  EXPECT_GT(std::count(indented.begin(), indented.end(), '\n'), 10) << indented;
}

}  // namespace
}  // namespace ppa
