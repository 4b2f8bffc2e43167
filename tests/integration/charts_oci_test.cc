// End-to-end: --charts-oci pushes charts to Debian's docker-registry the way
// `helm push` does. skopeo checks the media types; the real helm client
// (scripts/fetch_helm.sh) must show, pull and lint what we produced.
//
// Charts go through the run's one Target, like the images: the registry's
// credentials (every source) and TLS settings reach the chart push, and an
// OCI image layout target (oci:DIR, or no --registry) gets the chart as a
// Helm OCI artifact tagged in its index.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "importer/load/pipeline.h"
#include "tests/integration/charts_support.h"
#include "tests/support/test_pki.h"

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

// --- Credentials and TLS: the chart push uses the target's ------------------

constexpr char kUser[] = "chart-user";
constexpr char kPassword[] = "Chart-Pa55-w0rd-never-shown";
constexpr char kChartRef[] = "charts/bluecompute:1.0.0_build.7";

std::string AuthJson(const std::string& key) {
  return R"({"auths":{")" + key + R"(":{"auth":")" +
         Base64Encode(std::string(kUser) + ":" + kPassword) + R"("}}})";
}

// A registry that wants a password; the machine's own credentials and TLS
// settings kept out of the runs.
class ChartsOciAuthTest : public LoadFixture {
 protected:
  void SetUp() override { StartRegistry({.username = kUser, .password = kPassword}); }

  std::map<std::string, std::string> CleanEnv(std::map<std::string, std::string> env = {}) {
    std::map<std::string, std::string> clean = {
        {"HOME", dir_.Join("home")},  {"XDG_RUNTIME_DIR", dir_.Join("run")},
        {"XDG_CONFIG_HOME", ""},      {"DOCKER_CONFIG", ""},
        {"REGISTRY_AUTH_FILE", ""},   {"PPA_IMPORT_USERNAME", ""},
        {"PPA_IMPORT_PASSWORD", ""},  {"PPA_IMPORT_CREDS", ""},
        {"SSL_CERT_FILE", ""},        {"PPA_TEST_CERTS_D_ROOTS", dir_.Join("no-certs.d")}};
    for (auto& [k, v] : env) clean[k] = v;
    return clean;
  }

  void Write(const std::string& relative, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(dir_.Join(relative)).parent_path());
    ASSERT_TRUE(WriteStringToFile(dir_.Join(relative), text).ok());
  }

  // load --charts-oci of the charts archive (a demo image too, so images and
  // charts are seen to use the same credentials).
  ProcessResult Run(std::vector<std::string> extra, std::map<std::string, std::string> env = {},
                    const std::optional<std::string>& stdin_data = std::nullopt,
                    bool plain_http = true) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",       "--archive", archive_,
                                     "--namespace",     "test_ns",    "--registry",
                                     registry_->host(), "--workdir",  dir_.Join("work"),
                                     "--charts-oci",    "--timeout",  "10"};
    if (plain_http) argv.push_back("--plain-http");
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, stdin_data, CleanEnv(std::move(env)), dir_.path());
  }

  // The chart is in the registry, as helm would pull it.
  void ExpectChartPushed(const ProcessResult& r, const std::string& what) {
    ASSERT_EQ(r.exit_code, 0) << what << "\n" << Output(r);
    auto manifest = SkopeoInspect(Ref(kChartRef), /*raw=*/true, registry_->creds());
    ASSERT_TRUE(manifest.ok()) << what << ": " << manifest.status().ToString();
    EXPECT_EQ((*manifest)["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json")
        << what;
    EXPECT_EQ(r.stdout_text.find(kPassword), std::string::npos) << Output(r);
    EXPECT_EQ(r.stderr_text.find(kPassword), std::string::npos) << Output(r);
  }

  std::string archive_ = Archive(ChartsArchive(AppChart("1.0.0+build.7")), "charts.tgz");
};

// The bug: images pushed with the credentials of ~/.docker/config.json, and
// --charts-oci got 401. Every source of credentials reaches the chart push.
TEST_F(ChartsOciAuthTest, ChartsOciWithDockerConfigCredentialsIsNot401) {
  Write("home/.docker/config.json", AuthJson(registry_->host()));
  ExpectChartPushed(Run({}), "~/.docker/config.json");
}

