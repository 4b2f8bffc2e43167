// Progress that fits both a terminal and a CI log (README, "Progress"): the real
// binary on a pseudo-terminal (util-linux `script`) and in a pipe, against
// Debian's docker-registry; `inspect` on the demo sample.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

using test::Output;
using test::ProcessResult;

// What a terminal shows after `bytes`: a small screen model of what the
// progress display uses (\r, \n, ESC[nA up, ESC[J clear to the end of the
// screen, ESC[K clear to the end of the line). Other sequences are dropped.
std::vector<std::string> Screen(const std::string& bytes) {
  std::vector<std::string> lines(1);
  size_t row = 0, col = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c == '\x1b' && i + 1 < bytes.size() && bytes[i + 1] == '[') {
      size_t j = i + 2;
      int n = 0;
      while (j < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[j]))) {
        n = n * 10 + (bytes[j++] - '0');
      }
      if (j >= bytes.size()) break;
      char op = bytes[j];
      if (op == 'A') {
        row = row >= static_cast<size_t>(std::max(n, 1)) ? row - std::max(n, 1) : 0;
      } else if (op == 'J') {
        lines[row].resize(std::min(col, lines[row].size()));
        lines.resize(row + 1);
      } else if (op == 'K') {
        lines[row].resize(std::min(col, lines[row].size()));
      }
      i = j;
      continue;
    }
    if (c == '\r') {
      col = 0;
    } else if (c == '\n') {
      ++row;
      col = 0;
      if (row >= lines.size()) lines.resize(row + 1);
    } else {
      if (lines[row].size() < col) lines[row].resize(col, ' ');
      if (col < lines[row].size()) {
        lines[row][col] = c;
      } else {
        lines[row].push_back(c);
      }
      ++col;
    }
  }
  return lines;
}

bool IsProgressLine(const std::string& line) {
  return line.find("Unpacking [") != std::string::npos ||
         line.find("Unpacking  ") != std::string::npos ||
         line.find("Pushing   ") != std::string::npos || line.find(" blobs") != std::string::npos;
}

class ProgressDisplayTest : public test::LoadFixture {
 protected:
  // `ppa-import load ARGS` on a pseudo-terminal (stdout and stderr both).
  ProcessResult OnTerminal(const std::string& args) {
    std::string command = std::string(PPA_IMPORT_BINARY) + " load " + args +
                          " --namespace test_ns --plain-http --no-cache --registry " +
                          registry_->host() + " --workdir '" + dir_.Join("work") + "'";
    return test::RunProcess({"script", "-qfec", command, "/dev/null"}, std::nullopt,
                            {{"HOME", dir_.path()}, {"COLUMNS", "120"}}, dir_.path());
  }

  std::string LargeArchive(const std::string& name, uint64_t seed) {
    return Archive(test::DemoSampleWithLargeLayer(8, 1 << 20, seed), name);
  }
};

// The terminal showed blob counts only: now the unpack (archive bytes read
// of its size) and the push (bytes of the plan, rate, ETA) are drawn in
// place, and nothing of them is left on the screen at the end.
TEST_F(ProgressDisplayTest, TerminalShowsUnpackAndByteBarThenLeavesNoStaleFrame) {
  std::string archive = LargeArchive("big.tgz", 7);
  ProcessResult r = OnTerminal("'" + archive + "'");
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_TRUE(std::regex_search(r.stdout_text, std::regex(R"(Unpacking +(\[[#.]{20}\]|\d))")))
      << r.stdout_text;
  EXPECT_TRUE(std::regex_search(
      r.stdout_text, std::regex(R"(Pushing +\[[#.]{20}\] +\d+%  [0-9.]+ [KMG]?i?B / [0-9.]+ MiB)")))
      << r.stdout_text;
  std::vector<std::string> screen = Screen(r.stdout_text);
  for (const auto& line : screen) EXPECT_FALSE(IsProgressLine(line)) << "stale frame: " << line;
  std::string all;
  for (const auto& line : screen) all += line + "\n";
  EXPECT_TRUE(std::regex_search(all, std::regex(R"(\nOK \(6 images, 2 charts, [0-9.]+ MiB in )")))
      << all;
}

