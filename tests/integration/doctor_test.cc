// End-to-end: `ppa-import doctor` (the real binary) against Debian's
// docker-registry on 127.0.0.1 (open, and with htpasswd basic auth), a
// closed port, an HTTP server that is not a registry (the ChartMuseum test
// server) and the ChartMuseum check. Nothing here leaves loopback.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/support/chartmuseum_server.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/registry_server.h"

namespace ppa::test {
namespace {

constexpr char kUser[] = "doctor";
constexpr char kPassword[] = "Dr-Pa55-never-printed";

class DoctorTest : public ::testing::Test {
 protected:
  void StartRegistry(const RegistryOptions& options = {}) {
    auto server = RegistryServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    registry_ = std::move(server).value();
  }

  // Runs `ppa-import doctor ARGS` with HOME in a temporary folder (no
  // docker config of the machine) and no credentials in the environment
  // but those in `env`.
  ProcessResult Doctor(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                       const std::optional<std::string>& stdin_data = std::nullopt) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "doctor"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* name :
         {"PPA_IMPORT_USERNAME", "PPA_IMPORT_PASSWORD", "IBMCLOUD_API_KEY", "PPA_IMPORT_REGISTRY",
          "DOCKER_CONFIG", "PPA_IMPORT_CHARTMUSEUM_PASSWORD", "PPA_IMPORT_CHARTMUSEUM_TOKEN"}) {
      env.emplace(name, "");
    }
    env["HOME"] = dir_.path();
    return RunProcess(argv, stdin_data, env, dir_.path());
  }

  std::vector<std::string> RegistryArgs(const std::string& ns = "test_ns") {
    return {"--registry", registry_->host(), "--plain-http", "--namespace", ns, "--timeout", "5"};
  }

  static void ExpectLine(const ProcessResult& r, const std::string& line_start) {
    EXPECT_NE(r.stdout_text.find("\n" + line_start), std::string::npos)
        << "missing '" << line_start << "'\n"
        << Output(r);
  }

  static void ExpectNoSecret(const ProcessResult& r, const std::string& secret) {
    EXPECT_EQ(r.stdout_text.find(secret), std::string::npos) << Output(r);
    EXPECT_EQ(r.stderr_text.find(secret), std::string::npos) << Output(r);
  }

  TempDir dir_{"ppa-doctor"};
  std::unique_ptr<RegistryServer> registry_;
};

TEST_F(DoctorTest, OpenRegistryPassesEveryCheckAndStoresNothing) {
  StartRegistry();
  ProcessResult r = Doctor(RegistryArgs());
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectLine(r, "PASS  name resolution: 127.0.0.1 resolves to 127.0.0.1");
  ExpectLine(r, "PASS  tcp connect: connected to " + registry_->host());
  ExpectLine(r, "SKIP  tls: plain HTTP");
  ExpectLine(r, "PASS  registry api: " + registry_->url() + "/v2/ answers as a registry");
  ExpectLine(r, "PASS  credentials: the registry needs no login");
  ExpectLine(r, "PASS  clock: local clock within");
  ExpectLine(r, "PASS  namespace: 'test_ns'");
  ExpectLine(r, "PASS  push permission: may push to 'test_ns/ppa-import-doctor'");
  ExpectLine(r, "SKIP  chartmuseum: no --chartmuseum-uri given");
  ExpectLine(r, "All checks passed.");
  // The throwaway upload was started and cancelled.
  EXPECT_EQ(registry_->CountLogLines("\"POST /v2/test_ns/ppa-import-doctor/blobs/uploads/"), 1)
      << registry_->ReadLog();
  EXPECT_EQ(registry_->CountLogLines("\"DELETE /v2/test_ns/ppa-import-doctor/blobs/uploads/"), 1)
      << registry_->ReadLog();
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
}

TEST_F(DoctorTest, RegistryFromEnvironmentAndPathPrefix) {
  StartRegistry();
  ProcessResult r = Doctor({"--plain-http", "--namespace", "test_ns"},
                           {{"PPA_IMPORT_REGISTRY", registry_->host() + "/mirror"}});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectLine(r, "PASS  push permission: may push to 'mirror/test_ns/ppa-import-doctor'");
}

