// RegistryClient against a scripted transport, for what CNCF Distribution
// never does: PATCH answered 201/204, relative Locations at every step, 416
// resync, OCI-Chunk-Min-Length, an HTML 413 from a proxy, an upload Location
// on another host, 429 with Retry-After, 503 until the retries run out,
// connection resets, mounts (201 and the 202 fallback) and token expiry.
// A FakeClock makes every wait instant.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "docker_io/image/digest.h"
#include "docker_io/registry/registry_client.h"
#include "tests/support/fake_transport.h"

namespace ppa {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeTransport;
using testing::RequestHeader;

constexpr char kRepo[] = "ns/app";
const std::string kBlob = "0123456789";  // 10 bytes
const std::string kDigest = Sha256Digest(kBlob);
const std::string kUploads = "/v2/ns/app/blobs/uploads/";
const std::string kBearer =
    R"(Bearer realm="https://auth.example/token",service="reg.example")";

HttpResponse R(long status, HttpHeaders headers = {}, std::string body = {}) {
  return FakeTransport::Response(status, std::move(headers), std::move(body));
}

class RegistryProtocolTest : public ::testing::Test {
 protected:
  RegistryClient Client(UploadStrategy strategy = UploadStrategy::kAuto, uint64_t chunk = 4,
                        Credentials credentials = {"user", "secret-PASS"}) {
    RegistryClientOptions options;
    options.clock = clock_;
    options.strategy = strategy;
    options.chunk_size = chunk;
    return RegistryClient(RegistryEndpoint{"reg.example", false}, std::move(credentials), fake_,
                          options);
  }

  // The blob at offset 3 of a temporary file.
  BlobUpload BlobFile(bool size_known = true) {
    char name[] = "/tmp/registry_protocol_test_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_) << "abc" << kBlob;
    if (!size_known) return BlobUpload{kDigest, BlobUpload::kUnknownSize, FileBody{path_, 3, 0}};
    return BlobUpload{kDigest, kBlob.size(), FileBody{path_, 3, kBlob.size()}};
  }

  void TearDown() override {
    if (!path_.empty()) std::remove(path_.c_str());
  }

  std::vector<HttpRequest> Sent(const std::string& method) const {
    std::vector<HttpRequest> out;
    for (auto& r : fake_->requests()) {
      if (r.method == method) out.push_back(r);
    }
    return out;
  }

  // UploadBlob of BlobFile() succeeded on its second PUT, which carried
  // the whole blob again (read from the file, not from memory).
  void ExpectUploadedOnSecondPut(const Status& st) const {
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::vector<HttpRequest> puts = Sent("PUT");
    ASSERT_EQ(puts.size(), 2u);
    EXPECT_EQ(puts[1].body, kBlob);
  }

  std::shared_ptr<FakeTransport> fake_ = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  std::string path_;
};

const std::string kEncodedDigest = "sha256%3A" + std::string(DigestHex(kDigest));

TEST_F(RegistryProtocolTest, ChunkedPatchAnswered201And204WithRelativeLocations) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/v2/ns/app/blobs/uploads/s1?_state=a"}}));
  fake_->Expect("PATCH", "/v2/ns/app/blobs/uploads/s1", R(201, {{"Location", "s2?_state=b"}}));
  fake_->Expect("PATCH", "/v2/ns/app/blobs/uploads/s2",
                R(204, {{"Location", "/v2/ns/app/blobs/uploads/s3"}, {"Range", "0-7"}}));
  fake_->Expect("PATCH", "/v2/ns/app/blobs/uploads/s3", R(202, {{"Range", "0-9"}}));
  fake_->Expect("PUT", "/v2/ns/app/blobs/uploads/s3", R(201));
  RegistryClient client = Client(UploadStrategy::kChunked);
  Status st = client.UploadBlob(kRepo, BlobFile());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(fake_->unused_rules(), 0u);

