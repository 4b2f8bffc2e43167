// Credentials and TLS (README, "Credentials", "TLS"; pure parts and fakes): auth-file keys as
// podman writes them, the skopeo/podman lookup order over fake files and a
// fake environment, prompts through a fake terminal, credential helpers
// that fail, IBMCLOUD_API_KEY for IBM Cloud hosts only, every 401/403
// naming its source, the OAuth2 refresh-token grant, the certs.d layout,
// TLS hints and the skopeo-style flags.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "docker_io/registry/cert_dirs.h"
#include "docker_io/image/digest.h"
#include "docker_io/registry/docker_config.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"
#include "importer/cli/config_file.h"
#include "importer/cli/connection_flags.h"
#include "importer/cli/credentials.h"
#include "tests/support/fake_transport.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

using testing::FakeTransport;

std::string Auth(const std::string& user, const std::string& password) {
  return Base64Encode(user + ":" + password);
}

// --- Auth file keys ------------------------------------------------------------

TEST(AuthFileKeysTest, MostSpecificKeyWinsThenTheHost) {
  const std::string json = R"({"auths":{
      "reg:5000":{"auth":")" + Auth("host", "h") + R"("},
      "reg:5000/team":{"auth":")" + Auth("team", "t") + R"("},
      "reg:5000/team/app":{"auth":")" + Auth("app", "a") + R"("},
      "https://legacy.example/v1/":{"auth":")" + Auth("legacy", "l") + R"("},
      "other:5000":{"identitytoken":"refresh-1"}}})";
  struct Case {
    const char* repository;
    const char* user;
    const char* matched;
  } cases[] = {
      {"reg:5000/team/app", "app", "auths 'reg:5000/team/app'"},
      {"reg:5000/team/app/sub", "app", "auths 'reg:5000/team/app'"},
      {"reg:5000/team/other", "team", "auths 'reg:5000/team'"},
      {"reg:5000/elsewhere", "host", "auths 'reg:5000'"},
      {"reg:5000", "host", "auths 'reg:5000'"},
      {"REG:5000/team", "team", "auths 'reg:5000/team'"},
      {"legacy.example/ns", "legacy", "auths 'https://legacy.example/v1/'"},
  };
  for (const Case& c : cases) {
    Result<DockerConfigEntry> got = LookupAuthConfig(json, c.repository);
    ASSERT_TRUE(got.ok()) << c.repository << ": " << got.status().ToString();
    EXPECT_EQ(got->credentials.username, c.user) << c.repository;
    EXPECT_EQ(got->matched, c.matched) << c.repository;
  }
  Result<DockerConfigEntry> token = LookupAuthConfig(json, "other:5000/ns");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(token->credentials.identity_token, "refresh-1");
  Result<DockerConfigEntry> none = LookupAuthConfig(json, "reg:5001/team");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, DockerConfigEntry::Kind::kNone);
}

TEST(AuthFileKeysTest, KeysForARepository) {
  EXPECT_EQ(AuthKeysFor("Reg:5000/a/b"),
            (std::vector<std::string>{"reg:5000/a/b", "reg:5000/a", "reg:5000"}));
  EXPECT_EQ(NormalizeAuthKey("https://reg:5000/v1/"), "reg:5000");
  EXPECT_EQ(NormalizeAuthKey("reg:5000/ns/"), "reg:5000/ns");
  EXPECT_EQ(NormalizeAuthKey("index.docker.io/library"), "docker.io/library");
}

// --- The lookup order ---------------------------------------------------------

