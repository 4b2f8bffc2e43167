// Names that leave the namespace (docs/archives.md, "Naming the targets"). The distribution name
// and tag grammar (docker_io/image/image_reference.h) is the one check every
// name passes before it reaches a URL or an index entry: the parser, the
// planner's combined "<prefix>/<namespace>/<path>" target, Helm chart
// targets, and the senders (registry client, OCI layout and dry-run sinks),
// which refuse an invalid name without sending anything.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "docker_io/target/blob_sink.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/target/oci_layout_sink.h"
#include "docker_io/registry/registry_client.h"
#include "helm_io/helm_oci.h"
#include "importer/load/plan.h"
#include "tests/support/fake_transport.h"

namespace ppa {
namespace {

using testing::FakeTransport;

const std::string kDigest = "sha256:" + std::string(64, 'a');

// Names that must never parse, each with a word of what must be in the
// message (the offending part).
struct BadName {
  std::string text;
  std::string why;  // a substring of the error message
};

TEST(NameGrammar, RefusesNamesOutsideTheGrammar) {
  const BadName cases[] = {
      {"Upper/case:1", "uppercase"},
      {"org/App:1", "uppercase"},
      {"ORG:1", "uppercase"},
      {"../etc/passwd:1", "invalid registry host '..'"},
      {"a/../b:1", "'..'"},
      {"a/./b:1", "'.'"},
      {"./a:1", "invalid registry host '.'"},
      {"..:1", "'..'"},
      {"/abs:1", "empty path component"},
      {"//double:1", "empty path component"},
      {"a//b:1", "empty path component"},
      {"a/b/:1", "empty path component"},
      {"a/:1", "empty path component"},
      {"/", "empty path component"},
      {"", "empty name"},
      {":1", "empty name"},
      {"a/%2e%2e/b:1", "'%'"},
      {"%2e%2e:1", "'%'"},
      {"a?b:1", "'?'"},
      {"a#b:1", "'#'"},
      {"a b:1", "a space"},
      {"a\tb:1", "byte 0x09"},
      {"a\x1b[2Jb:1", "byte 0x1b"},
      {"a\nb:1", "byte 0x0a"},
      {"a\rb:1", "byte 0x0d"},
      {std::string("a\0b:1", 5), "byte 0x00"},
      {"a\x7f"
       "b:1",
       "byte 0x7f"},
      {"caf\xc3\xa9:1", "byte 0xc3"},
      {"a\\b:1", "'\\'"},
      {"_a:1", "start and end"},
      {"a_:1", "start and end"},
      {"a___b:1", "separator '___'"},
      {"a._b:1", "separator '._'"},
      {"a..b/c:1", "invalid registry host"},
      {"x/a..b:1", "separator '..'"},
      {"-a:1", "start and end"},
      {"a-:1", "start and end"},
      {".a:1", "start and end"},
      {"a.:1", "start and end"},
      {".a/b:1", "invalid registry host"},
      {"a:", "empty tag"},
      {"a:-x", "cannot start with '-'"},
      {"a:.x", "cannot start with '.'"},
      {"a/b:x/y", "'/' is not allowed in a tag"},
      {"a:x/y", "invalid registry host 'a:x'"},
      {"a:x?y", "'?' is not allowed in a tag"},
      {"a:x#y", "'#' is not allowed in a tag"},
      {"a:x y", "a space"},
      {"a:x%2e", "'%'"},
      {"a:x\x1b", "byte 0x1b"},
      {"a:" + std::string(129, 't'), "longer than 128"},
      {"a/b:c:d", "':' is not allowed"},
      {std::string(256, 'a') + ":1", "longer than 255"},
      {"reg.example/" + std::string(250, 'a') + ":1", "longer than 255"},
      {"a@sha256:1234", "invalid digest"},
      {"a@sha256:" + std::string(64, 'A'), "invalid digest"},
      {"a@md5:" + std::string(32, 'a'), "invalid digest"},
      {"a@" + kDigest + "x", "invalid digest"},
      {"a@", "invalid digest"},
      {"bad_host.example:port/a:1", "invalid registry host"},
      {"host..example/a:1", "invalid registry host"},
      {"-host.example/a:1", "invalid registry host"},
      {"host.example:/a:1", "invalid registry host"},
      {"host.example:123456/a:1", "invalid registry host"},
      {"[::1/a:1", "invalid registry host"},
      {"h?st.example/a:1", "invalid registry host"},
  };
  for (const auto& c : cases) {
    auto got = ParseImageReference(c.text);
    ASSERT_FALSE(got.ok()) << "accepted: " << c.text;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput) << c.text;
    const std::string& message = got.status().message();
    EXPECT_EQ(message.rfind("invalid image name '", 0), 0u) << message;
    EXPECT_NE(message.find(c.why), std::string::npos) << c.text << " -> " << message;
    EXPECT_FALSE(got.status().hint().empty()) << c.text;
    EXPECT_EQ(NameMatchKey(c.text), "") << c.text;
  }
}

struct GoodName {
  std::string text;
  std::string target_path, tag, digest;
};

TEST(NameGrammar, AcceptsNamesOfTheGrammar) {
  const GoodName cases[] = {
      {"a", "a", "latest", ""},
      {"a0/b1:T_x.1-2", "a0/b1", "T_x.1-2", ""},
      {"x/a.b_c__d---e/f:1", "x/a.b_c__d---e/f", "1", ""},
      {"docker.io/library/busybox:1.36", "busybox", "1.36", ""},
      {"Registry.Example:5000/org/app:v1", "org/app", "v1", ""},
      {"localhost/app:1", "app", "1", ""},
      {"[::1]:5000/app:1", "app", "1", ""},
      {"org/app@" + kDigest, "org/app", "", kDigest},
      {"org/app:1@" + kDigest, "org/app", "1", kDigest},
      {"a:" + std::string(128, 't'), "a", std::string(128, 't'), ""},
      {"a:_", "a", "_", ""},
      {std::string(255, 'a') + ":1", std::string(255, 'a'), "1", ""},
  };
  for (const auto& c : cases) {
    auto got = ParseImageReference(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status().ToString();
    EXPECT_EQ(got->TargetPath(), c.target_path) << c.text;
    EXPECT_EQ(got->tag, c.tag) << c.text;
    EXPECT_EQ(got->digest, c.digest) << c.text;
  }
}

TEST(NameGrammar, RepositoryPathsAndTags) {
  for (std::string bad : {"", "/a", "a/", "a//b", "..", "a/..", ".", "A", "a?b", "a#b", "a b",
                          "%2e", "a\nb", "_a", "a__", "a.-b"}) {
    EXPECT_FALSE(IsValidRepositoryPath(bad)) << bad;
    EXPECT_FALSE(CheckRepositoryName(bad).ok()) << bad;
    EXPECT_NE(CheckRepositoryName(bad).message().find("invalid image name"), std::string::npos);
  }
  EXPECT_FALSE(IsValidRepositoryPath(std::string(256, 'a')));
  EXPECT_TRUE(IsValidRepositoryPath(std::string(255, 'a')));
  EXPECT_TRUE(IsValidRepositoryPath("test_ns/org/app-1.x__y"));
  for (std::string bad : {"", ".x", "-x", "x/y", "x:y", "x y", "x?", "x#", "x%41", "x\x01"}) {
    EXPECT_FALSE(IsValidTag(bad)) << bad;
    EXPECT_EQ(CheckTag(bad).message().rfind("invalid tag '", 0), 0u) << bad;
  }
  EXPECT_TRUE(IsValidTag("_x.Y-1"));
  EXPECT_TRUE(CheckManifestReference(kDigest).ok());
  EXPECT_TRUE(CheckManifestReference("v1.0").ok());
  EXPECT_FALSE(CheckManifestReference("sha256:abc").ok());
  EXPECT_FALSE(CheckManifestReference("../x").ok());
  EXPECT_FALSE(CheckManifestReference("").ok());
}

// The combined "<prefix>/<namespace>/<path>" is checked too: a valid image
// name can still make a target over the length limit.
TEST(PlanTarget, ChecksTheCombinedName) {
  auto ok = PlanTarget("docker.io/library/app:1", "pfx", "test_ns");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->repository, "pfx/test_ns/app");
  EXPECT_EQ(ok->tag, "1");

  auto long_name = PlanTarget(std::string(250, 'a') + ":1", "", "test_ns");
  ASSERT_FALSE(long_name.ok());
  EXPECT_NE(long_name.status().message().find("invalid image name"), std::string::npos);
  EXPECT_NE(long_name.status().message().find("longer than 255"), std::string::npos);

  for (std::string bad : {"/abs:1", "//x:1", "Upper:1", "../x:1", "a/../b:1", "a?b:1"}) {
    auto got = PlanTarget(bad, "", "test_ns");
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.status().message().rfind("invalid image name '" + bad + "'", 0), 0u)
        << got.status().message();
  }
}

