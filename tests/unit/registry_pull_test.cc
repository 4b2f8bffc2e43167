// RegistryClient's pull side (GetManifest, HeadManifest, GetBlob) against a
// scripted transport: statuses, auth, retries, digest and size checks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "docker_io/image/digest.h"
#include "docker_io/registry/registry_client.h"
#include "tests/support/fake_transport.h"

namespace ppa {
namespace {

using testing::FakeClock;
using testing::FakeTransport;
using testing::RequestHeader;

constexpr char kRepo[] = "ns/app";
const std::string kManifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
const std::string kManifestDigest = Sha256Digest(kManifest);
const std::string kOciType = "application/vnd.oci.image.manifest.v1+json";
const std::string kBlob = "the bytes of a layer";
const std::string kBlobDigest = Sha256Digest(kBlob);

HttpResponse R(long status, HttpHeaders headers = {}, std::string body = {}) {
  return FakeTransport::Response(status, std::move(headers), std::move(body));
}

class RegistryPullTest : public ::testing::Test {
 protected:
  RegistryClient Client(Credentials credentials = {}) {
    RegistryClientOptions options;
    options.clock = clock_;
    return RegistryClient(RegistryEndpoint{"reg.example:5000", false}, std::move(credentials),
                          fake_, options);
  }
  std::shared_ptr<FakeTransport> fake_ = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
};

struct ManifestCase {
  const char* name;
  std::string reference;
  std::vector<HttpResponse> answers;  // in order, all for the manifest path
  StatusCode want_code;               // kOk: success
  std::string want_media_type;
  std::string want_in_message;
};

TEST_F(RegistryPullTest, GetManifestTable) {
  const std::string huge(kMaxManifestBytes + 1, ' ');
  const std::vector<ManifestCase> cases = {
      {"by tag",
       "v1",
       {R(200, {{"Content-Type", kOciType}}, kManifest)},
       StatusCode::kOk,
       kOciType,
       ""},
      {"by digest",
       kManifestDigest,
       {R(200, {{"Content-Type", kOciType + "; charset=utf-8"}}, kManifest)},
       StatusCode::kOk,
       kOciType,
       ""},
      {"not found",
       "v1",
       {R(404, {{"Content-Type", "application/json"}},
          R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})")},
       StatusCode::kNotFound,
       "",
       "MANIFEST_UNKNOWN"},
      {"retried on 503",
       "v1",
       {R(503), R(503), R(200, {{"Content-Type", kOciType}}, kManifest)},
       StatusCode::kOk,
       kOciType,
       ""},
      {"digest mismatch by digest",
       Sha256Digest("other"),
       {R(200, {{"Content-Type", kOciType}}, kManifest)},
       StatusCode::kInvalidInput,
       "",
       "digest is " + kManifestDigest},
      {"Docker-Content-Digest mismatch",
       "v1",
       {R(200, {{"Content-Type", kOciType}, {"Docker-Content-Digest", Sha256Digest("x")}},
          kManifest)},
       StatusCode::kInvalidInput,
       "",
       "but its bytes are"},
      {"oversized",
       "v1",
       {R(200, {{"Content-Type", kOciType}}, huge)},
       StatusCode::kInvalidInput,
       "",
       "larger than 4 MiB"},
      {"missing Content-Type: the body's mediaType",
       "v1",
       {R(200, {}, kManifest)},
       StatusCode::kOk,
       kOciType,
       ""},
      {"missing Content-Type and mediaType",
       "v1",
       {R(200, {}, R"({"schemaVersion":2})")},
       StatusCode::kInvalidInput,
       "",
       "no Content-Type"},
  };
  for (const ManifestCase& c : cases) {
    SCOPED_TRACE(c.name);
    fake_ = std::make_shared<FakeTransport>();
    for (const HttpResponse& a : c.answers) {
      fake_->Expect("GET", "/v2/ns/app/manifests/" + c.reference, a);
    }
    Result<PulledManifest> got = Client().GetManifest(kRepo, c.reference);
    if (c.want_code == StatusCode::kOk) {
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_EQ(got->body, kManifest);
      EXPECT_EQ(got->descriptor.digest, kManifestDigest);
      EXPECT_EQ(got->descriptor.media_type, c.want_media_type);
      EXPECT_EQ(got->descriptor.size, kManifest.size());
    } else {
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), c.want_code) << got.status().message();
      EXPECT_NE(got.status().message().find(c.want_in_message), std::string::npos)
          << got.status().message();
    }
    EXPECT_EQ(fake_->unused_rules(), 0u);
    std::vector<HttpRequest> sent = fake_->requests();
    ASSERT_FALSE(sent.empty());
    const std::string accept = RequestHeader(sent[0], "Accept");
    for (const char* type :
         {"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
          "application/vnd.docker.distribution.manifest.v2+json",
          "application/vnd.docker.distribution.manifest.list.v2+json"}) {
      EXPECT_NE(accept.find(type), std::string::npos) << type;
    }
    EXPECT_EQ(sent[0].max_response_body, kMaxManifestBytes);
  }
}

