// Issue 21, item 5, "Digests kept": an image whose manifest is in the
// archive and whose layers are stored compressed lands byte for byte, its
// digest the archive's, read back by skopeo. The bug: BuildKit's OCI
// tarball (sha256:7b9a57...) landed as sha256:7ef8df... (sha256:6356cb...
// with --format oci); skopeo keeps it, and a vendor's signature on it then
// no longer verified after our import.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"
#include "tests/support/load_fixture.h"
#include "tests/support/oci_fixtures.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;

// An archive of OCI image files: what each one's target should hold.
struct KeptArchive {
  std::string path;
  std::map<std::string, std::string> archive_digests;  // ref -> the archive's digest
  std::string multi_index;                             // the multi-arch image's index digest
  std::string attested_index;  // the index of the image with BuildKit attestations
  std::vector<std::string> attestations;  // the attestation manifests it names
};

class KeptDigestTest : public test::LoadFixture {
 protected:
  // images/<file> of the archive's tree gets `bytes`.
  void Put(const std::string& file, const std::string& bytes) {
    fs::create_directories(root_ + "/images");
    test::WriteFileOrDie(root_ + "/images/" + file, bytes);
  }

  KeptArchive Build() {
    KeptArchive out;
    root_ = dir_.Join("tree");
    fs::create_directories(root_ + "/images");
    const std::string data = std::string(PPA_TEST_DATA_DIR) + "/images/";
    fs::copy_file(data + "buildkit-oci.tar", root_ + "/images/buildkit-oci.tar");
    fs::copy_file(data + "oci-registry-name.tar.gz", root_ + "/images/oci-name.tar.gz");
    out.archive_digests["kd/buildkit:1"] =
        "sha256:7b9a5714cfff1338d3db0d7433fc2394b6ddb3cd17a43aa3f71ae52a47a3935a";
    out.archive_digests["kd/oci-name:1"] =
        "sha256:ff1abe159f09a5fed8fd9b648ab35196b521925b109df26a94d9cf06721ae5e4";
    auto gzip = test::OciSingleImageLayout({.layers = {test::GzipTestLayer("etc/a", "gzip one"),
                                                       test::GzipTestLayer("etc/b", "two")}});
    Put("gzip.tar", gzip.Tar());
    out.archive_digests["kd/gzip:1"] = gzip.manifests[0];
    auto zstd = test::OciSingleImageLayout(
        {.layers = {test::ZstdTestLayer("etc/z", "zstd layer", dir_.path()),
                    test::GzipTestLayer("etc/g", "and a gzip one")}});
    Put("zstd.tar", zstd.Tar());
    out.archive_digests["kd/zstd:1"] = zstd.manifests[0];
    test::OciTestLayer docker_layer = test::GzipTestLayer("etc/d", "docker media types");
    docker_layer.media_type = std::string(media_types::kDockerLayerGzip);
    auto docker = test::OciSingleImageLayout(
        {.layers = {docker_layer},
         .manifest_media_type = std::string(media_types::kDockerManifest),
         .config_media_type = std::string(media_types::kDockerConfig)});
    Put("docker-type.tar", docker.Tar());
    out.archive_digests["kd/docker-type:1"] = docker.manifests[0];
    auto multi = test::OciMultiArchLayout({{.architecture = "amd64",
                                            .layers = {test::GzipTestLayer("etc/arch", "amd64")},
                                            .name = "kd/multi:1-amd64"},
                                           {.architecture = "arm64",
                                            .layers = {test::GzipTestLayer("etc/arch", "arm64")},
                                            .name = "kd/multi:1-arm64"}},
                                          "kd/multi:1");
    Put("multi.tar", multi.Tar());
    out.archive_digests["kd/multi:1-amd64"] = multi.manifests[0];
    out.archive_digests["kd/multi:1-arm64"] = multi.manifests[1];
    out.archive_digests["kd/multi:1"] = multi.index;
    out.multi_index = multi.index;
    // As `docker buildx build` writes it: an attestation beside each platform.
    auto attested = test::OciMultiArchLayout(
        {{.architecture = "amd64", .layers = {test::GzipTestLayer("etc/att", "attested amd64")}},
         {.architecture = "arm64", .layers = {test::GzipTestLayer("etc/att", "attested arm64")}}},
        "kd/attested:1", std::string(media_types::kOciIndex), /*attested=*/true);
    Put("attested.tar", attested.Tar());
    out.archive_digests["kd/attested:1-amd64"] = attested.manifests[0];
    out.archive_digests["kd/attested:1-arm64"] = attested.manifests[1];
    out.archive_digests["kd/attested:1"] = attested.index;
    out.attested_index = attested.index;
    out.attestations = attested.attestations;
    // Written by skopeo itself: an OCI archive with gzip layers.
    Status skopeo = test::SkopeoCopy("docker-archive:" + data + "test_image_2.tar",
                                     "oci-archive:" + root_ + "/images/skopeo.tar:kd/skopeo:1");
    EXPECT_TRUE(skopeo.ok()) << skopeo.ToString();
    out.archive_digests["kd/skopeo:1"] = RawDigest("oci-archive:" + root_ + "/images/skopeo.tar");
    // Stored uncompressed: compressed here, so its digest changes.
    Put("tar-layers.tar",
        test::OciSingleImageLayout({.layers = {test::TarTestLayer("etc/t", "uncompressed")}})
            .Tar());
    std::ofstream(root_ + "/manifest.yaml") << R"(images:
- {image: kd/buildkit:1, references: [{repository: kd/buildkit:1, archive: images/buildkit-oci.tar}]}
- {image: kd/oci-name:1, references: [{repository: kd/oci-name:1, archive: images/oci-name.tar.gz}]}
- {image: kd/gzip:1, references: [{repository: kd/gzip:1, archive: images/gzip.tar}]}
- {image: kd/zstd:1, references: [{repository: kd/zstd:1, archive: images/zstd.tar}]}
- {image: kd/docker-type:1, references: [{repository: kd/docker-type:1, archive: images/docker-type.tar}]}
- {image: kd/skopeo:1, references: [{repository: kd/skopeo:1, archive: images/skopeo.tar}]}
- {image: kd/tar-layers:1, references: [{repository: kd/tar-layers:1, archive: images/tar-layers.tar}]}
- image: kd/multi:1
  references:
  - {repository: kd/multi:1-amd64, platform: {os: linux, architecture: amd64}, archive: images/multi.tar}
  - {repository: kd/multi:1-arm64, platform: {os: linux, architecture: arm64}, archive: images/multi.tar}
- image: kd/attested:1
  references:
  - {repository: kd/attested:1-amd64, platform: {os: linux, architecture: amd64}, archive: images/attested.tar}
  - {repository: kd/attested:1-arm64, platform: {os: linux, architecture: arm64}, archive: images/attested.tar}
)";
    out.path = dir_.Join("kept.tgz");
    auto tar = test::RunProcess({"tar", "-C", root_, "-czf", out.path, "."});
    EXPECT_EQ(tar.exit_code, 0) << tar.stderr_text;
    return out;
  }

  // sha256 of the manifest bytes `ref` serves, as skopeo reads them.
  static std::string RawDigest(const std::string& ref) {
    std::vector<std::string> args = {"inspect", "--raw"};
    if (ref.rfind("docker://", 0) == 0) args.push_back("--tls-verify=false");
    args.push_back(ref);
    test::ProcessResult r = test::RunSkopeo(args);
    EXPECT_EQ(r.exit_code, 0) << ref << ": " << r.stderr_text;
    return r.exit_code == 0 ? Sha256Digest(r.stdout_text) : "";
  }

  // skopeo's own idea of the digest (`skopeo inspect --format {{.Digest}}`).
  static std::string InspectDigest(const std::string& ref) {
    test::ProcessResult r =
        test::RunSkopeo({"inspect", "--tls-verify=false", "--format", "{{.Digest}}", ref});
    EXPECT_EQ(r.exit_code, 0) << ref << ": " << r.stderr_text;
    std::string out = r.stdout_text;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  // The report's item named `name` (of the only archive).
  static nlohmann::json Item(const nlohmann::json& report, const std::string& name) {
    for (const auto& item : report["archives"][0]["images"]) {
      if (item["name"] == name) return item;
    }
    ADD_FAILURE() << "no item '" << name << "' in the report";
    return nlohmann::json::object();
  }

  std::string root_;
};

