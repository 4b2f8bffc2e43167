// Hostile servers (README, "Security"): the real `ppa-import load` against small
// misbehaving servers on 127.0.0.1 (tests/support/hostile_http_server.h).
//
// Class 2, credentials downgraded to plain HTTP: an HTTPS registry (or
// ChartMuseum) that points ppa-import at plain HTTP (a token realm, a
// redirect, an upload Location) gets nothing sent there; the run fails
// with an Error and a Hint naming that host. Plain HTTP the user asked for
// (--plain-http) still works, token realm included.
//
// Class 11, no overall deadline: a server that never answers, stalls after
// its headers, trickles bytes forever or sends an endless body fails the
// run within the bound of --timeout (about two timeouts, retries
// included), with the server (host:port) named in one Error line.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/integration/charts_support.h"
#include "tests/support/hostile_http_server.h"
#include "tests/support/process.h"
#include "tests/support/registry_server.h"
#include "tests/support/token_server.h"

namespace ppa {
namespace {

using std::chrono::seconds;
using test::HostileBehavior;
using test::HostileHttpServer;
using test::HostileRoute;
using test::HostileServerOptions;
using test::Output;
using test::ProcessResult;

constexpr char kUser[] = "hostile-user";
constexpr char kPassword[] = "Hostile-PW-never-in-clear";
// A run that is not over after this long is killed (exit 137): the test
// fails instead of hanging when a bound is missing.
constexpr int kKillAfterSeconds = 150;

// One small image (one layer), tagged through RepoTags.
samples::PpaArchiveSpec OneImageSpec() {
  samples::ImageSpec image;
  image.repo_tags = {"ibmcom/hostile-app:1.0"};
  image.layers = {samples::LayerSpec{}};
  samples::PpaArchiveSpec spec;
  spec.images.push_back(
      {"images/hostile-app.tar", samples::ImageTarballSpec{samples::ImageTarballFormat::kDockerLegacy,
                                                           false, 6, {image}}});
  return spec;
}

class HostileServersTest : public ::testing::Test {
 protected:
  std::unique_ptr<HostileHttpServer> StartServer(bool tls) {
    HostileServerOptions options;
    options.tls = tls;
    auto server = HostileHttpServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return server.ok() ? std::move(server).value() : nullptr;
  }

  std::string Archive(const samples::PpaArchiveSpec& spec) {
    std::string path = dir_.Join("archive.tgz");
    Status s = samples::WritePpaArchive(spec, path);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return path;
  }

