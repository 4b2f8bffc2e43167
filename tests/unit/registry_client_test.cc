#include "docker_io/registry/registry_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "docker_io/image/digest.h"
#include "tests/support/fake_transport.h"

namespace ppa {
namespace {

using testing::FakeTransport;
using testing::RequestHeader;

constexpr char kRepo[] = "ns/app";
constexpr char kPassword[] = "pa55-w0rd-SECRET";

const std::string kDigest = Sha256Digest("layer bytes");
const std::string kBlobPath = "/v2/ns/app/blobs/" + kDigest;
const std::string kUploads = "/v2/ns/app/blobs/uploads/";

HttpResponse R(long status, HttpHeaders headers = {}, std::string body = {}) {
  return FakeTransport::Response(status, std::move(headers), std::move(body));
}

class RegistryClientTest : public ::testing::Test {
 protected:
  RegistryClient Client(Credentials credentials = {}) {
    return RegistryClient(RegistryEndpoint{"reg.example:5000", false}, std::move(credentials),
                          fake_);
  }

  // A file holding "junk" + "layer bytes" + "tail": the blob is at offset 4.
  BlobUpload WriteBlobFile() {
    char name[] = "/tmp/registry_client_test_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << "junklayer bytestail";
    return BlobUpload{kDigest, 11, FileBody{path_, 4, 11}};
  }

  void TearDown() override {
    if (!path_.empty()) std::remove(path_.c_str());
  }

  std::shared_ptr<FakeTransport> fake_ = std::make_shared<FakeTransport>();
  std::string path_;
};

TEST_F(RegistryClientTest, BlobExistsMapsStatuses) {
  struct Case {
    long status;
    bool ok;
    bool exists;
  };
  for (const Case& c : {Case{200, true, true}, Case{404, true, false}, Case{403, false, false}}) {
    fake_->Expect("HEAD", kBlobPath, R(c.status));
    RegistryClient client = Client();
    Result<bool> got = client.BlobExists(kRepo, kDigest);
    ASSERT_EQ(got.ok(), c.ok) << c.status;
    if (c.ok) {
      EXPECT_EQ(*got, c.exists);
    }
  }
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].url, "https://reg.example:5000" + kBlobPath);
  EXPECT_TRUE(sent[0].follow_redirects);
}

struct LocationCase {
  const char* name;
  std::string location;
  std::string want_put_url;
  bool want_auth;  // Authorization sent with the PUT
};

class UploadLocationTest : public RegistryClientTest,
                           public ::testing::WithParamInterface<LocationCase> {};

