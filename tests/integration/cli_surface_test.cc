// The command-line surface of the real `ppa-import` binary (docs/cli.md):
// every usage mistake is one Error/Hint pair with exit status 2, found
// before any work (nothing pushed to the real docker-registry, no work
// directory), and with `--json -` also one JSON object on stdout; the
// spellings people already type (--platform, --version, help) work; the
// environment and the config file mean the same for load, doctor and
// inspect.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/chartmuseum_server.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

using test::Output;
using test::ProcessResult;
using test::RunProcess;

class CliSurfaceTest : public test::LoadFixture {
 protected:
  void SetUp() override {
    LoadFixture::SetUp();
    archive_ = Archive(samples::DemoSampleSpec(), "demo.tgz");
  }

  // The binary with `args`, HOME in the test's folder (no config file unless
  // a test writes one), cwd there too.
  ProcessResult Run(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), PPA_IMPORT_BINARY);
    env.emplace("HOME", dir_.path());
    return RunProcess(args, std::nullopt, env, dir_.path());
  }

  // `load` of the demo archive into the test registry, plus `extra`.
  ProcessResult LoadWith(std::vector<std::string> extra,
                         std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"load", archive_, "--registry", registry_->host(),
                                     "--plain-http"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, env);
  }

  // Exit 2 with one Error line (starting with `error`) and one Hint line,
  // and nothing pushed or unpacked.
  void ExpectUsageError(const ProcessResult& r, const std::string& error,
                        const std::string& context) {
    EXPECT_EQ(r.exit_code, 2) << context << "\n" << Output(r);
    EXPECT_EQ(r.stderr_text.rfind("Error: " + error, 0), 0u) << context << "\n" << Output(r);
    EXPECT_NE(r.stderr_text.find("\nHint: "), std::string::npos) << context << "\n" << Output(r);
    EXPECT_EQ(r.stderr_text.find("Path does not exist"), std::string::npos) << context;
    EXPECT_FALSE(fs::exists(dir_.Join("ppa-import"))) << context << ": work directory made";
  }

  void ExpectNothingPushed() {
    ExpectAbsent("ibmcom/portal:2.1.0-amd64");
    ExpectAbsent("ibmcom/portal-db:2.1.0-amd64");
  }

  std::string WriteConfig(const std::string& text) {
    fs::create_directories(dir_.Join(".config/ppa-import"));
    std::string path = dir_.Join(".config/ppa-import/config.yaml");
    std::ofstream(path) << text;
    return path;
  }

  std::string archive_;
};