// With --parallel-archives each archive's line names it, and the frames of
// two archives drawn at once leave nothing behind.
TEST_F(ProgressDisplayTest, ParallelArchivesAreLabelledAndLeaveNoStaleFrame) {
  std::string a = LargeArchive("first.tgz", 11);
  std::string b = LargeArchive("second.tgz", 12);
  ProcessResult r = OnTerminal("--parallel-archives 2 '" + a + "' '" + b + "'");
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("first.tgz: "), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("second.tgz: "), std::string::npos) << r.stdout_text;
  std::vector<std::string> screen = Screen(r.stdout_text);
  int verdicts = 0;
  for (const auto& line : screen) {
    EXPECT_FALSE(IsProgressLine(line)) << "stale frame: " << line;
    verdicts += line.rfind("OK (", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(verdicts, 2);
}

// In a pipe (CI, `| tee`) nothing was printed between "Unpacking archive"
// and the images: now a plain progress line comes every interval (10 s;
// PPA_TEST_PROGRESS_INTERVAL_MS is the tests' knob), no terminal controls.
TEST_F(ProgressDisplayTest, PipeGetsPlainProgressLinesAndOneLinePerImage) {
  std::string archive = LargeArchive("big.tgz", 21);
  ProcessResult r = Load(archive, {"--no-cache"}, {{"PPA_TEST_PROGRESS_INTERVAL_MS", "20"}});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(Output(r).find('\x1b'), std::string::npos) << Output(r);
  EXPECT_TRUE(std::regex_search(
      r.stdout_text,
      std::regex(R"(\nProgress: (unpacked|pushed) [0-9.]+ [KMG]?i?B of [0-9.]+ [KMG]?i?B \(\d+%\))")))
      << r.stdout_text;
  // One result line per image pushed, and the verdict last, word first.
  std::regex result(R"(\n[^\n]+: digest: sha256:[0-9a-f]{64} size: \d+\n)");
  auto results = std::distance(
      std::sregex_iterator(r.stdout_text.begin(), r.stdout_text.end(), result),
      std::sregex_iterator());
  EXPECT_GE(results, 6) << r.stdout_text;
  EXPECT_TRUE(std::regex_search(
      r.stdout_text,
      std::regex(R"(\nOK \(6 images, 2 charts, [0-9.]+ MiB in [0-9.]+ s\)\n$)")))
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find(" blob(s) ("), std::string::npos);
  EXPECT_EQ(r.stdout_text.find(" bytes); "), std::string::npos) << "sizes are human-readable";
  // Without the knob the interval is 10 s: a quick run prints none.
  StartRegistry();
  ProcessResult quick = Load(archive, {"--no-cache"});
  ASSERT_EQ(quick.exit_code, 0) << Output(quick);
  EXPECT_EQ(quick.stdout_text.find("Progress:"), std::string::npos) << quick.stdout_text;
}

// -q with several archives printed one bare "OK"/"FAILED" per archive: now
// one line for the run (archives, images, failures).
TEST_F(ProgressDisplayTest, QuietSeveralArchivesEndWithOneSummaryLine) {
  std::string a = Archive(samples::DemoSampleSpec(), "a.tgz");
  std::string b = Archive(samples::DemoSampleSpec(), "b.tgz");
  ProcessResult ok = Load(a, {"--archive", b, "-q"});
  ASSERT_EQ(ok.exit_code, 0) << Output(ok);
  EXPECT_TRUE(std::regex_match(
      ok.stdout_text,
      std::regex(R"(OK \(2 archives, 12 images, 4 charts, [0-9.]+ [KM]?i?B in [0-9.]+ s\)\n)")))
      << ok.stdout_text;
  // A truncated third archive: one failure, the verdict FAILED, still one line.
  std::string broken = dir_.Join("broken.tgz");
  std::string bytes = test::ReadFileOr(a);
  test::WriteFileOrDie(broken, bytes.substr(0, bytes.size() / 2));
  ProcessResult failed = Load(a, {"--archive", b, "--archive", broken, "-q"});
  EXPECT_EQ(failed.exit_code, 3) << Output(failed);
  EXPECT_TRUE(std::regex_match(
      failed.stdout_text,
      std::regex(R"(FAILED \(3 archives, 12 images, 4 charts, 1 failure, [0-9.]+ [KM]?i?B in [0-9.]+ s\)\n)")))
      << failed.stdout_text;
  EXPECT_NE(failed.stderr_text.find("Error: "), std::string::npos) << failed.stderr_text;
  // One archive with -q: its own verdict, as before.
  ProcessResult one = Load(a, {"-q"});
  EXPECT_EQ(one.stdout_text.rfind("OK (6 images", 0), 0u) << one.stdout_text;
}

