// The complete registry protocol against Debian's docker-registry (CNCF
// Distribution 2.8): cross-repository mount, chunked and streamed uploads,
// and token auth with a test token server issuing short-lived RS256 JWTs so
// that refresh happens during a push. skopeo judges what landed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "docker_io/image/digest.h"
#include "docker_io/registry/registry_client.h"
#include "tests/support/process.h"
#include "tests/support/registry_server.h"
#include "tests/support/skopeo.h"
#include "tests/support/token_server.h"

namespace ppa {
namespace {

using test::RegistryOptions;
using test::RegistryServer;
using test::TokenServer;

const char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";

struct Blob {
  std::string bytes;
  std::string digest;
};

Blob MakeBlob(const std::string& seed, size_t size) {
  std::string bytes;
  while (bytes.size() < size) bytes += seed + std::to_string(bytes.size());
  bytes.resize(size);
  return {bytes, Sha256Digest(bytes)};
}

std::string Manifest(const Blob& config, const std::vector<Blob>& layers) {
  std::string out =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":)" +
      std::to_string(config.bytes.size()) + R"(,"digest":")" + config.digest + R"("},"layers":[)";
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i) out += ",";
    out += R"({"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":)" +
           std::to_string(layers[i].bytes.size()) + R"(,"digest":")" + layers[i].digest + R"("})";
  }
  return out + "]}";
}

const Blob kConfig = MakeBlob(
    R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})", 78);

class RegistryProtocolItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/docker-registry", X_OK) != 0) GTEST_SKIP() << "no docker-registry";
  }

  std::unique_ptr<RegistryServer> StartRegistry(const RegistryOptions& options = {}) {
    auto server = RegistryServer::Start(options);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return server.ok() ? std::move(server).value() : nullptr;
  }

  // The blob written to a file at an offset, as the importer hands them over.
  BlobUpload InFile(const Blob& blob, bool size_known = true) {
    std::string path = dir_.Join(blob.digest.substr(7, 12));
    EXPECT_TRUE(test::WriteStringToFile(path, "prefix" + blob.bytes).ok());
    if (!size_known) return BlobUpload{blob.digest, BlobUpload::kUnknownSize, FileBody{path, 6, 0}};
    return BlobUpload{blob.digest, blob.bytes.size(), FileBody{path, 6, blob.bytes.size()}};
  }

  test::TempDir dir_{"ppa-protocol-it"};
  std::shared_ptr<HttpTransport> transport_ = MakeCurlTransport(TransportOptions{});
};

TEST_F(RegistryProtocolItTest, CrossRepositoryMountReallyHappens) {
  auto registry = StartRegistry();
  ASSERT_TRUE(registry);
  RegistryClient client(RegistryEndpoint{registry->host(), true}, {}, transport_);
  Blob layer = MakeBlob("mounted layer ", 5000);
  ASSERT_TRUE(client.UploadBlob("ns/first", InFile(layer)).ok());
  ASSERT_TRUE(client.UploadBlobBytes("ns/first", kConfig.digest, kConfig.bytes).ok());

  Result<bool> mounted = client.MountOrUploadBlob("ns/second", InFile(layer), "ns/first");
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  EXPECT_TRUE(*mounted);
  Result<bool> config = client.MountOrUploadBlobBytes("ns/second", kConfig.digest, kConfig.bytes,
                                                      "ns/first");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(*config);
  // A source without the blob: the registry answers 202, the upload goes on.
  Blob fresh = MakeBlob("not anywhere yet ", 300);
  Result<bool> fallback = client.MountOrUploadBlob("ns/second", InFile(fresh), "ns/first");
  ASSERT_TRUE(fallback.ok()) << fallback.status().ToString();
  EXPECT_FALSE(*fallback);

  Result<std::string> digest =
      client.PutManifest("ns/second", "v1", kDockerManifest, Manifest(kConfig, {layer, fresh}));
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();

  const std::string mount_query = "mount=sha256%3A" + layer.digest.substr(7);
  EXPECT_EQ(registry->CountLogLines(mount_query), 2) << registry->ReadLog();  // access + app log
  EXPECT_GE(registry->CountLogLines("\" 201 "), 1);
  std::string log = registry->ReadLog();
  // The mount POST was answered 201, and nothing of the layer was PUT to ns/second.
  bool mount_201 = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"POST /v2/ns/second/blobs/uploads/?") != std::string::npos &&
        line.find(mount_query) != std::string::npos &&
        line.find("\" 201 ") != std::string::npos) {
      mount_201 = true;
    }
  }
  EXPECT_TRUE(mount_201) << log;
  EXPECT_EQ(registry->CountLogLines("\"PUT /v2/ns/second/blobs/uploads/"), 1);  // `fresh` only
  EXPECT_EQ(registry->CountLogLines("\"PATCH /v2/ns/second/"), 0);
  Status pulled = test::SkopeoCopyToDir("docker://" + registry->host() + "/ns/second:v1",
                                        dir_.Join("pulled"));
  EXPECT_TRUE(pulled.ok()) << pulled.ToString();
}