TEST_F(CliSurfaceTest, UnknownOptionsNameThemselvesBeforeThePositionalCheck) {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const Case cases[] = {
      {{"--password", "x"}, "unknown option --password; did you mean --password-stdin?"},
      {{"--password=x"}, "unknown option --password; did you mean --password-stdin?"},
      {{"--namespce", "x"}, "unknown option --namespce; did you mean --namespace?"},
      {{"--regsitry=r.example"}, "unknown option --regsitry; did you mean --registry?"},
      {{"-n", "x"}, "unknown option -n; did you mean --no-cache, --namespace"},
      {{"-z"}, "unknown option -z"},
      {{"--frobnicate", "key"}, "unknown option --frobnicate"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"load", archive_, "--namespace", "test_ns"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    ProcessResult r = Run(args);
    ExpectUsageError(r, c.error, c.args.front());
    EXPECT_NE(r.stderr_text.find("ppa-import help load"), std::string::npos) << Output(r);
  }
  // Unknown even when --namespace is missing too, and in doctor and inspect.
  ExpectUsageError(Run({"load", "--password", "x"}), "unknown option --password", "no ns");
  ExpectUsageError(Run({"doctor", "--registry", "r.example", "--pasword-stdin"}),
                   "unknown option --pasword-stdin; did you mean --password-stdin?", "doctor");
  ExpectUsageError(Run({"inspect", archive_, "--jsno"}),
                   "unknown option --jsno; did you mean --json?", "inspect");
  ExpectUsageError(Run({"lod", archive_}), "unknown command 'lod'; did you mean load?", "lod");
  // Every command is offered, the ones added last included.
  ProcessResult misspelt = Run({"completoin", "bash"});
  ExpectUsageError(misspelt, "unknown command 'completoin'; did you mean completion?", "completoin");
  EXPECT_NE(misspelt.stderr_text.find("completion and help"), std::string::npos)
      << Output(misspelt);
  ExpectUsageError(Run({"doctor", "--registry", "r.example", "extra"}),
                   "unexpected argument 'extra' for doctor", "extra");
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, VersionAndHelpCommandsWithoutInternalNoise) {
  ProcessResult version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0) << Output(version);
  EXPECT_EQ(version.stdout_text.rfind("ppa-import ", 0), 0u) << Output(version);
  ProcessResult top = Run({"help"});
  EXPECT_EQ(top.exit_code, 0) << Output(top);
  EXPECT_NE(top.stdout_text.find("load"), std::string::npos) << Output(top);
  EXPECT_NE(top.stdout_text.find("doctor"), std::string::npos) << Output(top);
  for (const char* command : {"load", "doctor", "inspect"}) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"help", command}, std::vector<std::string>{command, "--help"}}) {
      ProcessResult r = Run(args);
      EXPECT_EQ(r.exit_code, 0) << command << Output(r);
      const std::string& text = r.stdout_text;
      EXPECT_NE(text.find("Usage: ppa-import " + std::string(command)), std::string::npos)
          << Output(r);
      for (const char* noise : {"->", "{", "Env:", "/work", "/tmp", "build", "TEXT:", "INT:",
                                "(existing)", dir_.path().c_str()}) {
        EXPECT_EQ(text.find(noise), std::string::npos) << command << ": '" << noise << "'\n" << text;
      }
    }
  }
  ProcessResult load_help = Run({"help", "load"});
  EXPECT_NE(load_help.stdout_text.find("gzip|zstd|none"), std::string::npos) << load_help.stdout_text;
  EXPECT_NE(load_help.stdout_text.find("--platform"), std::string::npos) << load_help.stdout_text;
  EXPECT_NE(load_help.stdout_text.find("PPA_IMPORT_"), std::string::npos) << load_help.stdout_text;
  ExpectUsageError(Run({"help", "lod"}), "unknown command 'lod'; did you mean load?", "help lod");
}