TEST_P(UploadLocationTest, PutsToResolvedLocation) {
  const LocationCase& c = GetParam();
  // Basic auth is cached by the POST; the PUT carries it only to the registry.
  fake_->Expect("POST", kUploads, R(401, {{"WWW-Authenticate", R"(Basic realm="r")"}}));
  fake_->Expect("POST", kUploads, R(202, {{"Location", c.location}}));
  fake_->Expect("PUT", FakeTransport::PathOf(c.want_put_url),
                R(201, {{"Docker-Content-Digest", kDigest}}));
  RegistryClient client = Client({"user", kPassword});
  Status st = client.UploadBlob(kRepo, WriteBlobFile());
  ASSERT_TRUE(st.ok()) << st.ToString();

  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 3u);
  const HttpRequest& put = sent[2];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, c.want_put_url);
  EXPECT_EQ(put.body, "layer bytes");  // read from offset 4
  ASSERT_TRUE(put.file_body.has_value());
  EXPECT_EQ(put.file_body->offset, 4u);
  EXPECT_EQ(RequestHeader(put, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(!RequestHeader(put, "Authorization").empty(), c.want_auth);
}

const std::string kEncodedDigest = "sha256%3A" + std::string(DigestHex(kDigest));

INSTANTIATE_TEST_SUITE_P(
    Table, UploadLocationTest,
    ::testing::Values(
        LocationCase{"relative", "/v2/ns/app/blobs/uploads/u1",
                     "https://reg.example:5000/v2/ns/app/blobs/uploads/u1?digest=" + kEncodedDigest,
                     true},
        LocationCase{
            "relative_with_query", "/v2/ns/app/blobs/uploads/u1?_state=x",
            "https://reg.example:5000/v2/ns/app/blobs/uploads/u1?_state=x&digest=" + kEncodedDigest,
            true},
        LocationCase{"absolute_same_host", "https://reg.example:5000/v2/ns/app/blobs/uploads/u2",
                     "https://reg.example:5000/v2/ns/app/blobs/uploads/u2?digest=" + kEncodedDigest,
                     true},
        LocationCase{"absolute_other_host", "https://storage.example/upload/u3?sig=abc",
                     "https://storage.example/upload/u3?sig=abc&digest=" + kEncodedDigest, false},
        LocationCase{"path_relative", "u4",
                     "https://reg.example:5000/v2/ns/app/blobs/uploads/u4?digest=" + kEncodedDigest,
                     true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(RegistryClientTest, BasicChallengeThenSuccess) {
  fake_->Expect("GET", "/v2/", R(401, {{"WWW-Authenticate", R"(Basic realm="registry")"}}));
  fake_->Expect("GET", "/v2/", R(200));
  RegistryClient client = Client({"user", "pass"});
  ASSERT_TRUE(client.Ping().ok());
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(RequestHeader(sent[0], "Authorization"), "");
  EXPECT_EQ(RequestHeader(sent[1], "Authorization"), "Basic dXNlcjpwYXNz");
}

TEST_F(RegistryClientTest, BasicChallengeWithoutCredentials) {
  fake_->Expect("GET", "/v2/", R(401, {{"WWW-Authenticate", R"(Basic realm="registry")"}}));
  RegistryClient client = Client();
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_NE(st.message().find("no credentials were found"), std::string::npos) << st.message();
  EXPECT_NE(st.hint().find("--creds"), std::string::npos) << st.hint();
  EXPECT_EQ(fake_->requests().size(), 1u);
}

const char kBearer[] =
    R"(Bearer realm="https://auth.example/token",service="reg.example",scope="repository:ns/app:pull,push")";

TEST_F(RegistryClientTest, BearerChallengeFetchesTokenAndRetries) {
  fake_->Expect("PUT", "/v2/ns/app/manifests/1.0", R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"token":"tok-1","expires_in":300})"));
  fake_->Expect("PUT", "/v2/ns/app/manifests/1.0",
                R(201, {{"Docker-Content-Digest", Sha256Digest("m")}}));
  fake_->Expect("PUT", "/v2/ns/app/manifests/1.1", R(201));
  RegistryClient client = Client({"user", "pass"});
  ASSERT_TRUE(client.PutManifest(kRepo, "1.0", "application/x", "m").ok());
  ASSERT_TRUE(client.PutManifest(kRepo, "1.1", "application/x", "n").ok());

  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[1].method, "GET");
  EXPECT_EQ(sent[1].url,
            "https://auth.example/token?service=reg.example&scope=repository%3Ans%2Fapp%3Apull%"
            "2Cpush");
  EXPECT_EQ(RequestHeader(sent[1], "Authorization"), "Basic dXNlcjpwYXNz");
  EXPECT_EQ(RequestHeader(sent[2], "Authorization"), "Bearer tok-1");
  EXPECT_EQ(RequestHeader(sent[3], "Authorization"), "Bearer tok-1");  // cached
  EXPECT_EQ(fake_->unused_rules(), 0u);
}

TEST_F(RegistryClientTest, AnonymousBearerTokenHasNoBasicHeader) {
  fake_->Expect("HEAD", kBlobPath, R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"access_token":"anon"})"));
  fake_->Expect("HEAD", kBlobPath, R(404));
  RegistryClient client = Client();
  Result<bool> got = client.BlobExists(kRepo, kDigest);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(*got);
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(RequestHeader(sent[1], "Authorization"), "");
  EXPECT_EQ(RequestHeader(sent[2], "Authorization"), "Bearer anon");
}

TEST_F(RegistryClientTest, TokenRefreshedAfterLaterUnauthorized) {
  fake_->Expect("HEAD", kBlobPath, R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"token":"tok-1"})"));
  fake_->Expect("HEAD", kBlobPath, R(200));
  // Later the token has expired on the server side.
  fake_->Expect("HEAD", kBlobPath,
                R(401, {{"WWW-Authenticate", std::string(kBearer) + R"(,error="invalid_token")"}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"token":"tok-2"})"));
  fake_->Expect("HEAD", kBlobPath, R(200));
  RegistryClient client = Client({"user", "pass"});
  ASSERT_TRUE(client.BlobExists(kRepo, kDigest).ok());
  Result<bool> again = client.BlobExists(kRepo, kDigest);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(*again);
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ(RequestHeader(sent[3], "Authorization"), "Bearer tok-1");
  EXPECT_EQ(RequestHeader(sent[5], "Authorization"), "Bearer tok-2");
}

TEST_F(RegistryClientTest, WrongCredentialsNeverLeakThePassword) {
  const std::string kUnauthorized =
      R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
  struct Case {
    const char* name;
    const char* challenge;
  };
  for (const Case& c : {Case{"basic", R"(Basic realm="r")"}, Case{"bearer", kBearer}}) {
    SCOPED_TRACE(c.name);
    fake_ = std::make_shared<FakeTransport>();
    fake_->Always("POST", kUploads,
                  R(401, {{"WWW-Authenticate", c.challenge}, {"Content-Type", "application/json"}},
                    kUnauthorized));
    fake_->Always("GET", "/token", R(401, {{"Content-Type", "application/json"}}, kUnauthorized));
    RegistryClient client = Client({"user", kPassword});
    Status st = client.UploadBlobBytes(kRepo, Sha256Digest("cfg"), "cfg");
    ASSERT_EQ(st.code(), StatusCode::kHttp);
    EXPECT_NE(st.message().find("401 UNAUTHORIZED"), std::string::npos) << st.message();
    EXPECT_NE(st.hint().find("iamapikey"), std::string::npos) << st.hint();
    EXPECT_EQ(st.ToString().find(kPassword), std::string::npos);
    EXPECT_EQ(st.ToString().find("dXNlcj"), std::string::npos);  // no base64 credentials
  }
}

TEST_F(RegistryClientTest, PutManifestReturnsReportedDigest) {
  const std::string reported = Sha256Digest("what the registry computed");
  fake_->Expect("PUT", "/v2/ns/app/manifests/v1", R(201, {{"Docker-Content-Digest", reported}}));
  fake_->Expect("PUT", "/v2/ns/app/manifests/v2", R(201));
  RegistryClient client = Client();
  const std::string type = "application/vnd.oci.image.manifest.v1+json";
  Result<std::string> got = client.PutManifest(kRepo, "v1", type, "{}");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, reported);
  Result<std::string> computed = client.PutManifest(kRepo, "v2", type, "{}");
  ASSERT_TRUE(computed.ok());
  EXPECT_EQ(*computed, Sha256Digest("{}"));
  std::vector<HttpRequest> sent = fake_->requests();
  EXPECT_EQ(RequestHeader(sent[0], "Content-Type"), type);
  EXPECT_EQ(sent[0].body, "{}");
}