// Sets environment variables for the life of the object, then puts the
// old values back.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& values) {
    for (const auto& [name, value] : values) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value.empty()) {
        unsetenv(name.c_str());
      } else {
        setenv(name.c_str(), value.c_str(), 1);
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, old] : saved_) {
      if (old) {
        setenv(name.c_str(), old->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The same bug in process: RunLoad given no resolved credentials (a caller
// other than the CLI) found the docker config for the images' connection,
// while the charts' own client went anonymous and got 401.
TEST_F(ChartsOciAuthTest, RunLoadWithDockerConfigOnlyPushesChartsWithItToo) {
  Write("dockercfg/config.json", AuthJson(registry_->host()));
  ScopedEnv env(CleanEnv({{"DOCKER_CONFIG", dir_.Join("dockercfg")}}));
  const LoadOptions options{
      .selection = {.archives = {archive_}},
      .target = {.registry = registry_->host(), .target_namespace = "test_ns", .plain_http = true},
      .charts = {.oci = true},
      .work = {.workdir = dir_.Join("inproc"), .no_blob_cache = true},
      .report = {.quiet = true},
  };
  std::ostringstream out, err;
  ASSERT_EQ(RunLoad(options, out, err), 0) << out.str() << err.str();
  auto manifest = SkopeoInspect(Ref(kChartRef), /*raw=*/true, registry_->creds());
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
}

TEST_F(ChartsOciAuthTest, ChartsOciUsesEveryCredentialSource) {
  Write("dockercfg/config.json", AuthJson(registry_->host()));
  ExpectChartPushed(Run({}, {{"DOCKER_CONFIG", dir_.Join("dockercfg")}}), "DOCKER_CONFIG");
  Write("given/auth.json", AuthJson(registry_->host()));
  ExpectChartPushed(Run({"--authfile", dir_.Join("given/auth.json")}), "--authfile");
  ExpectChartPushed(Run({}, {{"REGISTRY_AUTH_FILE", dir_.Join("given/auth.json")}}),
                    "REGISTRY_AUTH_FILE");
  ExpectChartPushed(Run({"--username", kUser, "--password-stdin"}, {},
                        std::string(kPassword) + "\n"),
                    "--username --password-stdin");
  ExpectChartPushed(Run({}, {{"PPA_IMPORT_CREDS", std::string(kUser) + ":" + kPassword}}),
                    "PPA_IMPORT_CREDS");
}

TEST_F(ChartsOciAuthTest, ChartsOciWithoutCredentialsFailsOnceNamingWhereItLooked) {
  ProcessResult r = Run({});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << Output(r);
  EXPECT_FALSE(SkopeoInspect(Ref(kChartRef), true, registry_->creds()).ok());
}

// TLS: the registry's CA given by --ca-file or --cert-dir reaches the chart
// push (no second transport with the defaults).
class ChartsOciTlsTest : public ChartsOciAuthTest {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.Join("pki"));
    auto pki = MakeTestPki(dir_.Join("pki"));
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
    StartRegistry({.username = kUser,
                   .password = kPassword,
                   .tls_certificate = pki_.server_cert,
                   .tls_key = pki_.server_key});
  }
  TestPki pki_;
};

TEST_F(ChartsOciTlsTest, ChartsOciOverTlsWithCaFileOrCertDir) {
  Write("home/.docker/config.json", AuthJson(registry_->host()));
  ProcessResult ca_file = Run({"--ca-file", pki_.ca_cert}, {}, std::nullopt, /*plain_http=*/false);
  ASSERT_EQ(ca_file.exit_code, 0) << Output(ca_file);
  EXPECT_NE(ca_file.stdout_text.find("Pushing chart 'bluecompute:1.0.0+build.7'"),
            std::string::npos)
      << Output(ca_file);
  Write("mycerts/registry-ca.crt", ReadFileOr(pki_.ca_cert));
  ProcessResult cert_dir =
      Run({"--cert-dir", dir_.Join("mycerts")}, {}, std::nullopt, /*plain_http=*/false);
  ASSERT_EQ(cert_dir.exit_code, 0) << Output(cert_dir);
}

// --- An OCI image layout target ------------------------------------------------

// The layout's index.json and the blob a descriptor names, digest checked.
nlohmann::json ReadJsonFile(const std::string& path) {
  return nlohmann::json::parse(ReadFileOr(path), nullptr, /*allow_exceptions=*/false);
}

std::string LayoutBlob(const std::string& layout, const nlohmann::json& descriptor) {
  const std::string digest = descriptor.value("digest", "");
  std::string bytes = ReadFileOr(layout + "/blobs/sha256/" + digest.substr(7));
  EXPECT_EQ(Sha256Digest(bytes), digest);
  EXPECT_EQ(bytes.size(), descriptor.value("size", uint64_t{0}));
  return bytes;
}

class ChartsOciLayoutTest : public LoadFixture {
 protected:
  void SetUp() override {}  // no registry

  ProcessResult RunLayout(std::vector<std::string> extra) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",      "--archive",  archive_,
                                     "--namespace",     "test_ns",   "--workdir",  dir_.Join("work"),
                                     "--charts-oci"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  }

  // The chart is in `layout` as a Helm OCI artifact: index.json names it
  // "<repo>:<tag>", its manifest, config and content are blobs of the
  // layout with the digests the descriptors give, and skopeo reads it.
  void ExpectChartInLayout(const std::string& layout) {
    const std::string ref = "test_ns/" + std::string(kChartRef);
    nlohmann::json index = ReadJsonFile(layout + "/index.json");
    ASSERT_TRUE(index.is_object()) << ReadFileOr(layout + "/index.json");
    nlohmann::json entry;
    for (const auto& m : index["manifests"]) {
      if (m["annotations"].value("org.opencontainers.image.ref.name", "") == ref) entry = m;
    }
    ASSERT_TRUE(entry.is_object()) << "no " << ref << " in " << index.dump();
    EXPECT_EQ(entry["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    nlohmann::json manifest = nlohmann::json::parse(LayoutBlob(layout, entry));
    EXPECT_EQ(manifest["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    nlohmann::json config = nlohmann::json::parse(LayoutBlob(layout, manifest["config"]));
    EXPECT_EQ(config["name"], "bluecompute");
    EXPECT_EQ(config["version"], "1.0.0+build.7");
    ASSERT_EQ(manifest["layers"].size(), 1u);
    EXPECT_EQ(manifest["layers"][0]["mediaType"],
              "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    // The content layer is the very chart file written to the charts folder.
    EXPECT_EQ(LayoutBlob(layout, manifest["layers"][0]),
              ReadFileOr(dir_.Join("work/charts/bluecompute-1.0.0+build.7.tgz")));
    auto raw = SkopeoInspect("oci:" + layout + ":" + ref, /*raw=*/true);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    EXPECT_EQ((*raw)["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
  }

  std::string archive_ = Archive(ChartsArchive(AppChart("1.0.0+build.7")), "charts.tgz");
};

// The bug: `--registry oci:DIR --charts-oci` requested https:///v2/...
TEST_F(ChartsOciLayoutTest, ChartsOciIntoOciLayoutIsNotHttpsWithoutHost) {
  const std::string layout = dir_.Join("layout");
  ProcessResult r = RunLayout({"--registry", "oci:" + layout, "--keep-workdir"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(Output(r).find("https:///"), std::string::npos) << Output(r);
  EXPECT_NE(r.stdout_text.find("Pushing chart 'bluecompute:1.0.0+build.7' to 'oci:" + layout +
                               ":test_ns/charts/bluecompute:1.0.0_build.7'..."),
            std::string::npos)
      << Output(r);
  ExpectChartInLayout(layout);
}

TEST_F(ChartsOciLayoutTest, ChartsOciIntoTheDefaultLayout) {
  ProcessResult r = RunLayout({"--keep-workdir"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  ExpectChartInLayout(dir_.Join("work/oci-layout"));
}

TEST_F(ChartsOciLayoutTest, ChartsOciDryRunWritesNothing) {
  const std::string layout = dir_.Join("layout");
  ProcessResult r = RunLayout({"--registry", "oci:" + layout, "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_FALSE(std::filesystem::exists(layout)) << Output(r);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("work/charts/bluecompute-1.0.0+build.7.tgz")));
}

}  // namespace
}  // namespace ppa::test