  std::vector<HttpRequest> patches = Sent("PATCH");
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(patches[0].url, "https://reg.example/v2/ns/app/blobs/uploads/s1?_state=a");
  EXPECT_EQ(RequestHeader(patches[0], "Content-Range"), "0-3");
  EXPECT_EQ(patches[0].body, "0123");
  EXPECT_EQ(patches[1].url, "https://reg.example/v2/ns/app/blobs/uploads/s2?_state=b");
  EXPECT_EQ(RequestHeader(patches[1], "Content-Range"), "4-7");
  EXPECT_EQ(patches[2].body, "89");
  std::vector<HttpRequest> puts = Sent("PUT");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].url, "https://reg.example/v2/ns/app/blobs/uploads/s3?digest=" + kEncodedDigest);
  EXPECT_TRUE(puts[0].body.empty());
}

TEST_F(RegistryProtocolTest, ResumesFromTheRangeTheRegistryReports) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  // The registry only kept 2 of the 4 bytes.
  fake_->Expect("PATCH", "/u/1", R(202, {{"Range", "0-1"}}));
  fake_->Always("PATCH", "/u/1", R(202));
  fake_->Expect("PUT", "/u/1", R(201));
  RegistryClient client = Client(UploadStrategy::kChunked);
  ASSERT_TRUE(client.UploadBlob(kRepo, BlobFile()).ok());
  std::vector<HttpRequest> patches = Sent("PATCH");
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(RequestHeader(patches[1], "Content-Range"), "2-5");
  EXPECT_EQ(patches[1].body, "2345");
  EXPECT_EQ(RequestHeader(patches[2], "Content-Range"), "6-9");
}

// Before upload_headers.cc, "0-18446744073709551615" parsed to UINT64_MAX,
// end + 1 wrapped to 0 and every PATCH started the upload over: a loop
// without end. Such a Range now counts as absent.
TEST_F(RegistryProtocolTest, RangeEndOfUint64MaxNoLongerRewindsTheUploadForever) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->Always("PATCH", "/u/1", R(202, {{"Range", "0-18446744073709551615"}}));
  fake_->Expect("PUT", "/u/1", R(201));
  RegistryClient client = Client(UploadStrategy::kChunked);
  Status st = client.UploadBlob(kRepo, BlobFile());
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<HttpRequest> patches = Sent("PATCH");
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(RequestHeader(patches[2], "Content-Range"), "8-9");
}

TEST_F(RegistryProtocolTest, UnusableUploadLocationFailsBeforeAnyByteIsSent) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "file:///etc/passwd"}}));
  RegistryClient client = Client();
  Status st = client.UploadBlob(kRepo, BlobFile());
  EXPECT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_NE(st.message().find("unusable upload Location"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("/etc/passwd"), std::string::npos) << st.message();
  EXPECT_NE(st.hint().find("OCI distribution API"), std::string::npos) << st.hint();
  EXPECT_TRUE(Sent("PUT").empty());
  EXPECT_TRUE(Sent("PATCH").empty());
}

TEST_F(RegistryProtocolTest, UnusableLocationAfterAPatchCancelsTheSession) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->Expect("PATCH", "/u/1", R(202, {{"Location", "https://user:pw-SECRET@evil.example/u/2"}}));
  fake_->Expect("DELETE", "/u/1", R(204));
  RegistryClient client = Client(UploadStrategy::kChunked);
  Status st = client.UploadBlob(kRepo, BlobFile());
  EXPECT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_EQ(st.ToString().find("pw-SECRET"), std::string::npos) << st.ToString();
  EXPECT_EQ(Sent("PATCH").size(), 1u);
  EXPECT_EQ(Sent("DELETE").size(), 1u);
  EXPECT_TRUE(Sent("PUT").empty());
}

