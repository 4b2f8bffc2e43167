// End-to-end: `ppa-import load` (the real binary) into Debian's
// docker-registry on 127.0.0.1, judged by skopeo, an independent client that
// verifies every digest on pull.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "samples/generator/sample_archive.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/registry_server.h"
#include "tests/support/load_fixture.h"
#include "tests/support/skopeo.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;
using test::RegistryServer;

using LoadTest = test::LoadFixture;

TEST_F(LoadTest, SampleArchiveLandsVerifiedAndRerunUploadsNothing) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult first = Load(archive);
  ASSERT_EQ(first.exit_code, 0) << Output(first);
  EXPECT_NE(first.stdout_text.find("Unpacking archive to '"), std::string::npos);
  EXPECT_NE(first.stdout_text.find("Found 6 image(s) and 2 chart(s) to import."), std::string::npos);
  EXPECT_NE(first.stdout_text.find("Importing 'ibmcom/portal:2.1.0-amd64' and pushing it to '" +
                                   registry_->host() + "/test_ns/ibmcom/portal:2.1.0-amd64'..."),
            std::string::npos)
      << first.stdout_text;
  // The verdict, its word first: the last line.
  EXPECT_NE(first.stdout_text.find("\nOK (6 images, 2 charts, "), std::string::npos);
  EXPECT_EQ(first.stdout_text.substr(first.stdout_text.size() - 3), "s)\n");

  for (const char* ref :
       {"ibmcom/portal:2.1.0-amd64", "ibmcom/portal:2.1.0-ppc64le", "ibmcom/portal-db:2.1.0-amd64",
        "ibmcom/portal-worker:2.1.0-amd64", "ibmcom/portal-tools:2.1.0-amd64",
        "ibmcom/portal-init:2.1.0-amd64", "ibmcom/portal-db:2.1.0"}) {
    ExpectVerified(ref);
  }
  Status platforms = test::CheckManifestListPlatforms(Ref("ibmcom/portal:2.1.0"),
                                                      {"linux/amd64", "linux/ppc64le"});
  EXPECT_TRUE(platforms.ok()) << platforms.ToString();
  auto list = test::SkopeoInspect(Ref("ibmcom/portal:2.1.0"), /*raw=*/true);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json");

  for (const char* chart : {"ibm-portal-prod-1.0.0.tgz", "ibm-portal-dev-1.0.0.tgz"}) {
    EXPECT_TRUE(fs::exists(dir_.Join("ppa-import/charts/") + chart)) << chart;
  }
  // The per-run work folder is removed after a successful run.
  int run_dirs = 0;
  for (auto& e : fs::directory_iterator(dir_.Join("ppa-import"))) {
    run_dirs += e.path().filename() != "charts" && e.path().filename() != ".lock";
  }
  EXPECT_EQ(run_dirs, 0);

  int uploads = registry_->CountBlobUploadRequests();
  EXPECT_GT(uploads, 0);
  ProcessResult second = Load(archive);
  ASSERT_EQ(second.exit_code, 0) << Output(second);
  EXPECT_EQ(registry_->CountBlobUploadRequests(), uploads) << "a re-run must upload no blob";
  EXPECT_NE(second.stdout_text.find("Uploaded 0 blob(s)"), std::string::npos) << second.stdout_text;
}

TEST_F(LoadTest, DryRunVerifiesButWritesNothing) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = Load(archive, {"--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Dry run, nothing was written: would upload"), std::string::npos)
      << r.stdout_text;
  EXPECT_EQ(registry_->CountBlobUploadRequests(), 0);
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
  ExpectAbsent("ibmcom/portal:2.1.0-amd64");
  EXPECT_FALSE(fs::exists(dir_.Join("ppa-import/charts/ibm-portal-prod-1.0.0.tgz")));
}