// The config file of `load` serves doctor too: the keys doctor has are
// taken, the others (architectures...) are ignored; flags still win.
TEST_F(DoctorTest, RegistryAndNamespaceFromTheConfigFile) {
  StartRegistry();
  std::string config = dir_.Join("config.yaml");
  test::WriteFileOrDie(config, "registry: " + registry_->host() +
                                   "\nplain-http: true\nnamespace: from_file\n"
                                   "architectures: [amd64]\ntimeout: 5\n");
  ProcessResult r = Doctor({"--config", config});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectLine(r, "PASS  push permission: may push to 'from_file/ppa-import-doctor'");
  r = Doctor({"--config", config, "--namespace", "from_flag"});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectLine(r, "PASS  push permission: may push to 'from_flag/ppa-import-doctor'");
}

TEST_F(DoctorTest, BasicAuthCredentialsFromEnvironmentAreAccepted) {
  StartRegistry({kUser, kPassword});
  ProcessResult r =
      Doctor(RegistryArgs(), {{"PPA_IMPORT_USERNAME", kUser}, {"PPA_IMPORT_PASSWORD", kPassword}});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectLine(r, "PASS  registry api: " + registry_->url() + "/v2/ answers as a registry (HTTP 401");
  ExpectLine(r, std::string("PASS  credentials: PPA_IMPORT_USERNAME (user '") + kUser +
                    "', password from PPA_IMPORT_PASSWORD): accepted (basic auth)");
  ExpectLine(r, "PASS  push permission: may push to 'test_ns/ppa-import-doctor'");
  ExpectNoSecret(r, kPassword);
}

TEST_F(DoctorTest, BasicAuthCredentialsFromFlagsAreAccepted) {
  StartRegistry({kUser, kPassword});
  std::vector<std::string> args = RegistryArgs();
  args.insert(args.end(), {"--username", kUser, "--password-stdin"});
  ProcessResult r = Doctor(args, {}, std::string(kPassword) + "\n");
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectLine(r, std::string("PASS  credentials: --username (user '") + kUser +
                    "', password from --password-stdin): accepted (basic auth)");
  ExpectNoSecret(r, kPassword);
}

TEST_F(DoctorTest, WrongPasswordFailsWithLoginHintAndIsNeverPrinted) {
  StartRegistry({kUser, kPassword});
  const std::string wrong = "Wr0ng-Pa55-never-printed";
  ProcessResult r =
      Doctor(RegistryArgs(), {{"PPA_IMPORT_USERNAME", kUser}, {"PPA_IMPORT_PASSWORD", wrong}});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "FAIL  credentials: ");
  EXPECT_NE(r.stdout_text.find("401"), std::string::npos) << Output(r);
  EXPECT_NE(r.stdout_text.find("      fix: the registry refused these credentials"),
            std::string::npos)
      << Output(r);
  EXPECT_NE(r.stdout_text.find("log in again"), std::string::npos) << Output(r);
  ExpectLine(r, "SKIP  push permission: needs the 'credentials' check to pass");
  ExpectNoSecret(r, wrong);
  ExpectNoSecret(r, kPassword);
}

TEST_F(DoctorTest, MissingCredentialsSayHowToLogIn) {
  StartRegistry({kUser, kPassword});
  ProcessResult r = Doctor(RegistryArgs());
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "FAIL  credentials: the registry requires a login and no credentials were found");
  EXPECT_NE(r.stdout_text.find("      fix: log in again: "), std::string::npos) << Output(r);
}