TEST_F(RegistryProtocolTest, RangeNotSatisfiableResyncsFromUploadStatus) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->Expect("PATCH", "/u/1", R(202, {{"Range", "0-3"}}));
  fake_->Expect("PATCH", "/u/1", R(416));
  fake_->Expect("GET", "/u/1", R(204, {{"Range", "0-5"}, {"Location", "/u/2"}}));
  fake_->Expect("PATCH", "/u/2", R(202, {{"Range", "0-9"}}));
  fake_->Expect("PUT", "/u/2", R(201));
  RegistryClient client = Client(UploadStrategy::kChunked);
  Status st = client.UploadBlob(kRepo, BlobFile());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(fake_->unused_rules(), 0u);
  std::vector<HttpRequest> patches = Sent("PATCH");
  ASSERT_EQ(patches.size(), 3u);
  EXPECT_EQ(RequestHeader(patches[2], "Content-Range"), "6-9");
  EXPECT_EQ(patches[2].body, "6789");
}

TEST_F(RegistryProtocolTest, ChunkMinLengthSwitchesToChunksOfThatSize) {
  fake_->Expect("POST", kUploads,
                R(202, {{"Location", "/u/1"}, {"OCI-Chunk-Min-Length", "6"}}));
  fake_->Always("PATCH", "/u/1", R(202));
  fake_->Expect("PUT", "/u/1", R(201));
  RegistryClient client = Client(UploadStrategy::kAuto, /*chunk=*/4);
  Status st = client.UploadBlobBytes(kRepo, kDigest, kBlob);
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<HttpRequest> patches = Sent("PATCH");
  ASSERT_EQ(patches.size(), 2u);
  EXPECT_EQ(RequestHeader(patches[0], "Content-Range"), "0-5");
  EXPECT_EQ(patches[0].body, "012345");
  EXPECT_EQ(RequestHeader(patches[1], "Content-Range"), "6-9");
}

const char kNginx413[] =
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n";

TEST_F(RegistryProtocolTest, ProxyRefusingWholeBodyFallsBackToChunks) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->Expect("PUT", "/u/1", R(413, {{"Content-Type", "text/html"}}, kNginx413));
  fake_->Expect("DELETE", "/u/1", R(204));
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/2"}}));
  fake_->Always("PATCH", "/u/2", R(202));
  fake_->Expect("PUT", "/u/2", R(201));
  RegistryClient client = Client(UploadStrategy::kAuto, /*chunk=*/4);
  Status st = client.UploadBlob(kRepo, BlobFile());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(fake_->unused_rules(), 0u);
  EXPECT_EQ(Sent("PATCH").size(), 3u);
}

TEST_F(RegistryProtocolTest, ProxyRefusingChunksTooIsOneLineWithHint) {
  fake_->Always("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->Always("PUT", "/u/1", R(413, {{"Content-Type", "text/html"}}, kNginx413));
  fake_->Always("PATCH", "/u/1", R(413, {{"Content-Type", "text/html"}}, kNginx413));
  fake_->Always("DELETE", "/u/1", R(204));
  RegistryClient client = Client(UploadStrategy::kAuto, /*chunk=*/4);
  Status st = client.UploadBlob(kRepo, BlobFile());
  ASSERT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_EQ(st.message(), "push of blob " + kDigest.substr(0, 19) +
                              " to 'ns/app' failed: 413 413 Request Entity Too Large");
  EXPECT_NE(st.hint().find("client_max_body_size"), std::string::npos) << st.hint();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
}

TEST_F(RegistryProtocolTest, LocationOnAnotherHostNeverGetsCredentials) {
  fake_->Expect("POST", kUploads, R(401, {{"WWW-Authenticate", R"(Basic realm="r")"}}));
  fake_->Expect("POST", kUploads,
                R(202, {{"Location", "https://storage.example/up/1?sig=xyz"}}));
  fake_->Expect("PATCH", "/up/1", R(202, {{"Location", "/up/2?sig=abc"}}));
  fake_->Always("PATCH", "/up/2", R(202));
  fake_->Expect("PUT", "/up/2", R(201));
  RegistryClient client = Client(UploadStrategy::kChunked, /*chunk=*/5);
  Status st = client.UploadBlob(kRepo, BlobFile());
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_FALSE(RequestHeader(sent[1], "Authorization").empty());  // the registry itself
  for (size_t i = 2; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].url.rfind("https://storage.example/", 0), 0u) << sent[i].url;
    EXPECT_EQ(RequestHeader(sent[i], "Authorization"), "") << sent[i].url;
  }
  EXPECT_EQ(sent[3].url, "https://storage.example/up/2?sig=abc");
  EXPECT_EQ(sent[4].url, "https://storage.example/up/2?sig=abc&digest=" + kEncodedDigest);
}