TEST_F(LoadTest, JsonReportHasEveryDigestAndNoSecret) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = Load(archive, {"--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(r.stdout_text);  // stdout is the JSON alone
  EXPECT_EQ(report["exit_code"], 0);
  EXPECT_EQ(report["target"]["namespace"], "test_ns");
  const auto& archive_json = report["archives"][0];
  EXPECT_EQ(archive_json["images"].size(), 11u);  // 6 platform images + 5 lists
  for (const auto& image : archive_json["images"]) {
    EXPECT_TRUE(image["manifest_digest"].get<std::string>().rfind("sha256:", 0) == 0);
    if (image["kind"] == "image") {
      // skopeo's own digest of what the tag points at equals the report's.
      auto landed = test::SkopeoInspect("docker://" + image["target"].get<std::string>(), false);
      ASSERT_TRUE(landed.ok()) << image.dump();
      EXPECT_EQ((*landed)["Digest"], image["manifest_digest"]) << image.dump();
      EXPECT_FALSE(image["blobs"].empty());
      EXPECT_FALSE(image["source"].get<std::string>().empty());
    }
  }
  EXPECT_EQ(archive_json["charts"].size(), 2u);
  EXPECT_EQ(archive_json["charts"][0]["status"], "ok");
  // A file report, and the human lines stay on stdout then.
  ProcessResult file = Load(archive, {"--json", dir_.Join("report.json")},
                            {{"PPA_IMPORT_PASSWORD", "Never-In-Report-1"}, {"PPA_IMPORT_USERNAME", "u"}});
  ASSERT_EQ(file.exit_code, 0) << Output(file);
  auto text = test::ReadFileToString(dir_.Join("report.json"));
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("Never-In-Report-1"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(*text)["totals"]["blobs_uploaded"], 0);
}

TEST_F(LoadTest, BatchOfArchivesWithOneUnreadable) {
  std::string good = Archive(samples::DemoSampleSpec(), "a-good.tgz");
  test::WriteFileOrDie(dir_.Join("b-bad.tgz"), test::Gzip(test::BuildRawTar({{"../x", '0', "y"}})));
  fs::create_directories(dir_.Join("batch"));
  fs::copy_file(good, dir_.Join("batch/a-good.tgz"));
  fs::copy_file(dir_.Join("b-bad.tgz"), dir_.Join("batch/b-bad.tgz"));
  ProcessResult r = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", dir_.Join("batch"), "--namespace", "test_ns", "--registry",
       registry_->host(), "--plain-http", "--parallel-archives", "2", "--json", dir_.Join("r.json")},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  EXPECT_NE(r.stdout_text.find("Summary:"), std::string::npos) << r.stdout_text;
  ExpectVerified("ibmcom/portal:2.1.0-amd64");
  auto report = nlohmann::json::parse(*test::ReadFileToString(dir_.Join("r.json")));
  ASSERT_EQ(report["archives"].size(), 2u);
  EXPECT_EQ(report["archives"][0]["status"], "ok");
  EXPECT_EQ(report["archives"][1]["status"], "unreadable");
  // Shards split the sorted list: shard 1/2 takes only b-bad.tgz.
  ProcessResult shard = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", dir_.Join("batch"), "--namespace", "test_ns", "--registry",
       registry_->host(), "--plain-http", "--shard-count", "2"},
      std::nullopt, {{"JOB_COMPLETION_INDEX", "0"}}, dir_.path());
  EXPECT_EQ(shard.exit_code, 0) << Output(shard);
  EXPECT_EQ(shard.stdout_text.find("b-bad.tgz"), std::string::npos);
}

