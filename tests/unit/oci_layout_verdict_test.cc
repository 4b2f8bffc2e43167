// An image reported as imported that was not written (docs/guarantees.md, "Verified").
// The OCI layout sink answered OK for a manifest it could not name in
// index.json (an empty or invalid repository, pushed "by digest"): now it
// refuses those, and a tagged manifest is only reported stored once
// index.json, read back, names it with its digest.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "docker_io/image/digest.h"
#include "docker_io/target/oci_layout_sink.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";

class OciLayoutVerdictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sink = MakeOciLayoutSink(dir_.Join("layout"));
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink).value();
  }

  nlohmann::json Index() {
    auto text = test::ReadFileToString(dir_.Join("layout/index.json"));
    EXPECT_TRUE(text.ok());
    return nlohmann::json::parse(text.ok() ? *text : "{}");
  }

  test::TempDir dir_{"ppa-oci-verdict"};
  std::unique_ptr<BlobSink> sink_;
};

TEST_F(OciLayoutVerdictTest, InvalidRepositoryIsRefusedNotReportedStored) {
  const std::string body = R"({"schemaVersion":2})";
  const std::string digest = Sha256Digest(body);
  for (std::string repo :
       {"", "/", "test_ns/", "/test_ns/app", "test_ns//app", "test_ns/../app", "test_ns/App",
        "test_ns/a?b", "test_ns/a#b", "test_ns/%2e%2e", "test_ns/a b", "test_ns/a\nb"}) {
    for (std::string reference : {std::string("1.0"), digest}) {
      auto put = sink_->PutManifest(repo, reference, kManifestType, body);
      EXPECT_FALSE(put.ok()) << "'" << repo << "' " << reference << " reported stored";
      EXPECT_NE(put.status().message().find("invalid image name"), std::string::npos)
          << put.status().message();
    }
    EXPECT_FALSE(sink_->PutBlobBytes(repo, digest, body).ok()) << repo;
  }
  EXPECT_TRUE(Index()["manifests"].empty()) << Index().dump();
}

TEST_F(OciLayoutVerdictTest, InvalidReferenceIsRefused) {
  const std::string body = R"({"schemaVersion":2})";
  for (std::string reference :
       std::vector<std::string>{"", "../x", "a/b", "-x", "x?y", "sha256:abc",
                                "sha256:" + std::string(64, 'f'), std::string(129, 't')}) {
    auto put = sink_->PutManifest("test_ns/app", reference, kManifestType, body);
    EXPECT_FALSE(put.ok()) << "'" << reference << "' reported stored";
  }
  EXPECT_TRUE(Index()["manifests"].empty()) << Index().dump();
}

TEST_F(OciLayoutVerdictTest, TaggedManifestIsInTheIndexWhenReportedStored) {
  const std::string body = R"({"schemaVersion":2,"x":1})";
  auto put = sink_->PutManifest("test_ns/org/app", "1.0", kManifestType, body);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(*put, Sha256Digest(body));
  nlohmann::json index = Index();
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], *put);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "test_ns/org/app:1.0");
}

// An index.json an earlier tool left with odd entries is kept, not a crash.
TEST_F(OciLayoutVerdictTest, OddIndexEntriesAreKept) {
  ASSERT_TRUE(
      test::WriteStringToFile(dir_.Join("layout/index.json"),
                              R"({"schemaVersion":2,"manifests":[1,{"annotations":"x"},)"
                              R"({"annotations":{"org.opencontainers.image.ref.name":5}}]})")
          .ok());
  const std::string body = R"({"schemaVersion":2,"y":2})";
  auto put = sink_->PutManifest("test_ns/app", "2", kManifestType, body);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(Index()["manifests"].size(), 4u);
}

}  // namespace
}  // namespace ppa
