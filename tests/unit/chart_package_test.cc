// Tests for helm_io/chart_package (deterministic repackaging) and
// helm_io/helm_oci (Helm's config and manifest for OCI pushes).
#include "helm_io/chart_package.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "docker_io/image/digest.h"
#include "helm_io/helm_oci.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

std::string TestChart(const std::string& name) {
  Result<std::string> bytes =
      test::ReadFileToString(std::string(PPA_TEST_DATA_DIR) + "/charts/" + name);
  EXPECT_TRUE(bytes.ok()) << name;
  return bytes.ok() ? *bytes : std::string();
}

TEST(ChartPackageTest, RoundTripKeepsEntriesAndOrder) {
  const std::string original = TestChart("frobnitz-1.2.3.tgz");
  Result<ChartPackage> chart = ParseChartPackage(original);
  ASSERT_TRUE(chart.ok()) << chart.status().ToString();
  ASSERT_NE(chart->Find("frobnitz/Chart.yaml"), nullptr);
  Result<std::string> written = WriteChartPackage(*chart);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  Result<ChartPackage> again = ParseChartPackage(*written);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->entries.size(), chart->entries.size());
  for (size_t i = 0; i < chart->entries.size(); ++i) {
    EXPECT_EQ(again->entries[i].name, chart->entries[i].name);
    EXPECT_EQ(again->entries[i].data, chart->entries[i].data);
    EXPECT_EQ(again->entries[i].is_dir, chart->entries[i].is_dir);
    EXPECT_EQ(again->entries[i].mtime, kRepackMtime);
  }
}

TEST(ChartPackageTest, SameInputGivesSameBytes) {
  Result<ChartPackage> chart = ParseChartPackage(TestChart("frobnitz-1.2.3.tgz"));
  ASSERT_TRUE(chart.ok()) << chart.status().ToString();
  Result<std::string> first = WriteChartPackage(*chart);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a clock tick apart
  Result<ChartPackage> reread = ParseChartPackage(TestChart("frobnitz-1.2.3.tgz"));
  ASSERT_TRUE(reread.ok());
  Result<std::string> second = WriteChartPackage(*reread);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(Sha256Digest(*first), Sha256Digest(*second));
  ASSERT_GE(first->size(), 10u);
  EXPECT_EQ(first->substr(0, 2), std::string("\x1f\x8b"));
  EXPECT_EQ(first->substr(4, 4), std::string(4, '\0')) << "gzip header has a timestamp";
}

TEST(ChartPackageTest, NoUserOrGroupNames) {
  Result<ChartPackage> chart = ParseChartPackage(TestChart("compressedchart-0.1.0.tgz"));
  ASSERT_TRUE(chart.ok());
  Result<std::string> written = WriteChartPackage(*chart);
  ASSERT_TRUE(written.ok());
  // Unpack with the system tar and list owners numerically.
  test::TempDir dir;
  ASSERT_TRUE(test::WriteStringToFile(dir.Join("c.tgz"), *written).ok());
  test::ProcessResult listing =
      test::RunProcess({"tar", "-tvzf", dir.Join("c.tgz"), "--numeric-owner"});
  ASSERT_EQ(listing.exit_code, 0) << listing.stderr_text;
  EXPECT_NE(listing.stdout_text.find("0/0"), std::string::npos) << listing.stdout_text;
  test::ProcessResult names = test::RunProcess({"tar", "-tvzf", dir.Join("c.tgz")});
  EXPECT_EQ(names.stdout_text.find("root"), std::string::npos) << names.stdout_text;
}

TEST(ChartPackageTest, NotGzipIsInvalidInput) {
  Result<ChartPackage> chart = ParseChartPackage("not a chart");
  ASSERT_FALSE(chart.ok());
  EXPECT_EQ(chart.status().code(), StatusCode::kInvalidInput);
}

// ---------------------------------------------------------------------------
// Helm OCI

constexpr char kChartYaml[] =
    "apiVersion: v2\nname: demo\nversion: 1.2.3+build.7\ndescription: A demo\n"
    "appVersion: \"2.0\"\nhome: https://example.com\nsources:\n  - https://git.example/demo\n"
    "  - https://mirror.example/demo\nkeywords: [a, b]\nmaintainers:\n  - name: Ann\n"
    "    email: ann@example.com\n  - name: Bob\ntype: application\ndeprecated: false\n"
    "annotations:\n  category: Demo\n  org.opencontainers.image.title: ignored\n"
    "dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: file://charts/sub\n";

TEST(HelmOciTest, ConfigFollowsHelmMetadataOrder) {
  Result<std::string> config = HelmConfigJson(kChartYaml);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(*config,
            "{\"name\":\"demo\",\"home\":\"https://example.com\",\"sources\":[\"https://"
            "git.example/demo\",\"https://mirror.example/demo\"],\"version\":\"1.2.3+build.7\","
            "\"description\":\"A demo\",\"keywords\":[\"a\",\"b\"],\"maintainers\":[{\"name\":"
            "\"Ann\",\"email\":\"ann@example.com\"},{\"name\":\"Bob\"}],\"apiVersion\":\"v2\","
            "\"appVersion\":\"2.0\",\"annotations\":{\"category\":\"Demo\",\"org.opencontainers."
            "image.title\":\"ignored\"},\"dependencies\":[{\"name\":\"sub\",\"version\":\"0.1.0\","
            "\"repository\":\"file://charts/sub\"}],\"type\":\"application\"}");
}

TEST(HelmOciTest, ManifestHasHelmMediaTypesAndAnnotations) {
  HelmChartArtifact chart{kChartYaml, "tgz-bytes", std::string("prov-bytes"),
                          "2024-01-02T03:04:05Z"};
  Result<HelmOciManifest> built = BuildHelmOciManifest(chart);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  EXPECT_EQ(built->tag, "1.2.3_build.7");
  const nlohmann::json m = nlohmann::json::parse(built->manifest);
  EXPECT_EQ(m["schemaVersion"], 2);
  EXPECT_EQ(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(m["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
  EXPECT_EQ(m["config"]["digest"], Sha256Digest(built->config));
  ASSERT_EQ(m["layers"].size(), 2u);
  EXPECT_EQ(m["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
  EXPECT_EQ(m["layers"][0]["digest"], Sha256Digest("tgz-bytes"));
  EXPECT_EQ(m["layers"][0]["size"], 9);
  EXPECT_EQ(m["layers"][1]["mediaType"], "application/vnd.cncf.helm.chart.provenance.v1.prov");
  const nlohmann::json& a = m["annotations"];
  EXPECT_EQ(a["org.opencontainers.image.title"], "demo");
  EXPECT_EQ(a["org.opencontainers.image.version"], "1.2.3+build.7");
  EXPECT_EQ(a["org.opencontainers.image.description"], "A demo");
  EXPECT_EQ(a["org.opencontainers.image.url"], "https://example.com");
  EXPECT_EQ(a["org.opencontainers.image.source"], "https://git.example/demo");
  EXPECT_EQ(a["org.opencontainers.image.authors"], "Ann (ann@example.com), Bob");
  EXPECT_EQ(a["org.opencontainers.image.created"], "2024-01-02T03:04:05Z");
  EXPECT_EQ(a["category"], "Demo");
}

TEST(HelmOciTest, TagReplacesPlus) {
  EXPECT_EQ(HelmOciTag("1.0.0"), "1.0.0");
  EXPECT_EQ(HelmOciTag("1.0.0-rc.1+a+b"), "1.0.0-rc.1_a_b");
}

}  // namespace
}  // namespace ppa