TEST_F(RegistryProtocolTest, TooManyRequestsHonoursRetryAfterSecondsAndDate) {
  fake_->Expect("PUT", "/v2/ns/app/manifests/v1", R(429, {{"Retry-After", "7"}}));
  // The fake wall clock starts at Wed, 21 Oct 2015 07:28:00 GMT (+7 s by now).
  fake_->Expect("PUT", "/v2/ns/app/manifests/v1",
                R(503, {{"Retry-After", "Wed, 21 Oct 2015 07:28:19 GMT"}}));
  fake_->Expect("PUT", "/v2/ns/app/manifests/v1", R(201));
  RegistryClient client = Client();
  Result<std::string> got = client.PutManifest(kRepo, "v1", "application/x", "{}");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(clock_->sleeps(), (std::vector<milliseconds>{seconds(7), seconds(12)}));
}

TEST_F(RegistryProtocolTest, ServiceUnavailableUntilRetriesRunOutIsOneLineWithHint) {
  fake_->Always("HEAD", "/v2/ns/app/blobs/" + kDigest,
                R(503, {{"Content-Type", "text/html"}},
                  "<html><title>503 Service Temporarily Unavailable</title></html>"));
  RegistryClient client = Client();
  Result<bool> got = client.BlobExists(kRepo, kDigest);
  ASSERT_FALSE(got.ok());
  const Status& st = got.status();
  EXPECT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_NE(st.message().find("503 503 Service Temporarily Unavailable"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("gave up after 5 attempt(s)"), std::string::npos) << st.message();
  EXPECT_NE(st.hint().find("retry later"), std::string::npos) << st.hint();
  EXPECT_EQ(fake_->requests().size(), 5u);
  std::vector<milliseconds> sleeps = clock_->sleeps();
  ASSERT_EQ(sleeps.size(), 4u);
  for (size_t i = 0; i < sleeps.size(); ++i) {  // 500 ms doubling, jitter in [0.5, 1]
    EXPECT_GE(sleeps[i], milliseconds(250 << i));
    EXPECT_LE(sleeps[i], milliseconds(500 << i));
  }
}

TEST_F(RegistryProtocolTest, TimeBudgetStopsRetriesEarly) {
  fake_->Always("GET", "/v2/", R(429, {{"Retry-After", "3600"}}));
  RegistryClient client = Client();
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kHttp);
  EXPECT_NE(st.message().find("exceeds the time limit"), std::string::npos) << st.message();
  EXPECT_NE(st.hint().find("rate limiting"), std::string::npos) << st.hint();
  EXPECT_EQ(fake_->requests().size(), 1u);
  EXPECT_TRUE(clock_->sleeps().empty());
}

TEST_F(RegistryProtocolTest, ConnectionResetReplaysTheWholeUploadFromTheFile) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->ExpectError("PUT", "/u/1",
                     TransientNetworkError("PUT reg.example:443: Connection reset by peer"));
  fake_->Expect("DELETE", "/u/1", R(204));
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/2"}}));
  fake_->Expect("PUT", "/u/2", R(201, {{"Docker-Content-Digest", kDigest}}));
  RegistryClient client = Client();
  ExpectUploadedOnSecondPut(client.UploadBlob(kRepo, BlobFile()));
  EXPECT_EQ(clock_->sleeps().size(), 1u);
}