// A fake machine: HOME and XDG_RUNTIME_DIR in a temporary folder, an
// environment of its own, a fake terminal and fake credential helpers.
class CredentialOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_["HOME"] = dir_.Join("home");
    env_["XDG_RUNTIME_DIR"] = dir_.Join("run");
    io_.getenv = [this](const char* name) {
      auto it = env_.find(name);
      return it == env_.end() ? std::string() : it->second;
    };
    io_.in = &stdin_;
    io_.read_secret = [this](const std::string& prompt) -> Result<std::string> {
      prompts_.push_back(prompt);
      return std::string("typed-pw");
    };
    io_.run_helper = [this](const std::string& helper,
                            const std::string& server) -> Result<Credentials> {
      helpers_run_.push_back(helper + " " + server);
      if (helper == "broken") {
        return IoError("credential helper docker-credential-broken failed: exit status 1");
      }
      return Credentials("helper-user", "helper-pw");
    };
  }

  // Writes an auth file with credentials `user`:`user`-pw for `key`.
  std::string WriteAuthFile(const std::string& relative, const std::string& key,
                            const std::string& user) {
    const std::string path = dir_.Join(relative);
    std::string parent = path.substr(0, path.rfind('/'));
    test::RunProcess({"mkdir", "-p", parent});
    Status s = test::WriteStringToFile(
        path, R"({"auths":{")" + key + R"(":{"auth":")" + Auth(user, user + "-pw") + R"("}}})");
    EXPECT_TRUE(s.ok()) << s.ToString();
    return path;
  }

  Result<ResolvedCredentials> Resolve(CredentialRequest request = {}) {
    if (request.host.empty()) request.host = "reg:5000";
    return ResolveCredentials(request, io_);
  }

  test::TempDir dir_{"ppa-cred-order"};
  std::map<std::string, std::string> env_;
  std::istringstream stdin_;
  std::vector<std::string> prompts_;
  std::vector<std::string> helpers_run_;
  CredentialIo io_;
};

TEST_F(CredentialOrderTest, FilesInSkopeoOrder) {
  WriteAuthFile("home/.docker/config.json", "reg:5000", "docker");
  Result<ResolvedCredentials> got = Resolve();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->credentials.username, "docker");
  EXPECT_EQ(got->source, "~/.docker/config.json (auths 'reg:5000')");

  WriteAuthFile("home/.config/containers/auth.json", "reg:5000", "podman");
  got = Resolve();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "podman");
  EXPECT_EQ(got->source, "~/.config/containers/auth.json (auths 'reg:5000')");
  EXPECT_EQ(got->credentials.source, got->source);

  WriteAuthFile("run/containers/auth.json", "reg:5000", "runtime");
  got = Resolve();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "runtime");

  const std::string authfile = WriteAuthFile("elsewhere/auth.json", "reg:5000", "authfile");
  env_["REGISTRY_AUTH_FILE"] = authfile;
  got = Resolve();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "authfile");
  EXPECT_NE(got->source.find("REGISTRY_AUTH_FILE="), std::string::npos) << got->source;

  const std::string flag_file = WriteAuthFile("flag/auth.json", "reg:5000", "flagfile");
  got = Resolve({.authfile = flag_file});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "flagfile");

  env_["PPA_IMPORT_USERNAME"] = "envuser";
  env_["PPA_IMPORT_PASSWORD"] = "envpw";
  got = Resolve();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "envuser");
  EXPECT_EQ(got->source, "PPA_IMPORT_USERNAME (user 'envuser', password from PPA_IMPORT_PASSWORD)");

  got = Resolve({.creds = "creds-user:creds-pw"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "creds-user");
  EXPECT_EQ(got->credentials.password, "creds-pw");
  EXPECT_EQ(got->source, "--creds (user 'creds-user', password from --creds)");
}

TEST_F(CredentialOrderTest, AnAuthFileGivenIsTheOnlyFileRead) {
  WriteAuthFile("home/.docker/config.json", "reg:5000", "docker");
  const std::string empty = WriteAuthFile("given/auth.json", "other:1", "other");
  Result<ResolvedCredentials> got = Resolve({.authfile = empty});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->credentials.empty());
  EXPECT_NE(got->source.find("looked in: "), std::string::npos);
  EXPECT_NE(got->source.find("--authfile"), std::string::npos) << got->source;
  EXPECT_EQ(got->source.find(".docker"), std::string::npos) << got->source;
}