TEST_F(LoadTest, ConfigFileThenEnvironmentThenFlags) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  std::string config = dir_.Join("config.yaml");
  test::WriteFileOrDie(config, "registry: " + registry_->host() +
                                   "\nplain-http: true\nnamespace: from_file\n"
                                   "architectures: [ppc64le]\n");
  ProcessResult file = test::RunProcess({PPA_IMPORT_BINARY, "load", archive, "--config", config},
                                        std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(file.exit_code, 0) << Output(file);
  EXPECT_NE(file.stdout_text.find("/from_file/ibmcom/portal:2.1.0-ppc64le"), std::string::npos);
  EXPECT_EQ(file.stdout_text.find("2.1.0-amd64"), std::string::npos);
  ProcessResult env = test::RunProcess({PPA_IMPORT_BINARY, "load", archive, "--config", config},
                                       std::nullopt, {{"PPA_IMPORT_NAMESPACE", "from_env"}},
                                       dir_.path());
  ASSERT_EQ(env.exit_code, 0) << Output(env);
  EXPECT_NE(env.stdout_text.find("/from_env/"), std::string::npos);
  ProcessResult flag = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", archive, "--config", config, "--namespace", "from_flag"},
      std::nullopt, {{"PPA_IMPORT_NAMESPACE", "from_env"}}, dir_.path());
  ASSERT_EQ(flag.exit_code, 0) << Output(flag);
  EXPECT_NE(flag.stdout_text.find("/from_flag/"), std::string::npos);
  // The default config file is read from the home directory.
  std::filesystem::create_directories(dir_.Join(".config/ppa-import"));
  std::filesystem::copy_file(config, dir_.Join(".config/ppa-import/config.yaml"));
  ProcessResult home = test::RunProcess({PPA_IMPORT_BINARY, "load", archive}, std::nullopt,
                                        {{"HOME", dir_.path()}, {"XDG_CONFIG_HOME", ""}},
                                        dir_.path());
  EXPECT_EQ(home.exit_code, 0) << Output(home);
}

TEST_F(LoadTest, ProgressOnATerminalOnly) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  // In a pipe: no progress lines, no terminal control sequences.
  ProcessResult piped = Load(archive, {"--no-cache"});
  ASSERT_EQ(piped.exit_code, 0) << Output(piped);
  EXPECT_EQ(Output(piped).find("\x1b["), std::string::npos);
  EXPECT_EQ(Output(piped).find("blob(s)  "), std::string::npos);
  // On a terminal (util-linux `script` gives the command a pty): progress
  // lines with bytes, redrawn in place. A fresh registry so blobs upload.
  StartRegistry();
  auto command = [&] {
    return std::string(PPA_IMPORT_BINARY) + " load '" + archive +
           "' --namespace test_ns --plain-http --no-cache --registry " + registry_->host();
  };
  ProcessResult tty = test::RunProcess({"script", "-qec", command(), "/dev/null"}, std::nullopt,
                                       {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(tty.exit_code, 0) << Output(tty);
  EXPECT_NE(tty.stdout_text.find("\x1b["), std::string::npos) << tty.stdout_text;
  EXPECT_NE(tty.stdout_text.find(" B / "), std::string::npos) << tty.stdout_text;
  EXPECT_NE(tty.stdout_text.find("OK"), std::string::npos);
  // -q on a terminal: no progress either.
  StartRegistry();
  ProcessResult quiet = test::RunProcess(
      {"script", "-qec", command() + " -q", "/dev/null"}, std::nullopt, {{"HOME", dir_.path()}},
      dir_.path());
  ASSERT_EQ(quiet.exit_code, 0) << Output(quiet);
  EXPECT_EQ(quiet.stdout_text.find("\x1b["), std::string::npos) << quiet.stdout_text;
}

TEST_F(LoadTest, InspectListsEveryImageAndChartWithoutPushing) {
  std::string archive = Archive(samples::IbmShapedSpec(), "ibm.tgz");
  int requests_before = registry_->CountLogLines("/v2/");
  ProcessResult r = test::RunProcess({PPA_IMPORT_BINARY, "inspect", archive, "--json"},
                                     std::nullopt, {}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto j = nlohmann::json::parse(r.stdout_text);
  ASSERT_EQ(j["images"].size(), 14u);
  for (const auto& image : j["images"]) {
    ASSERT_EQ(image["references"].size(), 1u) << image.dump();
    const auto& ref = image["references"][0];
    EXPECT_EQ(ref["platform"], "linux/amd64");
    EXPECT_FALSE(ref["source"].get<std::string>().empty()) << ref.dump();
    EXPECT_FALSE(ref["layers"].empty());
  }
  ASSERT_EQ(j["charts"].size(), 1u);
  EXPECT_EQ(j["charts"][0]["name"], "bluecompute-ce");
  EXPECT_EQ(j["charts"][0]["version"], "0.0.9");
  EXPECT_TRUE(j["problems"].empty()) << j["problems"].dump();
  EXPECT_EQ(registry_->CountLogLines("/v2/"), requests_before) << "inspect pushes nothing";
  ProcessResult table = test::RunProcess({PPA_IMPORT_BINARY, "inspect", archive}, std::nullopt, {},
                                         dir_.path());
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.stdout_text.find("ibmcase/bluecompute-auth:0.5.0-amd64"), std::string::npos);
  EXPECT_NE(table.stdout_text.find("Problems: none"), std::string::npos) << table.stdout_text;
}

TEST_F(LoadTest, SharedLayerIsStoredOnce) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = Load(archive);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto amd64 = test::SkopeoInspect(Ref("ibmcom/portal:2.1.0-amd64"), /*raw=*/true);
  auto db = test::SkopeoInspect(Ref("ibmcom/portal-db:2.1.0-amd64"), /*raw=*/true);
  ASSERT_TRUE(amd64.ok() && db.ok());
  // The same base layer bytes give the same (deterministic) gzip blob.
  EXPECT_EQ((*amd64)["layers"][0]["digest"], (*db)["layers"][0]["digest"]);
}