TEST_F(RegistryProtocolTest, ConnectionResetsUntilRetriesRunOut) {
  fake_->Always("GET", "/v2/", R(200));
  for (int i = 0; i < 5; ++i) {
    fake_->ExpectError("GET", "/v2/",
                       TransientNetworkError("GET reg.example:443: Connection reset by peer",
                                             "the connection to reg.example:443 was cut"));
  }
  RegistryClient client = Client();
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kNetwork);
  EXPECT_NE(st.message().find("gave up after 5 attempt(s)"), std::string::npos) << st.message();
  EXPECT_EQ(st.hint(), "the connection to reg.example:443 was cut");
}

// What curl's CURLE_COULDNT_CONNECT becomes (curl_transport.cc).
Status Refused() {
  return ConnectNetworkError(
      "GET reg.example:443: Failed to connect to reg.example port 443: Connection refused",
      "cannot reach reg.example:443");
}

milliseconds Sum(const std::vector<milliseconds>& waits) {
  milliseconds total{0};
  for (milliseconds w : waits) total += w;
  return total;
}

TEST_F(RegistryProtocolTest, RefusedConnectionsAreRetriedUntilTheRegistryIsBack) {
  // A registry restarting: refused 5 times (more than max_attempts), then up.
  for (int i = 0; i < 5; ++i) fake_->ExpectError("GET", "/v2/", Refused());
  fake_->Always("GET", "/v2/", R(200));
  RegistryClient client = Client();
  Status st = client.Ping();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(fake_->requests().size(), 6u);
  std::vector<milliseconds> sleeps = clock_->sleeps();
  ASSERT_EQ(sleeps.size(), 5u);
  for (size_t i = 0; i < 4; ++i) {  // the usual backoff: 500 ms doubling, jitter in [0.5, 1]
    EXPECT_GE(sleeps[i], milliseconds(250 << i));
    EXPECT_LE(sleeps[i], milliseconds(500 << i));
  }
  EXPECT_LE(Sum(sleeps), seconds(10));
}

TEST_F(RegistryProtocolTest, ConnectionsRefusedForeverGiveUpAfterTheConnectBudget) {
  fake_->Always("GET", "/v2/", R(200));
  for (int i = 0; i < 20; ++i) fake_->ExpectError("GET", "/v2/", Refused());
  RegistryClient client = Client();
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kNetwork);
  EXPECT_NE(st.message().find("Connection refused"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("gave up after"), std::string::npos) << st.message();
  EXPECT_EQ(st.hint(), "cannot reach reg.example:443");
  // Waits of exactly the budget (the last one shortened to fit), in 6 to 8
  // sends depending on the jitter; never more than max_connect_attempts.
  EXPECT_EQ(Sum(clock_->sleeps()), seconds(10));
  EXPECT_GE(fake_->requests().size(), 6u);
  EXPECT_LE(fake_->requests().size(), 8u);
}

TEST_F(RegistryProtocolTest, ConnectRetriesAreBoundedInCountToo) {
  for (int i = 0; i < 20; ++i) fake_->ExpectError("GET", "/v2/", Refused());
  RegistryClientOptions options;
  options.clock = clock_;
  options.retry.base_delay = milliseconds(0);  // no time ever passes
  options.retry.max_connect_attempts = 3;
  RegistryClient client(RegistryEndpoint{"reg.example", false}, {}, fake_, options);
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kNetwork);
  EXPECT_NE(st.message().find("gave up after 3 attempt(s)"), std::string::npos) << st.message();
  EXPECT_EQ(fake_->requests().size(), 3u);
}