TEST_F(CredentialOrderTest, DockerConfigEnvReplacesTheHomeDockerFolder) {
  WriteAuthFile("home/.docker/config.json", "reg:5000", "home-docker");
  WriteAuthFile("dc/config.json", "reg:5000", "docker-config");
  env_["DOCKER_CONFIG"] = dir_.Join("dc");
  Result<ResolvedCredentials> got = Resolve();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.username, "docker-config");
}

TEST_F(CredentialOrderTest, NothingFoundSaysWhereItLooked) {
  Result<ResolvedCredentials> got = Resolve();
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->credentials.empty());
  for (const char* place : {"--creds/--username", "PPA_IMPORT_USERNAME", "IBMCLOUD_API_KEY",
                            "/run/containers/auth.json", "~/.config/containers/auth.json",
                            "~/.docker/config.json"}) {
    EXPECT_NE(got->source.find(place), std::string::npos) << place << " in " << got->source;
  }
  EXPECT_EQ(got->credentials.source, got->source);
}

TEST_F(CredentialOrderTest, IbmCloudApiKeyOnlyForIbmCloudHosts) {
  env_["IBMCLOUD_API_KEY"] = "api-key";
  for (const char* host : {"icr.io", "us.icr.io", "de.icr.io:443", "registry.ng.bluemix.net",
                           "registry.bluemix.net"}) {
    Result<ResolvedCredentials> got = Resolve({.host = host});
    ASSERT_TRUE(got.ok()) << host;
    EXPECT_EQ(got->credentials.username, "iamapikey") << host;
    EXPECT_EQ(got->credentials.password, "api-key") << host;
  }
  WriteAuthFile("home/.docker/config.json", "reg:5000", "docker");
  for (const char* host : {"reg:5000", "icr.io.evil.example", "myicr.io", "bluemix.net"}) {
    Result<ResolvedCredentials> got = Resolve({.host = host});
    ASSERT_TRUE(got.ok()) << host;
    EXPECT_NE(got->credentials.username, "iamapikey") << host;
  }
  Result<ResolvedCredentials> none = Resolve({.host = "quay.example"});
  ASSERT_TRUE(none.ok());
  EXPECT_NE(none->source.find("only for IBM Cloud"), std::string::npos) << none->source;
}

TEST_F(CredentialOrderTest, UserWithoutPasswordIsAskedOnATerminal) {
  io_.stdin_is_tty = true;
  Result<ResolvedCredentials> got = Resolve({.creds = "bob"});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->credentials.password, "typed-pw");
  got = Resolve({.username = "al"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.password, "typed-pw");
  // --password-stdin on a terminal: asked without echo, not read as a line.
  stdin_.str("visible-line\n");
  got = Resolve({.username = "cy", .password_stdin = true});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credentials.password, "typed-pw");
  EXPECT_EQ(prompts_, (std::vector<std::string>{"Password for bob@reg:5000: ",
                                                "Password for al@reg:5000: ",
                                                "Password for cy@reg:5000: "}));
}

TEST_F(CredentialOrderTest, UserWithoutPasswordOffATerminalIsAUsageError) {
  for (CredentialRequest request :
       {CredentialRequest{.creds = "bob"}, CredentialRequest{.username = "al"}}) {
    Result<ResolvedCredentials> got = Resolve(request);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
    for (const char* flag : {"--password-stdin", "PPA_IMPORT_PASSWORD", "--creds"}) {
      EXPECT_NE(got.status().hint().find(flag), std::string::npos) << got.status().hint();
    }
  }
  EXPECT_TRUE(prompts_.empty());
  // Other password sources need no terminal.
  stdin_.str("piped-pw\n");
  Result<ResolvedCredentials> piped = Resolve({.creds = "bob", .password_stdin = true});
  ASSERT_TRUE(piped.ok());
  EXPECT_EQ(piped->credentials.password, "piped-pw");
  env_["PPA_IMPORT_PASSWORD"] = "env-pw";
  Result<ResolvedCredentials> from_env = Resolve({.creds = "bob"});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->credentials.password, "env-pw");
}