TEST_F(LoadTest, IbmShapedArchiveLandsUnderManifestNames) {
  std::string archive = Archive(samples::IbmShapedSpec(), "ibm.tgz");
  ProcessResult r = Load(archive);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Found 14 image(s) and 1 chart(s)"), std::string::npos);
  for (const char* ref :
       {"ibmcase/bluecompute-auth:0.5.0-amd64", "ibmcase/bluecompute-catalog:0.5.0-amd64",
        "ibmcase/bluecompute-customer:0.5.0-amd64", "ibmcase/bluecompute-inventory:0.5.0-amd64",
        "ibmcase/bluecompute-orders:0.5.0-amd64", "ibmcase/bluecompute-web:0.5.0-amd64",
        "ibmcase/bluecompute-dataloader:0.5.0-amd64", "ibmcase/bluecompute-couchdb:2.3.0-amd64",
        "ibmcase/bluecompute-elasticsearch:6.8.0-amd64", "ibmcase/bluecompute-mysql:5.7.14-amd64",
        "ibmcase/bluecompute-mariadb:10.1.38-amd64", "ibmcase/bluecompute-zipkin:2.12-amd64",
        "ibmcase/bluecompute-bash-curl-ssl:0.5.0-amd64", "ibmcase/bluecompute-busybox:1.30-amd64",
        "ibmcase/bluecompute-auth:0.5.0", "ibmcase/bluecompute-mysql:5.7.14"}) {
    ExpectVerified(ref);
  }
  // Never under the upstream names saved inside the tarballs.
  ExpectAbsent("bluecompute/auth:latest");
  ExpectAbsent("mysql:5.7.14");
  EXPECT_TRUE(fs::exists(dir_.Join("ppa-import/charts/bluecompute-ce-0.0.9.tgz")));
  ProcessResult again = Load(archive);
  EXPECT_EQ(again.exit_code, 0) << Output(again);
}