TEST_F(KeptDigestTest, OciImagesWithCompressedLayersLandWithTheirArchiveDigests) {
  KeptArchive archive = Build();
  std::string json = dir_.Join("report.json");
  test::ProcessResult r = Load(archive.path, {"--json", json});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(test::ReadFileOr(json));
  for (const auto& [ref, digest] : archive.archive_digests) {
    EXPECT_EQ(RawDigest(Ref(ref)), digest) << ref;
    EXPECT_EQ(InspectDigest(Ref(ref)), digest) << ref;
    nlohmann::json item = Item(report, ref);
    EXPECT_EQ(item.value("manifest_digest", ""), digest) << ref;
    EXPECT_EQ(item.value("digest_kept", false), true) << ref << ": " << item.dump();
    EXPECT_EQ(item.value("archive_digest", ""), digest) << ref;
    EXPECT_FALSE(item.contains("digest_note")) << ref;
    EXPECT_NE(r.stdout_text.find("'" + ref + "' keeps the digest it has in the archive"),
              std::string::npos)
        << ref << "\n"
        << r.stdout_text;
    ExpectVerified(ref);
  }
  // The index with BuildKit attestations kept its digest: each attestation
  // landed beside it, and skopeo copies the whole list, every manifest and
  // blob it names checked.
  ASSERT_EQ(archive.attestations.size(), 2u);
  for (const std::string& attestation : archive.attestations) {
    EXPECT_EQ(RawDigest(Ref("kd/attested") + "@" + attestation), attestation);
  }
  test::TempDir all("ppa-skopeo-all");
  test::ProcessResult copied = test::RunSkopeo(
      {"copy", "--all", "--src-tls-verify=false", Ref("kd/attested:1"), "dir:" + all.Join("c")});
  EXPECT_EQ(copied.exit_code, 0) << copied.stderr_text;
  std::vector<std::string> children =
      Item(report, "kd/attested:1").value("manifests", std::vector<std::string>());
  for (const std::string& attestation : archive.attestations) {
    EXPECT_NE(std::find(children.begin(), children.end(), attestation), children.end())
        << attestation << " is not among the list's children in the report";
  }
  // Stored uncompressed: compressed, so converted, and the report says so.
  ExpectVerified("kd/tar-layers:1");
  nlohmann::json tar = Item(report, "kd/tar-layers:1");
  EXPECT_EQ(tar.value("digest_kept", true), false) << tar.dump();
  EXPECT_NE(tar.value("archive_digest", ""), "");
  EXPECT_NE(tar.value("archive_digest", ""), tar.value("manifest_digest", ""));
  EXPECT_NE(tar.value("digest_note", "").find("uncompressed"), std::string::npos) << tar.dump();
  EXPECT_NE(r.stdout_text.find("'kd/tar-layers:1' gets a new digest"), std::string::npos)
      << r.stdout_text;
}