TEST_F(CredentialOrderTest, FlagMistakesAreUsageErrors) {
  for (CredentialRequest request :
       {CredentialRequest{.creds = "bob:pw", .username = "al"}, CredentialRequest{.creds = ":pw"},
        CredentialRequest{.creds = "bob:"}}) {
    Result<ResolvedCredentials> got = Resolve(request);
    ASSERT_FALSE(got.ok()) << request.creds;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(got.status().ToString().find("pw"), std::string::npos) << got.status().ToString();
  }
}

TEST_F(CredentialOrderTest, CredentialHelpersAreAskedAndNamedWhenTheyFail) {
  const std::string path = dir_.Join("home/.docker/config.json");
  test::RunProcess({"mkdir", "-p", dir_.Join("home/.docker")});
  ASSERT_TRUE(test::WriteStringToFile(path, R"({"credHelpers":{"reg:5000":"fake"},
                                              "credsStore":"broken"})")
                  .ok());
  Result<ResolvedCredentials> got = Resolve();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->credentials.username, "helper-user");
  EXPECT_EQ(got->source, "docker-credential-fake (credHelpers 'reg:5000' in ~/.docker/config.json)");
  Result<ResolvedCredentials> broken = Resolve({.host = "other:1"});
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().rfind("credential helper docker-credential-broken", 0), 0u)
      << broken.status().message();
  EXPECT_NE(broken.status().message().find("credsStore"), std::string::npos);
}

// The real helper protocol: a missing program, a failing one, garbage output.
TEST(CredentialHelperFailureTest, EachFailureNamesTheHelper) {
  test::TempDir dir("ppa-helper-fail");
  auto script = [&dir](const std::string& name, const std::string& body) {
    const std::string path = dir.Join("docker-credential-" + name);
    std::ofstream(path) << "#!/bin/sh\n" << body;
    chmod(path.c_str(), 0755);
  };
  script("exits", "echo 'keychain locked' >&2; exit 3\n");
  script("garbage", "echo 'this is not json'\n");
  script("nosecret", "echo '{\"Username\":\"u\"}'\n");
  const char* old_path = std::getenv("PATH");
  std::string saved = old_path ? old_path : "/usr/bin:/bin";
  setenv("PATH", (dir.path() + ":" + saved).c_str(), 1);
  for (const char* name : {"exits", "garbage", "nosecret", "not-installed-42"}) {
    Result<Credentials> got = RunCredentialHelper(name, "reg:5000");
    ASSERT_FALSE(got.ok()) << name;
    EXPECT_EQ(got.status().message().rfind(std::string("credential helper docker-credential-") +
                                               name,
                                           0),
              0u)
        << got.status().message();
    EXPECT_FALSE(got.status().hint().empty()) << name;
  }
  setenv("PATH", saved.c_str(), 1);
}

// --- Every 401/403 names its source ----------------------------------------------

TEST(RefusalNamesSourceTest, UnauthorizedAndDenied) {
  struct Case {
    const char* label;
    Credentials credentials;
    long status;
    const char* expected;  // in the message
  } cases[] = {
      {"refused", Credentials("bob", "S3cret"), 401,
       "the credentials from ~/.config/containers/auth.json (auths 'reg:5000') were refused"},
      {"denied", Credentials("bob", "S3cret"), 403,
       "for the credentials from ~/.config/containers/auth.json (auths 'reg:5000')"},
      {"none", Credentials(), 401, "no credentials were found (looked in: --creds/--username"},
  };
  for (Case& c : cases) {
    c.credentials.source = c.credentials.empty()
                               ? "looked in: --creds/--username, ~/.docker/config.json"
                               : "~/.config/containers/auth.json (auths 'reg:5000')";
    auto fake = std::make_shared<FakeTransport>();
    fake->Always("GET", "/v2/",
                 FakeTransport::Response(c.status, {{"WWW-Authenticate", "Basic realm=\"r\""}}));
    RegistryClientOptions options;
    options.retry.max_attempts = 1;
    RegistryClient client({"reg:5000", false}, c.credentials, fake, options);
    Status ping = client.Ping();
    ASSERT_FALSE(ping.ok()) << c.label;
    EXPECT_NE(ping.message().find(c.expected), std::string::npos) << c.label << ": "
                                                                  << ping.message();
    EXPECT_EQ(ping.ToString().find("S3cret"), std::string::npos) << c.label;
    EXPECT_FALSE(ping.hint().empty()) << c.label;
  }
}