TEST_F(LoadTest, PublicImageTarballsLandVerified) {
  // Real tarballs from other projects, named by a manifest.yaml.
  std::string root = dir_.Join("public");
  fs::create_directories(root + "/images");
  for (const char* f : {"hello-world-v25.tar", "test_bundle.tar", "test_image_2.tar",
                        "docker-two-names.tar.xz", "buildkit-oci.tar", "oci-registry-name.tar.gz"}) {
    fs::copy_file(std::string(PPA_TEST_DATA_DIR) + "/images/" + f, root + "/images/" + f);
  }
  std::ofstream(root + "/manifest.yaml") << R"(images:
- image: pub/hello:v25
  references:
  - repository: pub/hello:v25-arm64
    platform: {os: linux, architecture: arm64, variant: v8}
    archive: images/hello-world-v25.tar
- image: pub/bundle-one:1
  references:
  - repository: pub/bundle-one:1
    pull-repository: test_image_1
    archive: images/test_bundle.tar
- image: pub/bundle-two:1
  references:
  - repository: pub/bundle-two:1
    pull-repository: test_image_2
    archive: images/test_bundle.tar
- image: pub/two-names:1
  references:
  - repository: pub/two-names:1
    archive: images/docker-two-names.tar.xz
- image: pub/buildkit:1
  references:
  - repository: pub/buildkit:1
    archive: images/buildkit-oci.tar
- image: pub/oci-name:1
  references:
  - repository: pub/oci-name:1
    archive: images/oci-registry-name.tar.gz
- image: pub/legacy:1
  references:
  - repository: pub/legacy:1
    pull-repository: bazel/v1/tarball:test_image_2
)";
  auto tar = test::RunProcess({"tar", "-C", root, "-cJf", dir_.Join("public.tar.xz"), "."});
  ASSERT_EQ(tar.exit_code, 0) << tar.stderr_text;
  ProcessResult r = Load(dir_.Join("public.tar.xz"));
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  for (const char* ref : {"pub/hello:v25-arm64", "pub/bundle-one:1", "pub/bundle-two:1",
                          "pub/two-names:1", "pub/oci-name:1", "pub/legacy:1"}) {
    ExpectVerified(ref);
  }
  // A zero-layer image is valid; skopeo still reads it.
  auto buildkit = test::SkopeoInspect(Ref("pub/buildkit:1"), /*raw=*/true);
  ASSERT_TRUE(buildkit.ok());
  EXPECT_TRUE((*buildkit)["layers"].empty());
  auto one = test::SkopeoInspectConfig(Ref("pub/bundle-one:1"));
  auto two = test::SkopeoInspectConfig(Ref("pub/bundle-two:1"));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_NE(one->dump(), two->dump()) << "the two images of one tarball must be told apart";
}

// A docker-save tarball whose one layer does not match the config's diff_id.
std::string TamperedSave() {
  std::string layer = test::BuildRawTar({{"etc/passwd", '0', "root:x:0:0::/root:/bin/sh\n"}});
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                       Sha256Digest(layer + "tampered") + R"("]}})";
  std::string manifest = R"([{"Config":"cfg.json","RepoTags":["bad/one:1"],"Layers":["l/layer.tar"]}])";
  return test::BuildRawTar({{"manifest.json", '0', manifest},
                            {"cfg.json", '0', config},
                            {"l/", '5'},
                            {"l/layer.tar", '0', layer}});
}

// An OCI layout tarball whose gzip layer has the right stored digest but
// does not decompress to the config's diff_id (its upload may start before
// that is known: the image must still fail, untagged).
std::string TamperedOciGzip() {
  std::string layer = test::Gzip(test::BuildRawTar({{"etc/hostname", '0', "box\n"}}));
  std::string config = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[")" +
                       Sha256Digest("not the layer") + R"("]}})";
  auto ref = [](const char* media_type, const std::string& blob) {
    return std::string(R"({"mediaType":")") + media_type + R"(","digest":")" + Sha256Digest(blob) +
           R"(","size":)" + std::to_string(blob.size());
  };
  std::string manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":)" +
                         ref("application/vnd.oci.image.config.v1+json", config) + R"(},"layers":[)" +
                         ref("application/vnd.oci.image.layer.v1.tar+gzip", layer) + "}]}";
  std::string index = R"({"schemaVersion":2,"manifests":[)" +
                      ref("application/vnd.oci.image.manifest.v1+json", manifest) +
                      R"(,"annotations":{"org.opencontainers.image.ref.name":"bad/oci:1"}}]})";
  auto path = [](const std::string& blob) {
    return "blobs/sha256/" + std::string(DigestHex(Sha256Digest(blob)));
  };
  return test::BuildRawTar({{"oci-layout", '0', R"({"imageLayoutVersion":"1.0.0"})"},
                            {"index.json", '0', index},
                            {"blobs/", '5'},
                            {"blobs/sha256/", '5'},
                            {path(config), '0', config},
                            {path(manifest), '0', manifest},
                            {path(layer), '0', layer}});
}