TEST_F(RegistryPullTest, GetManifestFetchesAPullTokenAfter401) {
  const std::string path = "/v2/ns/app/manifests/v1";
  fake_->Expect("GET", path,
                R(401, {{"WWW-Authenticate",
                         R"(Bearer realm="https://reg.example:5000/token",service="reg")"}}));
  fake_->Expect("GET", "/token", R(200, {}, R"({"token":"t0k3n","expires_in":300})"));
  fake_->Expect("GET", path, R(200, {{"Content-Type", kOciType}}, kManifest));
  Result<PulledManifest> got = Client(Credentials("user", "pw")).GetManifest(kRepo, "v1");
  ASSERT_TRUE(got.ok()) << got.status().message();
  std::vector<HttpRequest> sent = fake_->requests();
  ASSERT_EQ(sent.size(), 3u);
  // Pull scope only: reading needs no push right.
  EXPECT_NE(sent[1].url.find("scope=repository%3Ans%2Fapp%3Apull"), std::string::npos)
      << sent[1].url;
  EXPECT_EQ(sent[1].url.find("push"), std::string::npos) << sent[1].url;
  EXPECT_EQ(RequestHeader(sent[2], "Authorization"), "Bearer t0k3n");
}

TEST_F(RegistryPullTest, HeadManifestTable) {
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, HttpResponse>> answers;  // method, answer
    bool want_ok;
    bool want_found;
  };
  const std::vector<Case> cases = {
      {"present",
       {{"HEAD", R(200, {{"Content-Type", kOciType},
                         {"Docker-Content-Digest", kManifestDigest},
                         {"Content-Length", std::to_string(kManifest.size())}})}},
       true,
       true},
      {"absent", {{"HEAD", R(404)}}, true, false},
      {"denied", {{"HEAD", R(403)}}, false, false},
      {"retried", {{"HEAD", R(502)}, {"HEAD", R(404)}}, true, false},
      {"no digest header: read the body",
       {{"HEAD", R(200, {{"Content-Type", kOciType}})},
        {"GET", R(200, {{"Content-Type", kOciType}}, kManifest)}},
       true,
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fake_ = std::make_shared<FakeTransport>();
    for (const auto& [method, answer] : c.answers) {
      fake_->Expect(method, "/v2/ns/app/manifests/v1", answer);
    }
    Result<std::optional<ManifestDescriptor>> got = Client().HeadManifest(kRepo, "v1");
    ASSERT_EQ(got.ok(), c.want_ok) << (got.ok() ? "" : got.status().message());
    if (!c.want_ok) continue;
    ASSERT_EQ(got->has_value(), c.want_found);
    if (c.want_found) {
      EXPECT_EQ((*got)->digest, kManifestDigest);
      EXPECT_EQ((*got)->media_type, kOciType);
      EXPECT_EQ((*got)->size, kManifest.size());
    }
    EXPECT_EQ(fake_->unused_rules(), 0u);
  }
}

struct BlobCase {
  const char* name;
  std::vector<HttpResponse> answers;
  uint64_t size;
  bool want_ok;
  std::string want_in_message;
};

TEST_F(RegistryPullTest, GetBlobTable) {
  const std::vector<BlobCase> cases = {
      {"whole", {R(200, {}, kBlob)}, kBlob.size(), true, ""},
      {"retried on 503", {R(503), R(200, {}, kBlob)}, kBlob.size(), true, ""},
      {"not found", {R(404)}, kBlob.size(), false, "404"},
      {"digest mismatch",
       {R(200, {}, "the bytes of a LAYER")},
       kBlob.size(),
       false,
       "bytes received are"},
      {"longer than its size", {R(200, {}, kBlob + "!")}, kBlob.size(), false, "more than the"},
      {"cut short", {R(200, {}, kBlob.substr(0, 5))}, kBlob.size(), false, "5 of the blob's"},
  };
  for (const BlobCase& c : cases) {
    SCOPED_TRACE(c.name);
    fake_ = std::make_shared<FakeTransport>();
    for (const HttpResponse& a : c.answers)
      fake_->Expect("GET", "/v2/ns/app/blobs/" + kBlobDigest, a);
    std::string received;
    Status got = Client().GetBlob(kRepo, kBlobDigest, c.size, [&](std::string_view data) {
      received.append(data);
      return Status::Ok();
    });
    ASSERT_EQ(got.ok(), c.want_ok) << got.message();
    if (c.want_ok) {
      EXPECT_EQ(received, kBlob);
    } else {
      EXPECT_NE(got.message().find(c.want_in_message), std::string::npos) << got.message();
    }
    std::vector<HttpRequest> sent = fake_->requests();
    ASSERT_FALSE(sent.empty());
    EXPECT_TRUE(sent[0].follow_redirects);
    EXPECT_EQ(sent[0].expected_response_bytes, c.size);
    EXPECT_TRUE(static_cast<bool>(sent[0].on_response_body));
  }
}

TEST_F(RegistryPullTest, GetBlobSinkErrorStopsTheTransfer) {
  fake_->Expect("GET", "/v2/ns/app/blobs/" + kBlobDigest, R(200, {}, kBlob));
  Status got = Client().GetBlob(kRepo, kBlobDigest, kBlob.size(),
                                [](std::string_view) { return IoError("disk full"); });
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.message(), "disk full");
}

// A streaming transport cut mid-body: the retry asks for the rest (Range),
// and a registry ignoring Range (200 again) has its repeated bytes skipped.
class CuttingTransport : public HttpTransport {
 public:
  explicit CuttingTransport(bool honour_range) : honour_range_(honour_range) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    ranges_.push_back(RequestHeader(request, "Range"));
    HttpResponse response;
    if (ranges_.size() == 1) {
      response.status = 200;
      Status fed = request.on_response_body(200, std::string_view(kBlob).substr(0, 7));
      if (!fed.ok()) return fed;
      return TransientNetworkError("connection reset");
    }
    const bool partial = honour_range_ && !ranges_.back().empty();
    response.status = partial ? 206 : 200;
    Status fed =
        request.on_response_body(response.status, std::string_view(kBlob).substr(partial ? 7 : 0));
    if (!fed.ok()) return fed;
    return response;
  }
  std::vector<std::string> ranges_;
  bool honour_range_;
};

TEST_F(RegistryPullTest, GetBlobResumesAfterACut) {
  for (bool honour : {true, false}) {
    SCOPED_TRACE(honour ? "206" : "200 again");
    auto cutting = std::make_shared<CuttingTransport>(honour);
    RegistryClientOptions options;
    options.clock = clock_;
    RegistryClient client(RegistryEndpoint{"reg.example:5000", false}, {}, cutting, options);
    std::string received;
    Status got = client.GetBlob(kRepo, kBlobDigest, kBlob.size(), [&](std::string_view data) {
      received.append(data);
      return Status::Ok();
    });
    ASSERT_TRUE(got.ok()) << got.message();
    EXPECT_EQ(received, kBlob);
    ASSERT_EQ(cutting->ranges_.size(), 2u);
    EXPECT_EQ(cutting->ranges_[0], "");
    EXPECT_EQ(cutting->ranges_[1], "bytes=7-");
  }
}

}  // namespace
}  // namespace ppa
