// End-to-end: ppa-import uploads charts to the ChartMuseum-compatible test
// server (basic and bearer auth, context path, multitenant repositories,
// 409 handling), rewrites repository-keys, and refuses bad charts by name.
#include <gtest/gtest.h>

#include "tests/integration/charts_support.h"
#include "tests/support/chartmuseum_server.h"

namespace ppa::test {
namespace {

constexpr char kUser[] = "cmuser";
constexpr char kPassword[] = "Pa55-w0rd-never-printed";

class ChartsChartMuseumTest : public LoadFixture {
 protected:
  void StartMuseum(ChartMuseumServerOptions options) {
    auto server = ChartMuseumServer::Start(std::move(options));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    museum_ = std::move(server).value();
  }

  ProcessResult LoadWithStdin(const std::string& archive, std::vector<std::string> extra,
                              const std::string& stdin_data) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",       "--archive", archive,
                                     "--namespace",     "test_ns",    "--registry",
                                     registry_->host(), "--plain-http"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, stdin_data, {{"HOME", dir_.path()}}, dir_.path());
  }

  void ExpectNoSecret(const ProcessResult& r, const std::string& secret) {
    EXPECT_EQ(r.stdout_text.find(secret), std::string::npos) << Output(r);
    EXPECT_EQ(r.stderr_text.find(secret), std::string::npos) << Output(r);
  }

  std::string ChartsDir() { return dir_.Join("ppa-import/charts"); }

  std::unique_ptr<ChartMuseumServer> museum_;
};

TEST_F(ChartsChartMuseumTest, UploadsWithBasicAuthAndSecondRunIsAlreadyPresent) {
  StartMuseum({kUser, kPassword});
  const std::string archive = Archive(ChartsArchive(AppChart()), "charts.tgz");
  const std::vector<std::string> flags = {"--chartmuseum-uri", museum_->url(),
                                          "--chartmuseum-user", kUser,
                                          "--chartmuseum-password-stdin"};
  ProcessResult first = LoadWithStdin(archive, flags, std::string(kPassword) + "\n");
  ASSERT_EQ(first.exit_code, 0) << Output(first);
  ExpectNoSecret(first, kPassword);
  EXPECT_NE(first.stdout_text.find("Extracting chart 'charts/bluecompute-1.0.0.tgz' to '" +
                                   ChartsDir() + "'."),
            std::string::npos)
      << Output(first);
  EXPECT_NE(first.stdout_text.find("Uploading chart 'bluecompute-1.0.0.tgz' to ChartMuseum '" +
                                   museum_->url() + "'..."),
            std::string::npos)
      << Output(first);
  EXPECT_NE(first.stderr_text.find("missing.image.repository"), std::string::npos)
      << Output(first);
  EXPECT_EQ(museum_->ChartCount(), 3u);

  // What landed has the rewritten values and equals the copy in ppa-import/charts.
  auto stored = museum_->Find("", "bluecompute", "1.0.0");
  ASSERT_TRUE(stored.has_value());
  auto local = ReadFileToString(ChartsDir() + "/bluecompute-1.0.0.tgz");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(stored->tgz, *local);
  TempDir unpacked;
  WriteFileOrDie(unpacked.Join("c.tgz"), stored->tgz);
  ProcessResult tar = RunProcess({"tar", "-xzf", unpacked.Join("c.tgz"), "-C", unpacked.path()});
  ASSERT_EQ(tar.exit_code, 0) << tar.stderr_text;
  auto values = ReadFileToString(unpacked.Join("bluecompute/values.yaml"));
  ASSERT_TRUE(values.ok());
  const std::string prefix = registry_->host() + "/test_ns/";
  std::string expected = samples::ChartValuesYaml(AppChart());
  for (const char* repo : {"ibmcase/bluecompute-auth", "ibmcase/bluecompute-web"}) {
    // The generator writes plain and double-quoted values.
    size_t at = expected.find(std::string("repository: ") + repo);
    if (at == std::string::npos) at = expected.find(std::string("repository: \"") + repo) + 1;
    ASSERT_NE(at, std::string::npos);
    expected.insert(at + 12, prefix);
  }
  EXPECT_EQ(*values, expected);

  // Second run: 409s for identical charts are "already present", not failures.
  ProcessResult second = LoadWithStdin(archive, flags, std::string(kPassword) + "\n");
  EXPECT_EQ(second.exit_code, 0) << Output(second);
  ExpectNoSecret(second, kPassword);
  size_t present = 0;
  for (size_t at = 0; (at = second.stdout_text.find("already present in ChartMuseum", at)) != std::string::npos;
       ++at) {
    ++present;
  }
  EXPECT_EQ(present, 3u) << Output(second);
}