TEST_F(LoadTest, BrokenImagesFailAloneAndNothingIsTagged) {
  auto good = test::ReadFileToString(std::string(PPA_TEST_DATA_DIR) + "/images/test_image_2.tar");
  ASSERT_TRUE(good.ok());
  std::string export_tar = test::BuildRawTar({{"etc/", '5'}, {"etc/hostname", '0', "box\n"}});
  std::string yaml = R"(images:
- image: ok/good:1
  references: [{repository: ok/good:1, archive: images/good.tar}]
- image: bad/tampered:1
  references: [{repository: bad/tampered:1, archive: images/tampered.tar}]
- image: bad/export:1
  references: [{repository: bad/export:1, archive: images/export.tar}]
- image: bad/missing:1
  references: [{repository: bad/missing:1, archive: images/not-there.tar}]
- image: bad/null:1
  references: [{repository: bad/null:1, archive: images/null.tar}]
- image: bad/oci:1
  references: [{repository: bad/oci:1, archive: images/oci.tar}]
)";
  std::string outer = test::BuildRawTar(
      {{"manifest.yaml", '0', yaml},
       {"images/", '5'},
       {"images/good.tar", '0', *good},
       {"images/tampered.tar", '0', TamperedSave()},
       {"images/export.tar", '0', export_tar},
       {"images/null.tar", '0', test::BuildRawTar({{"manifest.json", '0', "null"}})},
       {"images/oci.tar", '0', TamperedOciGzip()}});
  test::WriteFileOrDie(dir_.Join("broken.tgz"), test::Gzip(outer));
  ProcessResult r = Load(dir_.Join("broken.tgz"));
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectVerified("ok/good:1");
  for (const char* bad :
       {"bad/tampered:1", "bad/export:1", "bad/missing:1", "bad/null:1", "bad/oci:1"}) {
    ExpectAbsent(bad);
    EXPECT_NE(r.stderr_text.find(std::string("'") + bad + "'"), std::string::npos)
        << bad << " must be named\n" << r.stderr_text;
  }
  EXPECT_NE(r.stderr_text.find("diff_id"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("not an image"), std::string::npos) << r.stderr_text;
  size_t oci = r.stderr_text.find("'bad/oci:1'");
  ASSERT_NE(oci, std::string::npos);
  std::string oci_line = r.stderr_text.substr(oci, r.stderr_text.find('\n', oci) - oci);
  EXPECT_NE(oci_line.find("diff_id"), std::string::npos) << oci_line;
  EXPECT_NE(r.stdout_text.find("FAILED"), std::string::npos);
}

TEST_F(LoadTest, UnsafeArchiveExits3AndWritesNothingOutside) {
  std::string outer = test::BuildRawTar({{"images/", '5'}, {"../escaped", '0', "x"}});
  test::WriteFileOrDie(dir_.Join("evil.tgz"), test::Gzip(outer));
  ProcessResult r = Load(dir_.Join("evil.tgz"));
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  EXPECT_NE(r.stderr_text.find("../escaped"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir_.Join("escaped")));
  EXPECT_FALSE(fs::exists(dir_.Join("ppa-import/escaped")));
}

TEST_F(LoadTest, UsageErrorsExit2) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load", archive, "--namespace", "AB",
                                   "--registry", registry_->host(), "--plain-http"};
  ProcessResult r = test::RunProcess(argv, std::nullopt, {}, dir_.path());
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("4 to 30 characters"), std::string::npos) << r.stderr_text;
  ProcessResult no_flag = test::RunProcess({PPA_IMPORT_BINARY, "load", archive, "--bogus"},
                                           std::nullopt, {}, dir_.path());
  EXPECT_EQ(no_flag.exit_code, 2);
  ProcessResult bad_registry = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns", "--registry", "a b"},
      std::nullopt, {}, dir_.path());
  EXPECT_EQ(bad_registry.exit_code, 2) << Output(bad_registry);
}

