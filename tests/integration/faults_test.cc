// Faults on the way to the registry (README, Security): the real binary pushes
// through a fault-injecting proxy (tests/support/fault_proxy.h) in front of
// Debian's docker-registry. Transient faults are retried, a registry that
// refuses connections for a few seconds (restarting) is waited for, tokens
// that expire mid-run are renewed, and every image lands verified (skopeo
// reads straight from the registry, not through the proxy); faults that
// never stop fail cleanly, with exit 1, one line per failure and a hint, in
// bounded time.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "tests/support/fault_proxy.h"
#include "tests/support/load_fixture.h"
#include "tests/support/token_server.h"

namespace ppa {
namespace {

using test::FaultKind;
using test::FaultProxy;
using test::FaultRule;
using test::Output;
using test::ProcessResult;

// The demo sample with a 32 MiB incompressible layer added to one image.
samples::PpaArchiveSpec LargeSpec() { return test::DemoSampleWithLargeLayer(8, 4u << 20, 777); }

// A mixed schedule of transient faults: each kind fires a few times, spread
// over the run, so that no single request fails more often than the client's
// retry budget. The schedule counts requests across the whole run, so runs
// under it send one request at a time (kOneAtATime): with layers uploaded in
// parallel, one request's retries can land on several rules' turns in a row
// (seen once under ASan: five faults on one HEAD). Parallel uploads through
// faults are exercised by the stress run (scripts/test.sh --stress).
const std::vector<std::string> kOneAtATime = {"--jobs", "1"};
std::vector<FaultRule> TransientFaults() {
  std::vector<FaultRule> rules;
  FaultRule refuse{FaultKind::kRefuse};
  refuse.every = 7, refuse.limit = 2;
  FaultRule reset{FaultKind::kResetBody};
  reset.every = 2, reset.limit = 3, reset.reset_after_bytes = 256 << 10;
  FaultRule s503{FaultKind::kStatus};
  s503.status = 503, s503.every = 4, s503.limit = 4;
  FaultRule s502{FaultKind::kStatus};
  s502.status = 502, s502.method = "HEAD", s502.every = 3, s502.limit = 2;
  FaultRule s500{FaultKind::kStatus};
  s500.status = 500, s500.method = "PUT", s500.path_contains = "/manifests/", s500.limit = 1;
  FaultRule s429{FaultKind::kStatus};
  s429.status = 429, s429.retry_after = "1", s429.every = 5, s429.limit = 2;
  FaultRule stall{FaultKind::kStall};
  stall.stall = std::chrono::milliseconds(1500), stall.every = 6, stall.limit = 2;
  return {refuse, reset, s503, s502, s500, s429, stall};
}

class FaultsTest : public test::LoadFixture {
 protected:
  void SetUp() override {
    StartRegistry();
    auto proxy = FaultProxy::Start(registry_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value();
  }

  // `ppa-import load` with the proxy as the registry.
  ProcessResult LoadViaProxy(const std::string& archive, std::vector<std::string> extra = {},
                             std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",        archive,
                                     "--namespace",     "test_ns",     "--registry",
                                     proxy_->host(),    "--plain-http"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("HOME", dir_.path());
    return test::RunProcess(argv, std::nullopt, env, dir_.path());
  }

  void ExpectEveryKindInjected() {
    for (FaultKind kind :
         {FaultKind::kRefuse, FaultKind::kResetBody, FaultKind::kStatus, FaultKind::kStall}) {
      EXPECT_GT(proxy_->Injected(kind), 0)
          << "fault kind " << static_cast<int>(kind) << " never fired: the schedule tests nothing";
    }
  }

  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultsTest, SampleThroughTransientFaultsLandsVerified) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  proxy_->SetRules(TransientFaults());
  auto started = std::chrono::steady_clock::now();
  std::vector<std::string> flags = kOneAtATime;
  flags.push_back("-v");
  ProcessResult r = LoadViaProxy(archive, flags);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120));
  EXPECT_NE(r.stderr_text.find("retrying in"), std::string::npos) << r.stderr_text;
  ExpectEveryKindInjected();
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref);
}

TEST_F(FaultsTest, LargeArchiveThroughResetsAnd503sAnd429sLandsVerified) {
  std::string archive = Archive(LargeSpec(), "large.tgz");
  std::vector<FaultRule> rules = TransientFaults();
  // Cut the big monolithic blob upload half way, twice.
  FaultRule big_reset{FaultKind::kResetBody};
  big_reset.method = "PUT", big_reset.path_contains = "/blobs/uploads/", big_reset.limit = 2;
  big_reset.reset_after_bytes = 8u << 20;
  rules.insert(rules.begin(), big_reset);
  proxy_->SetRules(rules);
  ProcessResult r = LoadViaProxy(archive, kOneAtATime);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  ExpectEveryKindInjected();
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref);
}

TEST_F(FaultsTest, UploadsThatAlwaysFailEndWithExit1OneLinePerImageAndAHint) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  FaultRule never{FaultKind::kStatus};
  never.status = 503, never.retry_after = "0", never.path_contains = "/blobs/uploads/";
  proxy_->SetRules({never});
  auto started = std::chrono::steady_clock::now();
  ProcessResult r = LoadViaProxy(archive);
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
  // One failure line per image (each with its hint), and nothing tagged.
  std::regex error_line("^Error: .*'ibmcom/portal[^']*'.*(503|UNAVAILABLE|unavailable).*$",
                        std::regex::multiline);
  auto begin = std::sregex_iterator(r.stderr_text.begin(), r.stderr_text.end(), error_line);
  EXPECT_GE(std::distance(begin, std::sregex_iterator()), 6) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("gave up after 5 attempt(s)"), std::string::npos) << r.stderr_text;
  for (const char* ref : test::kSampleImageRefs) ExpectAbsent(ref);
}

