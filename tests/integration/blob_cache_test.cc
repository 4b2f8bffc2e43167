// The local blob cache end to end: a warm re-import skips compression, and a
// registry that lost a blob gets it again (a HEAD 404 wins over the cache).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>

#include "tests/support/load_fixture.h"

namespace ppa::test {
namespace {

namespace fs = std::filesystem;

class BlobCacheLoadTest : public LoadFixture {};

TEST_F(BlobCacheLoadTest, LostBlobIsUploadedAgainDespiteTheCache) {
  std::string archive = Archive(::ppa::samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult first = Load(archive, {"--jobs", "2"});
  ASSERT_EQ(first.exit_code, 0) << Output(first);
  EXPECT_TRUE(fs::exists(dir_.Join(".cache/ppa-import/blobs.db")));

  // Warm: the cache answers, the registry confirms, nothing is uploaded.
  int uploads = registry_->CountBlobUploadRequests();
  ProcessResult warm = Load(archive);
  ASSERT_EQ(warm.exit_code, 0) << Output(warm);
  EXPECT_EQ(registry_->CountBlobUploadRequests(), uploads);

  // The registry loses a layer blob (portal-db's first layer, compressed by
  // us): the cache still names it, but HEAD says 404, so it is compressed and
  // uploaded again.
  auto manifest = SkopeoInspect(Ref("ibmcom/portal-db:2.1.0-amd64"), /*raw=*/true);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  std::string digest = (*manifest)["layers"][0]["digest"];
  std::string hex = digest.substr(7);
  fs::path blob_dir = fs::path(registry_->storage_dir()) / "docker/registry/v2/blobs/sha256" /
                      hex.substr(0, 2) / hex;
  ASSERT_TRUE(fs::exists(blob_dir / "data")) << blob_dir;
  fs::remove_all(blob_dir);
  ProcessResult again = Load(archive, {"-v"});
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  // The run asks the registry once whether it holds a blob the cache saw
  // there (whichever the run meets first). When that was another blob, the
  // lost layer's bytes had been freed (or never written): its image file
  // was unpacked again to compress it. When it was the lost blob itself,
  // every layer was kept in its file for that.
  const bool unpacked_again = Output(again).find("unpacking 'images/") != std::string::npos;
  const bool kept = Output(again).find("which the blob cache saw there") != std::string::npos;
  EXPECT_TRUE(unpacked_again != kept) << Output(again);
  EXPECT_GT(registry_->CountBlobUploadRequests(), uploads);
  EXPECT_TRUE(fs::exists(blob_dir / "data"));
  ExpectVerified("ibmcom/portal:2.1.0-amd64");
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64");
  ExpectVerified("ibmcom/portal-worker:2.1.0-amd64");
  ExpectVerified("ibmcom/portal-tools:2.1.0-amd64");
}

// An archive read twice is inflated on every core the second time, from the
// inflate index the first read left beside the blob cache: `inspect` then
// `load`, the usual order. --no-cache keeps no index.
TEST_F(BlobCacheLoadTest, LoadAfterInspectInflatesFromTheIndexInspectLeft) {
  // Incompressible bytes make the .tgz large enough to be indexed (64 MiB).
  std::string archive = Archive(DemoSampleWithLargeLayer(9, 8u << 20, 4242), "big.tgz");
  ASSERT_GE(fs::file_size(archive), 64u << 20);

  ProcessResult inspect = RunProcess({PPA_IMPORT_BINARY, "inspect", archive}, std::nullopt,
                                     {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(inspect.exit_code, 0) << Output(inspect);
  fs::path index_dir = dir_.Join(".cache/ppa-import/inflate");
  ASSERT_TRUE(fs::exists(index_dir));
  EXPECT_EQ(std::distance(fs::directory_iterator(index_dir), fs::directory_iterator()), 1);

  ProcessResult load = Load(archive, {"-v"});
  ASSERT_EQ(load.exit_code, 0) << Output(load);
  EXPECT_NE(Output(load).find("from its inflate index"), std::string::npos) << Output(load);
  ExpectVerified("ibmcom/portal:2.1.0-amd64");
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64");
  ExpectVerified("ibmcom/portal-worker:2.1.0-amd64");
  ExpectVerified("ibmcom/portal-tools:2.1.0-amd64");

  fs::remove_all(index_dir);
  ProcessResult uncached = Load(archive, {"--no-cache", "-v"});
  ASSERT_EQ(uncached.exit_code, 0) << Output(uncached);
  EXPECT_EQ(Output(uncached).find("inflate index"), std::string::npos) << Output(uncached);
  EXPECT_FALSE(fs::exists(index_dir));
}

// A large layer is compressed from its bytes as they are unpacked. A
// re-import, whose cache knows the layer and whose registry holds its blob,
// only hashes it on the way; a registry that lost it gets it made again.
// With --keep-workdir every layer stays in the unpacked archive.
TEST_F(BlobCacheLoadTest, LargeLayersAreCompressedOnTheWayUnlessTheWorkdirIsKept) {
  // A 24 MiB uncompressed layer in portal-db's plain docker-save tarball.
  auto spec = ::ppa::samples::DemoSampleSpec();
  auto db = std::find_if(spec.images.begin(), spec.images.end(), [](const auto& image) {
    return image.path.find("portal-db") != std::string::npos;
  });
  ASSERT_NE(db, spec.images.end());
  ASSERT_FALSE(db->tarball.gzip);
  ::ppa::samples::LayerSpec big{99, 3, 8u << 20, /*random_content=*/true, "opt/big"};
  db->tarball.images[0].layers.push_back(big);
  // Layers are taken only once the PPA manifest has said which files are
  // charts: the manifests first, as PPA archives have them (the generator
  // sorts its entries by name).
  std::string sorted = Archive(spec, "sorted.tgz");
  std::string tree = dir_.Join("tree"), archive = dir_.Join("big.tgz");
  fs::create_directories(tree);
  ASSERT_EQ(RunProcess({"tar", "-C", tree, "-xzf", sorted}).exit_code, 0);
  ProcessResult packed = RunProcess(
      {"tar", "-C", tree, "-czf", archive, "manifest.yaml", "manifest.json", "charts", "images"});
  ASSERT_EQ(packed.exit_code, 0) << Output(packed);
  ProcessResult cold = Load(archive, {"-v"});
  ASSERT_EQ(cold.exit_code, 0) << Output(cold);
  EXPECT_NE(Output(cold).find("as it is unpacked"), std::string::npos) << Output(cold);
  for (const char* ref : kSampleImageRefs) ExpectVerified(ref);

  // One tag deleted: not a warm re-import (importer/load/warm_import.h), so
  // the archive is imported in full, with the blob cache.
  ProcessResult deleted =
      RunSkopeo({"delete", "--tls-verify=false", Ref("ibmcom/portal-init:2.1.0-amd64")});
  ASSERT_EQ(deleted.exit_code, 0) << Output(deleted);
  int uploads = registry_->CountBlobUploadRequests();
  ProcessResult warm = Load(archive, {"-v"});
  ASSERT_EQ(warm.exit_code, 0) << Output(warm);
  EXPECT_NE(Output(warm).find("importing in full"), std::string::npos) << Output(warm);
  EXPECT_EQ(Output(warm).find("compressing"), std::string::npos) << Output(warm);
  // The target holds it (asked once): hashed on the way, not even written.
  EXPECT_NE(Output(warm).find("on the target (blob cache)"), std::string::npos) << Output(warm);
  EXPECT_NE(Output(warm).find("not written"), std::string::npos) << Output(warm);
  EXPECT_EQ(registry_->CountBlobUploadRequests(), uploads);
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64");

  // A registry made anew under the same name: the first blob the cache knows
  // is missing, so no layer is left unwritten; all are made and sent again.
  fs::remove_all(fs::path(registry_->storage_dir()) / "docker");
  ProcessResult anew = Load(archive, {"-v"});
  ASSERT_EQ(anew.exit_code, 0) << Output(anew);
  EXPECT_NE(Output(anew).find("which the blob cache saw there"), std::string::npos) << Output(anew);
  EXPECT_EQ(Output(anew).find("not written"), std::string::npos) << Output(anew);
  EXPECT_EQ(Output(anew).find("unpacking 'images/"), std::string::npos) << Output(anew);
  for (const char* ref : kSampleImageRefs) ExpectVerified(ref);

  fs::remove_all(dir_.Join(".cache"));
  std::string work = dir_.Join("work");
  ProcessResult kept = Load(archive, {"-v", "--keep-workdir", "--workdir", work});
  ASSERT_EQ(kept.exit_code, 0) << Output(kept);
  EXPECT_EQ(Output(kept).find("as it is unpacked"), std::string::npos) << Output(kept);
  uint64_t apparent = 0, allocated = 0;
  for (const auto& entry : fs::recursive_directory_iterator(work)) {
    struct stat st {};
    if (entry.path().string().find("/images/") == std::string::npos ||
        ::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    apparent += static_cast<uint64_t>(st.st_size);
    allocated += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  EXPECT_GT(apparent, 24u << 20);
  EXPECT_GE(allocated, 24u << 20) << "the 24 MiB layer is in the kept tarball";
}

// The cache remembers which repositories of a registry hold each blob: a
// second namespace gets every layer by a cross-repository mount from the
// first, none is compressed or uploaded again.
TEST_F(BlobCacheLoadTest, SecondNamespaceMountsTheLayersOfAnEarlierRun) {
  std::string archive = Archive(::ppa::samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult first = Load(archive);
  ASSERT_EQ(first.exit_code, 0) << Output(first);

  ProcessResult second = RunProcess(
      {PPA_IMPORT_BINARY, "load", "--archive", archive, "--namespace", "other_ns", "--registry",
       registry_->host(), "--plain-http", "--json", "-"},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(second.exit_code, 0) << Output(second);
  auto report = nlohmann::json::parse(second.stdout_text);
  int layers = 0;
  for (const auto& image : report["archives"][0]["images"]) {
    if (!image.contains("blobs")) continue;  // manifest lists
    for (const auto& blob : image["blobs"]) {
      if (!blob.contains("diff_id")) continue;  // the config
      ++layers;
      EXPECT_NE(blob["action"], "uploaded") << image["name"] << " " << blob["digest"];
    }
  }
  EXPECT_GT(layers, 0);
  EXPECT_GT(registry_->CountLogLines("mount=sha256"), 0);
  for (const char* image : {"ibmcom/portal:2.1.0-amd64", "ibmcom/portal-db:2.1.0-amd64"}) {
    TempDir out("ppa-skopeo-out");
    Status s = SkopeoCopyToDir("docker://" + registry_->host() + "/other_ns/" + image,
                               out.Join("img"));
    EXPECT_TRUE(s.ok()) << image << ": " << s.ToString();
  }
}

TEST_F(BlobCacheLoadTest, ZstdAndNoneCompressionLandVerified) {
  std::string archive = Archive(::ppa::samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult zstd = Load(archive, {"--compression", "zstd", "--format", "oci", "--no-cache"});
  ASSERT_EQ(zstd.exit_code, 0) << Output(zstd);
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64");
  auto raw = SkopeoInspect(Ref("ibmcom/portal-db:2.1.0-amd64"), /*raw=*/true);
  ASSERT_TRUE(raw.ok());
  EXPECT_NE(raw->dump().find("tar+zstd"), std::string::npos) << raw->dump();
  EXPECT_FALSE(fs::exists(dir_.Join(".cache/ppa-import/blobs.db")));
}

}  // namespace
}  // namespace ppa::test