// --- identitytoken: the OAuth2 refresh-token grant ----------------------------------

TEST(IdentityTokenTest, RefreshGrantWithOneSpaceSeparatedScope) {
  auto fake = std::make_shared<FakeTransport>();
  const std::string challenge =
      "Bearer realm=\"https://auth.example/oauth2/token\",service=\"reg.example\"";
  fake->Expect("POST", "/v2/ns/app/blobs/uploads/",
               FakeTransport::Response(401, {{"WWW-Authenticate", challenge}}));
  fake->Always("POST", "/oauth2/token",
               FakeTransport::Response(200, {}, R"({"access_token":"acc","expires_in":300})"));
  fake->Always("POST", "/v2/ns/app/blobs/uploads/",
               FakeTransport::Response(201, {{"Location", "/v2/ns/app/blobs/sha256:x"}}));
  RegistryClientOptions options;
  options.retry.max_attempts = 1;
  RegistryClient client({"reg.example", false}, Credentials("", "", "refresh-42"), fake,
                        options);
  Result<bool> mounted = client.MountBlob(
      "ns/app", "sha256:" + std::string(64, 'a'), "ns/base");
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  bool granted = false;
  for (const HttpRequest& r : fake->requests()) {
    if (FakeTransport::PathOf(r.url) != "/oauth2/token") continue;
    granted = true;
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(testing::RequestHeader(r, "Content-Type"), "application/x-www-form-urlencoded");
    EXPECT_NE(r.body.find("grant_type=refresh_token"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("refresh_token=refresh-42"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("client_id=ppa-import"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("service=reg.example"), std::string::npos) << r.body;
    // One scope parameter holding both scopes, space-separated (RFC 6749 3.3).
    size_t first = r.body.find("scope=");
    ASSERT_NE(first, std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("&scope=", first + 1), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("repository%3Ans%2Fapp%3Apull%2Cpush%20repository%3Ans%2Fbase%3Apull"),
              std::string::npos)
        << r.body;
    EXPECT_TRUE(testing::RequestHeader(r, "Authorization").empty());
  }
  EXPECT_TRUE(granted);
}

// --- certs.d -------------------------------------------------------------------------

TEST(CertDirsTest, PodmanAndDockerLayouts) {
  test::TempDir dir("ppa-certs-d");
  auto touch = [&dir](const std::string& name) {
    test::RunProcess({"mkdir", "-p", dir.Join(name.substr(0, name.rfind('/')))});
    ASSERT_TRUE(test::WriteStringToFile(dir.Join(name), "x").ok());
  };
  touch("containers/reg:5000/ca.crt");
  touch("containers/reg:5000/extra.crt");
  touch("containers/reg:5000/client.cert");
  touch("containers/reg:5000/client.key");
  touch("docker/reg:5000/ca.crt");
  touch("docker/plain.example/ca.crt");
  touch("docker/other:7000/mine.cert");
  touch("docker/lonely:1/only.key");
  TransportOptions options;
  options.certs_d_roots =
      std::vector<std::string>{dir.Join("containers"), dir.Join("docker")};

  Result<ServerTlsFiles> first = TlsFilesFor(options, "reg", 5000);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->ca_files, (std::vector<std::string>{dir.Join("containers/reg:5000/ca.crt"),
                                                       dir.Join("containers/reg:5000/extra.crt")}));
  EXPECT_EQ(first->cert_file, dir.Join("containers/reg:5000/client.cert"));
  EXPECT_EQ(first->key_file, dir.Join("containers/reg:5000/client.key"));

  Result<ServerTlsFiles> port443 = TlsFilesFor(options, "plain.example", 443);
  ASSERT_TRUE(port443.ok());
  EXPECT_EQ(port443->ca_files, (std::vector<std::string>{dir.Join("docker/plain.example/ca.crt")}));

  Result<ServerTlsFiles> none = TlsFilesFor(options, "unknown", 5000);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->ca_files.empty());

  for (const char* host_port : {"other", "lonely"}) {
    Result<ServerTlsFiles> half = TlsFilesFor(options, host_port, host_port[0] == 'o' ? 7000 : 1);
    ASSERT_FALSE(half.ok()) << host_port;
    EXPECT_EQ(half.status().code(), StatusCode::kInvalidInput);
  }

  // Flags win, role by role; --cert-dir replaces the certs.d folders.
  TransportOptions flags = options;
  flags.ca_file = "/flag/ca.pem";
  Result<ServerTlsFiles> flagged = TlsFilesFor(flags, "reg", 5000);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->ca_files, (std::vector<std::string>{"/flag/ca.pem"}));
  EXPECT_EQ(flagged->cert_file, dir.Join("containers/reg:5000/client.cert"));
  flags.cert_file = "/flag/c.pem";
  flags.key_file = "/flag/c.key";
  flagged = TlsFilesFor(flags, "reg", 5000);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->cert_file, "/flag/c.pem");
  TransportOptions dir_flag = options;
  dir_flag.cert_dir = dir.Join("docker/reg:5000");
  Result<ServerTlsFiles> from_dir = TlsFilesFor(dir_flag, "unknown", 1);
  ASSERT_TRUE(from_dir.ok());
  EXPECT_EQ(from_dir->ca_files, (std::vector<std::string>{dir.Join("docker/reg:5000/ca.crt")}));
  EXPECT_TRUE(from_dir->cert_file.empty());
}