  // `ppa-import load ARCHIVE --namespace test_ns ARGS...` in the test's
  // directory (HOME too), killed after kKillAfterSeconds; `elapsed_` is set.
  ProcessResult Load(const std::string& archive, std::vector<std::string> args,
                     std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {"timeout", "-s", "KILL", std::to_string(kKillAfterSeconds),
                                     PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns"};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace("HOME", dir_.path());
    auto started = std::chrono::steady_clock::now();
    ProcessResult r = test::RunProcess(argv, std::nullopt, env, dir_.path());
    elapsed_ = std::chrono::steady_clock::now() - started;
    return r;
  }

  std::map<std::string, std::string> CredentialsEnv() {
    return {{"PPA_IMPORT_USERNAME", kUser}, {"PPA_IMPORT_PASSWORD", kPassword}};
  }

  // The run failed with one Error line naming `server`, a Hint, and no secret.
  void ExpectFailureNaming(const ProcessResult& r, const std::string& server) {
    EXPECT_EQ(r.exit_code, 1) << Output(r);
    const std::string& err = r.stderr_text;
    size_t error = err.find("Error: ");
    ASSERT_NE(error, std::string::npos) << Output(r);
    std::string line = err.substr(error, err.find('\n', error) - error);
    EXPECT_NE(line.find(server), std::string::npos) << "the Error line names " << server << "\n"
                                                    << Output(r);
    EXPECT_NE(err.find("Hint: "), std::string::npos) << Output(r);
    EXPECT_EQ((r.stdout_text + err).find(kPassword), std::string::npos) << Output(r);
  }

  // A plain-HTTP server that would hand out tokens, and records who asked.
  std::unique_ptr<HostileHttpServer> StartTrap() {
    auto server = StartServer(false);
    if (server) server->SetRoutes({HostileRoute{.body = R"({"token":"tok","expires_in":300})"}});
    return server;
  }

  // Nothing at all reached the plain-HTTP server.
  void ExpectNothingReached(const HostileHttpServer& trap) {
    for (const test::SeenRequest& seen : trap.Requests()) {
      ADD_FAILURE() << "plain HTTP got " << seen.method << " " << seen.path
                    << (seen.authorization.empty() ? "" : " with Authorization")
                    << (seen.body.empty() ? "" : " with a body of " +
                                                     std::to_string(seen.body.size()) + " bytes");
    }
  }

  test::TempDir dir_{"ppa-hostile-servers"};
  std::chrono::steady_clock::duration elapsed_{};
};

// ---------------------------------------------------------------------------
// Class 2: credentials downgraded to plain HTTP

TEST_F(HostileServersTest, HttpsRegistryWithHttpTokenRealmGetsNoCredentialsOverPlainHttp) {
  auto trap = StartTrap();
  auto registry = StartServer(true);
  ASSERT_TRUE(trap && registry);
  registry->SetRoutes({HostileRoute{
      .challenge = "Bearer realm=\"" + trap->url() + "/token\",service=\"hostile\""}});
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", registry->host(), "--ca-file", registry->cert_path()},
                         CredentialsEnv());
  ExpectNothingReached(*trap);
  ExpectFailureNaming(r, trap->host());
  EXPECT_NE(r.stderr_text.find("plain HTTP"), std::string::npos) << Output(r);
}

TEST_F(HostileServersTest, HttpsRegistryWithHttpTokenRealmOnAnotherHostGetsNoCredentials) {
  auto trap = StartTrap();
  auto registry = StartServer(true);
  ASSERT_TRUE(trap && registry);
  const std::string other_host = "localhost:" + std::to_string(trap->port());
  registry->SetRoutes({HostileRoute{
      .challenge = "Bearer realm=\"http://" + other_host + "/token\",service=\"hostile\""}});
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", registry->host(), "--ca-file", registry->cert_path()},
                         CredentialsEnv());
  ExpectNothingReached(*trap);
  ExpectFailureNaming(r, other_host);
}

// A refresh token (docker config "identitytoken") travels in a POST body.
TEST_F(HostileServersTest, RefreshTokenIsNeverPostedToAnHttpTokenRealm) {
  auto trap = StartTrap();
  auto registry = StartServer(true);
  ASSERT_TRUE(trap && registry);
  registry->SetRoutes({HostileRoute{
      .challenge = "Bearer realm=\"" + trap->url() + "/oauth2/token\",service=\"hostile\""}});
  const std::string refresh_token = "refresh-TOKEN-never-in-clear";
  // $DOCKER_CONFIG is the directory of config.json.
  ASSERT_TRUE(test::WriteStringToFile(dir_.Join("config.json"),
                                      R"({"auths":{")" + registry->host() +
                                          R"(":{"identitytoken":")" + refresh_token + R"("}}})")
                  .ok());
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", registry->host(), "--ca-file", registry->cert_path()},
                         {{"DOCKER_CONFIG", dir_.path()}});
  ExpectNothingReached(*trap);
  ExpectFailureNaming(r, trap->host());
  EXPECT_EQ((r.stdout_text + r.stderr_text).find(refresh_token), std::string::npos);
}

// The blob check (HEAD, the one request that follows redirects) is
// redirected from HTTPS to plain HTTP: not followed.
TEST_F(HostileServersTest, BlobCheckRedirectedFromHttpsToHttpIsNotFollowed) {
  auto trap = StartTrap();
  auto registry = StartServer(true);
  ASSERT_TRUE(trap && registry);
  registry->SetRoutes(
      {HostileRoute{.method = "GET", .path_prefix = "/v2/", .challenge = "Basic realm=\"hostile\""},
       HostileRoute{.method = "HEAD",
                    .path_prefix = "/v2/",
                    .status = 307,
                    .headers = {{"Location", trap->url() + "/storage/blob"}},
                    .challenge = "Basic realm=\"hostile\""}});
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", registry->host(), "--ca-file", registry->cert_path()},
                         CredentialsEnv());
  ExpectNothingReached(*trap);
  ExpectFailureNaming(r, registry->host());
  EXPECT_NE(r.stderr_text.find("plain HTTP"), std::string::npos) << Output(r);
}