TEST_F(ChartsChartMuseumTest, PasswordFromEnvironmentOrFlagNeverPrinted) {
  StartMuseum({kUser, kPassword});
  const std::string archive = Archive(ChartsArchive(AppChart()), "charts.tgz");
  ProcessResult via_env = Load(archive, {"--chartmuseum-uri", museum_->url()},
                               {{"PPA_IMPORT_CHARTMUSEUM_USER", kUser},
                                {"PPA_IMPORT_CHARTMUSEUM_PASSWORD", kPassword}});
  EXPECT_EQ(via_env.exit_code, 0) << Output(via_env);
  ExpectNoSecret(via_env, kPassword);
  ProcessResult via_flag = Load(archive, {"--chartmuseum-uri", museum_->url(),
                                          "--chartmuseum-user", kUser, "--chartmuseum-password",
                                          kPassword, "-v"});
  EXPECT_EQ(via_flag.exit_code, 0) << Output(via_flag);
  ExpectNoSecret(via_flag, kPassword);
  EXPECT_NE(via_flag.stderr_text.find("process list"), std::string::npos) << Output(via_flag);
  ProcessResult wrong = Load(archive, {"--chartmuseum-uri", museum_->url(), "--chartmuseum-user",
                                       kUser},
                             {{"PPA_IMPORT_CHARTMUSEUM_PASSWORD", "wrong-secret"}});
  EXPECT_EQ(wrong.exit_code, 1) << Output(wrong);
  EXPECT_NE(wrong.stderr_text.find("HTTP 401"), std::string::npos) << Output(wrong);
  ExpectNoSecret(wrong, "wrong-secret");
}

TEST_F(ChartsChartMuseumTest, DifferentChartSameVersionFailsUnlessForced) {
  StartMuseum({});
  const std::string a = Archive(ChartsArchive(AppChart("2.0.0", "first")), "a.tgz");
  const std::string b = Archive(ChartsArchive(AppChart("2.0.0", "second build")), "b.tgz");
  ProcessResult first = Load(a, {"--chartmuseum-uri", museum_->url()});
  ASSERT_EQ(first.exit_code, 0) << Output(first);
  ProcessResult conflict = Load(b, {"--chartmuseum-uri", museum_->url()});
  EXPECT_EQ(conflict.exit_code, 1) << Output(conflict);
  EXPECT_NE(conflict.stderr_text.find("already exists in ChartMuseum with different content"),
            std::string::npos)
      << Output(conflict);
  EXPECT_NE(conflict.stderr_text.find("Hint: pass --force-charts"), std::string::npos)
      << Output(conflict);
  ProcessResult forced = Load(b, {"--chartmuseum-uri", museum_->url(), "--force-charts"});
  EXPECT_EQ(forced.exit_code, 0) << Output(forced);
  auto stored = museum_->Find("", "bluecompute", "2.0.0");
  auto local = ReadFileToString(ChartsDir() + "/bluecompute-2.0.0.tgz");
  ASSERT_TRUE(stored.has_value() && local.ok());
  EXPECT_EQ(stored->tgz, *local);
}

