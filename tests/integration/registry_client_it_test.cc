// RegistryClient + curl transport against a real Debian docker-registry
// (CNCF Distribution) on 127.0.0.1, anonymous and with htpasswd basic auth.
// skopeo (when installed) checks what landed, independently of our code.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "docker_io/image/digest.h"
#include "docker_io/registry/registry_client.h"
#include "tests/support/registry_server.h"

namespace ppa {
namespace {

constexpr char kRegistryBinary[] = "/usr/bin/docker-registry";

bool RunShell(const std::string& command) { return std::system(command.c_str()) == 0; }

// One docker-registry process with its config and storage in a temp dir.
class RegistryClientItTest : public ::testing::Test {
 protected:
  void StartRegistry(bool with_auth) {
    if (access(kRegistryBinary, X_OK) != 0) GTEST_SKIP() << "docker-registry not installed";
    char tmpl[] = "/tmp/ppa-registry-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto port = test::PickFreePort();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = *port;
    std::ofstream config(dir_ + "/config.yml");
    config << "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: "
           << dir_ << "/data\nhttp:\n  addr: 127.0.0.1:" << port_ << "\n";
    if (with_auth) {
      ASSERT_TRUE(RunShell("htpasswd -Bbn user pass > " + dir_ + "/htpasswd 2>/dev/null"));
      config << "auth:\n  htpasswd:\n    realm: basic-realm\n    path: " << dir_ << "/htpasswd\n";
    }
    config.close();
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      int log = open((dir_ + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(log, 1);
      dup2(log, 2);
      execl(kRegistryBinary, "docker-registry", "serve", (dir_ + "/config.yml").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    WaitUntilAnswering();
  }

  void WaitUntilAnswering() {
    HttpRequest ping;
    ping.url = BaseUrl() + "/v2/";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      Result<HttpResponse> got = transport_->Send(ping);
      if (got.ok() && (got->status == 200 || got->status == 401)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "docker-registry did not answer on port " << port_;
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }

  RegistryClient Client(Credentials credentials) {
    return RegistryClient(RegistryEndpoint{"127.0.0.1:" + std::to_string(port_), true},
                          std::move(credentials), transport_);
  }

  // Writes "<prefix><config>" and returns the config as a blob at offset > 0.
  BlobUpload WriteConfigBlob(const std::string& config) {
    const std::string prefix = "some archive bytes before the blob";
    std::ofstream(dir_ + "/archive.bin") << prefix << config << "trailing bytes";
    return BlobUpload{Sha256Digest(config), config.size(),
                      FileBody{dir_ + "/archive.bin", prefix.size(), config.size()}};
  }

  // Uploads a config (from a file region) and a layer, then the manifest.
  void PushMinimalImage(RegistryClient& client, const std::string& repo) {
    const std::string config =
        R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    const std::string layer = "not really a tarball, the registry does not look";
    BlobUpload blob = WriteConfigBlob(config);
    Result<bool> before = client.BlobExists(repo, blob.digest);
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    EXPECT_FALSE(*before);
    Status uploaded = client.UploadBlob(repo, blob);
    ASSERT_TRUE(uploaded.ok()) << uploaded.ToString();
    Result<bool> after = client.BlobExists(repo, blob.digest);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_TRUE(*after);
    const std::string layer_digest = Sha256Digest(layer);
    Status layer_up = client.UploadBlobBytes(repo, layer_digest, layer);
    ASSERT_TRUE(layer_up.ok()) << layer_up.ToString();

    const std::string manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
        R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":)" +
        std::to_string(config.size()) + R"(,"digest":")" + blob.digest +
        R"("},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":)" +
        std::to_string(layer.size()) + R"(,"digest":")" + layer_digest + R"("}]})";
    Result<std::string> digest = client.PutManifest(
        repo, "v1", "application/vnd.docker.distribution.manifest.v2+json", manifest);
    ASSERT_TRUE(digest.ok()) << digest.status().ToString();
    EXPECT_EQ(*digest, Sha256Digest(manifest));
    ExpectSkopeoSees(repo + ":v1", digest.value());
  }

  void ExpectSkopeoSees(const std::string& ref, const std::string& digest) {
    if (!RunShell("command -v skopeo >/dev/null 2>&1")) return;  // optional second opinion
    std::string out = dir_ + "/skopeo.json";
    ASSERT_TRUE(RunShell("skopeo inspect --tls-verify=false --creds user:pass docker://127.0.0.1:" +
                         std::to_string(port_) + "/" + ref + " > " + out + " 2>&1"));
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(digest), std::string::npos) << text;
  }

  std::shared_ptr<HttpTransport> transport_ = MakeCurlTransport(TransportOptions{});
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

TEST_F(RegistryClientItTest, AnonymousPushOfBlobFromFileRegionAndManifest) {
  StartRegistry(/*with_auth=*/false);
  RegistryClient client = Client({});
  ASSERT_TRUE(client.Ping().ok());
  PushMinimalImage(client, "ns/app");
}

TEST_F(RegistryClientItTest, HtpasswdWrongPasswordIsUnauthorized) {
  StartRegistry(/*with_auth=*/true);
  RegistryClient client = Client({"user", "wrong-Secret-42"});
  Status ping = client.Ping();
  EXPECT_EQ(ping.code(), StatusCode::kHttp);
  EXPECT_NE(ping.message().find("401"), std::string::npos) << ping.ToString();
  EXPECT_NE(ping.hint().find("username"), std::string::npos) << ping.ToString();
  Status push = client.UploadBlobBytes("ns/app", Sha256Digest("x"), "x");
  EXPECT_EQ(push.code(), StatusCode::kHttp);
  EXPECT_NE(push.message().find("UNAUTHORIZED"), std::string::npos) << push.ToString();
  EXPECT_EQ(push.ToString().find("wrong-Secret-42"), std::string::npos);
}

TEST_F(RegistryClientItTest, HtpasswdRightPasswordPushes) {
  StartRegistry(/*with_auth=*/true);
  RegistryClient client = Client({"user", "pass"});
  Status ping = client.Ping();
  ASSERT_TRUE(ping.ok()) << ping.ToString();
  PushMinimalImage(client, "ns/app");
}

TEST_F(RegistryClientItTest, HttpsToPlainHttpRegistrySuggestsPlainHttp) {
  StartRegistry(/*with_auth=*/false);
  RegistryClient client(RegistryEndpoint{"127.0.0.1:" + std::to_string(port_), false}, {},
                        transport_);
  Status ping = client.Ping();
  EXPECT_EQ(ping.code(), StatusCode::kNetwork);
  EXPECT_NE(ping.hint().find("--plain-http"), std::string::npos) << ping.ToString();
}

TEST_F(RegistryClientItTest, ClosedPortIsNetworkErrorWithHint) {
  auto closed = test::RefusingPort::Open();
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  port_ = closed->port();
  RegistryClient client = Client({});
  Status ping = client.Ping();
  EXPECT_EQ(ping.code(), StatusCode::kNetwork);
  EXPECT_NE(ping.hint().find("127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << ping.ToString();
}

}  // namespace
}  // namespace ppa