// --- TLS hints ---------------------------------------------------------------------

TEST(TlsHintTest, EachFailureItsFix) {
  struct Case {
    const char* detail;
    const char* wanted;
    const char* unwanted;
  } cases[] = {
      {"SSL certificate problem: certificate has expired", "renew", "--ca-file"},
      {"SSL certificate problem: certificate has expired", "clock", "--cert-dir"},
      {"SSL certificate problem: certificate is not yet valid", "clock", "--ca-file"},
      {"SSL certificate problem: unable to get local issuer certificate", "--ca-file", "renew"},
      {"SSL certificate problem: self-signed certificate", "--cert-dir", "renew"},
      {"SSL certificate problem: self signed certificate in certificate chain", "certs.d", "clock"},
      {"error:0A00010B:SSL routines::wrong version number", "--plain-http", "--ca-file"},
      {"SSL: no alternative certificate subject name matches target host name 'x'",
       "host name", "--ca-file"},
  };
  for (const Case& c : cases) {
    std::string hint = TlsFailureHint(c.detail, "reg:5000");
    EXPECT_NE(hint.find(c.wanted), std::string::npos) << c.detail << " -> " << hint;
    EXPECT_EQ(hint.find(c.unwanted), std::string::npos) << c.detail << " -> " << hint;
  }
  EXPECT_TRUE(IsHttpToHttpsAnswer(400, "Client sent an HTTP request to an HTTPS server.\n"));
  EXPECT_TRUE(IsHttpToHttpsAnswer(400, "<html>The plain HTTP request was sent to HTTPS port"));
  EXPECT_FALSE(IsHttpToHttpsAnswer(400, "bad request"));
  EXPECT_FALSE(IsHttpToHttpsAnswer(404, "Client sent an HTTP request to an HTTPS server."));
}

