// Credentials and TLS (README, "Credentials", "TLS"), end to end: the real binary against
// Debian's docker-registry on 127.0.0.1 with htpasswd auth, bearer tokens
// (the OAuth2 refresh-token grant) or TLS with certificates made here.
//
//  - --creds, --authfile / REGISTRY_AUTH_FILE and the auth files in
//    skopeo's order; IBMCLOUD_API_KEY ignored for a non-IBM host;
//  - every refusal names the source; a failing credential helper is named;
//  - --username / --creds without a password: a prompt without echo on a
//    terminal (a pseudo-terminal here), exit 2 with real flags elsewhere;
//  - TLS: certs.d folders, --cert-dir, SSL_CERT_FILE, --tls-verify=false;
//    an expired certificate, an unknown CA, --plain-http against TLS and
//    https against plain HTTP each one Error: + Hint: with exit 1;
//  - every flag a hint of the credentials/doctor/transport code names exists.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "docker_io/image/digest.h"
#include "tests/support/load_fixture.h"
#include "tests/support/pty_process.h"
#include "tests/support/test_pki.h"
#include "tests/support/token_server.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;

constexpr char kUser[] = "cred-user";
constexpr char kPassword[] = "Cred-Pa55-w0rd-never-shown";

std::string AuthJson(const std::string& key, const std::string& user,
                     const std::string& password) {
  return R"({"auths":{")" + key + R"(":{"auth":")" + Base64Encode(user + ":" + password) +
         R"("}}})";
}

// One `Error:` line, then a `Hint:` line.
void ExpectErrorAndHint(const ProcessResult& r, const std::string& error_part,
                        const std::string& hint_part) {
  const std::string& e = r.stderr_text;
  size_t error = e.find("Error: ");
  ASSERT_NE(error, std::string::npos) << Output(r);
  size_t hint = e.find("\nHint: ", error);
  ASSERT_NE(hint, std::string::npos) << Output(r);
  std::string error_line = e.substr(error, e.find('\n', error) - error);
  std::string hint_line = e.substr(hint + 1, e.find('\n', hint + 1) - hint - 1);
  EXPECT_NE(error_line.find(error_part), std::string::npos) << error_line << "\n" << Output(r);
  EXPECT_NE(hint_line.find(hint_part), std::string::npos) << hint_line << "\n" << Output(r);
}

// A clean environment: HOME and XDG_RUNTIME_DIR in the test's folder, no
// credentials or TLS settings of the machine or the test runner.
class CredentialsFixture : public test::LoadFixture {
 protected:
  void SetUp() override { StartRegistry({kUser, kPassword}); }

  std::map<std::string, std::string> CleanEnv(std::map<std::string, std::string> env = {}) {
    std::map<std::string, std::string> clean = {
        {"HOME", dir_.Join("home")},       {"XDG_RUNTIME_DIR", dir_.Join("run")},
        {"XDG_CONFIG_HOME", ""},           {"DOCKER_CONFIG", ""},
        {"REGISTRY_AUTH_FILE", ""},        {"PPA_IMPORT_USERNAME", ""},
        {"PPA_IMPORT_PASSWORD", ""},       {"PPA_IMPORT_CREDS", ""},
        {"IBMCLOUD_API_KEY", ""},          {"SSL_CERT_FILE", ""},
        {"PPA_TEST_CERTS_D_ROOTS", dir_.Join("no-certs.d")}};
    for (auto& [k, v] : env) clean[k] = v;
    return clean;
  }

