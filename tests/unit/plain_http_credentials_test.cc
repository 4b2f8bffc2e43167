// docs/registry.md, "Authentication", at the clients: the registry client and the ChartMuseum
// client say, request by request, whether the user asked for plain HTTP to
// its host, and every transport refuses credentials over plain HTTP
// otherwise (CheckPlainHttp). Here the fake transport is wrapped in that
// same check, as the curl transport applies it.
#include <gtest/gtest.h>

#include <memory>

#include "docker_io/image/digest.h"
#include "docker_io/registry/registry_client.h"
#include "docker_io/registry/transport_policy.h"
#include "helm_io/chartmuseum_client.h"
#include "tests/support/fake_transport.h"

namespace ppa {
namespace {

using testing::FakeTransport;
using testing::RequestHeader;

HttpResponse R(long status, HttpHeaders headers = {}, std::string body = {}) {
  return FakeTransport::Response(status, std::move(headers), std::move(body));
}

// The fake, behind the check every transport makes before sending.
class CheckedTransport : public HttpTransport {
 public:
  explicit CheckedTransport(std::shared_ptr<FakeTransport> fake) : fake_(std::move(fake)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    PPA_RETURN_IF_ERROR(CheckPlainHttp(request));
    return fake_->Send(request);
  }

 private:
  std::shared_ptr<FakeTransport> fake_;
};

struct RealmCase {
  const char* name;
  const char* registry;  // host[:port]
  bool plain_http;       // --plain-http
  const char* realm;
  bool refresh_token;  // credentials are a docker-config identity token
  bool token_sent;     // the token request goes out
};

TEST(PlainHttpCredentialsTest, TokenRealmGetsCredentialsOverPlainHttpOnlyOnTheChosenHost) {
  const RealmCase cases[] = {
      {"https registry, http realm on its host", "reg.example:5000", false,
       "http://reg.example:5001/token", false, false},
      {"https registry, http realm elsewhere", "reg.example", false, "http://auth.example/token",
       false, false},
      {"https registry, refresh token to http realm", "reg.example", false,
       "http://auth.example/oauth2/token", true, false},
      {"https registry, https realm elsewhere", "reg.example", false, "https://auth.example/token",
       false, true},
      {"plain registry, http realm on its host", "reg.example:5000", true,
       "http://REG.example:5001/token", false, true},
      {"plain registry, refresh token on its host", "reg.example:5000", true,
       "http://reg.example:5001/oauth2/token", true, true},
      {"plain registry, http realm elsewhere", "reg.example:5000", true,
       "http://auth.example/token", false, false},
  };
  for (const RealmCase& c : cases) {
    auto fake = std::make_shared<FakeTransport>();
    const std::string challenge = std::string("Bearer realm=\"") + c.realm + "\",service=\"reg\"";
    fake->Expect("GET", "/v2/", R(401, {{"WWW-Authenticate", challenge}}));
    fake->Always("GET", FakeTransport::PathOf(c.realm), R(200, {}, R"({"token":"tok-1"})"));
    fake->Always("POST", FakeTransport::PathOf(c.realm), R(200, {}, R"({"access_token":"tok-1"})"));
    fake->Expect("GET", "/v2/", R(200));
    Credentials credentials = c.refresh_token ? Credentials("", "", "refresh-SECRET")
                                              : Credentials("user", "pa55-SECRET");
    RegistryClientOptions options;
    options.clock = std::make_shared<testing::FakeClock>();
    RegistryClient client(RegistryEndpoint{c.registry, c.plain_http}, credentials,
                          std::make_shared<CheckedTransport>(fake), options);
    Status ping = client.Ping();
    std::vector<HttpRequest> sent = fake->requests();
    const bool token_sent = sent.size() >= 2 && sent[1].url.rfind(c.realm, 0) == 0;
    EXPECT_EQ(token_sent, c.token_sent) << c.name;
    EXPECT_EQ(ping.ok(), c.token_sent) << c.name << ": " << ping.ToString();
    if (!c.token_sent) {
      ASSERT_EQ(sent.size(), 1u) << c.name << ": nothing after the challenge";
      EXPECT_NE(ping.message().find(UrlHostPort(c.realm)), std::string::npos) << ping.message();
      EXPECT_NE(ping.hint().find(UrlHostPort(c.realm)), std::string::npos) << ping.hint();
      EXPECT_EQ(ping.ToString().find("SECRET"), std::string::npos) << c.name;
    }
  }
}

// Regression (credentials over plain HTTP): an upload Location on http:// from an
// HTTPS registry. Nothing goes there, credentials or not.
TEST(PlainHttpCredentialsTest, HttpsRegistryUploadLocationOnPlainHttpIsRefused) {
  const std::string digest = Sha256Digest("config");
  for (const char* location :
       {"http://reg.example:5000/v2/ns/app/blobs/uploads/u1", "http://storage.example/u1?sig=x"}) {
    auto fake = std::make_shared<FakeTransport>();
    fake->Expect("POST", "/v2/ns/app/blobs/uploads/", R(202, {{"Location", location}}));
    RegistryClientOptions options;
    options.clock = std::make_shared<testing::FakeClock>();
    RegistryClient client(RegistryEndpoint{"reg.example:5000", false}, {"user", "pw"},
                          std::make_shared<CheckedTransport>(fake), options);
    Status st = client.UploadBlobBytes("ns/app", digest, "config");
    EXPECT_FALSE(st.ok()) << location;
    EXPECT_NE(st.message().find("plain HTTP"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find(UrlHostPort(location)), std::string::npos) << st.ToString();
    for (const HttpRequest& r : fake->requests()) {
      EXPECT_FALSE(IsPlainHttpUrl(r.url)) << r.method << " " << r.url;
    }
  }
}

// With --plain-http the registry's own Location is used, with credentials.
TEST(PlainHttpCredentialsTest, PlainHttpRegistryKeepsItsCredentialsOnItsOwnLocation) {
  const std::string digest = Sha256Digest("config");
  auto fake = std::make_shared<FakeTransport>();
  fake->Expect("POST", "/v2/ns/app/blobs/uploads/",
               R(401, {{"WWW-Authenticate", R"(Basic realm="r")"}}));
  fake->Expect("POST", "/v2/ns/app/blobs/uploads/",
               R(202, {{"Location", "http://reg.example:5000/v2/ns/app/blobs/uploads/u1"}}));
  fake->Expect("PUT", "/v2/ns/app/blobs/uploads/u1", R(201, {{"Docker-Content-Digest", digest}}));
  RegistryClient client(RegistryEndpoint{"reg.example:5000", true}, {"user", "pw"},
                        std::make_shared<CheckedTransport>(fake));
  Status st = client.UploadBlobBytes("ns/app", digest, "config");
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<HttpRequest> sent = fake->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_TRUE(sent[2].plain_http_allowed);
  EXPECT_FALSE(RequestHeader(sent[2], "Authorization").empty());
}

TEST(PlainHttpCredentialsTest, ChartMuseumSendsCredentialsOverPlainHttpOnlyForAnHttpUri) {
  for (const char* uri : {"http://cm:8080/org", "https://cm:8443/org"}) {
    auto fake = std::make_shared<FakeTransport>();
    fake->Expect("GET", "/org/index.yaml", R(200, {}, "apiVersion: v1\n"));
    ChartMuseumConfig config{uri, std::nullopt, "user", "s3cret", "", false};
    ChartMuseumClient client(config, std::make_shared<CheckedTransport>(fake));
    ASSERT_TRUE(client.Discover().ok()) << uri;
    std::vector<HttpRequest> sent = fake->requests();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].plain_http_allowed, IsPlainHttpUrl(uri)) << uri;
    EXPECT_FALSE(RequestHeader(sent[0], "Authorization").empty());
  }
}

// An index.yaml over the size limit (a large repository) is not an error:
// only its serverInfo was wanted.
TEST(PlainHttpCredentialsTest, ChartMuseumIndexOverTheSizeLimitMeansNoContextPath) {
  auto fake = std::make_shared<FakeTransport>();
  fake->ExpectError("GET", "/org/index.yaml", ResponseTooLargeError("GET", "cm:8080", 4u << 20));
  ChartMuseumConfig config{"http://cm:8080/org", std::nullopt, "", "", "", false};
  ChartMuseumClient client(config, fake);
  ASSERT_TRUE(client.Discover().ok());
  EXPECT_EQ(client.routes().context, "");
  EXPECT_EQ(client.routes().repo, "/org");
}

}  // namespace
}  // namespace ppa
