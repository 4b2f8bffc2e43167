// `ppa-import save` (README, "Air-gapped sites: save, carry, load"), judged
// by skopeo against two real registries: images saved from registry A and
// loaded into registry B have in B the digests they had in A (a Docker
// manifest list, a multi-arch OCI index with BuildKit attestations, a
// Docker v2 image, an OCI image with zstd layers); the archive is the same
// bytes for the same sources, goes through a pipe, and holds only plain
// files under relative paths.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"
#include "tests/integration/charts_support.h"
#include "tests/support/cosign_vector.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/gnupg.h"
#include "tests/support/chartmuseum_server.h"
#include "tests/support/load_fixture.h"
#include "tests/support/oci_fixtures.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;
using test::RunProcess;

class SaveTest : public test::LoadFixture {
 protected:
  void SetUp() override {
    LoadFixture::SetUp();
    auto b = test::RegistryServer::Start();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    b_ = std::move(b).value();
    // Registry A: the demo sample (a Docker manifest list, single-platform
    // lists, Docker v2 and OCI images) and the OCI files below, each
    // landing with the digest it has in its file.
    ASSERT_EQ(Load(Archive(samples::DemoSampleSpec(), "sample.tgz")).exit_code, 0);
    ProcessResult oci = Load(OciArchive());
    ASSERT_EQ(oci.exit_code, 0) << Output(oci);
  }

  std::string OciArchive() {
    const std::string root = dir_.Join("tree");
    fs::create_directories(root + "/images");
    auto put = [&](const std::string& file, const std::string& bytes) {
      test::WriteFileOrDie(root + "/images/" + file, bytes);
    };
    put("zstd.tar", test::OciSingleImageLayout(
                        {.layers = {test::ZstdTestLayer("etc/z", "zstd layer", dir_.path()),
                                    test::GzipTestLayer("etc/g", "and a gzip one")}})
                        .Tar());
    put("attested.tar",
        test::OciMultiArchLayout(
            {{.architecture = "amd64", .layers = {test::GzipTestLayer("etc/a", "amd64")}},
             {.architecture = "arm64", .layers = {test::GzipTestLayer("etc/a", "arm64")}}},
            "sv/attested:1", std::string(media_types::kOciIndex), /*attested=*/true)
            .Tar());
    std::ofstream(root + "/manifest.yaml") << R"(images:
- {image: sv/zstd:1, references: [{repository: sv/zstd:1, archive: images/zstd.tar}]}
- image: sv/attested:1
  references:
  - {repository: sv/attested:1-amd64, platform: {os: linux, architecture: amd64}, archive: images/attested.tar}
  - {repository: sv/attested:1-arm64, platform: {os: linux, architecture: arm64}, archive: images/attested.tar}
)";
    const std::string path = dir_.Join("oci.tgz");
    ProcessResult tar = RunProcess({"tar", "-C", root, "-czf", path, "."});
    EXPECT_EQ(tar.exit_code, 0) << tar.stderr_text;
    return path;
  }

  // The images of A the tests save, as `save` names them.
  std::vector<std::string> Sources() const {
    std::vector<std::string> out;
    for (const char* name : kImages) out.push_back(registry_->host() + "/test_ns/" + name);
    return out;
  }

  ProcessResult Save(std::vector<std::string> args) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "save", "--plain-http"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  }

  ProcessResult LoadIntoB(const std::string& archive, const std::string& ns) {
    return RunProcess({PPA_IMPORT_BINARY, "load", archive, "--registry", b_->host(),
                       "--plain-http", "--namespace", ns, "--workdir", dir_.Join("wd-" + ns)},
                      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  }

  // sha256 of the manifest bytes skopeo reads at `ref` ("" when none).
  static std::string RawDigest(const std::string& ref) {
    ProcessResult r = test::RunSkopeo({"inspect", "--raw", "--tls-verify=false", ref});
    return r.exit_code == 0 ? Sha256Digest(r.stdout_text) : "";
  }

  // Every saved image is in B (namespace `ns`) at its digest in A.
  void ExpectSameDigests(const std::string& ns) {
    for (const char* name : kImages) {
      const std::string a = RawDigest("docker://" + registry_->host() + "/test_ns/" + name);
      ASSERT_FALSE(a.empty()) << name;
      EXPECT_EQ(RawDigest("docker://" + b_->host() + "/" + ns + "/test_ns/" + name), a) << name;
    }
  }

  static constexpr const char* kImages[] = {
      "ibmcom/portal:2.1.0",         // Docker manifest list, two platforms
      "ibmcom/portal-tools:2.1.0",   // a list of one platform
      "ibmcom/portal-db:2.1.0-amd64",  // Docker v2 manifest
      "ibmcom/portal-worker:2.1.0-amd64",  // OCI manifest
      "sv/zstd:1",                   // OCI, a zstd layer
      "sv/attested:1",               // OCI index with BuildKit attestations
  };
  std::unique_ptr<test::RegistryServer> b_;
};

