// Tests for helm_io/chartmuseum_client with a recording fake transport:
// routes (context path, multitenant repository), auth headers, and how each
// status is turned into an outcome or one line plus a hint.
#include "helm_io/chartmuseum_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "docker_io/image/digest.h"
#include "importer/load/chart_options.h"
#include "importer/load/charts_stage.h"
#include "tests/support/fake_transport.h"

namespace ppa {
namespace {

using testing::FakeTransport;
using testing::RequestHeader;

TEST(ChartMuseumUriTest, SplitsContextAndRepository) {
  const struct {
    const char* uri;
    const char* context;
    const char* base;
    const char* want_context;
    const char* repo;
  } kCases[] = {
      {"http://h:8080", "", "http://h:8080", "", ""},
      {"http://h:8080/", "", "http://h:8080", "", ""},
      {"https://h/org/repo/", "", "https://h", "", "/org/repo"},
      {"http://h/ctx", "/ctx", "http://h", "/ctx", ""},
      {"http://h/ctx/org/repo", "/ctx/", "http://h", "/ctx", "/org/repo"},
      {"http://h/org", "ctx", "http://h", "/ctx", "/org"},  // context not in the URI
      {"http://h/ctxa", "/ctx", "http://h", "/ctx", "/ctxa"},
  };
  for (const auto& c : kCases) {
    Result<ChartMuseumRoutes> routes = SplitChartMuseumUri(c.uri, c.context);
    ASSERT_TRUE(routes.ok()) << c.uri << ": " << routes.status().ToString();
    EXPECT_EQ(routes->base, c.base) << c.uri;
    EXPECT_EQ(routes->context, c.want_context) << c.uri;
    EXPECT_EQ(routes->repo, c.repo) << c.uri;
  }
  for (const char* bad : {"h:8080", "ftp://h", "http://user:pw@h", "http://h/?x", "http://"}) {
    EXPECT_FALSE(SplitChartMuseumUri(bad, "").ok()) << bad;
  }
}

TEST(ChartMuseumUriTest, ContextPathFromIndex) {
  EXPECT_EQ(*ContextPathFromIndex("apiVersion: v1\nentries: {}\nserverInfo:\n  contextPath: /x\n"),
            "/x");
  EXPECT_EQ(*ContextPathFromIndex("apiVersion: v1\nentries: {}\n"), "");
  EXPECT_FALSE(ContextPathFromIndex("[").ok());
}

ChartUpload Upload() { return {"demo-1.0.0.tgz", "demo", "1.0.0", "chart-bytes", std::nullopt}; }

struct Fixture {
  std::shared_ptr<FakeTransport> http = std::make_shared<FakeTransport>();
  ChartMuseumConfig config{"http://cm:8080/org/repo", std::nullopt, "user", "s3cret", "", false};
};

TEST(ChartMuseumClientTest, DiscoversContextAndUploadsMultipartWithBasicAuth) {
  Fixture f;
  f.config.uri = "http://cm:8080/ctx/org/repo";
  f.http->Expect("GET", "/ctx/org/repo/index.yaml",
                 FakeTransport::Response(200, {}, "apiVersion: v1\nserverInfo:\n  contextPath: /ctx\n"));
  f.http->Expect("POST", "/ctx/api/org/repo/charts",
                 FakeTransport::Response(201, {}, "{\"saved\":true}"));
  ChartMuseumClient client(f.config, f.http);
  ASSERT_TRUE(client.Discover().ok());
  ChartUpload chart = Upload();
  chart.provenance = "prov-bytes";
  Result<UploadOutcome> outcome = client.Upload(chart);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, UploadOutcome::kSaved);
  const auto requests = f.http->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(RequestHeader(requests[1], "Authorization"), "Basic dXNlcjpzM2NyZXQ=");
  EXPECT_NE(RequestHeader(requests[1], "Content-Type").find("multipart/form-data; boundary="),
            std::string::npos);
  EXPECT_NE(requests[1].body.find("name=\"chart\"; filename=\"demo-1.0.0.tgz\""), std::string::npos);
  EXPECT_NE(requests[1].body.find("name=\"prov\""), std::string::npos);
  EXPECT_NE(requests[1].body.find("chart-bytes"), std::string::npos);
  EXPECT_EQ(f.http->unused_rules(), 0u);
}

TEST(ChartMuseumClientTest, ConflictWithSameDigestIsAlreadyPresent) {
  Fixture f;
  f.config.context_path = "";
  f.config.password.clear();
  f.config.username.clear();
  f.config.token = "tok";
  const std::string hex(DigestHex(Sha256Digest("chart-bytes")));
  f.http->Expect("POST", "/api/org/repo/charts", FakeTransport::Response(409, {}, "{\"error\":\"exists\"}"));
  f.http->Expect("GET", "/api/org/repo/charts/demo/1.0.0",
                 FakeTransport::Response(200, {}, "{\"name\":\"demo\",\"digest\":\"" + hex + "\"}"));
  ChartMuseumClient client(f.config, f.http);
  ASSERT_TRUE(client.Discover().ok());
  Result<UploadOutcome> outcome = client.Upload(Upload());
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, UploadOutcome::kAlreadyPresent);
  EXPECT_EQ(RequestHeader(f.http->requests()[0], "Authorization"), "Bearer tok");
}