TEST_F(RegistryProtocolTest, ConnectRetriesOffWithOneConnectAttempt) {
  fake_->ExpectError("GET", "/v2/", Refused());
  fake_->Always("GET", "/v2/", R(200));
  RegistryClientOptions options;
  options.clock = clock_;
  options.retry.max_attempts = 1;
  options.retry.max_connect_attempts = 1;  // what `doctor` uses
  RegistryClient client(RegistryEndpoint{"reg.example", false}, {}, fake_, options);
  Status st = client.Ping();
  EXPECT_EQ(st.code(), StatusCode::kNetwork);
  EXPECT_EQ(fake_->requests().size(), 1u);
  EXPECT_TRUE(clock_->sleeps().empty());
}

TEST_F(RegistryProtocolTest, ConnectFailuresAndBadAnswersHaveSeparateBudgets) {
  // The registry dies (reset), is gone (refused), starts (503), then works:
  // 9 sends, more than either budget alone would allow with shared counting.
  fake_->ExpectError("GET", "/v2/", TransientNetworkError("GET reg.example:443: reset"));
  for (int i = 0; i < 4; ++i) fake_->ExpectError("GET", "/v2/", Refused());
  for (int i = 0; i < 3; ++i) fake_->Expect("GET", "/v2/", R(503));
  fake_->Always("GET", "/v2/", R(200));
  RegistryClient client = Client();
  Status st = client.Ping();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(fake_->requests().size(), 9u);
}

TEST_F(RegistryProtocolTest, OtherNetworkFailuresAreNotRetried) {
  for (Status error : {NetworkError("GET reg.example:443: Could not resolve host"),
                       NetworkError("GET reg.example:443: SSL certificate problem")}) {
    auto fake = std::make_shared<FakeTransport>();
    fake->ExpectError("GET", "/v2/", error);
    fake->Always("GET", "/v2/", R(200));
    RegistryClientOptions options;
    options.clock = clock_;
    RegistryClient client(RegistryEndpoint{"reg.example", false}, {}, fake, options);
    EXPECT_EQ(client.Ping().code(), StatusCode::kNetwork) << error.message();
    EXPECT_EQ(fake->requests().size(), 1u) << error.message();
  }
}

TEST_F(RegistryProtocolTest, RefusedMonolithicPutStartsAFreshSession) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1"}}));
  fake_->ExpectError("PUT", "/u/1", Refused());
  fake_->ExpectError("DELETE", "/u/1", Refused());  // best effort, ignored
  fake_->ExpectError("POST", kUploads, Refused());  // still restarting
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/2"}}));
  fake_->Expect("PUT", "/u/2", R(201, {{"Docker-Content-Digest", kDigest}}));
  RegistryClient client = Client();
  ExpectUploadedOnSecondPut(client.UploadBlob(kRepo, BlobFile()));
  EXPECT_EQ(fake_->unused_rules(), 0u);
}

TEST_F(RegistryProtocolTest, StreamedUploadWhenSizeUnknown) {
  fake_->Expect("POST", kUploads, R(202, {{"Location", "/u/1?x=1"}}));
  fake_->Expect("PATCH", "/u/1", R(204, {{"Location", "/u/2?x=2"}}));
  fake_->Expect("PUT", "/u/2", R(201));
  RegistryClient client = Client();
  Status st = client.UploadBlob(kRepo, BlobFile(/*size_known=*/false));
  ASSERT_TRUE(st.ok()) << st.ToString();
  std::vector<HttpRequest> patches = Sent("PATCH");
  ASSERT_EQ(patches.size(), 1u);
  ASSERT_TRUE(patches[0].file_body.has_value());
  EXPECT_TRUE(patches[0].file_body->until_eof);
  EXPECT_EQ(patches[0].body, kBlob);
  EXPECT_EQ(RequestHeader(patches[0], "Content-Range"), "");
  EXPECT_EQ(Sent("PUT")[0].url, "https://reg.example/u/2?x=2&digest=" + kEncodedDigest);
}