TEST_F(SaveTest, LoadedIntoAnotherRegistryEveryImageKeepsItsDigest) {
  std::vector<std::string> args = Sources();
  args.insert(args.end(), {"-o", dir_.Join("saved.tgz")});
  ProcessResult saved = Save(args);
  ASSERT_EQ(saved.exit_code, 0) << Output(saved);
  ProcessResult loaded = LoadIntoB(dir_.Join("saved.tgz"), "mirror");
  ASSERT_EQ(loaded.exit_code, 0) << Output(loaded);
  ExpectSameDigests("mirror");
  // skopeo reads every platform of the multi-arch images back.
  int n = 0;
  for (const char* name : {"ibmcom/portal:2.1.0", "sv/attested:1"}) {
    ProcessResult copied = test::RunSkopeo(
        {"copy", "--all", "--src-tls-verify=false",
         "docker://" + b_->host() + "/mirror/test_ns/" + name,
         "dir:" + dir_.Join("all-" + std::to_string(++n))});
    EXPECT_EQ(copied.exit_code, 0) << name << ": " << copied.stderr_text;
  }
  // No tag the source did not have: platform images land by digest.
  ProcessResult tags = test::RunSkopeo(
      {"list-tags", "--tls-verify=false", "docker://" + b_->host() + "/mirror/test_ns/ibmcom/portal"});
  ASSERT_EQ(tags.exit_code, 0) << tags.stderr_text;
  EXPECT_EQ(nlohmann::json::parse(tags.stdout_text)["Tags"], nlohmann::json::array({"2.1.0"}));
}

TEST_F(SaveTest, TheSameSourcesGiveTheSameBytesInAnyOrder) {
  std::vector<std::string> first = Sources();
  first.insert(first.end(), {"-o", dir_.Join("one.tgz")});
  const std::vector<std::string> sources = Sources();
  std::vector<std::string> second(sources.rbegin(), sources.rend());
  second.insert(second.end(), {"-o", dir_.Join("two.tgz")});
  ASSERT_EQ(Save(first).exit_code, 0);
  ASSERT_EQ(Save(second).exit_code, 0);
  EXPECT_EQ(test::ReadFileOr(dir_.Join("one.tgz")), test::ReadFileOr(dir_.Join("two.tgz")));
  EXPECT_FALSE(test::ReadFileOr(dir_.Join("one.tgz")).empty());
}

TEST_F(SaveTest, ThroughAPipeIntoLoad) {
  std::string command = std::string(PPA_IMPORT_BINARY) + " save --plain-http -o -";
  for (const std::string& s : Sources()) command += " " + s;
  command += " | " + std::string(PPA_IMPORT_BINARY) + " load - --registry " + b_->host() +
             " --plain-http --namespace piped --workdir " + dir_.Join("wd-pipe");
  ProcessResult r = RunProcess({"bash", "-o", "pipefail", "-c", command}, std::nullopt,
                               {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  ExpectSameDigests("piped");
}

TEST_F(SaveTest, TheArchiveHoldsOnlyFilesUnderRelativePathsInTheIbmLayout) {
  ASSERT_EQ(Save({Sources()[0], Sources()[4], "-o", dir_.Join("s.tgz")}).exit_code, 0);
  ProcessResult list = RunProcess({"tar", "-tvzf", dir_.Join("s.tgz")});
  ASSERT_EQ(list.exit_code, 0);
  std::istringstream lines(list.stdout_text);
  std::string line;
  std::vector<std::string> names;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(line[0] == '-' || line[0] == 'd') << line;  // no links, devices, FIFOs
    names.push_back(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"images/", "images/test_ns_ibmcom_portal_2.1.0.tar",
                                             "images/test_ns_sv_zstd_1.tar", "manifest.yaml"}));
  // An inner image file: an OCI layout, by its own rules too.
  ProcessResult inner = RunProcess(
      {"bash", "-c", "tar -xzOf " + dir_.Join("s.tgz") +
                         " images/test_ns_sv_zstd_1.tar | tar -tv"});
  ASSERT_EQ(inner.exit_code, 0);
  EXPECT_NE(inner.stdout_text.find(" oci-layout"), std::string::npos);
  EXPECT_NE(inner.stdout_text.find(" index.json"), std::string::npos);
  EXPECT_EQ(inner.stdout_text.find(" /"), std::string::npos);
  EXPECT_EQ(inner.stdout_text.find(".."), std::string::npos);
}

TEST_F(SaveTest, AnImageThatCannotBeSavedLeavesNoArchive) {
  const std::string out = dir_.Join("failed.tgz");
  ProcessResult r = Save({Sources()[0], registry_->host() + "/test_ns/ibmcom/missing:1", "-o", out});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("Error: "), std::string::npos);
  EXPECT_NE(r.stderr_text.find("ibmcom/missing:1"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".partial"));
  // No registry named: a usage error before anything is read.
  ProcessResult usage = Save({"test_ns/ibmcom/portal:2.1.0", "-o", out});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.stderr_text.find("Hint: "), std::string::npos);
}