// Chart names and versions come from Chart.yaml: each is one path segment of
// the lookup after a 409, never a query, a fragment or a dot segment.
TEST(ChartMuseumClientTest, ChartNamesAndVersionsStayOnePathSegment) {
  struct Case {
    std::string name, version, path;  // path "": refused, nothing sent
  };
  const Case cases[] = {
      {"my?chart", "1.0.0", "/api/org/repo/charts/my%3Fchart/1.0.0"},
      {"my#chart", "1.0.0", "/api/org/repo/charts/my%23chart/1.0.0"},
      {"a/../../x", "1.0.0", "/api/org/repo/charts/a%2F..%2F..%2Fx/1.0.0"},
      {"%2e%2e", "1.0.0", "/api/org/repo/charts/%252e%252e/1.0.0"},
      {"my chart", "1.0.0+build", "/api/org/repo/charts/my%20chart/1.0.0%2Bbuild"},
      {"..", "1.0.0", ""},
      {"demo", "..", ""},
  };
  for (const auto& c : cases) {
    Fixture f;
    f.config.context_path = "";
    f.http->Expect("POST", "/api/org/repo/charts", FakeTransport::Response(409, {}, "{}"));
    if (!c.path.empty()) {
      f.http->Expect("GET", c.path, FakeTransport::Response(404, {}, "{}"));
    }
    ChartMuseumClient client(f.config, f.http);
    ASSERT_TRUE(client.Discover().ok());
    ChartUpload chart = Upload();
    chart.chart_name = c.name;
    chart.version = c.version;
    (void)client.Upload(chart);
    const auto requests = f.http->requests();
    ASSERT_EQ(requests.size(), c.path.empty() ? 1u : 2u) << c.name;
    EXPECT_EQ(f.http->unused_rules(), 0u) << c.name << " " << c.version;
  }
}

// A chart file name from the archive cannot end the multipart header.
TEST(ChartMuseumClientTest, FileNamesCannotBreakTheMultipartHeader) {
  Fixture f;
  f.config.context_path = "";
  f.http->Expect("POST", "/api/org/repo/charts", FakeTransport::Response(201, {}, "{}"));
  ChartMuseumClient client(f.config, f.http);
  ASSERT_TRUE(client.Discover().ok());
  ChartUpload chart = Upload();
  chart.file_name = "a\"b\r\nX-Injected: 1\\.tgz";
  ASSERT_TRUE(client.Upload(chart).ok());
  const std::string body = f.http->requests().back().body;
  EXPECT_EQ(body.find("X-Injected: 1"), body.find("a_b__X-Injected: 1_.tgz") + 5) << body;
  EXPECT_NE(body.find("filename=\"a_b__X-Injected: 1_.tgz\""), std::string::npos) << body;
}

TEST(ChartMuseumClientTest, StatusesBecomeOneLineAndAHint) {
  const struct {
    long status;
    const char* hint_fragment;
  } kCases[] = {
      {409, "--force-charts"},
      {413, "--max-upload-size"},
      {404, "--disable-api"},
      {401, "--chartmuseum-password-stdin"},
      {400, "refused"},
  };
  for (const auto& c : kCases) {
    Fixture f;
    f.config.context_path = "";
    f.http->Expect("POST", "/api/org/repo/charts",
                   FakeTransport::Response(c.status, {}, "{\"error\":\"nope\"}"));
    f.http->Always("GET", "/api/org/repo/charts/demo/1.0.0",
                   FakeTransport::Response(200, {}, "{\"digest\":\"0000\"}"));
    ChartMuseumClient client(f.config, f.http);
    ASSERT_TRUE(client.Discover().ok());
    Result<UploadOutcome> outcome = client.Upload(Upload());
    ASSERT_FALSE(outcome.ok()) << c.status;
    EXPECT_NE(outcome.status().hint().find(c.hint_fragment), std::string::npos)
        << c.status << ": " << outcome.status().ToString();
    EXPECT_EQ(outcome.status().ToString().find("s3cret"), std::string::npos);
  }
}