TEST_F(RegistryProtocolTest, MountAnswered201SendsNoBytes) {
  fake_->Expect("POST", "/v2/ns/b/blobs/uploads/", R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"token":"t-mount","expires_in":300})"));
  fake_->Expect("POST", "/v2/ns/b/blobs/uploads/", R(201));
  RegistryClient client = Client();
  Result<bool> got = client.MountOrUploadBlob("ns/b", BlobFile(), "ns/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got);
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].url, "https://reg.example/v2/ns/b/blobs/uploads/?mount=" + kEncodedDigest +
                             "&from=ns%2Fa");
  EXPECT_EQ(sent[1].url,
            "https://auth.example/token?service=reg.example&scope=repository%3Ans%2Fb%3Apull%"
            "2Cpush&scope=repository%3Ans%2Fa%3Apull");
  EXPECT_EQ(RequestHeader(sent[2], "Authorization"), "Bearer t-mount");
}

TEST_F(RegistryProtocolTest, MountAnswered202UploadsThroughThatSession) {
  fake_->Expect("POST", "/v2/ns/b/blobs/uploads/", R(202, {{"Location", "/v2/ns/b/blobs/uploads/m1"}}));
  fake_->Expect("PUT", "/v2/ns/b/blobs/uploads/m1", R(201));
  RegistryClient client = Client();
  Result<bool> got = client.MountOrUploadBlobBytes("ns/b", kDigest, kBlob, "ns/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(*got);
  EXPECT_EQ(Sent("POST").size(), 1u);  // no second session
  ASSERT_EQ(Sent("PUT").size(), 1u);
  EXPECT_EQ(Sent("PUT")[0].body, kBlob);
}

TEST_F(RegistryProtocolTest, MountOnlyCancelsTheSessionA202Started) {
  fake_->Expect("POST", "/v2/ns/b/blobs/uploads/", R(202, {{"Location", "/v2/ns/b/blobs/uploads/m1"}}));
  fake_->Expect("DELETE", "/v2/ns/b/blobs/uploads/m1", R(204));
  RegistryClient client = Client();
  Result<bool> got = client.MountBlob("ns/b", kDigest, "ns/a");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(*got);
  EXPECT_EQ(fake_->unused_rules(), 0u);
}

TEST_F(RegistryProtocolTest, TokenRefreshedBeforeItExpires) {
  const std::string blob = "/v2/ns/app/blobs/" + kDigest;
  fake_->Expect("HEAD", blob, R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"token":"t1","expires_in":30})"));
  fake_->Expect("HEAD", blob, R(404));
  fake_->Expect("HEAD", blob, R(404));
  fake_->Expect("GET", "/token", R(200, {}, R"({"access_token":"t2","expires_in":30})"));
  fake_->Expect("HEAD", blob, R(200));
  RegistryClient client = Client();
  ASSERT_TRUE(client.BlobExists(kRepo, kDigest).ok());
  clock_->Advance(seconds(10));
  ASSERT_TRUE(client.BlobExists(kRepo, kDigest).ok());  // still t1
  clock_->Advance(seconds(15));                         // t1 would expire within 10 s
  Result<bool> got = client.BlobExists(kRepo, kDigest);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got);
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 6u);
  EXPECT_EQ(RequestHeader(sent[3], "Authorization"), "Bearer t1");
  EXPECT_EQ(sent[4].url.rfind("https://auth.example/token", 0), 0u);  // no 401 first
  EXPECT_EQ(RequestHeader(sent[5], "Authorization"), "Bearer t2");
  EXPECT_EQ(fake_->unused_rules(), 0u);
}

TEST_F(RegistryProtocolTest, UnauthorizedMidRunRefetchesOnceThenFails) {
  const std::string blob = "/v2/ns/app/blobs/" + kDigest;
  fake_->Expect("HEAD", blob, R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Always("GET", "/token", R(200, {}, R"({"token":"same"})"));
  fake_->Always("HEAD", blob, R(401, {{"WWW-Authenticate", kBearer}}));
  RegistryClient client = Client();
  Result<bool> got = client.BlobExists(kRepo, kDigest);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("401"), std::string::npos);
  EXPECT_EQ(got.status().ToString().find("same"), std::string::npos);  // no token in errors
  EXPECT_EQ(Sent("HEAD").size(), 2u);
}

