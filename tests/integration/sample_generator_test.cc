// The sample generator writes real formats: its archives are deterministic,
// readable by tar, and every image tarball in them is accepted by skopeo
// (an independent implementation) with the diff_ids and configs we meant.
// Also checks the test registry fixture with skopeo, with and without auth.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "samples/generator/sample_archive.h"
#include "tests/support/process.h"
#include "tests/support/registry_server.h"
#include "tests/support/skopeo.h"

namespace ppa::test {
namespace {

using samples::ImageTarballFormat;
using samples::PpaArchiveSpec;
using samples::WrittenImage;

std::string MustRead(const std::string& path) {
  Result<std::string> r = ReadFileToString(path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : "";
}

// Writes `spec` to dir/name and returns the path.
std::string WriteArchive(const PpaArchiveSpec& spec, const TempDir& dir, const std::string& name) {
  const std::string path = dir.Join(name);
  const Status s = samples::WritePpaArchive(spec, path);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

// What the generator says it wrote for one tarball (computed without I/O).
std::vector<WrittenImage> Expected(const samples::ImageTarballSpec& tarball) {
  samples::NullSink null;
  auto written = samples::WriteImageTarball(tarball, null);
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  return written.ok() ? *written : std::vector<WrittenImage>{};
}

// skopeo 1.9's docker-archive transport fails ("unexpected EOF") on any
// gzip'd tarball, even `gzip` of a real `docker save`: hand it the
// decompressed stream instead. The gzip layer is checked by `gzip -t`.
std::string Uncompressed(const std::string& path, bool gzip, const TempDir& dir) {
  if (!gzip) return path;
  EXPECT_EQ(RunProcess({"gzip", "-t", path}).exit_code, 0) << path;
  ProcessResult r = RunProcess({"gzip", "-dc", path});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string out = dir.Join(std::filesystem::path(path).filename().string() + ".plain");
  EXPECT_TRUE(WriteStringToFile(out, r.stdout_text).ok());
  return out;
}

std::string SkopeoRef(ImageTarballFormat format, const std::string& file, size_t index,
                      size_t count) {
  if (format == ImageTarballFormat::kOciLayout) return "oci-archive:" + file;
  std::string ref = "docker-archive:" + file;
  if (count > 1) ref += ":@" + std::to_string(index);
  return ref;
}

// Every image of every tarball in `spec` (extracted under `root`) is read
// by skopeo with exactly the config and layers the generator reported.
void ExpectSkopeoReadsEveryImage(const PpaArchiveSpec& spec, const std::string& root,
                                 const TempDir& scratch) {
  for (const PpaArchiveSpec::Image& image : spec.images) {
    SCOPED_TRACE(image.path);
    const std::vector<WrittenImage> expected = Expected(image.tarball);
    ASSERT_EQ(expected.size(), image.tarball.images.size());
    const std::string file = Uncompressed(root + "/" + image.path, image.tarball.gzip, scratch);
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string ref = SkopeoRef(image.tarball.format, file, i, expected.size());
      SCOPED_TRACE(ref);
      Result<nlohmann::json> config = SkopeoInspectConfig(ref);
      ASSERT_TRUE(config.ok()) << config.status().ToString();
      EXPECT_EQ(*config, nlohmann::json::parse(expected[i].config_json));
      EXPECT_EQ((*config)["rootfs"]["diff_ids"].get<std::vector<std::string>>(),
                expected[i].diff_ids);
      Result<nlohmann::json> summary = SkopeoInspect(ref, /*raw=*/false);
      ASSERT_TRUE(summary.ok()) << summary.status().ToString();
      EXPECT_EQ((*summary)["Layers"].get<std::vector<std::string>>(), expected[i].layer_digests);
      EXPECT_EQ((*summary)["Architecture"], image.tarball.images[i].architecture);
    }
  }
}

std::string Extract(const std::string& archive, const TempDir& dir, const std::string& name) {
  const std::string out = dir.Join(name);
  std::filesystem::create_directories(out);
  ProcessResult r = RunProcess({"tar", "-xzf", archive, "-C", out});
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  return out;
}

TEST(SampleGeneratorTest, SameSpecGivesIdenticalBytes) {
  TempDir dir;
  for (const auto& [name, spec] :
       {std::pair{"sample", samples::DemoSampleSpec()}, {"ibm", samples::IbmShapedSpec()}}) {
    const std::string a = WriteArchive(spec, dir, std::string(name) + "-a.tgz");
    const std::string b = WriteArchive(spec, dir, std::string(name) + "-b.tgz");
    const std::string bytes = MustRead(a);
    EXPECT_FALSE(bytes.empty());
    EXPECT_EQ(bytes, MustRead(b)) << name;
  }
}

TEST(SampleGeneratorTest, DemoSampleIsSmallAndTarListsIt) {
  TempDir dir;
  const std::string path = WriteArchive(samples::DemoSampleSpec(), dir, "sample.tgz");
  EXPECT_LT(std::filesystem::file_size(path), 1u << 20);
  ProcessResult r = RunProcess({"tar", "-tzf", path});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  for (const char* entry :
       {"manifest.yaml", "manifest.json", "charts/ibm-portal-prod-1.0.0.tgz",
        "charts/ibm-portal-dev-1.0.0.tgz", "images/portal-2.1.0-amd64.tar.gz",
        "images/portal-2.1.0-ppc64le.tar.gz", "images/portal-db-2.1.0.tar",
        "images/portal-worker-2.1.0-oci.tar", "images/portal-tools-init-2.1.0.tar.gz"}) {
    EXPECT_NE(r.stdout_text.find(std::string(entry) + "\n"), std::string::npos) << entry;
  }
}

TEST(SampleGeneratorTest, ChartsHaveOneTopDirectoryWithChartYaml) {
  TempDir dir;
  const PpaArchiveSpec spec = samples::IbmShapedSpec();
  const std::string root = Extract(WriteArchive(spec, dir, "ibm.tgz"), dir, "x");
  ProcessResult r = RunProcess({"tar", "-tzf", root + "/charts/bluecompute-ce-0.0.9.tgz"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  std::istringstream lines(r.stdout_text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_EQ(line.rfind("bluecompute-ce/", 0), 0u) << line;
  }
  for (const char* f : {"bluecompute-ce/Chart.yaml", "bluecompute-ce/values.yaml",
                        "bluecompute-ce/templates/deployment.yaml",
                        "bluecompute-ce/charts/ibmcase-mysql/Chart.yaml"}) {
    EXPECT_NE(r.stdout_text.find(f), std::string::npos) << f;
  }
  // The yaml names the chart by a path that does not exist in the archive.
  const std::string yaml = MustRead(root + "/manifest.yaml");
  EXPECT_NE(yaml.find("archive: file:bluecompute-ce-0.0.9.tgz"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(root + "/bluecompute-ce-0.0.9.tgz"));
  EXPECT_EQ(yaml.find("archive: images/"), std::string::npos);
}

TEST(SampleGeneratorTest, SkopeoReadsEveryDemoImage) {
  TempDir dir;
  const PpaArchiveSpec spec = samples::DemoSampleSpec();
  const std::string root = Extract(WriteArchive(spec, dir, "sample.tgz"), dir, "x");
  ExpectSkopeoReadsEveryImage(spec, root, dir);

  // portal amd64 and portal-db share their base layer.
  const auto portal = Expected(spec.images[0].tarball);
  const auto db = Expected(spec.images[2].tarball);
  ASSERT_FALSE(portal.empty() || db.empty());
  EXPECT_EQ(portal[0].diff_ids[0], db[0].diff_ids[0]);

  // The layer repeated at another position of the two-image tarball is a symlink.
  ProcessResult r = RunProcess({"tar", "-tvzf", root + "/images/portal-tools-init-2.1.0.tar.gz"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.stdout_text.find("/layer.tar -> ../"), std::string::npos) << r.stdout_text;
}

TEST(SampleGeneratorTest, SkopeoReadsEveryIbmShapedImage) {
  TempDir dir;
  const PpaArchiveSpec spec = samples::IbmShapedSpec();
  ASSERT_EQ(spec.images.size(), 14u);
  const std::string root = Extract(WriteArchive(spec, dir, "ibm.tgz"), dir, "x");
  ExpectSkopeoReadsEveryImage(spec, root, dir);
}

TEST(SampleGeneratorTest, BigRandomLayerStreamsAndMatchesItsDigest) {
  samples::LayerSpec big;
  big.seed = 42;
  big.file_count = 2;
  big.file_size = 8u << 20;
  big.random_content = true;
  TempDir dir;
  auto written = samples::WriteLayerFile(big, dir.Join("layer.tar"));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_GT(written->size, 16u << 20);
  ProcessResult sum = RunProcess({"sha256sum", dir.Join("layer.tar")});
  ASSERT_EQ(sum.exit_code, 0);
  EXPECT_EQ("sha256:" + sum.stdout_text.substr(0, 64), written->diff_id);
  auto described = samples::DescribeLayer(big);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->diff_id, written->diff_id);
}

TEST(ProcessTest, FeedsAndDrainsLargeStreamsWithoutDeadlock) {
  const std::string input(3u << 20, 'x');
  ProcessResult r = RunProcess({"cat"}, input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text.size(), input.size());
  ProcessResult env =
      RunProcess({"sh", "-c", "echo \"$PPA_X\" >&2; exit 3"}, std::nullopt, {{"PPA_X", "hello"}});
  EXPECT_EQ(env.exit_code, 3);
  EXPECT_EQ(env.stderr_text, "hello\n");
  EXPECT_EQ(RunProcess({"/nonexistent/program"}).exit_code, 127);
}

class RegistryServerTest : public ::testing::TestWithParam<bool> {};

TEST_P(RegistryServerTest, SkopeoPushesAndInspects) {
  const bool auth = GetParam();
  RegistryOptions options;
  if (auth) options = {"tester", "s3cret-pass"};
  auto server = RegistryServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  RegistryServer& reg = **server;
  EXPECT_EQ(reg.HttpGetStatus("/v2/"), auth ? 401 : 200);

  TempDir dir;
  samples::ImageTarballSpec tarball = samples::DemoSampleSpec().images[0].tarball;
  tarball.gzip = false;
  auto written = samples::WriteImageTarballFile(tarball, dir.Join("image.tar"));
  ASSERT_TRUE(written.ok()) << written.status().ToString();

  const std::string target = "docker://" + reg.host() + "/x/y:1";
  Status pushed = SkopeoCopy("docker-archive:" + dir.Join("image.tar"), target, "", reg.creds());
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  EXPECT_GE(reg.CountBlobUploadRequests(), 3);  // two layers and the config
  EXPECT_GE(reg.CountLogLines("\"PUT /v2/x/y/manifests/1"), 1);

  auto summary = SkopeoInspect(reg.host() + "/x/y:1", /*raw=*/false, reg.creds());
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ((*summary)["Architecture"], "amd64");
  if (auth) {
    EXPECT_FALSE(SkopeoInspect(reg.host() + "/x/y:1", /*raw=*/true).ok());
  }
  Status pulled = SkopeoCopyToDir(target, dir.Join("pulled"), reg.creds());
  EXPECT_TRUE(pulled.ok()) << pulled.ToString();
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutAuth, RegistryServerTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Htpasswd" : "Anonymous"; });

TEST(RegistryServerLifetimeTest, DestructorStopsTheServerAndRemovesItsFolder) {
  std::string storage;
  int port = 0;
  {
    auto server = RegistryServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    storage = (*server)->storage_dir();
    port = (*server)->port();
    EXPECT_EQ((*server)->HttpGetStatus("/v2/"), 200);
  }
  EXPECT_EQ(SimpleHttpGetStatus("127.0.0.1", port, "/v2/", 500), -1);
  EXPECT_FALSE(std::filesystem::exists(storage));
}

}  // namespace
}  // namespace ppa::test