TEST_F(RegistryProtocolItTest, ChunkedAndStreamedUploads) {
  auto registry = StartRegistry();
  ASSERT_TRUE(registry);
  RegistryClientOptions chunked;
  chunked.strategy = UploadStrategy::kChunked;
  chunked.chunk_size = 1000;
  RegistryClient chunky(RegistryEndpoint{registry->host(), true}, {}, transport_, chunked);
  Blob big = MakeBlob("chunked layer ", 4500);
  Status st = chunky.UploadBlob("ns/app", InFile(big));
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(registry->CountLogLines("\"PATCH /v2/ns/app/blobs/uploads/"), 5);

  RegistryClient plain(RegistryEndpoint{registry->host(), true}, {}, transport_);
  Blob streamed = MakeBlob("streamed layer ", 3000);
  st = plain.UploadBlob("ns/app", InFile(streamed, /*size_known=*/false));
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_TRUE(plain.UploadBlobBytes("ns/app", kConfig.digest, kConfig.bytes).ok());
  Result<std::string> digest =
      plain.PutManifest("ns/app", "v1", kDockerManifest, Manifest(kConfig, {big, streamed}));
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  Status pulled =
      test::SkopeoCopyToDir("docker://" + registry->host() + "/ns/app:v1", dir_.Join("pulled"));
  EXPECT_TRUE(pulled.ok()) << pulled.ToString();
}

TEST_F(RegistryProtocolItTest, TokenAuthWithRefreshDuringPush) {
  auto tokens = TokenServer::Start();
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  TokenServer& ts = **tokens;
  RegistryOptions options;
  options.token = test::TokenAuthOptions{ts.realm(), ts.options().service, ts.options().issuer,
                                         ts.cert_path()};
  auto registry = StartRegistry(options);
  ASSERT_TRUE(registry);

  RegistryClient wrong(RegistryEndpoint{registry->host(), true}, {"user", "wrong-PW-77"},
                       transport_);
  Status denied = wrong.Ping();
  EXPECT_EQ(denied.code(), StatusCode::kHttp);
  EXPECT_NE(denied.message().find("401"), std::string::npos) << denied.ToString();
  EXPECT_EQ(denied.ToString().find("wrong-PW-77"), std::string::npos);

  RegistryClient client(RegistryEndpoint{registry->host(), true}, {"user", "pass"}, transport_);
  Status ping = client.Ping();
  ASSERT_TRUE(ping.ok()) << ping.ToString() << "\n" << registry->ReadLog();
  // Tokens live 2 s (the client renews after 1 s): spread the blobs out.
  std::vector<Blob> layers;
  for (int i = 0; i < 4; ++i) {
    layers.push_back(MakeBlob("token layer " + std::to_string(i) + " ", 2000 + i));
    Status st = client.UploadBlob("ns/app", InFile(layers.back()));
    ASSERT_TRUE(st.ok()) << st.ToString() << "\n" << registry->ReadLog();
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  }
  ASSERT_TRUE(client.UploadBlobBytes("ns/app", kConfig.digest, kConfig.bytes).ok());
  Result<std::string> digest =
      client.PutManifest("ns/app", "v1", kDockerManifest, Manifest(kConfig, layers));
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_GE(ts.tokens_issued(), 4);

  // A mount needs pull on the source too: the token scope carries both.
  Result<bool> mounted =
      client.MountOrUploadBlob("ns/other", InFile(layers[0]), "ns/app");
  ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
  EXPECT_TRUE(*mounted);

  Result<nlohmann::json> seen =
      test::SkopeoInspect("docker://" + registry->host() + "/ns/app:v1", false, "user:pass");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ((*seen)["Digest"], *digest);
  EXPECT_EQ((*seen)["Layers"].size(), 4u);
}

}  // namespace
}  // namespace ppa