TEST_F(DoctorTest, ClosedPortIsRefused) {
  auto closed = RefusingPort::Open();
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  const std::string host = closed->host();
  ProcessResult r = Doctor({"--registry", host, "--plain-http", "--namespace", "test_ns"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "PASS  name resolution: ");
  ExpectLine(r, "FAIL  tcp connect: connection to " + host + " refused");
  ExpectLine(r, "      fix: check the port in --registry");
  ExpectLine(r, "SKIP  registry api: needs the 'tcp connect' check to pass");
  ExpectLine(r, "SKIP  push permission: needs the 'tcp connect' check to pass");
  ExpectLine(r, "PASS  namespace: 'test_ns'");
}

TEST_F(DoctorTest, HttpsToAPlainHttpRegistrySuggestsPlainHttp) {
  StartRegistry();
  ProcessResult r = Doctor({"--registry", registry_->host(), "--namespace", "test_ns"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "FAIL  tls: " + registry_->host() + " answers plain HTTP, not TLS");
  ExpectLine(r, "      fix: use --plain-http");
  ExpectLine(r, "SKIP  registry api: needs the 'tls' check to pass");
}

TEST_F(DoctorTest, AnHttpServerThatIsNotARegistryIsNamed) {
  auto museum = ChartMuseumServer::Start();
  ASSERT_TRUE(museum.ok()) << museum.status().ToString();
  const std::string host = "127.0.0.1:" + std::to_string((*museum)->port());
  ProcessResult r = Doctor({"--registry", host, "--plain-http", "--namespace", "test_ns"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "PASS  tcp connect: connected to " + host);
  ExpectLine(r, "FAIL  registry api: http://" + host + "/v2/ answered HTTP 404");
  EXPECT_NE(r.stdout_text.find("not a registry"), std::string::npos) << Output(r);
  ExpectLine(r, "SKIP  credentials: needs the 'registry api' check to pass");
}

TEST_F(DoctorTest, NamespaceBreakingTheRulesFails) {
  StartRegistry();
  ProcessResult r = Doctor(RegistryArgs("AB"));
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "FAIL  namespace: namespace 'AB' breaks the namespace rules");
  ExpectLine(r, "      fix: a namespace has 4 to 30 characters");
  ExpectLine(r, "SKIP  push permission: needs the 'namespace' check to pass");
  EXPECT_EQ(registry_->CountBlobUploadRequests(), 0);

  std::vector<std::string> none = RegistryArgs("ab");
  none.insert(none.end(), {"--namespace-rules", "none"});
  ProcessResult relaxed = Doctor(none);
  EXPECT_EQ(relaxed.exit_code, 0) << Output(relaxed);
}

TEST_F(DoctorTest, ChartMuseumReachableAndAuthorised) {
  StartRegistry();
  auto museum = ChartMuseumServer::Start({kUser, kPassword});
  ASSERT_TRUE(museum.ok()) << museum.status().ToString();
  std::vector<std::string> args = RegistryArgs();
  args.insert(args.end(), {"--chartmuseum-uri", (*museum)->url(), "--chartmuseum-user", kUser});

  ProcessResult ok = Doctor(args, {{"PPA_IMPORT_CHARTMUSEUM_PASSWORD", kPassword}});
  EXPECT_EQ(ok.exit_code, 0) << Output(ok);
  ExpectLine(ok, "PASS  chartmuseum: " + (*museum)->url() +
                     "/index.yaml readable with the configured credentials");
  ExpectNoSecret(ok, kPassword);

  const std::string wrong = "Wr0ng-museum-pass";
  ProcessResult refused = Doctor(args, {{"PPA_IMPORT_CHARTMUSEUM_PASSWORD", wrong}});
  EXPECT_EQ(refused.exit_code, 1) << Output(refused);
  ExpectLine(refused, "FAIL  chartmuseum: ChartMuseum '" + (*museum)->url() +
                          "' refused the configured credentials (HTTP 401)");
  ExpectNoSecret(refused, wrong);
}

TEST_F(DoctorTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Doctor({}).exit_code, 2);  // no registry anywhere
  EXPECT_EQ(Doctor({"--registry", "127.0.0.1:1", "--timeout", "0"}).exit_code, 2);
  EXPECT_EQ(Doctor({"--registry", "127.0.0.1:99999"}).exit_code, 2);
  EXPECT_EQ(Doctor({"--registry", "oci:./layout"}).exit_code, 2);
  EXPECT_EQ(Doctor({"--registry", "127.0.0.1:1", "--namespace-rules", "strict"}).exit_code, 2);
}

// True when every nameserver in /etc/resolv.conf is on loopback, so that
// looking up a name makes no traffic beyond this machine.
bool ResolverIsLocal() {
  std::ifstream conf("/etc/resolv.conf");
  std::string line;
  bool any = false;
  while (std::getline(conf, line)) {
    std::istringstream words(line);
    std::string key, address;
    if (!(words >> key >> address) || key != "nameserver") continue;
    any = true;
    if (address.rfind("127.", 0) != 0 && address != "::1") return false;
  }
  return any;
}

TEST_F(DoctorTest, UnresolvableNameFailsNameResolution) {
  if (!ResolverIsLocal()) {
    GTEST_SKIP() << "the resolver in /etc/resolv.conf is not on loopback: looking up a name "
                    "would leave this machine";
  }
  ProcessResult r = Doctor({"--registry", "ppa-import-doctor.invalid:5000", "--timeout", "5"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectLine(r, "FAIL  name resolution: cannot resolve 'ppa-import-doctor.invalid'");
  ExpectLine(r, "SKIP  tcp connect: needs the 'name resolution' check to pass");
}

}  // namespace
}  // namespace ppa::test