TEST(HelmChartTarget, RefusesChartNamesThatAreNoRepositoryName) {
  for (std::string bad : {"my?chart", "my#chart", "my chart", "%2e%2e", "..", ".", "My-Chart",
                          "a/b", "chart-", "_chart",
                          "ch\x1b"
                          "art",
                          ""}) {
    auto got = HelmChartTarget("", "test_ns", bad, "1.0.0");
    ASSERT_FALSE(got.ok()) << bad;
    EXPECT_EQ(got.status().message().rfind("invalid chart name '", 0), 0u)
        << got.status().message();
    EXPECT_FALSE(got.status().hint().empty());
  }
  auto bad_tag = HelmChartTarget("", "test_ns", "chart", "1.0.0+a?b");
  ASSERT_FALSE(bad_tag.ok());
  EXPECT_EQ(bad_tag.status().message().rfind("invalid tag '", 0), 0u);

  auto good = HelmChartTarget("pfx", "test_ns", "my-chart.x", "1.2.3+build.1");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->repository, "pfx/test_ns/charts/my-chart.x");
  EXPECT_EQ(good->tag, "1.2.3_build.1");
}

// Defence in depth: the registry client builds no URL from an invalid name
// and sends nothing for it.
TEST(RegistryClientNames, RefusesInvalidRepositoryWithoutSending) {
  auto fake = std::make_shared<FakeTransport>();
  RegistryClient client(RegistryEndpoint{"reg.example", false}, Credentials{}, fake);
  const std::string bytes = "{}";
  const std::string digest = Sha256Digest(bytes);
  for (std::string repo : std::vector<std::string>{
           "", "/", "test_ns/", "/test_ns/x", "test_ns//x", "test_ns/../x", "test_ns/X",
           "test_ns/x?y", "test_ns/x#y", "test_ns/%2e%2e", "test_ns/a b", std::string(256, 'a')}) {
    EXPECT_FALSE(client.BlobExists(repo, digest).ok()) << repo;
    EXPECT_FALSE(client.UploadBlobBytes(repo, digest, bytes).ok()) << repo;
    EXPECT_FALSE(client.MountBlob(repo, digest, "test_ns/ok").ok()) << repo;
    EXPECT_FALSE(client.MountOrUploadBlobBytes(repo, digest, bytes, "test_ns/ok").ok()) << repo;
    auto put = client.PutManifest(repo, "1.0", "application/vnd.oci.image.manifest.v1+json", "{}");
    ASSERT_FALSE(put.ok()) << repo;
    EXPECT_NE(put.status().message().find("invalid image name"), std::string::npos);
    EXPECT_FALSE(client.ProbeBlobUpload(repo).ok()) << repo;
  }
  // An invalid mount source, tag or digest is refused the same way.
  EXPECT_FALSE(client.MountBlob("test_ns/ok", digest, "../x").ok());
  EXPECT_FALSE(client.MountOrUploadBlobBytes("test_ns/ok", digest, bytes, "x//y").ok());
  EXPECT_FALSE(client.PutManifest("test_ns/ok", "../../x", "m", "{}").ok());
  EXPECT_FALSE(client.PutManifest("test_ns/ok", "a?b", "m", "{}").ok());
  EXPECT_FALSE(client.BlobExists("test_ns/ok", "sha256:../../x").ok());
  EXPECT_TRUE(fake->requests().empty()) << fake->requests().front().url;
}

// Class 7: a sink reports failure when it cannot record an image.
TEST(SinkVerdicts, DryRunSinkRefusesWhatARealTargetWould) {
  auto sink = MakeDryRunSink(nullptr, "oci:/x:");
  EXPECT_FALSE(sink->PutManifest("", kDigest, "m", "{}").ok());
  EXPECT_FALSE(sink->PutManifest("test_ns/../x", "1", "m", "{}").ok());
  EXPECT_FALSE(sink->PutManifest("test_ns/x", "a/b", "m", "{}").ok());
  EXPECT_FALSE(sink->PutBlobBytes("/x", kDigest, "").ok());
  EXPECT_TRUE(sink->PutManifest("test_ns/x", "1", "m", "{}").ok());
}

}  // namespace
}  // namespace ppa
