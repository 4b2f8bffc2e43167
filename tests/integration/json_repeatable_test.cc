// The Kubernetes batch (README, "Batches and Kubernetes"): `--json` is repeatable. A pod keeps its
// report on a volume (--json FILE) and prints it to its log (--json -): the
// real binary against the real docker-registry, every way the values come
// (flags, PPA_IMPORT_JSON, the config file), a real import, a usage error
// found late and one found while parsing. `--json -` alone is unchanged.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/load_fixture.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;
using test::ReadFileOr;

// The last line of `text` (without its newline).
std::string LastLine(const std::string& text) {
  std::string t = text;
  if (!t.empty() && t.back() == '\n') t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

nlohmann::json ParseOrNull(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

class JsonRepeatableTest : public test::LoadFixture {
 protected:
  void SetUp() override {
    LoadFixture::SetUp();
    archive_ = Archive(samples::DemoSampleSpec(), "demo.tgz");
  }

  // A report file and stdout's last line: the same JSON object, the line
  // compact and last; stdout's other lines are the usual output.
  void ExpectFileAndLastLine(const ProcessResult& r, const std::string& file, int exit_code) {
    ASSERT_TRUE(fs::exists(file)) << file << "\n" << Output(r);
    nlohmann::json from_file = ParseOrNull(ReadFileOr(file));
    ASSERT_FALSE(from_file.is_discarded()) << ReadFileOr(file);
    ASSERT_FALSE(r.stdout_text.empty()) << Output(r);
    EXPECT_EQ(r.stdout_text.back(), '\n') << Output(r);
    nlohmann::json from_stdout = ParseOrNull(LastLine(r.stdout_text));
    ASSERT_FALSE(from_stdout.is_discarded()) << "last line is not JSON:\n" << Output(r);
    EXPECT_EQ(from_stdout, from_file) << Output(r);
    EXPECT_EQ(from_stdout["exit_code"], exit_code) << Output(r);
    EXPECT_EQ(r.exit_code, exit_code) << Output(r);
  }

  std::string archive_;
};

TEST_F(JsonRepeatableTest, FileAndStdoutBothGetTheReportOfARealImport) {
  const std::string file = dir_.Join("shard-0.json");
  ProcessResult r = Load(archive_, {"--json", file, "--json", "-"});
  ExpectFileAndLastLine(r, file, 0);
  // Beside a file, stdout keeps the usual output before the report.
  EXPECT_NE(r.stdout_text.find("\nOK ("), std::string::npos) << Output(r);
  EXPECT_NE(r.stdout_text.find("digest: sha256:"), std::string::npos) << Output(r);
  auto j = ParseOrNull(LastLine(r.stdout_text));
  ASSERT_EQ(j["archives"].size(), 1u);
  EXPECT_EQ(j["archives"][0]["archive"], archive_);
  EXPECT_GT(j["totals"]["images"].get<int>(), 0);
  ExpectVerified("ibmcom/portal:2.1.0-amd64");
}

// The report goes where the path leads, as a shell's `>` would, without
// replacing what is not a plain file: a link stays a link (its target gets
// the report), a FIFO stays a FIFO (its reader gets the report), and a new
// file is readable by others as the umask allows (a kept report on a shared
// volume), not 0600.
TEST_F(JsonRepeatableTest, ReportsFollowLinksFeedFifosAndHonourTheUmask) {
  fs::create_directory(dir_.Join("reports"));
  const std::string link = dir_.Join("latest.json");
  fs::create_symlink("reports/run-1.json", link);
  const std::string fifo = dir_.Join("report.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Held open for writing while the run lasts, so the reader neither waits
  // for a writer nor hangs when the FIFO was replaced: closing it ends the
  // reader's file.
  const int held = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(held, 0);
  std::string from_fifo;
  std::thread reader([&] { from_fifo = ReadFileOr(fifo); });
  ProcessResult r = Load(archive_, {"--json", link, "--json", fifo, "-q"});
  ::close(held);
  reader.join();
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::status(fifo).type(), fs::file_type::fifo);
  const std::string target = dir_.Join("reports/run-1.json");
  EXPECT_EQ(ParseOrNull(ReadFileOr(target))["exit_code"], 0) << ReadFileOr(target);
  EXPECT_EQ(ParseOrNull(from_fifo), ParseOrNull(ReadFileOr(target)));
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u & ~mask);
}

TEST_F(JsonRepeatableTest, StdoutFirstThenFilesGivesTheSameAsFileFirst) {
  const std::string a = dir_.Join("a.json"), b = dir_.Join("b.json");
  ProcessResult r = Load(archive_, {"--json=-", "--json=" + a, "--json", b, "-q"});
  ExpectFileAndLastLine(r, a, 0);
  EXPECT_EQ(ParseOrNull(ReadFileOr(a)), ParseOrNull(ReadFileOr(b)));
  // -q: the verdict line, then the report.
  EXPECT_EQ(r.stdout_text.rfind("OK (", 0), 0u) << Output(r);
}

TEST_F(JsonRepeatableTest, StdoutAloneStaysTheIndentedReportAndNothingElse) {
  ProcessResult r = Load(archive_, {"--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto j = ParseOrNull(r.stdout_text);
  ASSERT_FALSE(j.is_discarded()) << "stdout must be the JSON only:\n" << Output(r);
  EXPECT_EQ(r.stdout_text.rfind("{\n  \"", 0), 0u) << "indented as before";
}

TEST_F(JsonRepeatableTest, TwoFilesWithoutStdoutLeaveStdoutAsUsual) {
  const std::string a = dir_.Join("a.json"), b = dir_.Join("b.json");
  ProcessResult r = Load(archive_, {"--json", a, "--json", b});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_FALSE(ParseOrNull(ReadFileOr(a)).is_discarded());
  EXPECT_EQ(ParseOrNull(ReadFileOr(a)), ParseOrNull(ReadFileOr(b)));
  EXPECT_EQ(LastLine(r.stdout_text).rfind("OK (", 0), 0u) << Output(r);
}

TEST_F(JsonRepeatableTest, AJsonValueDoesNotSwallowTheArchiveAfterIt) {
  const std::string file = dir_.Join("r.json");
  std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",         "--json",  file,
                                   archive_,          "--namespace",  "test_ns", "--registry",
                                   registry_->host(), "--plain-http", "--json",  "-"};
  ProcessResult r = test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ExpectFileAndLastLine(r, file, 0);
  EXPECT_EQ(ParseOrNull(ReadFileOr(file))["archives"][0]["archive"], archive_);
}

TEST_F(JsonRepeatableTest, UsageErrorsFoundLateOrWhileParsingReachEveryDestination) {
  const std::string file = dir_.Join("usage.json");
  const std::vector<std::vector<std::string>> cases = {
      {"--namespace", "Bad!"},                  // namespace rules
      {"--shard-count", "3"},                   // no JOB_COMPLETION_INDEX
      {"--pasword", "x"},                       // unknown flag (parsing)
      {"--json", dir_.Join("missing/r.json")},  // a third, unwritable file
  };
  for (const auto& extra : cases) {
    SCOPED_TRACE(extra[0]);
    fs::remove(file);
    std::vector<std::string> args = {"--json", file, "--json", "-"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Load(archive_, args, {{"JOB_COMPLETION_INDEX", ""}});
    ExpectFileAndLastLine(r, file, 2);
    EXPECT_EQ(r.stdout_text.find('\n'), r.stdout_text.size() - 1)
        << "a usage error prints the report only, on one line:\n"
        << Output(r);
    auto j = ParseOrNull(LastLine(r.stdout_text));
    EXPECT_TRUE(j.contains("error")) << Output(r);
    EXPECT_NE(r.stderr_text.find("Error: "), std::string::npos) << Output(r);
    EXPECT_FALSE(fs::exists(dir_.Join("ppa-import"))) << "work started: " << Output(r);
  }
}

TEST_F(JsonRepeatableTest, ConfigFileListAndEnvironmentGiveTheDestinations) {
  // The config file's `json` as a list.
  const std::string from_config = dir_.Join("from-config.json");
  const std::string config = dir_.Join("config.yaml");
  ASSERT_TRUE(test::WriteStringToFile(config, "json:\n  - " + from_config + "\n  - \"-\"\n").ok());
  ProcessResult r = Load(archive_, {"--config", config, "-q"});
  ExpectFileAndLastLine(r, from_config, 0);

  // PPA_IMPORT_JSON: one destination (a path may hold a comma).
  const std::string from_env = dir_.Join("from,env.json");
  ProcessResult e = Load(archive_, {"-q"}, {{"PPA_IMPORT_JSON", from_env}});
  ASSERT_EQ(e.exit_code, 0) << Output(e);
  EXPECT_FALSE(ParseOrNull(ReadFileOr(from_env)).is_discarded()) << Output(e);

  // The command line wins over both.
  const std::string from_flag = dir_.Join("from-flag.json");
  fs::remove(from_config);
  ProcessResult f = Load(archive_, {"--config", config, "--json", from_flag, "-q"},
                         {{"PPA_IMPORT_JSON", from_env + ".not"}});
  ASSERT_EQ(f.exit_code, 0) << Output(f);
  EXPECT_TRUE(fs::exists(from_flag)) << Output(f);
  EXPECT_FALSE(fs::exists(from_config)) << Output(f);
  EXPECT_FALSE(fs::exists(from_env + ".not")) << Output(f);
}

}  // namespace
}  // namespace ppa