// A dry run printed "pushing it to", "Pushing manifest list", "Rewrote",
// "Extracting chart": lines about writes that never happen.
TEST_F(ProgressDisplayTest, DryRunLinesSayWouldNeverDid) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  for (bool registry : {true, false}) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns",
                                     "--dry-run"};
    if (registry) {
      for (const char* a : {"--plain-http", "--registry"}) argv.push_back(a);
      argv.push_back(registry_->host());
    }
    ProcessResult r = test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
    ASSERT_EQ(r.exit_code, 0) << Output(r);
    std::istringstream lines(r.stdout_text);
    for (std::string line; std::getline(lines, line);) {
      for (const char* did : {"pushing", "Pushing", "Rewrote", "Extracting", "Uploading",
                              "writing images", "Uploaded", ": digest:"}) {
        EXPECT_EQ(line.find(did), std::string::npos) << "'" << did << "' in: " << line;
      }
    }
    EXPECT_NE(r.stdout_text.find("' and would push it to '"), std::string::npos) << r.stdout_text;
    EXPECT_NE(r.stdout_text.find("Would push manifest list 'ibmcom/portal:2.1.0'"),
              std::string::npos);
    EXPECT_NE(r.stdout_text.find("Would extract chart '"), std::string::npos);
    EXPECT_NE(r.stdout_text.find(": would push digest: sha256:"), std::string::npos);
    if (registry) {
      EXPECT_NE(r.stdout_text.find("Would rewrite "), std::string::npos) << r.stdout_text;
    } else {
      EXPECT_NE(r.stdout_text.find("would write images to the OCI image layout"),
                std::string::npos)
          << r.stdout_text;
    }
    EXPECT_NE(r.stdout_text.find("\nOK (dry run: 6 images, 2 charts, "), std::string::npos);
  }
}

// `inspect` called the one-platform manifest list of portal-db multi-arch
// and the compression of uncompressed layers "none".
TEST_F(ProgressDisplayTest, InspectMarksOnlyRealMultiArchAndNamesCompression) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = test::RunProcess({PPA_IMPORT_BINARY, "inspect", archive, "--json"},
                                     std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto j = nlohmann::json::parse(r.stdout_text);
  EXPECT_EQ(j.value("schema_version", 0), 1) << r.stdout_text;
  std::map<std::string, nlohmann::json> groups;
  std::set<std::string> compressions;
  for (const auto& g : j["images"]) {
    groups[g["image"]] = g;
    for (const auto& ref : g["references"]) {
      for (const auto& l : ref["layers"]) compressions.insert(l["compression"]);
    }
  }
  ASSERT_TRUE(groups.count("ibmcom/portal:2.1.0") && groups.count("ibmcom/portal-db:2.1.0"));
  EXPECT_TRUE(groups["ibmcom/portal:2.1.0"]["multi_arch"].get<bool>());
  EXPECT_EQ(groups["ibmcom/portal:2.1.0"]["platforms"],
            nlohmann::json::array({"linux/amd64", "linux/ppc64le"}));
  EXPECT_FALSE(groups["ibmcom/portal-db:2.1.0"]["multi_arch"].get<bool>());
  EXPECT_TRUE(groups["ibmcom/portal-db:2.1.0"]["manifest_list"].get<bool>());
  for (const auto& [name, g] : groups) {
    if (name != "ibmcom/portal:2.1.0") {
      EXPECT_FALSE(g["multi_arch"].get<bool>()) << name;
    }
  }
  EXPECT_EQ(compressions, (std::set<std::string>{"gzip", "uncompressed"}));

  ProcessResult table = test::RunProcess({PPA_IMPORT_BINARY, "inspect", archive}, std::nullopt,
                                         {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(table.exit_code, 0) << Output(table);
  std::istringstream lines(table.stdout_text);
  int multi = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("multi-arch") != std::string::npos) {
      ++multi;
      EXPECT_NE(line.find("ibmcom/portal:2.1.0  (multi-arch: linux/amd64, linux/ppc64le)"),
                std::string::npos)
          << line;
    }
    EXPECT_EQ(line.find("(none"), std::string::npos) << line;
  }
  EXPECT_EQ(multi, 1) << table.stdout_text;
  EXPECT_NE(table.stdout_text.find("layers uncompressed"), std::string::npos) << table.stdout_text;
  EXPECT_NE(table.stdout_text.find("layers gzip"), std::string::npos) << table.stdout_text;
}

}  // namespace
}  // namespace ppa
