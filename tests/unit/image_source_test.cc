// Reading real image tarballs written by other tools (tests/data/images).
#include "docker_io/image/image_source.h"

#include <gtest/gtest.h>

#include <fstream>

#include "docker_io/image/digest.h"
#include "docker_io/image/layer_blob.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

std::string Data(const std::string& name) { return std::string(PPA_TEST_DATA_DIR) + "/images/" + name; }

Result<std::vector<ImageSource>> Read(const std::string& name, const test::TempDir& dir) {
  PPA_ASSIGN_OR_RETURN(std::string tar, PrepareImageTarball(Data(name), dir.path()));
  return ReadImageTarball(tar, name);
}

struct FixtureCase {
  const char* file;
  size_t images;
  size_t layers_of_first;
  const char* a_name;  // a name the tarball gives (or "" for none)
  const char* arch;
};

TEST(ReadImageTarball, PublicFixtures) {
  const FixtureCase cases[] = {
      {"test_image_2.tar", 1, 1, "test_image_2", "amd64"},
      {"test_bundle.tar", 2, 1, "test_image_1", "amd64"},
      {"hello-world-v25.tar", 1, 1, "", "arm64"},
      {"docker-two-names.tar.xz", 1, 1, "example.com/empty:latest", "amd64"},
      {"buildkit-oci.tar", 1, 0, "github.com/buildkit/archive:oci", "amd64"},
      {"oci-registry-name.tar.gz", 1, 1, "", ""},
  };
  for (const auto& c : cases) {
    test::TempDir dir("ppa-img");
    auto images = Read(c.file, dir);
    ASSERT_TRUE(images.ok()) << c.file << ": " << images.status().ToString();
    ASSERT_EQ(images->size(), c.images) << c.file;
    const ImageSource& first = images->front();
    EXPECT_TRUE(first.problem.ok()) << c.file << ": " << first.problem.ToString();
    EXPECT_EQ(first.layers.size(), c.layers_of_first) << c.file;
    ASSERT_NE(first.config, nullptr) << c.file;
    EXPECT_EQ(first.config_digest, Sha256Digest(*first.config)) << c.file;
    if (*c.a_name) {
      bool found = false;
      for (const auto& img : *images) {
        for (const auto& n : img.names) found |= n.find(c.a_name) != std::string::npos;
      }
      EXPECT_TRUE(found) << c.file << " should be named " << c.a_name;
    }
    if (*c.arch) {
      EXPECT_EQ(first.platform.architecture, c.arch) << c.file;
    }
    // Every layer verifies against its diff_id in one pass.
    for (const auto& img : *images) {
      for (const auto& layer : img.layers) {
        auto blob = PrepareLayerBlob(img, layer, dir.path(), ManifestFormat::kDocker, {});
        EXPECT_TRUE(blob.ok()) << c.file << " " << layer.entry << ": " << blob.status().ToString();
      }
    }
  }
}

TEST(ReadImageTarball, OciLayoutNameAnnotation) {
  test::TempDir dir("ppa-img");
  auto images = Read("oci-registry-name.tar.gz", dir);
  ASSERT_TRUE(images.ok());
  ASSERT_FALSE(images->front().names.empty());
}

TEST(ReadImageTarball, DockerExportIsNotAnImage) {
  test::TempDir dir("ppa-img");
  std::string path = dir.Join("export.tar");
  test::WriteFileOrDie(path, test::BuildRawTar({{"etc/", '5'}, {"etc/hostname", '0', "box\n"}}));
  auto images = ReadImageTarball(path, "images/export.tar");
  ASSERT_FALSE(images.ok());
  EXPECT_NE(images.status().message().find("images/export.tar"), std::string::npos);
  EXPECT_NE(images.status().message().find("not an image"), std::string::npos);
}

TEST(ReadImageTarball, NullOrEmptyManifestJson) {
  for (const char* body : {"null", "[]", ""}) {
    test::TempDir dir("ppa-img");
    std::string path = dir.Join("x.tar");
    test::WriteFileOrDie(path, test::BuildRawTar({{"manifest.json", '0', body}}));
    EXPECT_FALSE(ReadImageTarball(path, "x.tar").ok()) << body;
  }
}

TEST(ReadImageTarball, MissingLayerFailsThatImageOnly) {
  std::string config =
      R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:)" +
      std::string(64, 'a') + R"("]}})";
  std::string manifest = R"([{"Config":"c.json","RepoTags":["a/b:1"],"Layers":["gone/layer.tar"]},
                             {"Config":"c2.json","RepoTags":["a/c:1"],"Layers":[]}])";
  std::string config2 = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  test::TempDir dir("ppa-img");
  std::string path = dir.Join("x.tar");
  test::WriteFileOrDie(path, test::BuildRawTar({{"manifest.json", '0', manifest},
                                                {"c.json", '0', config},
                                                {"c2.json", '0', config2}}));
  auto images = ReadImageTarball(path, "x.tar");
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 2u);
  EXPECT_FALSE((*images)[0].problem.ok());
  EXPECT_NE((*images)[0].problem.message().find("gone/layer.tar"), std::string::npos);
  EXPECT_TRUE((*images)[1].problem.ok());
}

}  // namespace
}  // namespace ppa