TEST_F(FaultsTest, RegistryThatNeverAnswersFailsFastWithAHint) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  proxy_->SetRules({FaultRule{FaultKind::kStatus}});  // 503 to everything, no Retry-After
  auto started = std::chrono::steady_clock::now();
  ProcessResult r = LoadViaProxy(archive);
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_NE(r.stderr_text.find("Error: "), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << r.stderr_text;
  // Afterwards, with the faults gone, the same command completes.
  proxy_->SetRules({});
  ProcessResult again = LoadViaProxy(archive);
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref);
}

// Every connection accepted, then reset: a transient failure, retried
// within max_attempts (5), so the run ends within seconds.
TEST_F(FaultsTest, ConnectionsResetForeverFailCleanly) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  proxy_->SetRules({FaultRule{FaultKind::kRefuse}});
  auto started = std::chrono::steady_clock::now();
  ProcessResult r = LoadViaProxy(archive);
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << r.stderr_text;
}

// Nothing listens at all (connection refused by the kernel): retried for
// the connect budget (~10 s of waits), then one clean failure; the first
// request (the registry check) gives up, so the whole run stays short.
TEST_F(FaultsTest, ConnectionsRefusedForeverFailCleanlyAfterTheConnectBudget) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ASSERT_TRUE(proxy_->SetRefusing(true));
  auto started = std::chrono::steady_clock::now();
  ProcessResult r = LoadViaProxy(archive);
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_GE(took, std::chrono::seconds(9)) << "connect failures must be retried";
  EXPECT_LT(took, std::chrono::seconds(30));
  EXPECT_NE(r.stderr_text.find("gave up after"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("Hint: cannot reach " + proxy_->host()), std::string::npos)
      << r.stderr_text;
  for (const char* ref : test::kSampleImageRefs) ExpectAbsent(ref);
}

// A registry restarting mid-import: for ~2 s every new connection is
// refused, then it is back. The run waits for it and completes.
TEST_F(FaultsTest, RegistryRefusingConnectionsForTwoSecondsMidImportIsSurvived) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  // Slow the uploads down so the run is still going when the port closes.
  FaultRule slow{FaultKind::kStall};
  slow.method = "PUT", slow.stall = std::chrono::milliseconds(300);
  proxy_->SetRules({slow});
  ProcessResult r;
  auto started = std::chrono::steady_clock::now();
  std::thread run([&] { r = LoadViaProxy(archive, {"-v"}); });
  bool mid = false;
  for (int i = 0; i < 3000 && !mid; ++i) {
    mid = proxy_->Injected(FaultKind::kStall) >= 1;
    if (!mid) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bool closed = proxy_->SetRefusing(true);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  bool reopened = proxy_->SetRefusing(false);
  run.join();
  ASSERT_TRUE(mid) << "the import never got to its uploads\n" << Output(r);
  ASSERT_TRUE(closed && reopened);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120));
  // The refusals happened and were waited out.
  EXPECT_NE(r.stderr_text.find("(could not connect); retrying in"), std::string::npos)
      << r.stderr_text;
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref);
}

// Bearer tokens (Distribution's token auth) that the registry, as seen
// through the proxy, declares expired on every 3rd blob and manifest
// request: the client fetches a new token and sends the request again.
TEST_F(FaultsTest, TokensExpiredMidRunAreRenewedAndNeverPrinted) {
  test::TokenServerOptions token_options;
  token_options.password = "tok-PASS-9f3k";
  token_options.expires_in = 300;  // only the proxy expires tokens
  auto tokens = test::TokenServer::Start(token_options);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  test::TokenServer& ts = **tokens;
  test::RegistryOptions options;
  options.token =
      test::TokenAuthOptions{ts.realm(), ts.options().service, ts.options().issuer, ts.cert_path()};
  proxy_.reset();
  StartRegistry(options);
  auto proxy = FaultProxy::Start(registry_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  proxy_ = std::move(proxy).value();
  FaultRule blobs{FaultKind::kExpireToken};
  blobs.path_contains = "/blobs/", blobs.every = 3;
  FaultRule manifests{FaultKind::kExpireToken};
  manifests.path_contains = "/manifests/", manifests.every = 3;
  proxy_->SetRules({blobs, manifests});

  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  ProcessResult r = LoadViaProxy(
      archive, {"-v"},
      {{"PPA_IMPORT_USERNAME", "user"}, {"PPA_IMPORT_PASSWORD", token_options.password}});
  ASSERT_EQ(r.exit_code, 0) << Output(r) << "\n" << registry_->ReadLog();
  RecordProperty("tokens_expired", proxy_->Injected(FaultKind::kExpireToken));
  RecordProperty("tokens_issued", ts.tokens_issued());
  EXPECT_GE(proxy_->Injected(FaultKind::kExpireToken), 3);
  // One token per scope, plus one for each expiry.
  EXPECT_GT(ts.tokens_issued(), proxy_->Injected(FaultKind::kExpireToken));
  std::vector<std::string> seen = proxy_->BearerTokensSeen();
  ASSERT_FALSE(seen.empty());
  const std::string out = r.stdout_text + r.stderr_text;
  for (const std::string& token : seen) {
    ASSERT_GT(token.size(), 20u);
    EXPECT_EQ(out.find(token), std::string::npos) << "a bearer token leaked into the output";
    // Not even its signature part (the JWT's last segment).
    EXPECT_EQ(out.find(token.substr(token.rfind('.') + 1)), std::string::npos);
  }
  EXPECT_EQ(out.find(token_options.password), std::string::npos);
  const std::string creds = "user:" + token_options.password;
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref, creds);
}

}  // namespace
}  // namespace ppa