TEST_F(ChartsChartMuseumTest, ContextPathMultitenantAndBearerToken) {
  StartMuseum({"", "", "tok-en-secret", "/cm", 2});
  const std::string archive = Archive(ChartsArchive(AppChart()), "charts.tgz");
  // Context path discovered from index.yaml.
  ProcessResult discovered =
      Load(archive, {"--chartmuseum-uri", museum_->url() + "/org/team"},
           {{"PPA_IMPORT_CHARTMUSEUM_TOKEN", "tok-en-secret"}});
  EXPECT_EQ(discovered.exit_code, 0) << Output(discovered);
  EXPECT_EQ(museum_->ChartCount("org/team"), 3u);
  ExpectNoSecret(discovered, "tok-en-secret");
  // Context path given; the URI holds only the repository.
  ProcessResult given = Load(archive, {"--chartmuseum-uri",
                                       "http://127.0.0.1:" + std::to_string(museum_->port()) +
                                           "/org/other",
                                       "--chartmuseum-context-path", "/cm", "--chartmuseum-token",
                                       "tok-en-secret"});
  EXPECT_EQ(given.exit_code, 0) << Output(given);
  EXPECT_EQ(museum_->ChartCount("org/other"), 3u);
}

TEST_F(ChartsChartMuseumTest, ApiDisabledAndSizeLimitGetHints) {
  StartMuseum({"", "", "", "", 0, 20 << 20, /*disable_api=*/true});
  const std::string archive = Archive(ChartsArchive(AppChart()), "charts.tgz");
  ProcessResult r = Load(archive, {"--chartmuseum-uri", museum_->url()});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("--disable-api"), std::string::npos) << Output(r);
  museum_.reset();
  StartMuseum({"", "", "", "", 0, /*max_upload_bytes=*/1000});
  ProcessResult big = Load(archive, {"--chartmuseum-uri", museum_->url()});
  EXPECT_EQ(big.exit_code, 1) << Output(big);
  EXPECT_NE(big.stderr_text.find("--max-upload-size"), std::string::npos) << Output(big);
}

TEST_F(ChartsChartMuseumTest, BadChartsAreRefusedByNameOthersLand) {
  StartMuseum({});
  const std::string archive = Archive(ChartsArchive(AppChart(), /*bad=*/true), "bad.tgz");
  ProcessResult r = Load(archive, {"--chartmuseum-uri", museum_->url()});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("empty-0.1.0.tgz"), std::string::npos) << Output(r);
  EXPECT_NE(r.stderr_text.find("escape-0.1.0.tgz"), std::string::npos) << Output(r);
  EXPECT_EQ(museum_->ChartCount(), 3u);
  namespace fs = std::filesystem;
  EXPECT_TRUE(fs::exists(ChartsDir() + "/frobnitz-1.2.3.tgz"));
  EXPECT_TRUE(fs::exists(ChartsDir() + "/compressedchart-0.1.0.tgz"));
  EXPECT_FALSE(fs::exists(ChartsDir() + "/empty-0.1.0.tgz"));
  EXPECT_FALSE(fs::exists(ChartsDir() + "/escape-0.1.0.tgz"));
  EXPECT_FALSE(fs::exists(dir_.Join("evil.txt")));
}

TEST_F(ChartsChartMuseumTest, KeepChartValuesUploadsTheOriginal) {
  StartMuseum({});
  samples::ChartSpec app = AppChart();
  const std::string archive = Archive(ChartsArchive(app), "charts.tgz");
  ProcessResult r = Load(archive, {"--chartmuseum-uri", museum_->url(), "--keep-chart-values"});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  auto stored = museum_->Find("", "bluecompute", "1.0.0");
  auto original = samples::BuildChartTgz(app);
  ASSERT_TRUE(stored.has_value() && original.ok());
  EXPECT_EQ(stored->tgz, *original);
}

}  // namespace
}  // namespace ppa::test