TEST(ChartMuseumClientTest, ForceAddsQuery) {
  Fixture f;
  f.config.context_path = "";
  f.config.force = true;
  f.http->Expect("POST", "/api/org/repo/charts", FakeTransport::Response(201));
  ChartMuseumClient client(f.config, f.http);
  ASSERT_TRUE(client.Discover().ok());
  ASSERT_TRUE(client.Upload(Upload()).ok());
  EXPECT_NE(f.http->requests()[0].url.find("/charts?force"), std::string::npos);
}

// A server restarting (refused connections), a proxy's 502 and a 503 with
// Retry-After are ridden out as the registry client does.
TEST(ChartMuseumClientTest, RefusedConnectionsAndBusyAnswersAreRetried) {
  Fixture f;
  auto clock = std::make_shared<testing::FakeClock>();
  f.config.clock = clock;
  f.http->ExpectError("GET", "/org/repo/index.yaml", ConnectNetworkError("connection refused"));
  f.http->Expect("GET", "/org/repo/index.yaml", FakeTransport::Response(200, {}, "apiVersion: v1\n"));
  f.http->Expect("POST", "/api/org/repo/charts", FakeTransport::Response(502));
  f.http->Expect("POST", "/api/org/repo/charts",
                 FakeTransport::Response(503, {{"Retry-After", "7"}}));
  f.http->Expect("POST", "/api/org/repo/charts", FakeTransport::Response(201));
  ChartMuseumClient client(f.config, f.http);
  Status discovered = client.Discover();
  ASSERT_TRUE(discovered.ok()) << discovered.ToString();
  Result<UploadOutcome> outcome = client.Upload(Upload());
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, UploadOutcome::kSaved);
  EXPECT_EQ(f.http->unused_rules(), 0u);
  ASSERT_EQ(clock->sleeps().size(), 3u);
  EXPECT_EQ(clock->sleeps()[2], std::chrono::seconds(7));
}

TEST(ChartMuseumClientTest, GivingUpSaysSoOnOneLine) {
  Fixture f;
  f.config.context_path = "";
  f.config.clock = std::make_shared<testing::FakeClock>();
  f.http->Always("POST", "/api/org/repo/charts", FakeTransport::Response(500, {}, "{\"error\":\"disk\"}"));
  ChartMuseumClient client(f.config, f.http);
  ASSERT_TRUE(client.Discover().ok());
  Result<UploadOutcome> outcome = client.Upload(Upload());
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(f.http->requests().size(), 5u);
  EXPECT_NE(outcome.status().message().find("gave up after 5 attempt(s)"), std::string::npos)
      << outcome.status().ToString();
  EXPECT_EQ(outcome.status().message().find('\n'), std::string::npos);

  Fixture down;
  down.config.clock = std::make_shared<testing::FakeClock>();
  ChartMuseumClient unreachable(down.config, down.http);
  for (int i = 0; i < 20; ++i) {
    down.http->ExpectError("GET", "/org/repo/index.yaml", ConnectNetworkError("connection refused"));
  }
  Status discovered = unreachable.Discover();
  ASSERT_FALSE(discovered.ok());
  EXPECT_EQ(discovered.message().rfind(
                "ChartMuseum at 'http://cm:8080/org/repo' is unreachable: connection refused", 0),
            0u)
      << discovered.ToString();
  EXPECT_NE(discovered.message().find("connection refused"), std::string::npos);
}

TEST(ChartMuseumConfigTest, FlagsWinOverEnvironment) {
  ChartOptions options;
  options.chartmuseum_uri = "http://cm";
  options.chartmuseum_user = "flag-user";
  auto env = [](const char* name) -> std::string {
    const std::string n = name;
    if (n == "PPA_IMPORT_CHARTMUSEUM_USER") return "env-user";
    if (n == "PPA_IMPORT_CHARTMUSEUM_PASSWORD") return "env-pass";
    return "";
  };
  ChartMuseumConfig config = ResolveChartMuseumConfig(options, env);
  EXPECT_EQ(config.username, "flag-user");
  EXPECT_EQ(config.password, "env-pass");
  EXPECT_FALSE(config.context_path.has_value());
  options.context_path_set = true;
  EXPECT_EQ(ResolveChartMuseumConfig(options, env).context_path, std::optional<std::string>(""));
}

}  // namespace
}  // namespace ppa