  std::vector<std::string> LoadArgv(const std::string& registry, std::vector<std::string> extra,
                                    bool plain_http = true) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",     "--archive",
                                     archive_,          "--namespace", "test_ns",
                                     "--registry",      registry,    "--workdir",
                                     dir_.Join("work"), "--timeout", "10"};
    if (plain_http) argv.push_back("--plain-http");
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  ProcessResult Run(std::vector<std::string> extra, std::map<std::string, std::string> env = {},
                    const std::optional<std::string>& stdin_data = std::nullopt) {
    return test::RunProcess(LoadArgv(registry_->host(), std::move(extra)), stdin_data,
                            CleanEnv(std::move(env)), dir_.path());
  }

  void Write(const std::string& relative, const std::string& text) {
    fs::create_directories(fs::path(dir_.Join(relative)).parent_path());
    ASSERT_TRUE(test::WriteStringToFile(dir_.Join(relative), text).ok());
  }

  void ExpectNoSecret(const ProcessResult& r) {
    EXPECT_EQ(r.stdout_text.find(kPassword), std::string::npos) << Output(r);
    EXPECT_EQ(r.stderr_text.find(kPassword), std::string::npos) << Output(r);
  }

  std::string archive_ = Archive(samples::DemoSampleSpec(), "sample.tgz");
};

TEST_F(CredentialsFixture, CredsFlagLogsInAndWarnsAboutTheProcessList) {
  ProcessResult r = Run({"--creds", std::string(kUser) + ":" + kPassword});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stderr_text.find("process list"), std::string::npos) << Output(r);
  ExpectNoSecret(r);
  EXPECT_GT(registry_->CountLogLines("\"PUT /v2/test_ns/"), 0) << "nothing was pushed";
  // The same through PPA_IMPORT_CREDS: not on the command line, no warning.
  ProcessResult env = Run({}, {{"PPA_IMPORT_CREDS", std::string(kUser) + ":" + kPassword}});
  ASSERT_EQ(env.exit_code, 0) << Output(env);
  EXPECT_EQ(env.stderr_text.find("process list"), std::string::npos) << Output(env);
}

TEST_F(CredentialsFixture, CredsUserWithPasswordFromStdinOrEnvironment) {
  ProcessResult piped =
      Run({"--creds", kUser, "--password-stdin"}, {}, std::string(kPassword) + "\n");
  ASSERT_EQ(piped.exit_code, 0) << Output(piped);
  EXPECT_EQ(piped.stderr_text.find("process list"), std::string::npos) << Output(piped);
  ProcessResult env = Run({"--creds", kUser}, {{"PPA_IMPORT_PASSWORD", kPassword}});
  ASSERT_EQ(env.exit_code, 0) << Output(env);
}

TEST_F(CredentialsFixture, UserWithoutPasswordOffATerminalIsExit2NamingRealFlags) {
  for (std::vector<std::string> flags :
       {std::vector<std::string>{"--creds", kUser}, std::vector<std::string>{"--username", kUser}}) {
    ProcessResult r = Run(flags);
    EXPECT_EQ(r.exit_code, 2) << Output(r);
    ExpectErrorAndHint(r, "no password", "--password-stdin");
    EXPECT_NE(r.stderr_text.find("PPA_IMPORT_PASSWORD"), std::string::npos) << Output(r);
    EXPECT_NE(r.stderr_text.find("--creds"), std::string::npos) << Output(r);
    EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
  }
}

TEST_F(CredentialsFixture, AuthFilesInSkopeoOrder) {
  const std::string key = registry_->host();
  // Wrong in the docker config, right in ~/.config/containers/auth.json: the
  // containers file comes first.
  Write("home/.docker/config.json", AuthJson(key, kUser, "wrong-docker"));
  Write("home/.config/containers/auth.json", AuthJson(key, kUser, kPassword));
  ProcessResult containers = Run({});
  ASSERT_EQ(containers.exit_code, 0) << Output(containers);

  // $XDG_RUNTIME_DIR/containers/auth.json comes before both.
  Write("run/containers/auth.json", AuthJson(key, kUser, "wrong-runtime"));
  ProcessResult runtime = Run({});
  EXPECT_EQ(runtime.exit_code, 1) << Output(runtime);
  EXPECT_NE(runtime.stderr_text.find("credentials from " + dir_.Join("run") +
                                     "/containers/auth.json (auths '" + key + "') were refused"),
            std::string::npos)
      << Output(runtime);

  // --authfile and REGISTRY_AUTH_FILE come first and are the only file read.
  Write("given/auth.json", AuthJson(key, kUser, kPassword));
  ProcessResult flag = Run({"--authfile", dir_.Join("given/auth.json")});
  ASSERT_EQ(flag.exit_code, 0) << Output(flag);
  ProcessResult env = Run({}, {{"REGISTRY_AUTH_FILE", dir_.Join("given/auth.json")}});
  ASSERT_EQ(env.exit_code, 0) << Output(env);
  ExpectNoSecret(env);
}

