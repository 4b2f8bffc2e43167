// Secrets (README, Security): passwords and API keys never appear in logs at
// any level (-v included), the JSON report, error messages or files left in
// the work directory or TMPDIR; Authorization values never show in -v
// output; the work directory is 0700 and its files 0600; --insecure warns.
// Runs the real binary against a basic-auth docker-registry.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "docker_io/image/digest.h"
#include "tests/support/load_fixture.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;

constexpr char kUser[] = "iamapikey";
constexpr char kSecret[] = "Api-Key-S3cret-0123456789";

// Base64 (RFC 4648) of `in`: what a Basic Authorization header carries.
std::string Base64(const std::string& in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63], out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63], out += '=';
  }
  return out;
}

class SecretsTest : public test::LoadFixture {
 protected:
  void SetUp() override { StartRegistry({kUser, kSecret}); }

  // The forms a leak could take.
  std::vector<std::string> Needles() const {
    return {kSecret, Base64(std::string(kUser) + ":" + kSecret), "Basic "};
  }

  void ExpectNoSecretIn(const std::string& where, const std::string& text) {
    for (const auto& needle : Needles()) {
      EXPECT_EQ(text.find(needle), std::string::npos) << "'" << needle << "' leaked in " << where;
    }
  }

  // Every regular file below `root` (symlinks not followed).
  void ExpectNoSecretInFiles(const std::string& root) {
    if (!fs::exists(root)) return;
    for (auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file(/*no follow*/) || e.is_symlink()) continue;
      auto text = test::ReadFileToString(e.path().string());
      ASSERT_TRUE(text.ok()) << e.path();
      ExpectNoSecretIn(e.path().string(), *text);
    }
  }

  ProcessResult Run(const std::vector<std::string>& extra, const std::string& password) {
    std::vector<std::string> argv = {
        PPA_IMPORT_BINARY, "load",         archive_, "--namespace", "test_ns", "--registry",
        registry_->host(), "--plain-http", "-v",     "--workdir",   work_,     "--keep-workdir",
        "--json",          report_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    fs::create_directories(tmp_);
    return test::RunProcess(argv, std::nullopt,
                            {{"HOME", dir_.path()},
                             {"TMPDIR", tmp_},
                             // IBMCLOUD_API_KEY applies to IBM Cloud hosts only
                             // (not 127.0.0.1): the same secret through the variables.
                             {"IBMCLOUD_API_KEY", ""},
                             {"PPA_IMPORT_USERNAME", kUser},
                             {"PPA_IMPORT_PASSWORD", password}},
                            dir_.path());
  }

  // `report_required`: false when the run stops before any import (a
  // refused login writes no report).
  void ExpectNothingLeaked(const ProcessResult& r, bool report_required = true) {
    ExpectNoSecretIn("stdout", r.stdout_text);
    ExpectNoSecretIn("stderr", r.stderr_text);
    ExpectNoSecretInFiles(work_);
    ExpectNoSecretInFiles(tmp_);
    auto report = test::ReadFileToString(report_);
    if (!report_required && !report.ok()) return;
    ASSERT_TRUE(report.ok()) << "no JSON report written";
    ExpectNoSecretIn("the JSON report", *report);
  }

  std::string archive_ = Archive(samples::DemoSampleSpec(), "sample.tgz");
  std::string work_ = dir_.Join("work");
  std::string tmp_ = dir_.Join("tmp");
  std::string report_ = dir_.Join("report.json");
};

TEST_F(SecretsTest, ApiKeyNeverInVerboseLogsReportOrWorkFiles) {
  ProcessResult r = Run({}, kSecret);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stderr_text.find("debug: "), std::string::npos) << "-v logs requests";
  ExpectNothingLeaked(r);
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64", registry_->creds());
}

TEST_F(SecretsTest, WrongApiKeyNeverEchoedInTheError) {
  const std::string wrong = "Wrong-Key-Zz9876543210";
  ProcessResult r = Run({}, wrong);
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << r.stderr_text;
  ExpectNothingLeaked(r, /*report_required=*/false);
  for (const std::string& needle : {wrong, Base64(std::string(kUser) + ":" + wrong)}) {
    EXPECT_EQ(Output(r).find(needle), std::string::npos) << "wrong key leaked";
  }
}

TEST_F(SecretsTest, WorkDirectoryIs0700AndItsFiles0600) {
  ProcessResult r = Run({}, kSecret);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  int files = 0;
  std::vector<std::string> paths = {work_};
  for (auto& e : fs::recursive_directory_iterator(work_)) paths.push_back(e.path().string());
  for (const auto& p : paths) {
    struct stat st {};
    ASSERT_EQ(::lstat(p.c_str(), &st), 0) << p;
    if (S_ISDIR(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0700u) << p;
    } else if (S_ISREG(st.st_mode)) {
      EXPECT_EQ(st.st_mode & 07777, 0600u) << p;
      ++files;
    }
  }
  EXPECT_GT(files, 5) << "--keep-workdir keeps the unpacked archive";
}

TEST_F(SecretsTest, InsecureWarnsLoudly) {
  ProcessResult r = Run({"--insecure"}, kSecret);
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stderr_text.find("--insecure: TLS certificates are NOT verified"), std::string::npos)
      << r.stderr_text;
  ExpectNothingLeaked(r);
}

}  // namespace
}  // namespace ppa