HttpResponse OciError(long status, const std::string& code, const std::string& message) {
  return R(status, {{"Content-Type", "application/json"}},
           R"({"errors":[{"code":")" + code + R"(","message":")" + message + R"("}]})");
}

TEST_F(RegistryClientTest, ManifestErrorIsMappedAfterTheResendsOfTheLinkRace) {
  fake_->Always("PUT", "/v2/ns/app/manifests/v1",
                OciError(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown"));
  auto clock = std::make_shared<testing::FakeClock>();
  RegistryClient client(RegistryEndpoint{"reg.example:5000", false}, {}, fake_,
                        RegistryClientOptions{.clock = clock});
  Result<std::string> got = client.PutManifest(kRepo, "v1", "application/x", "{}");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(),
            "push of manifest 'ns/app:v1' failed: 400 MANIFEST_BLOB_UNKNOWN: blob unknown");
  EXPECT_EQ(fake_->requests().size(), 4u) << "sent once and again three times";
  EXPECT_EQ(clock->sleeps().size(), 3u);
}

// CNCF Distribution reads each referenced blob's link file, which another
// upload or mount of the same blob rewrites in place: a manifest arriving
// then is refused though nothing is wrong with it. It is sent again.
TEST_F(RegistryClientTest, ManifestRefusedByTheBlobLinkRaceIsSentAgain) {
  for (const char* code : {"DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"}) {
    fake_ = std::make_shared<FakeTransport>();
    fake_->Expect("PUT", "/v2/ns/app/manifests/v1",
                  OciError(400, code, "provided digest did not match uploaded content"));
    fake_->Expect("PUT", "/v2/ns/app/manifests/v1",
                  OciError(400, code, "provided digest did not match uploaded content"));
    fake_->Expect("PUT", "/v2/ns/app/manifests/v1", R(201));
    auto clock = std::make_shared<testing::FakeClock>();
    RegistryClient client(RegistryEndpoint{"reg.example:5000", false}, {}, fake_,
                          RegistryClientOptions{.clock = clock});
    Result<std::string> got = client.PutManifest(kRepo, "v1", "application/x", "{}");
    ASSERT_TRUE(got.ok()) << code << ": " << got.status().ToString();
    EXPECT_EQ(fake_->requests().size(), 3u) << code;
    EXPECT_EQ(fake_->requests()[2].body, "{}") << code;
    EXPECT_EQ(clock->sleeps().size(), 2u) << code;
  }
}

// Other refusals are the manifest's own fault: reported at once.
TEST_F(RegistryClientTest, ManifestInvalidOrDeniedIsNotSentAgain) {
  for (const auto& [status, code] : std::vector<std::pair<long, std::string>>{
           {400, "MANIFEST_INVALID"}, {400, "NAME_INVALID"}, {403, "DENIED"},
           {404, "DIGEST_INVALID"}}) {
    fake_ = std::make_shared<FakeTransport>();
    fake_->Always("PUT", "/v2/ns/app/manifests/v1", OciError(status, code, "no"));
    auto clock = std::make_shared<testing::FakeClock>();
    RegistryClient client(RegistryEndpoint{"reg.example:5000", false}, {}, fake_,
                          RegistryClientOptions{.clock = clock});
    EXPECT_FALSE(client.PutManifest(kRepo, "v1", "application/x", "{}").ok()) << code;
    EXPECT_EQ(fake_->requests().size(), 1u) << code;
  }
}

TEST_F(RegistryClientTest, UploadStartWithoutLocationFails) {
  fake_->Expect("POST", kUploads, R(202));
  RegistryClient client = Client();
  Status st = client.UploadBlobBytes(kRepo, Sha256Digest("x"), "x");
  EXPECT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_NE(st.message().find("Location"), std::string::npos);
}

TEST_F(RegistryClientTest, TransportErrorIsPassedThrough) {
  fake_->ExpectError("GET", "/v2/", NetworkError("connect failed", "check the firewall"));
  RegistryClient client = Client();
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kNetwork);
  EXPECT_EQ(st.hint(), "check the firewall");
}

TEST(RegistryEndpointTest, BaseUrlAndScope) {
  EXPECT_EQ((RegistryEndpoint{"r:5000", true}).BaseUrl(), "http://r:5000");
  EXPECT_EQ((RegistryEndpoint{"r", false}).BaseUrl(), "https://r");
  EXPECT_EQ(PushScope("a/b"), "repository:a/b:pull,push");
}

}  // namespace
}  // namespace ppa