TEST_F(CredentialsFixture, RepositoryScopedKeyBeatsTheHostKey) {
  const std::string key = registry_->host();
  Write("home/.config/containers/auth.json",
        R"({"auths":{")" + key + R"(":{"auth":")" + Base64Encode(std::string(kUser) + ":wrong") +
            R"("},")" + key + R"(/test_ns":{"auth":")" +
            Base64Encode(std::string(kUser) + ":" + kPassword) + R"("}}})");
  ProcessResult r = Run({});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
}

TEST_F(CredentialsFixture, RefusedCredentialsNameTheirSource) {
  const std::string key = registry_->host();
  Write("home/.config/containers/auth.json", AuthJson(key, kUser, "Wrong-Pa55"));
  ProcessResult r = Run({});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectErrorAndHint(r,
                     "credentials from ~/.config/containers/auth.json (auths '" + key +
                         "') were refused",
                     "log in again");
  EXPECT_EQ(r.stderr_text.find("Wrong-Pa55"), std::string::npos) << Output(r);

  ProcessResult flags = Run({"--username", kUser}, {{"PPA_IMPORT_PASSWORD", "Wrong-Pa55"}});
  EXPECT_EQ(flags.exit_code, 1) << Output(flags);
  EXPECT_NE(flags.stderr_text.find("credentials from --username (user 'cred-user', password "
                                   "from PPA_IMPORT_PASSWORD) were refused"),
            std::string::npos)
      << Output(flags);
}

TEST_F(CredentialsFixture, NoCredentialsSaysWhereItLooked) {
  ProcessResult r = Run({});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectErrorAndHint(r, "no credentials were found (looked in: --creds/--username", "--creds");
  EXPECT_NE(r.stderr_text.find("~/.config/containers/auth.json"), std::string::npos) << Output(r);
  EXPECT_NE(r.stderr_text.find("~/.docker/config.json"), std::string::npos) << Output(r);
}

TEST_F(CredentialsFixture, IbmCloudApiKeyIsNotSentToOtherRegistries) {
  // The right password as an API key: 127.0.0.1 is not IBM Cloud, so it is
  // not used (before: sent as user iamapikey to every registry).
  ProcessResult r = Run({}, {{"IBMCLOUD_API_KEY", kPassword}});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("only for IBM Cloud registries"), std::string::npos) << Output(r);
  EXPECT_EQ(registry_->ReadLog().find("iamapikey"), std::string::npos);
}

TEST_F(CredentialsFixture, FailingCredentialHelperIsNamed) {
  const std::string bin = dir_.Join("bin");
  fs::create_directories(bin);
  const std::string exits = bin + "/docker-credential-locked";
  std::ofstream(exits) << "#!/bin/sh\necho 'the keychain is locked' >&2\nexit 4\n";
  chmod(exits.c_str(), 0755);
  const std::string garbage = bin + "/docker-credential-garbage";
  std::ofstream(garbage) << "#!/bin/sh\necho 'Username: nope'\n";
  chmod(garbage.c_str(), 0755);
  const char* path = std::getenv("PATH");
  for (const char* helper : {"locked", "garbage", "not-installed-42"}) {
    Write("home/.docker/config.json",
          R"({"credHelpers":{")" + registry_->host() + R"(":")" + helper + R"("}})");
    ProcessResult r = Run({}, {{"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")}});
    EXPECT_EQ(r.exit_code, 2) << helper << "\n" << Output(r);
    ExpectErrorAndHint(r, std::string("credential helper docker-credential-") + helper,
                       std::string("docker-credential-") + helper);
    EXPECT_EQ(r.stderr_text.find("registry check"), std::string::npos) << Output(r);
    EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
  }
}