// --- The skopeo-style flags ----------------------------------------------------------

struct ParsedFlags {
  std::string registry, rules, username;
  bool plain_http = false, password_stdin = false;
  TransportOptions transport;
  CredentialFlags credentials;
};

int Parse(std::vector<std::string> args, ParsedFlags* f) {
  CLI::App app;
  AddConnectionFlags(&app, {&f->registry, &f->rules, &f->plain_http, &f->transport,
                            &f->username, &f->password_stdin, &f->credentials});
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return e.get_exit_code() == 0 ? 0 : 2;
  }
  return 0;
}

TEST(SkopeoFlagsTest, Spellings) {
  test::TempDir dir("ppa-flags");
  {
    ParsedFlags f;
    ASSERT_EQ(Parse({"--tls-verify=false"}, &f), 0);
    EXPECT_TRUE(f.transport.insecure);
  }
  for (const char* keep : {"--tls-verify", "--tls-verify=true"}) {
    ParsedFlags f;
    ASSERT_EQ(Parse({keep}, &f), 0) << keep;
    EXPECT_FALSE(f.transport.insecure) << keep;
  }
  {
    ParsedFlags f;
    ASSERT_EQ(Parse({"--creds", "bob:pw", "--authfile", "/x/auth.json", "--cert-dir", dir.path()},
                    &f),
              0);
    EXPECT_EQ(f.credentials.creds, "bob:pw");
    EXPECT_EQ(f.credentials.authfile, "/x/auth.json");
    EXPECT_EQ(f.transport.cert_dir, dir.path());
  }
  {
    ParsedFlags f;
    EXPECT_EQ(Parse({"--creds", "bob", "--username", "al"}, &f), 2);
  }
}

// The process-list warnings for the arguments `args`, with the flags bound
// to their PPA_IMPORT_* variables as load and doctor bind them.
std::vector<std::string> WarningsFor(std::vector<std::string> args) {
  ParsedFlags f;
  CLI::App app;
  AddConnectionFlags(&app, {&f.registry, &f.rules, &f.plain_http, &f.transport, &f.username,
                            &f.password_stdin, &f.credentials});
  for (CLI::Option* opt : app.get_options()) {
    if (!opt->get_lnames().empty()) opt->envname(ConfigEnvName(opt->get_lnames().front()));
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  app.parse(reversed);
  return SecretsOnCommandLineWarnings(app, f.registry, "", f.credentials);
}

TEST(SkopeoFlagsTest, ProcessListWarningOnlyForASecretOnTheCommandLine) {
  EXPECT_EQ(WarningsFor({"--creds", "bob:pw"}).size(), 1u);
  EXPECT_EQ(WarningsFor({"--registry", "bob:pw@reg:5000"}).size(), 1u);
  EXPECT_EQ(WarningsFor({"--registry", "bob:pw@reg:5000", "--creds", "al:pw"}).size(), 2u);
  // The registry forms of helm and skopeo carry user info as well.
  EXPECT_EQ(WarningsFor({"--registry", "oci://bob:pw@reg:5000"}).size(), 1u);
  EXPECT_EQ(WarningsFor({"--registry", "docker://bob:pw@reg:5000/ns"}).size(), 1u);
  EXPECT_TRUE(WarningsFor({"--registry", "oci:/srv/layout"}).empty());
  EXPECT_TRUE(WarningsFor({"--creds", "bob"}).empty());
  EXPECT_TRUE(WarningsFor({"--registry", "reg:5000"}).empty());
  EXPECT_TRUE(WarningsFor({}).empty());
  setenv("PPA_IMPORT_CREDS", "bob:pw", 1);
  setenv("PPA_IMPORT_REGISTRY", "bob:pw@reg:5000", 1);
  EXPECT_TRUE(WarningsFor({}).empty());  // the environment is not the process list
  unsetenv("PPA_IMPORT_CREDS");
  unsetenv("PPA_IMPORT_REGISTRY");
}

}  // namespace
}  // namespace ppa