TEST_F(SaveTest, DryRunListsTheImagesAndTheirSizeAndWritesNothing) {
  const std::string out = dir_.Join("dry.tgz");
  std::vector<std::string> args = Sources();
  args.insert(args.end(), {"--dry-run", "-o", out});
  ProcessResult r = Save(args);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("would save  test_ns/sv/zstd:1 sha256:"), std::string::npos)
      << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("6 image(s), "), std::string::npos) << r.stdout_text;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(SaveTest, PlatformKeepsASubsetOfAnIndex) {
  const std::string out = dir_.Join("arm.tgz");
  ProcessResult r = Save({Sources()[5], "--platform", "linux/arm64", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("(new index)"), std::string::npos);
  ASSERT_EQ(LoadIntoB(out, "armonly").exit_code, 0);
  Status platforms = test::CheckManifestListPlatforms(
      "docker://" + b_->host() + "/armonly/test_ns/sv/attested:1",
      {"linux/arm64", "unknown/unknown"});  // the arm64 image and its attestation
  EXPECT_TRUE(platforms.ok()) << platforms.ToString();
  ProcessResult none = Save({Sources()[5], "--platform", "s390x", "-o", out + ".none"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.stderr_text.find("linux/amd64, linux/arm64"), std::string::npos)
      << none.stderr_text;
}


// Credentials given as one user and password (not per registry, as an auth
// file's are) would reach every registry named: refused when there are
// several, before anything is sent.
TEST_F(SaveTest, OneSetOfCredentialsIsNeverSentToSeveralRegistries) {
  const std::string out = dir_.Join("creds.tgz");
  const std::string other = b_->host() + "/x/y:1";
  const int before = b_->CountLogLines("GET /v2/");  // its start-up check
  for (std::vector<std::string> flags :
       {std::vector<std::string>{"--creds", "user:secret"}, {"--username", "user"}}) {
    std::vector<std::string> args = {Sources()[0], other, "-o", out};
    args.insert(args.end(), flags.begin(), flags.end());
    ProcessResult r = Save(args);
    EXPECT_EQ(r.exit_code, 2) << flags[0] << ": " << Output(r);
    EXPECT_NE(r.stderr_text.find("would be sent to each"), std::string::npos) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.find("secret"), std::string::npos);
  }
  ProcessResult env = RunProcess(
      {PPA_IMPORT_BINARY, "save", "--plain-http", Sources()[0], other, "-o", out}, std::nullopt,
      {{"HOME", dir_.path()}, {"PPA_IMPORT_USERNAME", "u"}, {"PPA_IMPORT_PASSWORD", "p"}},
      dir_.path());
  EXPECT_EQ(env.exit_code, 2) << Output(env);
  EXPECT_EQ(b_->CountLogLines("GET /v2/"), before) << "registry B was contacted";
  EXPECT_FALSE(fs::exists(out));
}

// Usage errors come before any pull: an output that is a folder, a platform
// that does not parse, an empty list.
TEST_F(SaveTest, UsageErrorsComeBeforeAnyPull) {
  const int before = registry_->CountLogLines("GET /v2/");
  fs::create_directories(dir_.Join("folder"));
  for (std::vector<std::string> args :
       {std::vector<std::string>{Sources()[0], "-o", dir_.Join("folder")},
        {Sources()[0], "--platform", "linux/amd64/v8/extra", "-o", dir_.Join("p.tgz")},
        {Sources()[0], "-o", dir_.Join("no/such/folder/a.tgz")},
        {"--images-from", "/dev/null", "-o", dir_.Join("e.tgz")}}) {
    ProcessResult r = Save(args);
    EXPECT_EQ(r.exit_code, 2) << args[args.size() - 1] << ": " << Output(r);
    EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << r.stderr_text;
  }
  EXPECT_EQ(registry_->CountLogLines("GET /v2/"), before);
}

// The list may come from a pipe, and a config file of load's keys (as an
// admin's ~/.config/ppa-import/config.yaml holds) does not stop save.
TEST_F(SaveTest, ListFromAPipeAndLoadsConfigFile) {
  fs::create_directories(dir_.Join(".config/ppa-import"));
  std::ofstream(dir_.Join(".config/ppa-import/config.yaml"))
      << "registry: reg.example.com\nnamespace: team\ndry-run: true\n";
  const std::string out = dir_.Join("listed.tgz");
  std::string command = std::string(PPA_IMPORT_BINARY) +
                        " save --plain-http -o " + out + " --images-from <(printf '# list\\n" +
                        Sources()[2] + "\\n" + Sources()[4] + "\\n')";
  ProcessResult r = RunProcess({"bash", "-c", command}, std::nullopt, {{"HOME", dir_.path()}},
                               dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("saved 2 image(s)"), std::string::npos) << r.stdout_text;
  EXPECT_TRUE(fs::exists(out));  // load's dry-run key is not save's
}

// A name of 100 bytes or more in the archive (a long tag) needs a pax
// header there: saved and loaded all the same (only resuming is off).
TEST_F(SaveTest, ImagesWithLongNamesAreSavedAndLoaded) {
  const std::string tag(110, 't');
  ProcessResult copied = test::RunSkopeo(
      {"copy", "--src-tls-verify=false", "--dest-tls-verify=false",
       "docker://" + registry_->host() + "/test_ns/sv/zstd:1",
       "docker://" + registry_->host() + "/test_ns/sv/zstd:" + tag});
  ASSERT_EQ(copied.exit_code, 0) << Output(copied);
  const std::string out = dir_.Join("long.tgz");
  ProcessResult saved = Save({registry_->host() + "/test_ns/sv/zstd:" + tag, "-o", out});
  ASSERT_EQ(saved.exit_code, 0) << Output(saved);
  ProcessResult loaded = LoadIntoB(out, "longnames");
  ASSERT_EQ(loaded.exit_code, 0) << Output(loaded);
  EXPECT_EQ(RawDigest("docker://" + b_->host() + "/longnames/test_ns/sv/zstd:" + tag),
            RawDigest("docker://" + registry_->host() + "/test_ns/sv/zstd:1"));
}

// A PPA manifest.yaml as the list, its names completed by --source-registry:
// what an admin has from an archive, and the registry it came to.
TEST_F(SaveTest, APpaManifestIsAListOfImagesWithTheSourceRegistry) {
  test::WriteFileOrDie(dir_.Join("manifest.yaml"), R"(images:
- image: test_ns/ibmcom/portal:2.1.0
  references:
  - {repository: ibmcom/portal:2.1.0-amd64, platform: {os: linux, architecture: amd64}}
- image: test_ns/sv/zstd:1
  references: [{repository: sv/zstd:1}]
charts:
- archive: charts/absent-1.0.0.tgz
)");
  const std::string out = dir_.Join("from-manifest.tgz");
  // A chart file beside it keeps its name: --source-registry is for images.
  fs::copy_file(std::string(PPA_TEST_DATA_DIR) + "/charts/frobnitz-1.2.3.tgz",
                dir_.Join("frobnitz-1.2.3.tgz"));
  ProcessResult r = Save({"--images-from", dir_.Join("manifest.yaml"), "--source-registry",
                          registry_->host(), "frobnitz-1.2.3.tgz", "-o", out});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("saved 2 image(s) and 1 chart(s)"), std::string::npos)
      << r.stdout_text;
  ProcessResult no_registry =
      Save({"--images-from", dir_.Join("manifest.yaml"), "-o", out + ".x"});
  EXPECT_EQ(no_registry.exit_code, 2) << Output(no_registry);
  EXPECT_NE(no_registry.stderr_text.find("names no registry"), std::string::npos);
}