TEST_F(KeptDigestTest, ExplicitFormatConvertsAndTheReportSaysSo) {
  KeptArchive archive = Build();
  std::string json = dir_.Join("report.json");
  test::ProcessResult r = Load(archive.path, {"--format", "oci", "--json", json});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(test::ReadFileOr(json));
  for (const char* ref : {"kd/buildkit:1", "kd/gzip:1", "kd/zstd:1", "kd/multi:1", "kd/attested:1"}) {
    const std::string& digest = archive.archive_digests.at(ref);
    EXPECT_NE(RawDigest(Ref(ref)), digest) << ref;
    nlohmann::json item = Item(report, ref);
    EXPECT_EQ(item.value("digest_kept", true), false) << ref;
    EXPECT_EQ(item.value("archive_digest", ""), digest) << ref;
    EXPECT_NE(item.value("digest_note", "").find("--format"), std::string::npos) << item.dump();
    ExpectVerified(ref);
  }
}

TEST_F(KeptDigestTest, ArchitecturesLeavingAPlatformOutMakeANewIndex) {
  KeptArchive archive = Build();
  std::string json = dir_.Join("report.json");
  test::ProcessResult r = Load(archive.path, {"--architectures", "amd64", "--json", json});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(test::ReadFileOr(json));
  EXPECT_EQ(RawDigest(Ref("kd/multi:1-amd64")), archive.archive_digests.at("kd/multi:1-amd64"));
  EXPECT_NE(RawDigest(Ref("kd/multi:1")), archive.multi_index);
  Status platforms = test::CheckManifestListPlatforms(Ref("kd/multi:1"), {"linux/amd64"});
  EXPECT_TRUE(platforms.ok()) << platforms.ToString();
  nlohmann::json list = Item(report, "kd/multi:1");
  EXPECT_EQ(list.value("digest_kept", true), false) << list.dump();
  EXPECT_EQ(list.value("archive_digest", ""), archive.multi_index);
  EXPECT_NE(list.value("digest_note", "").find("--architectures"), std::string::npos)
      << list.dump();
  // A new list leaves the attestations out: they describe the archive's index.
  EXPECT_NE(RawDigest(Ref("kd/attested:1")), archive.attested_index);
  platforms = test::CheckManifestListPlatforms(Ref("kd/attested:1"), {"linux/amd64"});
  EXPECT_TRUE(platforms.ok()) << platforms.ToString();
  EXPECT_EQ(Item(report, "kd/attested:1").value("digest_kept", true), false);
}

TEST_F(KeptDigestTest, LayoutTargetKeepsOciDigestsAndConvertsDockerManifests) {
  KeptArchive archive = Build();
  const std::string layout = dir_.Join("layout");
  std::string json = dir_.Join("report.json");
  test::ProcessResult r =
      test::RunProcess({PPA_IMPORT_BINARY, "load", archive.path, "--namespace", "test_ns",
                        "--registry", "oci:" + layout, "--json", json},
                       std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(test::ReadFileOr(json));
  for (const char* ref : {"kd/buildkit:1", "kd/gzip:1", "kd/zstd:1", "kd/oci-name:1", "kd/skopeo:1",
                          "kd/multi:1", "kd/multi:1-arm64", "kd/attested:1"}) {
    EXPECT_EQ(RawDigest("oci:" + layout + ":test_ns/" + ref), archive.archive_digests.at(ref))
        << ref;
    EXPECT_EQ(Item(report, ref).value("digest_kept", false), true) << ref;
  }
  // skopeo converts a Docker manifest for an OCI layout too.
  nlohmann::json docker = Item(report, "kd/docker-type:1");
  EXPECT_EQ(docker.value("digest_kept", true), false) << docker.dump();
  EXPECT_NE(docker.value("digest_note", "").find("OCI layout"), std::string::npos) << docker.dump();
  EXPECT_NE(RawDigest("oci:" + layout + ":test_ns/kd/docker-type:1"),
            archive.archive_digests.at("kd/docker-type:1"));
}

}  // namespace
}  // namespace ppa