// --- Prompts on a terminal (a pseudo-terminal) ----------------------------------------

TEST_F(CredentialsFixture, UsernameWithoutPasswordPromptsWithoutEcho) {
  for (std::vector<std::string> flags :
       {std::vector<std::string>{"--username", kUser}, std::vector<std::string>{"--creds", kUser},
        std::vector<std::string>{"--username", kUser, "--password-stdin"}}) {
    test::PtyResult r = test::RunOnPty(
        LoadArgv(registry_->host(), flags), CleanEnv(),
        std::string("Password for ") + kUser + "@" + registry_->host() + ": ",
        std::string(kPassword) + "\n", std::chrono::seconds(60), dir_.path());
    EXPECT_TRUE(r.answered) << flags.back() << "\n" << r.output;
    EXPECT_EQ(r.exit_code, 0) << flags.back() << "\n" << r.output;
    EXPECT_EQ(r.output.find(kPassword), std::string::npos) << "echoed:\n" << r.output;
  }
}

// Ctrl-C at the prompt ended the run with the terminal's echo still off:
// the next command the admin typed was invisible.
TEST_F(CredentialsFixture, CtrlCAtThePasswordPromptLeavesTheTerminalEchoing) {
  for (std::vector<std::string> flags :
       {std::vector<std::string>{"--username", kUser}, std::vector<std::string>{"--creds", kUser}}) {
    test::PtyResult r = test::RunOnPty(
        LoadArgv(registry_->host(), flags), CleanEnv(),
        std::string("Password for ") + kUser + "@" + registry_->host() + ": ", "\x03",
        std::chrono::seconds(60), dir_.path());
    EXPECT_TRUE(r.answered) << flags.back() << "\n" << r.output;
    EXPECT_EQ(r.exit_code, 130) << flags.back() << "\n" << r.output;
    EXPECT_TRUE(r.echo_after) << flags.back() << ": echo left off\n" << r.output;
  }
}

// --- The OAuth2 refresh-token grant (identitytoken) ------------------------------------

TEST(IdentityTokenLoadTest, IdentityTokenFromAuthJsonIsExchangedForAccessTokens) {
  test::TokenServerOptions token_options;
  token_options.refresh_token = "refresh-Identity-Token-42";
  token_options.expires_in = 60;
  auto tokens = test::TokenServer::Start(token_options);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  test::RegistryOptions options;
  options.token = test::TokenAuthOptions{(*tokens)->realm(), token_options.service,
                                         token_options.issuer, (*tokens)->cert_path()};
  auto registry = test::RegistryServer::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  test::TempDir dir("ppa-identity-token");
  const std::string archive = dir.Join("sample.tgz");
  ASSERT_TRUE(samples::WritePpaArchive(samples::DemoSampleSpec(), archive).ok());
  fs::create_directories(dir.Join("home/.config/containers"));
  ASSERT_TRUE(test::WriteStringToFile(
                  dir.Join("home/.config/containers/auth.json"),
                  R"({"auths":{")" + (*registry)->host() +
                      R"(":{"auth":"","identitytoken":"refresh-Identity-Token-42"}}})")
                  .ok());
  ProcessResult r = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns", "--registry",
       (*registry)->host(), "--plain-http", "--workdir", dir.Join("work")},
      std::nullopt,
      {{"HOME", dir.Join("home")}, {"XDG_RUNTIME_DIR", dir.Join("run")},
       {"DOCKER_CONFIG", ""}, {"REGISTRY_AUTH_FILE", ""}, {"PPA_IMPORT_USERNAME", ""},
       {"PPA_IMPORT_PASSWORD", ""}, {"IBMCLOUD_API_KEY", ""}},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_GT((*tokens)->refresh_grants(), 0);
  EXPECT_EQ(r.stderr_text.find("refresh-Identity-Token-42"), std::string::npos) << Output(r);
}