// A run that fails part way keeps FILE.partial; the same command then goes
// on from it: the blobs already written (a 6 MiB layer here) are not pulled
// again, and the archive is the same bytes as one saved in one go.
TEST_F(SaveTest, AFailedRunIsResumedWithoutPullingWhatItWroteAgain) {
  ProcessResult big = RunProcess(
      {PPA_IMPORT_BINARY, "load", Archive(test::DemoSampleWithLargeLayer(6, 1 << 20, 23), "big.tgz"),
       "--registry", registry_->host(), "--plain-http", "--namespace", "bigns", "--workdir",
       dir_.Join("wd-big")},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(big.exit_code, 0) << Output(big);
  auto proxy = test::FaultProxy::Start(registry_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  const std::string tools = (*proxy)->host() + "/bigns/ibmcom/portal-worker:2.1.0-amd64";
  const std::string zstd = (*proxy)->host() + "/test_ns/sv/zstd:1";  // written after it
  // The big layer of portal-worker, and zstd's config, which the first run
  // cannot get.
  auto manifest = nlohmann::json::parse(test::RunSkopeo({"inspect", "--raw", "--tls-verify=false",
                                                         "docker://" + tools})
                                            .stdout_text);
  std::string big_layer;
  uint64_t biggest = 0;
  for (const auto& layer : manifest["layers"]) {
    if (layer["size"].get<uint64_t>() > biggest) {
      biggest = layer["size"].get<uint64_t>();
      big_layer = layer["digest"].get<std::string>();
    }
  }
  ASSERT_GT(biggest, 5u << 20);
  const std::string zstd_config =
      nlohmann::json::parse(
          test::RunSkopeo({"inspect", "--raw", "--tls-verify=false", "docker://" + zstd}).stdout_text)
          ["config"]["digest"];
  test::FaultRule missing{test::FaultKind::kStatus};
  missing.method = "GET", missing.path_contains = zstd_config, missing.status = 404;
  (*proxy)->SetRules({missing});
  const std::string out = dir_.Join("resumed.tgz");
  ProcessResult failed = Save({tools, zstd, "-o", out});
  EXPECT_EQ(failed.exit_code, 1) << Output(failed);
  EXPECT_NE(failed.stderr_text.find("Hint: run the same command again to go on"), std::string::npos)
      << failed.stderr_text;
  EXPECT_FALSE(fs::exists(out));
  ASSERT_TRUE(fs::exists(out + ".partial"));
  const std::string get_big = "GET /v2/bigns/ibmcom/portal-worker/blobs/" + big_layer;
  EXPECT_EQ(registry_->CountLogLines(get_big), 1);

  (*proxy)->SetRules({});
  ProcessResult resumed = Save({tools, zstd, "-o", out});
  ASSERT_EQ(resumed.exit_code, 0) << Output(resumed);
  EXPECT_NE(resumed.stdout_text.find("resumed from " + out + ".partial: "), std::string::npos)
      << resumed.stdout_text;
  EXPECT_EQ(registry_->CountLogLines(get_big), 1) << "the big layer was pulled again";
  EXPECT_FALSE(fs::exists(out + ".partial"));
  ASSERT_EQ(Save({tools, zstd, "-o", dir_.Join("in-one-go.tgz")}).exit_code, 0);
  EXPECT_EQ(test::ReadFileOr(out), test::ReadFileOr(dir_.Join("in-one-go.tgz")));
  // A partial archive of other sources: its blobs sit elsewhere in the
  // stream, fail the check, and are pulled; the archive is still right.
  fs::copy_file(out, dir_.Join("zstd-only.tgz.partial"));
  ProcessResult other_sources = Save({zstd, "-o", dir_.Join("zstd-only.tgz")});
  ASSERT_EQ(other_sources.exit_code, 0) << Output(other_sources);
  ASSERT_EQ(Save({zstd, "-o", dir_.Join("zstd-fresh.tgz")}).exit_code, 0);
  EXPECT_EQ(test::ReadFileOr(dir_.Join("zstd-only.tgz")), test::ReadFileOr(dir_.Join("zstd-fresh.tgz")));
  // A partial archive that is no gzip, or holds other bytes, offers
  // nothing and harms nothing.
  test::WriteFileOrDie(out + ".partial", std::string(100000, 'x'));
  ASSERT_EQ(Save({tools, zstd, "-o", dir_.Join("other.tgz")}).exit_code, 0);
  fs::rename(out + ".partial", dir_.Join("other.tgz.partial"));
  fs::remove(dir_.Join("other.tgz"));
  ProcessResult over_junk = Save({tools, zstd, "-o", dir_.Join("other.tgz")});
  ASSERT_EQ(over_junk.exit_code, 0) << Output(over_junk);
  EXPECT_EQ(test::ReadFileOr(dir_.Join("other.tgz")), test::ReadFileOr(out));
}

// `inspect` shows what a saved archive holds: each image, its platforms,
// no problem.
TEST_F(SaveTest, InspectShowsWhatASavedArchiveHolds) {
  const std::string out = dir_.Join("inspected.tgz");
  ASSERT_EQ(Save({Sources()[0], Sources()[2], Sources()[5], "-o", out}).exit_code, 0);
  ProcessResult r = RunProcess({PPA_IMPORT_BINARY, "inspect", out, "--json", "--workdir",
                                dir_.Join("wd-inspect")},
                               std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto j = nlohmann::json::parse(r.stdout_text);
  EXPECT_TRUE(j["problems"].empty()) << j["problems"].dump();
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& image : j["images"]) by_name[image["image"].get<std::string>()] = image;
  ASSERT_EQ(by_name.size(), 3u) << j.dump();
  EXPECT_EQ(by_name["test_ns/ibmcom/portal:2.1.0"]["platforms"],
            nlohmann::json::array({"linux/amd64", "linux/ppc64le"}));
  EXPECT_EQ(by_name["test_ns/sv/attested:1"]["platforms"],
            nlohmann::json::array({"linux/amd64", "linux/arm64"}));
  EXPECT_EQ(by_name["test_ns/ibmcom/portal-db:2.1.0-amd64"]["references"].size(), 1u);
}

// Cosign's signatures of the saved images (the .sig tags, of a manifest
// list and of each of its platform images) travel with them: B holds them
// at the same digests, and `verify --key` accepts every image in B under
// the identity it was signed with in A. --remove-signatures leaves them out.
TEST_F(SaveTest, CosignSignaturesTravelWithTheirImagesAndStillVerify) {
  const std::string key = std::string(PPA_TEST_DATA_DIR) + "/cosign/ec-p256-pkcs8.key";
  ProcessResult signed_load =
      Load(Archive(samples::DemoSampleSpec(), "signed.tgz"), {"--sign-key", key});
  ASSERT_EQ(signed_load.exit_code, 0) << Output(signed_load);
  const std::string out = dir_.Join("signed-saved.tgz");
  ProcessResult saved = Save({Sources()[0], Sources()[2], "-o", out});
  ASSERT_EQ(saved.exit_code, 0) << Output(saved);
  EXPECT_NE(saved.stdout_text.find("  with test_ns/ibmcom/portal:sha256-"), std::string::npos)
      << saved.stdout_text;
  ProcessResult loaded = RunProcess(
      {PPA_IMPORT_BINARY, "load", out, "--registry", b_->host(), "--plain-http", "--namespace",
       "signedmirror", "--workdir", dir_.Join("wd-signed"), "--json", dir_.Join("r.json")},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(loaded.exit_code, 0) << Output(loaded);
  // Every .sig tag of the saved images' manifests is in B with A's digest.
  int signatures = 0;
  std::istringstream lines(saved.stdout_text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("  with test_ns/", 0) != 0) continue;  // "  with REPO:TAG DIGEST"
    const std::string ref = line.substr(7, line.find(' ', 7) - 7);
    ++signatures;
    const std::string a = RawDigest("docker://" + registry_->host() + "/" + ref);
    ASSERT_FALSE(a.empty()) << ref;
    EXPECT_EQ(line.substr(line.rfind(' ') + 1), a) << ref;
    EXPECT_EQ(RawDigest("docker://" + b_->host() + "/signedmirror/" + ref), a) << ref;
  }
  EXPECT_EQ(signatures, 4);  // the list, its two platform images, portal-db
  // Each verifies in B as `cosign verify --key` checks it: by the key, over
  // B's digest of the image, naming the repository it was signed in (A's).
  const std::string pub = dir_.Join("cosign.pub");
  ASSERT_EQ(RunProcess({"openssl", "pkey", "-in", key, "-pubout", "-out", pub}).exit_code, 0);
  for (const auto& [name, ref] : std::vector<std::pair<std::string, std::string>>{
           {"ibmcom/portal", ":2.1.0"}, {"ibmcom/portal-db", ":2.1.0-amd64"}}) {
    const std::string in_b = "docker://" + b_->host() + "/signedmirror/test_ns/" + name;
    const std::string digest = RawDigest(in_b + ref);
    ASSERT_FALSE(digest.empty());
    EXPECT_EQ(test::CountCosignSignatures(in_b + ":sha256-" + digest.substr(7) + ".sig", pub,
                                          registry_->host() + "/test_ns/" + name, digest),
              1)
        << name;
  }
  // `verify` passes the images (not the signatures themselves) when told
  // they were signed in A: a policy's remapIdentity, as for podman.
  const std::string policy = dir_.Join("mirror-policy.json");
  std::ofstream(policy) << R"({"default":[{"type":"reject"}],"transports":{"docker":{")"
                        << b_->host() << R"(/signedmirror":[{"type":"sigstoreSigned","keyPath":")"
                        << pub << R"(","signedIdentity":{"type":"remapIdentity","prefix":")"
                        << b_->host() << R"(/signedmirror","signedPrefix":")" << registry_->host()
                        << R"("}}]}}})";
  ProcessResult verified = RunProcess(
      {PPA_IMPORT_BINARY, "verify", "--report", dir_.Join("r.json"), "--registry", b_->host(),
       "--plain-http", "--policy", policy},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  // The platform images, named by digest, pass; cosign's payload names no
  // tag, so a tagged reference fails under remapIdentity, as in podman
  // (README, "Verifying").
  EXPECT_NE(verified.stdout_text.find("Verifying 4 image(s)"), std::string::npos) << Output(verified);
  EXPECT_NE(verified.stdout_text.find("2 image(s) verified, 2 failed."), std::string::npos)
      << Output(verified);

  // load --platform keeps the signatures (they have no platform).
  ProcessResult amd64 = RunProcess(
      {PPA_IMPORT_BINARY, "load", out, "--registry", b_->host(), "--plain-http", "--namespace",
       "amdmirror", "--platform", "linux/amd64", "--workdir", dir_.Join("wd-amd")},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(amd64.exit_code, 0) << Output(amd64);
  const std::string db = "docker://" + b_->host() + "/amdmirror/test_ns/ibmcom/portal-db";
  const std::string db_digest = RawDigest(db + ":2.1.0-amd64");
  ASSERT_FALSE(db_digest.empty());
  EXPECT_FALSE(RawDigest(db + ":sha256-" + db_digest.substr(7) + ".sig").empty());

  ProcessResult bare = Save({Sources()[2], "--remove-signatures", "-o", dir_.Join("bare.tgz")});
  ASSERT_EQ(bare.exit_code, 0) << Output(bare);
  EXPECT_EQ(bare.stdout_text.find(".sig"), std::string::npos) << bare.stdout_text;
}

// An OCI image layout as a source (oci:DIR:NAME, skopeo's syntax): skopeo
// copies two of A's images into one, `save` reads them from it, and they
// land in B with A's digests, and so does one named by a bare tag. A name
// the layout lacks, and a folder that is no layout, fail (exit 1) with a
// hint; a repository without a tag is a usage error.
TEST_F(SaveTest, FromAnOciLayoutTheImagesKeepTheirDigests) {
  const std::string layout = dir_.Join("layout");
  for (const char* name : {"sv/attested:1", "sv/zstd:1"}) {
    ProcessResult copied = test::RunSkopeo(
        {"copy", "--all", "--preserve-digests", "--src-tls-verify=false",
         "docker://" + registry_->host() + "/test_ns/" + name, "oci:" + layout + ":" + name});
    ASSERT_EQ(copied.exit_code, 0) << Output(copied);
  }
  const std::string out = dir_.Join("from-layout.tgz");
  ProcessResult saved =
      Save({"oci:" + layout + ":sv/attested:1", "oci:" + layout + ":sv/zstd:1", "-o", out});
  ASSERT_EQ(saved.exit_code, 0) << Output(saved);
  ProcessResult loaded = LoadIntoB(out, "fromlayout");
  ASSERT_EQ(loaded.exit_code, 0) << Output(loaded);
  for (const char* name : {"sv/attested:1", "sv/zstd:1"}) {
    const std::string a = RawDigest("docker://" + registry_->host() + "/test_ns/" + name);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(RawDigest("docker://" + b_->host() + "/fromlayout/sv/" + std::string(name).substr(3)), a)
        << name;
  }
  // A layout with a bare tag, as skopeo names them: the image is named
  // after the folder.
  const std::string bare = dir_.Join("zstdlayout");
  ProcessResult copied = test::RunSkopeo(
      {"copy", "--preserve-digests", "--src-tls-verify=false",
       "docker://" + registry_->host() + "/test_ns/sv/zstd:1", "oci:" + bare + ":1.0"});
  ASSERT_EQ(copied.exit_code, 0) << Output(copied);
  ASSERT_EQ(Save({"oci:" + bare + ":1.0", "-o", dir_.Join("bare.tgz")}).exit_code, 0);
  ASSERT_EQ(LoadIntoB(dir_.Join("bare.tgz"), "barelayout").exit_code, 0);
  EXPECT_EQ(RawDigest("docker://" + b_->host() + "/barelayout/zstdlayout:1.0"),
            RawDigest("docker://" + registry_->host() + "/test_ns/sv/zstd:1"));
  ProcessResult missing = Save({"oci:" + layout + ":sv/absent:1", "-o", out + ".x"});
  EXPECT_EQ(missing.exit_code, 1) << Output(missing);
  EXPECT_NE(missing.stderr_text.find("has no image named 'sv/absent:1'"), std::string::npos)
      << missing.stderr_text;
  ProcessResult not_layout = Save({"oci:" + dir_.path() + ":sv/zstd:1", "-o", out + ".x"});
  EXPECT_EQ(not_layout.exit_code, 1) << Output(not_layout);
  EXPECT_NE(not_layout.stderr_text.find("Hint: "), std::string::npos) << not_layout.stderr_text;
  ProcessResult untagged = Save({"oci:" + layout + ":sv/zstd", "-o", out + ".x"});
  EXPECT_EQ(untagged.exit_code, 2) << Output(untagged);
  EXPECT_FALSE(fs::exists(out + ".x"));
}

// Simple signatures in A's lookaside travel too: save reads them where
// registries.d says A keeps them, the archive carries them below
// signatures/, and load puts them in B's lookaside. skopeo then accepts the
// images in B with a policy that remaps B's names to A's (they name the
// image where it was signed), and refuses them without their signatures.
TEST_F(SaveTest, SimpleSignaturesTravelThroughTheLookasides) {
  test::TestKeyring keyring;
  auto fingerprint = keyring.AddKey("signer@example.com", "");
  ASSERT_TRUE(fingerprint.ok()) << fingerprint.status().ToString();
  ASSERT_TRUE(keyring.ExportPublic(*fingerprint, dir_.Join("signer.gpg")).ok());
  auto registries_d = [&](const std::string& name, const std::string& lookaside) {
    const std::string d = dir_.Join(name);
    fs::create_directories(d);
    test::WriteFileOrDie(d + "/sigs.yaml", "default-docker:\n  lookaside: file://" + lookaside +
                                               "\n  lookaside-staging: file://" + lookaside + "\n");
    return d;
  };
  const std::string a_d = registries_d("a.d", dir_.Join("sigs-a"));
  const std::string b_d = registries_d("b.d", dir_.Join("sigs-b"));
  std::map<std::string, std::string> env = keyring.env();
  env.emplace("HOME", dir_.path());
  ProcessResult signed_load = RunProcess(
      {PPA_IMPORT_BINARY, "load", Archive(samples::DemoSampleSpec(), "simple.tgz"), "--registry",
       registry_->host(), "--plain-http", "--namespace", "test_ns", "--workdir",
       dir_.Join("wd-simple"), "--sign-by", *fingerprint, "--registries.d", a_d},
      std::nullopt, env, dir_.path());
  ASSERT_EQ(signed_load.exit_code, 0) << Output(signed_load);
  const std::string out = dir_.Join("simple-saved.tgz");
  ProcessResult saved = Save({Sources()[0], Sources()[2], "--registries.d", a_d, "-o", out});
  ASSERT_EQ(saved.exit_code, 0) << Output(saved);
  ProcessResult listed = RunProcess({"tar", "-tzf", out});
  EXPECT_NE(listed.stdout_text.find("signatures/test_ns/ibmcom/portal-db@sha256="),
            std::string::npos)
      << listed.stdout_text;
  ProcessResult loaded = RunProcess(
      {PPA_IMPORT_BINARY, "load", out, "--registry", b_->host(), "--plain-http", "--namespace",
       "simplemirror", "--workdir", dir_.Join("wd-simple-b"), "--registries.d", b_d},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(loaded.exit_code, 0) << Output(loaded);
  EXPECT_NE(loaded.stdout_text.find("Carried a signature of "), std::string::npos)
      << loaded.stdout_text;
  auto policy_for = [&](const std::string& ns) {
    return R"({"default":[{"type":"reject"}],"transports":{"docker":{")" + b_->host() + "/" + ns +
           R"(":[{"type":"signedBy","keyType":"GPGKeys","keyPath":")" + dir_.Join("signer.gpg") +
           R"(","signedIdentity":{"type":"remapIdentity","prefix":")" + b_->host() + "/" + ns +
           R"(","signedPrefix":")" + registry_->host() + R"("}}]}}})";
  };
  const std::string policy = policy_for("simplemirror");
  for (const char* name : {"ibmcom/portal:2.1.0", "ibmcom/portal-db:2.1.0-amd64"}) {
    Status accepted = test::SkopeoCopyWithPolicy(
        "docker://" + b_->host() + "/simplemirror/test_ns/" + name, policy, b_d, /*all=*/true);
    EXPECT_TRUE(accepted.ok()) << name << ": " << accepted.ToString();
  }
  // The same image saved without its signatures: skopeo refuses it in B.
  ProcessResult bare = Save({Sources()[2], "--remove-signatures", "-o", dir_.Join("nosig.tgz")});
  ASSERT_EQ(bare.exit_code, 0) << Output(bare);
  ASSERT_EQ(RunProcess({PPA_IMPORT_BINARY, "load", dir_.Join("nosig.tgz"), "--registry",
                        b_->host(), "--plain-http", "--namespace", "bare_mirror", "--workdir",
                        dir_.Join("wd-nosig"), "--registries.d", b_d},
                       std::nullopt, {{"HOME", dir_.path()}}, dir_.path())
                .exit_code,
            0);
  const std::string bare_policy = policy_for("bare_mirror");
  EXPECT_FALSE(test::SkopeoCopyWithPolicy(
                   "docker://" + b_->host() + "/bare_mirror/test_ns/ibmcom/portal-db:2.1.0-amd64",
                   bare_policy, b_d)
                   .ok());
}