// The upload session's Location points at plain HTTP: the PUT (the blob,
// and Authorization were it the same origin) is not sent there.
TEST_F(HostileServersTest, UploadLocationOnPlainHttpIsRefused) {
  auto trap = StartTrap();
  auto registry = StartServer(true);
  ASSERT_TRUE(trap && registry);
  const std::string basic = "Basic realm=\"hostile\"";
  registry->SetRoutes(
      {HostileRoute{.method = "GET", .path_prefix = "/v2/", .challenge = basic},
       HostileRoute{.method = "HEAD", .path_prefix = "/v2/", .status = 404, .challenge = basic},
       HostileRoute{.method = "POST",
                    .path_prefix = "/v2/",
                    .status = 202,
                    .headers = {{"Location", trap->url() + "/v2/test_ns/uploads/1"}},
                    .challenge = basic}});
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", registry->host(), "--ca-file", registry->cert_path()},
                         CredentialsEnv());
  ExpectNothingReached(*trap);
  ExpectFailureNaming(r, trap->host());
  EXPECT_NE(r.stderr_text.find("plain HTTP"), std::string::npos) << Output(r);
}

// ChartMuseum over HTTPS redirecting to plain HTTP: its requests carry
// Basic credentials and never follow redirects.
TEST_F(HostileServersTest, ChartMuseumRedirectToPlainHttpCarriesNothingThere) {
  auto trap = StartTrap();
  auto museum = StartServer(true);
  ASSERT_TRUE(trap && museum);
  museum->SetRoutes({HostileRoute{.status = 307, .headers = {{"Location", trap->url() + "/api/charts"}}}});
  ProcessResult r =
      Load(Archive(test::ChartsArchive(test::AppChart())),
           {"--chartmuseum-uri", museum->url(), "--chartmuseum-user", kUser, "--ca-file",
            museum->cert_path()},
           {{"PPA_IMPORT_CHARTMUSEUM_PASSWORD", kPassword}});
  ExpectNothingReached(*trap);
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_FALSE(museum->Requests().empty());
  EXPECT_EQ((r.stdout_text + r.stderr_text).find(kPassword), std::string::npos) << Output(r);
}

// What the user asked for still works: a plain-HTTP registry (--plain-http)
// whose token realm is plain HTTP on the same host gets the credentials.
TEST_F(HostileServersTest, PlainHttpRegistryWithPlainHttpRealmOnItsHostStillWorks) {
  test::TokenServerOptions token_options;
  token_options.username = kUser;
  token_options.password = kPassword;
  token_options.expires_in = 300;
  auto tokens = test::TokenServer::Start(token_options);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  test::RegistryOptions options;
  options.token = test::TokenAuthOptions{(*tokens)->realm(), token_options.service,
                                         token_options.issuer, (*tokens)->cert_path()};
  auto registry = test::RegistryServer::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", (*registry)->host(), "--plain-http"}, CredentialsEnv());
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_GE((*tokens)->tokens_issued(), 1);
}

// ---------------------------------------------------------------------------
// Class 11: no request without a deadline

// With --timeout 2 a silent server costs about two timeouts (~4.5 s).
constexpr seconds kSmallTimeoutBound{20};

// Silent after accepting, stalling after its headers, or one byte every
// 300 ms (never silent, never done): each fails within the timeout, named.
TEST_F(HostileServersTest, SilentStallingAndTricklingRegistriesFailWithinTheTimeout) {
  struct Case {
    const char* label;
    HostileBehavior behavior;
    const char* message;
  };
  for (const Case& c : {Case{"silent", HostileBehavior::kSilent, "no answer within 2 s"},
                        Case{"stall", HostileBehavior::kStallAfterHeaders, "stalled"},
                        Case{"trickle", HostileBehavior::kTrickle, "no complete answer within 2 s"}}) {
    SCOPED_TRACE(c.label);
    auto registry = StartServer(false);
    ASSERT_TRUE(registry);
    registry->SetRoutes({HostileRoute{.behavior = c.behavior}});
    ProcessResult r = Load(Archive(OneImageSpec()),
                           {"--registry", registry->host(), "--plain-http", "--timeout", "2"});
    ExpectFailureNaming(r, registry->host());
    EXPECT_LT(elapsed_, kSmallTimeoutBound) << Output(r);
    EXPECT_NE(r.stderr_text.find(c.message), std::string::npos) << Output(r);
  }
}