// --- TLS -------------------------------------------------------------------------------

class TlsFixture : public CredentialsFixture {
 protected:
  void SetUp() override {}
  void StartTls(bool expired) {
    fs::create_directories(dir_.Join("pki"));
    auto pki = test::MakeTestPki(dir_.Join("pki"), expired);
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
    test::RegistryOptions options;
    options.tls_certificate = pki_.server_cert;
    options.tls_key = pki_.server_key;
    StartRegistry(options);
  }
  ProcessResult RunTls(std::vector<std::string> extra,
                       std::map<std::string, std::string> env = {}) {
    return test::RunProcess(LoadArgv(registry_->host(), std::move(extra), /*plain_http=*/false),
                            std::nullopt, CleanEnv(std::move(env)), dir_.path());
  }
  test::TestPki pki_;
};

TEST_F(TlsFixture, UnknownCaNamesCaFileCertDirAndCertsD) {
  ASSERT_NO_FATAL_FAILURE(StartTls(false));
  ProcessResult r = RunTls({});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectErrorAndHint(r, "certificate", "--ca-file");
  EXPECT_NE(r.stderr_text.find("--cert-dir"), std::string::npos) << Output(r);
  EXPECT_NE(r.stderr_text.find("certs.d/" + registry_->host()), std::string::npos) << Output(r);
}

TEST_F(TlsFixture, CertsDFolderCertDirAndSslCertFileAreTrusted) {
  ASSERT_NO_FATAL_FAILURE(StartTls(false));
  // /etc/containers/certs.d/HOST:PORT/ca.crt (its root moved for the test).
  Write("certs.d/containers/" + registry_->host() + "/ca.crt",
        test::ReadFileOr(pki_.ca_cert));
  ProcessResult containers = RunTls(
      {}, {{"PPA_TEST_CERTS_D_ROOTS", dir_.Join("certs.d/containers") + ":" +
                                          dir_.Join("certs.d/docker")}});
  ASSERT_EQ(containers.exit_code, 0) << Output(containers);
  // /etc/docker/certs.d/HOST:PORT/ca.crt.
  Write("certs.d/docker/" + registry_->host() + "/ca.crt", test::ReadFileOr(pki_.ca_cert));
  ProcessResult docker = RunTls(
      {}, {{"PPA_TEST_CERTS_D_ROOTS",
            dir_.Join("certs.d/empty") + ":" + dir_.Join("certs.d/docker")}});
  ASSERT_EQ(docker.exit_code, 0) << Output(docker);
  // --cert-dir with any *.crt.
  Write("mycerts/registry-ca.crt", test::ReadFileOr(pki_.ca_cert));
  ProcessResult cert_dir = RunTls({"--cert-dir", dir_.Join("mycerts")});
  ASSERT_EQ(cert_dir.exit_code, 0) << Output(cert_dir);
  // SSL_CERT_FILE as the CA bundle.
  ProcessResult bundle = RunTls({}, {{"SSL_CERT_FILE", pki_.ca_cert}});
  ASSERT_EQ(bundle.exit_code, 0) << Output(bundle);
}