// Charts from the three places `save` reads them: an OCI registry (pushed by
// the real helm), a ChartMuseum behind basic auth (credentials from the auth
// file) and a local file with its provenance. They land in B as Helm OCI
// artifacts that the real helm pulls, byte for byte as they were.
TEST_F(SaveTest, ChartsFromOciAChartMuseumAndAFileLandAndHelmPullsThem) {
  const std::string helm = test::FindHelm();
  if (helm.empty()) GTEST_SKIP() << "helm not fetched (run scripts/fetch_helm.sh, or set PPA_HELM)";
  test::TempDir home("ppa-helm");
  const std::string data = std::string(PPA_TEST_DATA_DIR) + "/charts/";
  ProcessResult pushed = test::RunHelm(
      helm, home.path(),
      {"push", data + "compressedchart-0.1.0.tgz", "oci://" + registry_->host() + "/helm", "--plain-http"});
  ASSERT_EQ(pushed.exit_code, 0) << Output(pushed);
  auto museum = test::ChartMuseumServer::Start({.username = "cm", .password = "cm-secret"});
  ASSERT_TRUE(museum.ok()) << museum.status().ToString();
  const std::string museum_host = "127.0.0.1:" + std::to_string((*museum)->port());
  ProcessResult uploaded = RunProcess(
      {"curl", "-sf", "-u", "cm:cm-secret", "--data-binary",
       "@" + data + "pre-release-chart-0.1.0-alpha.tgz", (*museum)->url() + "/api/charts"});
  ASSERT_EQ(uploaded.exit_code, 0) << Output(uploaded);
  fs::create_directories(dir_.Join(".docker"));
  std::ofstream(dir_.Join(".docker/config.json"))
      << R"({"auths":{")" << museum_host << R"(":{"auth":")" << Base64Encode("cm:cm-secret")
      << R"("}}})";
  fs::copy_file(data + "frobnitz-1.2.3.tgz", dir_.Join("frobnitz-1.2.3.tgz"));
  test::WriteFileOrDie(dir_.Join("frobnitz-1.2.3.tgz.prov"), "-----BEGIN PGP SIGNED MESSAGE-----\n");

  const std::string out = dir_.Join("charts.tgz");
  ProcessResult saved = Save({Sources()[2], "oci://" + registry_->host() + "/helm/compressedchart:0.1.0",
                              (*museum)->url() + "/charts/pre-release-chart-0.1.0-alpha.tgz",
                              "frobnitz-1.2.3.tgz", "-o", out});
  ASSERT_EQ(saved.exit_code, 0) << Output(saved);
  EXPECT_NE(saved.stdout_text.find("saved 1 image(s) and 3 chart(s)"), std::string::npos)
      << saved.stdout_text;
  EXPECT_EQ(saved.stdout_text.find("cm-secret"), std::string::npos);
  ProcessResult list = RunProcess({"tar", "-tzf", out});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(list.stdout_text,
            "charts/\ncharts/compressedchart-0.1.0.tgz\n"
            "charts/frobnitz-1.2.3.tgz\ncharts/frobnitz-1.2.3.tgz.prov\n"
            "charts/pre-release-chart-0.1.0-alpha.tgz\nimages/\n"
            "images/test_ns_ibmcom_portal-db_2.1.0-amd64.tar\nmanifest.yaml\n");
  ProcessResult manifest = RunProcess({"tar", "-xzOf", out, "manifest.yaml"});
  EXPECT_NE(manifest.stdout_text.find("charts:\n  - archive: charts/compressedchart-0.1.0.tgz"),
            std::string::npos)
      << manifest.stdout_text;

  ProcessResult loaded = RunProcess(
      {PPA_IMPORT_BINARY, "load", out, "--registry", b_->host(), "--plain-http", "--namespace",
       "charted", "--charts-oci", "--workdir", dir_.Join("wd-charts")},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(loaded.exit_code, 0) << Output(loaded);
  for (const auto& [name, version, file] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"compressedchart", "0.1.0", "compressedchart-0.1.0.tgz"},
           {"pre-release-chart", "0.1.0-alpha", "pre-release-chart-0.1.0-alpha.tgz"},
           {"frobnitz", "1.2.3", "frobnitz-1.2.3.tgz"}}) {
    const std::string into = dir_.Join("pulled-" + name);
    fs::create_directories(into);
    ProcessResult pull = test::RunHelm(
        helm, home.path(),
        {"pull", "oci://" + b_->host() + "/charted/charts/" + name, "--version", version,
         "--plain-http", "--destination", into});
    ASSERT_EQ(pull.exit_code, 0) << name << ": " << Output(pull);
    EXPECT_EQ(test::ReadFileOr(into + "/" + file), test::ReadFileOr(data + file)) << name;
  }
}