// An endless chunked token answer, at full speed and default settings:
// cut at the size limit of an answer held in memory.
TEST_F(HostileServersTest, EndlessChunkedTokenAnswerIsCutAtTheSizeLimit) {
  auto registry = StartServer(false);
  ASSERT_TRUE(registry);
  registry->SetRoutes(
      {HostileRoute{.path_prefix = "/token", .behavior = HostileBehavior::kEndlessChunked},
       HostileRoute{.challenge = "Bearer realm=\"" + registry->url() + "/token\",service=\"h\""}});
  ProcessResult r = Load(Archive(OneImageSpec()), {"--registry", registry->host(), "--plain-http"},
                         CredentialsEnv());
  ExpectFailureNaming(r, registry->host());
  EXPECT_LT(elapsed_, kSmallTimeoutBound) << Output(r);
  EXPECT_NE(r.stderr_text.find("longer than 4 MiB"), std::string::npos) << Output(r);
}

TEST_F(HostileServersTest, SilentTokenServerFailsWithinTheTimeoutAndIsNamed) {
  auto registry = StartServer(false);
  auto token_server = StartServer(false);
  ASSERT_TRUE(registry && token_server);
  token_server->SetRoutes({HostileRoute{.behavior = HostileBehavior::kSilent}});
  // The realm is on the registry's host (127.0.0.1): --plain-http covers it.
  registry->SetRoutes({HostileRoute{
      .challenge = "Bearer realm=\"" + token_server->url() + "/token\",service=\"h\""}});
  ProcessResult r = Load(Archive(OneImageSpec()),
                         {"--registry", registry->host(), "--plain-http", "--timeout", "2"},
                         CredentialsEnv());
  ExpectFailureNaming(r, token_server->host());
  EXPECT_LT(elapsed_, kSmallTimeoutBound) << Output(r);
  EXPECT_FALSE(token_server->Requests().empty());
}

// The registry answers until the manifest push, whose error body never ends.
TEST_F(HostileServersTest, EndlessManifestErrorBodyIsCutAtTheSizeLimit) {
  auto registry = StartServer(false);
  ASSERT_TRUE(registry);
  registry->SetRoutes({HostileRoute{.method = "GET", .path_prefix = "/v2/", .body = "{}"},
                       HostileRoute{.method = "HEAD", .path_prefix = "/v2/"},  // blobs are there
                       HostileRoute{.method = "PUT",
                                    .path_prefix = "/v2/",
                                    .behavior = HostileBehavior::kEndlessChunked,
                                    .status = 400}});
  ProcessResult r = Load(Archive(OneImageSpec()), {"--registry", registry->host(), "--plain-http"});
  ExpectFailureNaming(r, registry->host());
  EXPECT_LT(elapsed_, kSmallTimeoutBound) << Output(r);
  EXPECT_NE(r.stderr_text.find("longer than 4 MiB"), std::string::npos) << Output(r);
}

// With the defaults (--timeout 20), a silent registry costs two timeouts
// and one backoff: well within a minute.
TEST_F(HostileServersTest, SilentRegistryFailsWithinAMinuteWithDefaults) {
  auto registry = StartServer(false);
  ASSERT_TRUE(registry);
  registry->SetRoutes({HostileRoute{.behavior = HostileBehavior::kSilent}});
  ProcessResult r = Load(Archive(OneImageSpec()), {"--registry", registry->host(), "--plain-http"});
  ExpectFailureNaming(r, registry->host());
  EXPECT_LT(elapsed_, seconds(60)) << Output(r);
  EXPECT_NE(r.stderr_text.find("gave up on " + registry->host()), std::string::npos) << Output(r);
}

}  // namespace
}  // namespace ppa