TEST_F(RegistryProtocolTest, IdentityTokenUsesRefreshTokenGrant) {
  fake_->Expect("GET", "/v2/", R(401, {{"WWW-Authenticate", kBearer}}));
  fake_->Expect("POST", "/token", R(200, {}, R"({"access_token":"from-refresh"})"));
  fake_->Expect("GET", "/v2/", R(200));
  RegistryClient client = Client(UploadStrategy::kAuto, 4, Credentials{"", "", "refresh-TOKEN"});
  ASSERT_TRUE(client.Ping().ok());
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].url, "https://auth.example/token");
  EXPECT_NE(sent[1].body.find("grant_type=refresh_token"), std::string::npos);
  EXPECT_NE(sent[1].body.find("refresh_token=refresh-TOKEN"), std::string::npos);
  EXPECT_EQ(RequestHeader(sent[2], "Authorization"), "Bearer from-refresh");
}

TEST(RetryPolicyTest, RetryableStatuses) {
  for (long s : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(IsRetryableStatus(s)) << s;
  for (long s : {200, 201, 400, 401, 403, 404, 413, 416, 501}) {
    EXPECT_FALSE(IsRetryableStatus(s)) << s;
  }
}

TEST(RetryPolicyTest, BackoffDoublesCapsAndJitters) {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  EXPECT_EQ(BackoffDelay(p, 1, 1.0), milliseconds(100));
  EXPECT_EQ(BackoffDelay(p, 2, 1.0), milliseconds(200));
  EXPECT_EQ(BackoffDelay(p, 4, 1.0), milliseconds(800));
  EXPECT_EQ(BackoffDelay(p, 5, 1.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(p, 40, 1.0), milliseconds(1000));
  EXPECT_EQ(BackoffDelay(p, 2, 0.0), milliseconds(100));
}

TEST(RetryPolicyTest, ParseRetryAfter) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // 07:28:00 GMT
  struct Case {
    const char* value;
    std::optional<seconds> want;
  };
  for (const Case& c : {Case{"120", seconds(120)}, Case{" 0 ", seconds(0)},
                        Case{"Wed, 21 Oct 2015 07:29:00 GMT", seconds(60)},
                        Case{"Wed, 21 Oct 2015 07:00:00 GMT", seconds(0)}, Case{"", std::nullopt},
                        Case{"-5", std::nullopt}, Case{"soon", std::nullopt}}) {
    EXPECT_EQ(ParseRetryAfter(c.value, now), c.want) << c.value;
  }
}

TEST(TransientNetworkErrorTest, Marked) {
  EXPECT_TRUE(IsTransientNetworkError(TransientNetworkError("reset")));
  EXPECT_FALSE(IsTransientNetworkError(NetworkError("connection refused")));
  EXPECT_FALSE(IsTransientNetworkError(ConnectNetworkError("connection refused")));
  EXPECT_FALSE(IsTransientNetworkError(HttpError("x (transient network failure)")));
}

TEST(ConnectNetworkErrorTest, Marked) {
  EXPECT_TRUE(IsConnectNetworkError(ConnectNetworkError("refused", "hint")));
  EXPECT_EQ(ConnectNetworkError("refused", "hint").hint(), "hint");
  EXPECT_TRUE(IsConnectNetworkError(ConnectNetworkError("refused").WithContext("ping failed")));
  EXPECT_FALSE(IsConnectNetworkError(NetworkError("connection refused")));
  EXPECT_FALSE(IsConnectNetworkError(TransientNetworkError("reset")));
  EXPECT_FALSE(IsConnectNetworkError(HttpError("x (could not connect)")));
}

}  // namespace
}  // namespace ppa