TEST_F(TlsFixture, TlsVerifyFalseIsInsecure) {
  ASSERT_NO_FATAL_FAILURE(StartTls(false));
  ProcessResult r = RunTls({"--tls-verify=false"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stderr_text.find("NOT verified"), std::string::npos) << Output(r);
}

TEST_F(TlsFixture, ExpiredCertificateSaysRenewOrClockNotCaFile) {
  ASSERT_NO_FATAL_FAILURE(StartTls(true));
  ProcessResult r = RunTls({"--ca-file", pki_.ca_cert});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectErrorAndHint(r, "expired", "renew");
  EXPECT_NE(r.stderr_text.find("clock"), std::string::npos) << Output(r);
  size_t hint = r.stderr_text.find("Hint: ");
  ASSERT_NE(hint, std::string::npos);
  EXPECT_EQ(r.stderr_text.find("--ca-file", hint), std::string::npos) << Output(r);
}

TEST_F(TlsFixture, PlainHttpAgainstTlsSaysDropPlainHttp) {
  ASSERT_NO_FATAL_FAILURE(StartTls(false));
  ProcessResult r = RunTls({"--plain-http"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectErrorAndHint(r, "HTTPS", "drop --plain-http");
}

// Pins the reverse direction (it was mapped before the other TLS hints).
TEST_F(CredentialsFixture, HttpsAgainstPlainHttpSaysUsePlainHttp) {
  ProcessResult r = test::RunProcess(
      LoadArgv(registry_->host(), {}, /*plain_http=*/false), std::nullopt,
      CleanEnv({{"PPA_IMPORT_USERNAME", kUser}, {"PPA_IMPORT_PASSWORD", kPassword}}),
      dir_.path());
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectErrorAndHint(r, registry_->host(), "use --plain-http");
}

TEST_F(TlsFixture, DoctorFindsTheCaInCertsD) {
  ASSERT_NO_FATAL_FAILURE(StartTls(false));
  Write("certs.d/" + registry_->host() + "/ca.crt", test::ReadFileOr(pki_.ca_cert));
  ProcessResult r = test::RunProcess(
      {PPA_IMPORT_BINARY, "doctor", "--registry", registry_->host(), "--timeout", "5"},
      std::nullopt, CleanEnv({{"PPA_TEST_CERTS_D_ROOTS", dir_.Join("certs.d")}}), dir_.path());
  EXPECT_NE(r.stdout_text.find("PASS  tls: handshake with"), std::string::npos) << Output(r);
}

// --- Hints name only flags that exist ----------------------------------------------------

TEST(HintFlagsTest, EveryFlagNamedInCredentialAndTlsCodeExists) {
  std::set<std::string> known;
  for (const char* command : {"load", "doctor"}) {
    ProcessResult help = test::RunProcess({PPA_IMPORT_BINARY, command, "--help"});
    std::regex flag("--[a-z][a-z0-9-]*");
    for (std::sregex_iterator it(help.stdout_text.begin(), help.stdout_text.end(), flag), end;
         it != end; ++it) {
      known.insert(it->str());
    }
  }
  ASSERT_TRUE(known.count("--creds")) << "load --help lists no --creds";
  const std::string root = std::string(PPA_TEST_DATA_DIR) + "/../..";
  std::regex flag_in_text("[^a-z0-9-](--[a-z][a-z0-9-]*)");
  for (const char* file :
       {"importer/cli/credentials.cc", "importer/cli/connection_flags.cc", "importer/commands/doctor.cc",
        "docker_io/registry/registry_client.cc", "docker_io/registry/curl_transport.cc",
        "docker_io/registry/docker_config.cc", "docker_io/registry/cert_dirs.cc", "docker_io/registry/registry_errors.cc"}) {
    std::string text = test::ReadFileOr(root + "/" + file);
    ASSERT_FALSE(text.empty()) << file;
    for (std::sregex_iterator it(text.begin(), text.end(), flag_in_text), end; it != end; ++it) {
      std::string name = (*it)[1].str();
      if (name == "--help") continue;
      EXPECT_TRUE(known.count(name)) << file << " names " << name
                                     << ", which neither load nor doctor has";
    }
  }
}

}  // namespace
}  // namespace ppa
