// End-to-end: --charts-oci pushes charts to Debian's docker-registry the way
// `helm push` does. skopeo checks the media types; the real helm client
// (scripts/fetch_helm.sh) must show, pull and lint what we produced.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/charts_support.h"

namespace ppa::test {
namespace {

class ChartsOciTest : public LoadFixture {
 protected:
  std::string OciRef(const std::string& name) {
    return "oci://" + registry_->host() + "/test_ns/charts/" + name;
  }
};

TEST_F(ChartsOciTest, PushesHelmArtifactsWithHelmMediaTypes) {
  const std::string archive = Archive(ChartsArchive(AppChart("1.0.0+build.7")), "charts.tgz");
  ProcessResult r = Load(archive, {"--charts-oci"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Pushing chart 'bluecompute:1.0.0+build.7' to '" +
                               registry_->host() + "/test_ns/charts/bluecompute:1.0.0_build.7'..."),
            std::string::npos)
      << Output(r);
  for (const char* ref : {"bluecompute:1.0.0_build.7", "frobnitz:1.2.3", "compressedchart:0.1.0"}) {
    auto manifest = SkopeoInspect(Ref(std::string("charts/") + ref), /*raw=*/true);
    ASSERT_TRUE(manifest.ok()) << ref << ": " << manifest.status().ToString();
    EXPECT_EQ((*manifest)["mediaType"], "application/vnd.oci.image.manifest.v1+json") << ref;
    EXPECT_EQ((*manifest)["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    ASSERT_EQ((*manifest)["layers"].size(), 1u) << ref;
    EXPECT_EQ((*manifest)["layers"][0]["mediaType"],
              "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    EXPECT_TRUE((*manifest)["annotations"].contains("org.opencontainers.image.title")) << ref;
  }
  // The pushed layer is the very file in ppa-import/charts.
  auto local = ReadFileToString(dir_.Join("ppa-import/charts/bluecompute-1.0.0+build.7.tgz"));
  ASSERT_TRUE(local.ok());
  auto manifest = SkopeoInspect(Ref("charts/bluecompute:1.0.0_build.7"), true);
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["layers"][0]["size"], local->size());

  // A second run pushes nothing new and still succeeds.
  ProcessResult again = Load(archive, {"--charts-oci"});
  EXPECT_EQ(again.exit_code, 0) << Output(again);
}

TEST_F(ChartsOciTest, RealHelmShowsPullsAndLints) {
  const std::string helm = FindHelm();
  if (helm.empty()) {
    GTEST_SKIP() << "helm not fetched (run scripts/fetch_helm.sh, or set PPA_HELM)";
  }
  const std::string archive = Archive(
      ChartsArchive(AppChart("1.0.0+build.7", "Blue Compute", /*subchart=*/false)), "charts.tgz");
  ProcessResult r = Load(archive, {"--charts-oci"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  TempDir home("ppa-helm");
  std::filesystem::create_directories(home.Join("pulled"));
  const struct {
    const char* name;
    const char* version;
  } kCharts[] = {{"bluecompute", "1.0.0+build.7"}, {"frobnitz", "1.2.3"},
                 {"compressedchart", "0.1.0"}};
  for (const auto& c : kCharts) {
    ProcessResult show = RunHelm(helm, home.path(),
                                 {"show", "chart", OciRef(c.name), "--version", c.version,
                                  "--plain-http"});
    ASSERT_EQ(show.exit_code, 0) << c.name << "\n" << Output(show);
    EXPECT_NE(show.stdout_text.find(std::string("name: ") + c.name), std::string::npos)
        << Output(show);
    EXPECT_NE(show.stdout_text.find(std::string("version: ") + c.version), std::string::npos)
        << Output(show);
    ProcessResult pull = RunHelm(helm, home.path(),
                                 {"pull", OciRef(c.name), "--version", c.version, "--plain-http",
                                  "-d", home.Join("pulled")});
    ASSERT_EQ(pull.exit_code, 0) << c.name << "\n" << Output(pull);
    EXPECT_NE(Output(pull).find("Digest: sha256:"), std::string::npos) << Output(pull);
  }
  // helm pulled back exactly the bytes we pushed.
  auto pulled = ReadFileToString(home.Join("pulled/bluecompute-1.0.0+build.7.tgz"));
  auto local = ReadFileToString(dir_.Join("ppa-import/charts/bluecompute-1.0.0+build.7.tgz"));
  ASSERT_TRUE(pulled.ok() && local.ok());
  EXPECT_EQ(*pulled, *local);

  // helm lint accepts the rewritten package, and renders the prefixed images.
  ProcessResult lint = RunHelm(helm, home.path(),
                               {"lint", dir_.Join("ppa-import/charts/bluecompute-1.0.0+build.7.tgz")});
  EXPECT_EQ(lint.exit_code, 0) << Output(lint);
  ProcessResult rendered = RunHelm(
      helm, home.path(),
      {"template", "demo", dir_.Join("ppa-import/charts/bluecompute-1.0.0+build.7.tgz")});
  ASSERT_EQ(rendered.exit_code, 0) << Output(rendered);
  EXPECT_NE(rendered.stdout_text.find(registry_->host() + "/test_ns/ibmcase/bluecompute-auth"),
            std::string::npos)
      << Output(rendered);
  // (frobnitz is a loader fixture that helm lint rejects on purpose.)
  ProcessResult plain =
      RunHelm(helm, home.path(), {"lint", dir_.Join("ppa-import/charts/compressedchart-0.1.0.tgz")});
  EXPECT_EQ(plain.exit_code, 0) << Output(plain);
}

}  // namespace
}  // namespace ppa::test