// A chart that is not one, a chart URL the server lacks, an OCI artifact
// that is an image, and an oci:// reference without a version: each fails
// (1, or 2 for what is wrong in the command) and leaves no archive.
TEST_F(SaveTest, ChartsThatCannotBeSavedLeaveNoArchive) {
  const std::string out = dir_.Join("bad-charts.tgz");
  test::WriteFileOrDie(dir_.Join("notachart.tgz"), "plain text");
  auto museum = test::ChartMuseumServer::Start();
  ASSERT_TRUE(museum.ok());
  for (const auto& [source, code, says] : std::vector<std::tuple<std::string, int, std::string>>{
           {"notachart.tgz", 1, "not a gzip'd tar"},
           {"missing-1.0.0.tgz", 1, "does not exist"},
           {(*museum)->url() + "/charts/absent-1.0.0.tgz", 1, "HTTP 404"},
           {"oci://" + Sources()[2], 1, "is no Helm chart"},
           {"oci://" + registry_->host() + "/helm/compressedchart", 2, "names no version"}}) {
    ProcessResult r = Save({source, "-o", out});
    EXPECT_EQ(r.exit_code, code) << source << ": " << Output(r);
    EXPECT_NE(r.stderr_text.find(says), std::string::npos) << source << ": " << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("Error: "), std::string::npos);
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
}  // namespace ppa