TEST_F(CliSurfaceTest, UnknownConfigKeyIsNamedWithItsLine) {
  const std::string config = WriteConfig("registry: r.example\n# site defaults\nnamespce: portal\n");
  ProcessResult r = LoadWith({"--namespace", "test_ns"});
  ExpectUsageError(r, "config file '" + config +
                          "': line 3: unknown key 'namespce'; did you mean namespace?",
                   "default config");
  WriteConfig("plain-htpp: true\n");
  ExpectUsageError(LoadWith({"--namespace", "test_ns"}),
                   "config file '" + config + "': line 1: unknown key 'plain-htpp'; did you mean "
                   "plain-http?",
                   "plain-htpp");
  ExpectUsageError(Run({"doctor", "--registry", "127.0.0.1:1", "--plain-http"}),
                   "config file '" + config + "': line 1: unknown key 'plain-htpp'", "doctor");
  ExpectUsageError(Run({"inspect", archive_}), "config file '" + config + "': line 1", "inspect");
  // Keys of load that doctor does not have are still skipped by doctor.
  WriteConfig("compression: zstd\nworkdir: w\nkeep-workdir: true\nplain-http: true\n");
  ProcessResult doctor = Run({"doctor", "--registry", "127.0.0.1:1"});
  EXPECT_EQ(doctor.exit_code, 1) << Output(doctor);
  EXPECT_NE(doctor.stdout_text.find("http://127.0.0.1:1"), std::string::npos) << Output(doctor);
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, PpaImportVariableThatNamesNoFlagIsAUsageError) {
  for (const char* command : {"load", "doctor", "inspect"}) {
    std::vector<std::string> args = {command};
    if (std::string(command) == "doctor") {
      args.insert(args.end(), {"--registry", "127.0.0.1:1", "--plain-http"});
    } else {
      args.insert(args.end(), {archive_, "--namespace", "test_ns"});
      if (std::string(command) == "inspect") args.resize(2);
    }
    ExpectUsageError(Run(args, {{"PPA_IMPORT_NAMESPCE", "x"}}),
                     "environment variable PPA_IMPORT_NAMESPCE names no option; did you mean "
                     "PPA_IMPORT_NAMESPACE?",
                     command);
    ExpectUsageError(Run(args, {{"PPA_IMPORT_PASSWD", "x"}}),
                     "environment variable PPA_IMPORT_PASSWD names no option", command);
  }
  // The variables the code reads itself stay accepted.
  ProcessResult inspect = Run({"inspect", archive_},
                              {{"PPA_IMPORT_PASSWORD", "p"},
                               {"PPA_IMPORT_USERNAME", "u"},
                               {"PPA_IMPORT_REGISTRY", "r.example"},
                               {"PPA_IMPORT_CHARTMUSEUM_USER", "u"},
                               {"PPA_IMPORT_CHARTMUSEUM_PASSWORD", "p"},
                               {"PPA_IMPORT_CHARTMUSEUM_TOKEN", "t"},
                               {"PPA_IMPORT_NAMESPACE", "test_ns"}});
  EXPECT_EQ(inspect.exit_code, 0) << Output(inspect);
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, ShardCountNeedsAJobCompletionIndexInRange) {
  ProcessResult missing = LoadWith({"--namespace", "test_ns", "--shard-count", "2"});
  ExpectUsageError(missing, "--shard-count 2 given but JOB_COMPLETION_INDEX is not set",
                   "no index");
  EXPECT_NE(missing.stderr_text.find("--shard I/N"), std::string::npos) << Output(missing);
  for (const char* bad : {"x", "2", "-1", "17"}) {
    ExpectUsageError(
        LoadWith({"--namespace", "test_ns", "--shard-count", "2"}, {{"JOB_COMPLETION_INDEX", bad}}),
        "", bad);
  }
  ExpectUsageError(LoadWith({"--namespace", "test_ns", "--shard-count", "2"},
                            {{"PPA_IMPORT_SHARD", "0/2"}}),
                   "", "both");
  ExpectNothingPushed();
  ProcessResult other_shard =
      LoadWith({"--namespace", "test_ns", "--shard-count", "2"}, {{"JOB_COMPLETION_INDEX", "1"}});
  EXPECT_EQ(other_shard.exit_code, 0) << Output(other_shard);
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, UnwritableJsonPathIsFoundBeforeAnyWork) {
  fs::create_directories(dir_.Join("reports"));
  for (const std::string& path :
       {dir_.Join("missing/report.json"), dir_.Join("reports"), std::string("/proc/report.json"),
        dir_.Join("demo.tgz/report.json")}) {
    ExpectUsageError(LoadWith({"--namespace", "test_ns", "--json", path}), "--json ", path);
  }
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, UsageErrorWithJsonDashStillPrintsOneJsonObject) {
  const std::string empty_dir = dir_.Join("no-archives");
  std::filesystem::create_directories(empty_dir);
  const std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>> runs = {
      {{"load", archive_, "--json", "-", "--namespace", "test_ns", "--password", "x"}, {}},
      {{"load", archive_, "--json", "-"}, {}},  // --namespace missing
      {{"load", archive_, "--json", "-", "--namespace", "Bad!"}, {}},
      {{"load", archive_, "--json", "-", "--namespace", "test_ns"}, {{"PPA_IMPORT_NAMESPCE", "x"}}},
      {{"load", archive_, "--namespace", "test_ns"}, {{"PPA_IMPORT_JSON", "-"}, {"PPA_IMPORT_X", "1"}}},
      {{"load", archive_, "--json", "-", "--namespace", "test_ns", "--shard-count", "3"}, {}},
      {{"load", archive_, "--json", "-", "--namespace", "test_ns", "--chartmuseum-uri", "c:1"}, {}},
      {{"load", dir_.Join("nope.tgz"), "--json", "-", "--namespace", "test_ns"}, {}},
      // Found once the flags are parsed: a platform that is none, a
      // directory holding no archive.
      {{"load", archive_, "--json", "-", "--namespace", "test_ns", "--platform", "linux/"}, {}},
      {{"load", empty_dir, "--json", "-", "--namespace", "test_ns"}, {}},
  };
  for (const auto& [args, env] : runs) {
    ProcessResult r = Run(args, env);
    EXPECT_EQ(r.exit_code, 2) << Output(r);
    nlohmann::json j = nlohmann::json::parse(r.stdout_text, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << Output(r);
    EXPECT_EQ(j["exit_code"], 2) << Output(r);
    ASSERT_TRUE(j["error"].is_string()) << Output(r);
    EXPECT_NE(r.stderr_text.find("Error: " + j["error"].get<std::string>()), std::string::npos)
        << Output(r);
    EXPECT_TRUE(j["hint"].is_string()) << Output(r);
    EXPECT_TRUE(j["archives"].is_array()) << Output(r);
  }
  // A report FILE gets the same object.
  ProcessResult file = Run({"load", archive_, "--json", dir_.Join("r.json"), "--namespace", "B!"});
  EXPECT_EQ(file.exit_code, 2) << Output(file);
  auto j = nlohmann::json::parse(test::ReadFileOr(dir_.Join("r.json")), nullptr, false);
  EXPECT_EQ(j["exit_code"], 2) << test::ReadFileOr(dir_.Join("r.json"));
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, PlatformIsTheSpellingOfArchitectures) {
  ProcessResult one = LoadWith({"--namespace", "test_ns", "--platform", "amd64"});
  ASSERT_EQ(one.exit_code, 0) << Output(one);
  ExpectVerified("ibmcom/portal:2.1.0-amd64");
  ExpectAbsent("ibmcom/portal:2.1.0-ppc64le");
  ProcessResult both = LoadWith({"--namespace", "test_ns", "--platform", "amd64", "--platform",
                                 "ppc64le"});
  ASSERT_EQ(both.exit_code, 0) << Output(both);
  ExpectVerified("ibmcom/portal:2.1.0-ppc64le");
}

TEST_F(CliSurfaceTest, ZstdNeverMakesDockerManifests) {
  ExpectUsageError(LoadWith({"--namespace", "test_ns", "--compression", "zstd", "--format",
                             "docker"}),
                   "--compression zstd cannot be used with --format docker", "flags");
  ExpectUsageError(LoadWith({"--namespace", "test_ns"},
                            {{"PPA_IMPORT_COMPRESSION", "zstd"}, {"PPA_IMPORT_FORMAT", "docker"}}),
                   "--compression zstd cannot be used with --format docker", "env");
  WriteConfig("format: docker\n");
  ExpectUsageError(LoadWith({"--namespace", "test_ns", "--compression", "zstd"}),
                   "--compression zstd cannot be used with --format docker", "config");
  fs::remove(dir_.Join(".config/ppa-import/config.yaml"));
  ExpectNothingPushed();
  ProcessResult oci = LoadWith({"--namespace", "test_ns", "--compression", "zstd"});
  ASSERT_EQ(oci.exit_code, 0) << Output(oci);
  EXPECT_NE(oci.stderr_text.find("writing OCI manifests"), std::string::npos) << Output(oci);
  auto manifest = test::SkopeoInspect(Ref("ibmcom/portal-db:2.1.0-amd64"), /*raw=*/true);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ((*manifest)["mediaType"], "application/vnd.oci.image.manifest.v1+json") << *manifest;
}

TEST_F(CliSurfaceTest, MalformedChartMuseumUriIsRefusedBeforeAnyImageIsPushed) {
  for (const char* uri : {"charts.example:8080", "ftp://charts.example", "https://",
                          "http://charts example", "https://charts.example:port"}) {
    ProcessResult r = LoadWith({"--namespace", "test_ns", "--chartmuseum-uri", uri});
    ExpectUsageError(r, "invalid --chartmuseum-uri", uri);
    EXPECT_NE(r.stderr_text.find("https://"), std::string::npos) << Output(r);
  }
  ExpectUsageError(LoadWith({"--namespace", "test_ns"},
                            {{"PPA_IMPORT_CHARTMUSEUM_URI", "charts.example:8080"}}),
                   "invalid --chartmuseum-uri", "env");
  ExpectUsageError(Run({"doctor", "--registry", "127.0.0.1:1", "--plain-http", "--chartmuseum-uri",
                        "charts.example:8080"}),
                   "invalid --chartmuseum-uri", "doctor");
  ExpectNothingPushed();
}

TEST_F(CliSurfaceTest, ProcessListWarningOnlyForSecretsOnTheCommandLine) {
  const std::string kWarning = "process list";
  const std::string with_userinfo = "user:s3cr3tpw@" + registry_->host();
  test::ChartMuseumServerOptions museum_options;
  museum_options.username = "u";
  museum_options.password = "s3cr3tpw";
  auto museum = test::ChartMuseumServer::Start(museum_options);
  ASSERT_TRUE(museum.ok()) << museum.status().ToString();
  const std::string museum_url = (*museum)->url();
  auto run = [&](std::vector<std::string> args, std::map<std::string, std::string> env) {
    std::vector<std::string> all = {"load", archive_, "--namespace", "test_ns", "--plain-http",
                                    "--chartmuseum-uri", museum_url};
    all.insert(all.end(), args.begin(), args.end());
    return Run(all, env);
  };
  ProcessResult from_env = run({}, {{"PPA_IMPORT_REGISTRY", with_userinfo},
                                    {"PPA_IMPORT_CHARTMUSEUM_USER", "u"},
                                    {"PPA_IMPORT_CHARTMUSEUM_PASSWORD", "s3cr3tpw"}});
  EXPECT_EQ(from_env.stderr_text.find(kWarning), std::string::npos) << Output(from_env);
  WriteConfig("registry: " + with_userinfo + "\n");
  ProcessResult from_file = run({}, {});
  EXPECT_EQ(from_file.stderr_text.find(kWarning), std::string::npos) << Output(from_file);
  fs::remove(dir_.Join(".config/ppa-import/config.yaml"));
  ProcessResult url = run({"--registry", with_userinfo}, {});
  EXPECT_NE(url.stderr_text.find(kWarning), std::string::npos) << Output(url);
  ProcessResult password = run({"--registry", registry_->host(), "--chartmuseum-user", "u",
                                "--chartmuseum-password", "s3cr3tpw"},
                               {});
  EXPECT_NE(password.stderr_text.find(kWarning), std::string::npos) << Output(password);
  for (const auto* r : {&from_env, &from_file, &url, &password}) {
    EXPECT_EQ(r->stderr_text.find("s3cr3tpw"), std::string::npos) << Output(*r);
  }
}

TEST_F(CliSurfaceTest, DoctorAndInspectReadTheEnvironmentAndConfigFileOfLoad) {
  // doctor: registry, plain HTTP and namespace from the environment.
  ProcessResult doctor = Run({"doctor"}, {{"PPA_IMPORT_REGISTRY", registry_->host()},
                                          {"PPA_IMPORT_PLAIN_HTTP", "true"},
                                          {"PPA_IMPORT_NAMESPACE", "env_ns"}});
  EXPECT_NE(doctor.stdout_text.find("Checking registry '" + registry_->url() +
                                    "' for namespace 'env_ns'"),
            std::string::npos)
      << Output(doctor);
  // ... and from the config file.
  WriteConfig("registry: " + registry_->host() + "\nplain-http: true\nnamespace: file_ns\n");
  ProcessResult from_file = Run({"doctor"});
  EXPECT_NE(from_file.stdout_text.find("for namespace 'file_ns'"), std::string::npos)
      << Output(from_file);
  fs::remove(dir_.Join(".config/ppa-import/config.yaml"));
  // inspect: the work directory from the environment and from the file (a
  // path below a regular file cannot be one).
  std::ofstream(dir_.Join("not-a-dir")) << "x";
  ASSERT_EQ(Run({"inspect", archive_}).exit_code, 0);
  ProcessResult env_workdir = Run({"inspect", archive_},
                                  {{"PPA_IMPORT_WORKDIR", dir_.Join("not-a-dir/w")}});
  EXPECT_NE(env_workdir.exit_code, 0) << Output(env_workdir);
  WriteConfig("workdir: " + dir_.Join("not-a-dir/w") + "\nnamespace: x\njson: report.json\n");
  ProcessResult file_workdir = Run({"inspect", archive_});
  EXPECT_NE(file_workdir.exit_code, 0) << Output(file_workdir);
}

}  // namespace
}  // namespace ppa