TEST_F(LoadTest, NoRegistryConfiguredWritesAnOciLayoutSkopeoReads) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = test::RunProcess({PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns"},
                                     std::nullopt, {{"PPA_IMPORT_REGISTRY", ""}, {"HOME", dir_.path()}},
                                     dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  std::string layout = dir_.Join("ppa-import/oci-layout");
  EXPECT_NE(r.stdout_text.find("OCI image layout '" + layout + "'"), std::string::npos) << r.stdout_text;
  for (const char* ref : {"test_ns/ibmcom/portal-db:2.1.0-amd64", "test_ns/ibmcom/portal:2.1.0-ppc64le"}) {
    test::TempDir out("ppa-oci-out");
    Status s = test::SkopeoCopy("oci:" + layout + ":" + ref, "dir:" + out.Join("img"));
    EXPECT_TRUE(s.ok()) << ref << ": " << s.ToString();
  }
  auto list = test::SkopeoInspect("oci:" + layout + ":test_ns/ibmcom/portal:2.1.0", /*raw=*/true);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)["manifests"].size(), 2u);
  // A second run into the same layout keeps one entry per name.
  ProcessResult again = test::RunProcess({PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns"},
                                         std::nullopt, {{"PPA_IMPORT_REGISTRY", ""}}, dir_.path());
  EXPECT_EQ(again.exit_code, 0) << Output(again);
  auto index = test::ReadFileToString(layout + "/index.json");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(nlohmann::json::parse(*index)["manifests"].size(), 11u);
}

TEST_F(LoadTest, OciFormatPushesOciManifestsAndIndex) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = Load(archive, {"--format", "oci"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto index = test::SkopeoInspect(Ref("ibmcom/portal:2.1.0"), /*raw=*/true);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ((*index)["mediaType"], "application/vnd.oci.image.index.v1+json");
  for (const auto& m : (*index)["manifests"]) {
    EXPECT_EQ(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  }
  ExpectVerified("ibmcom/portal:2.1.0-ppc64le");
}

class LoadAuthTest : public LoadTest {
 protected:
  void SetUp() override { StartRegistry({"ppauser", "S3cret-pass-word"}); }
};

TEST_F(LoadAuthTest, BasicAuthFromEnvironmentAndWrongPasswordNeverEchoed) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult ok = Load(archive, {},
                          {{"PPA_IMPORT_USERNAME", "ppauser"}, {"PPA_IMPORT_PASSWORD", "S3cret-pass-word"}});
  ASSERT_EQ(ok.exit_code, 0) << Output(ok);
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64", registry_->creds());

  ProcessResult stdin_ok = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns", "--registry",
       registry_->host(), "--plain-http", "--username", "ppauser", "--password-stdin"},
      std::string("S3cret-pass-word\n"), {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(stdin_ok.exit_code, 0) << Output(stdin_ok);

  ProcessResult wrong = Load(archive, {"-v"},
                             {{"PPA_IMPORT_USERNAME", "ppauser"}, {"PPA_IMPORT_PASSWORD", "Wrong-Secret-77"}});
  EXPECT_EQ(wrong.exit_code, 1) << Output(wrong);
  EXPECT_NE(wrong.stderr_text.find("UNAUTHORIZED"), std::string::npos) << wrong.stderr_text;
  EXPECT_NE(wrong.stderr_text.find("Hint:"), std::string::npos);
  for (const std::string& secret : {std::string("Wrong-Secret-77"), std::string("S3cret-pass-word")}) {
    EXPECT_EQ(Output(wrong).find(secret), std::string::npos) << "secret leaked";
  }
  ProcessResult anonymous = Load(archive);
  EXPECT_EQ(anonymous.exit_code, 1) << Output(anonymous);
}

}  // namespace
}  // namespace ppa
