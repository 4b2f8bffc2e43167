// Image tarballs as other tools write them (skopeo's docker-archive and
// oci-archive, whole-file zstd), imported and verified by skopeo; and
// --architectures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/load_fixture.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using ImageFormatsTest = test::LoadFixture;

std::string Fixture(const char* name) {
  return std::string(PPA_TEST_DATA_DIR) + "/images/" + name;
}

TEST_F(ImageFormatsTest, SkopeoWrittenArchivesAndZstdSave) {
  std::string root = dir_.Join("tree");
  fs::create_directories(root + "/images");
  // Written by skopeo: an OCI archive (gzip layers) and a docker-archive.
  Status oci = test::SkopeoCopy("docker-archive:" + Fixture("test_image_2.tar"),
                                "oci-archive:" + root + "/images/skopeo-oci.tar:acme/oci:1");
  ASSERT_TRUE(oci.ok()) << oci.ToString();
  Status docker = test::SkopeoCopy("docker-archive:" + Fixture("test_image_2.tar"),
                                   "docker-archive:" + root + "/images/skopeo-docker.tar:acme/dock:1");
  ASSERT_TRUE(docker.ok()) << docker.ToString();
  // A save compressed as a whole with zstd, named as if it were gzip.
  auto z = test::RunProcess({"zstd", "-q", Fixture("test_image_2.tar"), "-o",
                             root + "/images/zstd-save.tar.gz"});
  ASSERT_EQ(z.exit_code, 0) << z.stderr_text;
  std::ofstream(root + "/manifest.json") << R"({"images":[
    {"image":"fmt/skopeo-oci","tag":"1","archive":"images/skopeo-oci.tar"},
    {"image":"fmt/skopeo-docker","tag":"1","archive":"images/skopeo-docker.tar"},
    {"image":"fmt/zstd-save","tag":"1","archive":"images/zstd-save.tar.gz"}]})";
  // The outer archive itself zstd-compressed, detected by magic.
  auto tar = test::RunProcess({"tar", "-C", root, "--zstd", "-cf", dir_.Join("fmt.tgz"), "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.stderr_text;
  auto r = Load(dir_.Join("fmt.tgz"));
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  for (const char* ref : {"fmt/skopeo-oci:1", "fmt/skopeo-docker:1", "fmt/zstd-save:1"}) {
    ExpectVerified(ref);
  }
  // skopeo's OCI archive has gzip layers: pushed as they are, not recompressed.
  auto pushed = test::SkopeoInspect(Ref("fmt/skopeo-oci:1"), /*raw=*/true);
  auto source = test::SkopeoInspect("oci-archive:" + root + "/images/skopeo-oci.tar", /*raw=*/true);
  ASSERT_TRUE(pushed.ok() && source.ok());
  EXPECT_EQ((*pushed)["layers"][0]["digest"], (*source)["layers"][0]["digest"]);
}

TEST_F(ImageFormatsTest, ArchitecturesFilterBuildsListFromChosenPlatforms) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  auto r = Load(archive, {"--architectures", "ppc64le"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Found 1 image(s)"), std::string::npos) << r.stdout_text;
  Status platforms = test::CheckManifestListPlatforms(Ref("ibmcom/portal:2.1.0"), {"linux/ppc64le"});
  EXPECT_TRUE(platforms.ok()) << platforms.ToString();
  ExpectAbsent("ibmcom/portal:2.1.0-amd64");
  ExpectAbsent("ibmcom/portal-db:2.1.0-amd64");
}

}  // namespace
}  // namespace ppa
