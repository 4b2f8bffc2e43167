// The pure parts of signing (docker_io/sign/, importer/load/sign_images.h):
// the simple-signing payload, registries.d, the lookaside store's layout,
// which signatures an import needs, passphrase files and the usage checks.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/secret.h"
#include "docker_io/sign/cosign.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/policy.h"
#include "docker_io/sign/signature_store.h"
#include "docker_io/sign/simple_signing.h"
#include "importer/cli/sign_flags.h"
#include "importer/commands/verify.h"
#include "importer/load/sign_images.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

using test::TempDir;
using test::WriteStringToFile;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOther = "sha256:" + std::string(64, 'b');
const std::string kChild = "sha256:" + std::string(64, 'c');

TEST(SimpleSigningPayloadTest, RoundTripsTheClaimWithTheFieldsVerifiersRequire) {
  std::string payload =
      AtomicSignaturePayload({.reference = "reg:5000/ns/app:1.0", .digest = kDigest}, "me", 42);
  auto json = nlohmann::json::parse(payload);
  EXPECT_EQ(json["critical"]["type"], "atomic container signature");
  EXPECT_EQ(json["critical"]["image"]["docker-manifest-digest"], kDigest);
  EXPECT_EQ(json["critical"]["identity"]["docker-reference"], "reg:5000/ns/app:1.0");
  EXPECT_EQ(json["optional"]["creator"], "me");
  EXPECT_EQ(json["optional"]["timestamp"], 42);
  auto claim = ParseAtomicSignaturePayload(payload);
  ASSERT_TRUE(claim.ok()) << claim.status().ToString();
  EXPECT_EQ(claim->reference, "reg:5000/ns/app:1.0");
  EXPECT_EQ(claim->digest, kDigest);
}

TEST(SimpleSigningPayloadTest, RefusesWhatContainersSignatureRefuses) {
  const std::string image = R"("image":{"docker-manifest-digest":")" + kDigest + R"("})";
  const std::string identity = R"("identity":{"docker-reference":"r/a:1"})";
  const std::string type = R"("type":"atomic container signature")";
  const struct {
    const char* name;
    std::string text;
  } cases[] = {
      {"not json", "{"},
      {"an array", "[]"},
      {"no critical", R"({"optional":{}})"},
      {"unknown top-level field", "{\"critical\":{" + type + "," + image + "," + identity +
                                      "},\"extra\":1}"},
      {"unknown critical field", "{\"critical\":{" + type + "," + image + "," + identity +
                                     ",\"x\":1}}"},
      {"cosign's type", R"({"critical":{"type":"cosign container image signature",)" + image +
                            "," + identity + "}}"},
      {"no identity", "{\"critical\":{" + type + "," + image + "}}"},
      {"no image", "{\"critical\":{" + type + "," + identity + "}}"},
      {"digest not a string", "{\"critical\":{" + type +
                                  R"(,"image":{"docker-manifest-digest":1},)" + identity + "}}"},
      {"unknown image field", "{\"critical\":{" + type +
                                  R"(,"image":{"docker-manifest-digest":"x","y":"z"},)" +
                                  identity + "}}"},
  };
  for (const auto& c : cases) {
    auto claim = ParseAtomicSignaturePayload(c.text);
    EXPECT_FALSE(claim.ok()) << c.name;
    if (!claim.ok()) {
      EXPECT_EQ(claim.status().code(), StatusCode::kInvalidInput) << c.name;
    }
  }
}

TEST(RegistriesDTest, TheMostSpecificScopeWinsAndStagingIsForWriting) {
  auto config = ParseRegistriesDFile(R"(
docker:
  reg.example:5000:
    lookaside: file:///host
  reg.example:5000/ns:
    lookaside: https://sigs.example/ns
    lookaside-staging: file:///staging/ns
  reg.example:5000/ns/app:1.0:
    sigstore: file:///exact
  reg.example:5000/other:
    use-sigstore-attachments: true
default-docker:
  sigstore-staging: file:///default
)",
                                     "t.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const struct {
    const char* reference;
    const char* want;
  } cases[] = {
      {"reg.example:5000/ns/app:1.0", "file:///exact"},
      {"reg.example:5000/ns/app:2.0", "file:///staging/ns"},
      {"reg.example:5000/ns/deep/app", "file:///staging/ns"},
      {"reg.example:5000/nsx/app:1", "file:///host"},
      // A scope that configures no storage does not hide the host's.
      {"reg.example:5000/other/app:1", "file:///host"},
      {"reg.example/ns/app:1.0", "file:///default"},
      {"other.example/app@" "sha256:0123", "file:///default"},
  };
  for (const auto& c : cases) {
    auto url = LookasideForWriting(*config, c.reference);
    ASSERT_TRUE(url.has_value()) << c.reference;
    EXPECT_EQ(*url, c.want) << c.reference;
  }
  auto empty = ParseRegistriesDFile("", "empty.yaml");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(LookasideForWriting(*empty, "reg/app:1").has_value());
}

TEST(RegistriesDTest, BadFilesAndScopesConfiguredTwiceAreErrors) {
  for (const char* text : {"[1, 2]", "docker: [1]", "docker:\n  reg: [x]\n", "a: [\n",
                           "default-docker: 3\n", "docker:\n  reg:\n    lookaside: [x]\n"}) {
    EXPECT_FALSE(ParseRegistriesDFile(text, "bad.yaml").ok()) << text;
  }
  TempDir dir("ppa-registries-d");
  ASSERT_TRUE(WriteStringToFile(dir.Join("a.yaml"), "docker:\n  reg/ns:\n    lookaside: file:///a\n").ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("b.yaml"), "docker:\n  reg/ns:\n    lookaside: file:///b\n").ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("ignored.yml"), "not: [valid\n").ok());
  auto merged = LoadRegistriesD(dir.path());
  ASSERT_FALSE(merged.ok());
  EXPECT_NE(merged.status().message().find("scope 'reg/ns' is configured twice"),
            std::string::npos)
      << merged.status().ToString();
  ASSERT_TRUE(std::filesystem::remove(dir.Join("b.yaml")));
  merged = LoadRegistriesD(dir.path());
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ(LookasideForWriting(*merged, "reg/ns/app:1"), "file:///a");
  // An absent directory configures nothing.
  auto absent = LoadRegistriesD(dir.Join("none"));
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->docker.empty());
}

TEST(RegistriesDTest, OnlyFileUrlsAreWritable) {
  EXPECT_EQ(*LookasideDirectory("file:///srv/sigs/"), "/srv/sigs");
  EXPECT_EQ(LookasideDirectory("https://sigs.example/x").status().code(),
            StatusCode::kUnsupported);
  EXPECT_EQ(LookasideDirectory("file://relative/dir").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(LookasideDirectory("file://").status().code(), StatusCode::kInvalidInput);
}

TEST(LookasideStoreTest, LaysSignaturesOutAsSkopeoAndNeverReplacesOne) {
  TempDir dir("ppa-lookaside");
  auto store = MakeLookasideStore(dir.Join("sigs"));
  auto first = store->Add("ns/app", kDigest, "one");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, dir.Join("sigs") + "/ns/app@sha256=" + std::string(64, 'a') + "/signature-1");
  auto second = store->Add("ns/app", kDigest, "two");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, LookasidePath(dir.Join("sigs"), "ns/app", kDigest, 2));
  auto listed = store->List("ns/app", kDigest);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].bytes, "one");
  EXPECT_EQ((*listed)[1].bytes, "two");
  EXPECT_EQ((*listed)[1].location, *second);
  struct stat st{};
  ASSERT_EQ(stat(first->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_TRUE(store->List("ns/app", kOther)->empty());
  // Names that could leave the directory are refused.
  EXPECT_FALSE(store->Add("../x", kDigest, "s").ok());
  EXPECT_FALSE(store->Add("ns/app", "sha256:../../x", "s").ok());
}

ItemResult Image(std::string name, std::string target, std::string digest) {
  return {.kind = ItemResult::Kind::kImage,
          .name = std::move(name),
          .target = std::move(target),
          .digest = std::move(digest)};
}

TEST(PlanSignaturesTest, SignsStoredImagesListsAndTheirPlatformImagesOnly) {
  std::vector<ItemResult> items = {
      Image("app-amd64", "reg:5000/pre/ns/app:1.0-amd64", kChild),
      Image("failed", "reg:5000/pre/ns/bad:1", kOther),
      Image("by-digest", "reg:5000/pre/ns/raw@" + kOther, kOther),
      {.kind = ItemResult::Kind::kManifestList,
       .name = "app",
       .target = "reg:5000/pre/ns/app:1.0",
       .digest = kDigest,
       .children = {kChild, "sha256:" + std::string(64, 'd')}},  // the second: an attestation
      {.kind = ItemResult::Kind::kChart, .name = "chart.tgz", .target = "/charts/c.tgz"},
  };
  items[1].status = InvalidInput("failed");
  auto tasks = PlanSignatures(items, "reg:5000/", "pre", "");
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(tasks[0].reference, "reg:5000/pre/ns/app:1.0-amd64");
  EXPECT_EQ(tasks[0].digest, kChild);
  EXPECT_EQ(tasks[0].repository, "pre/ns/app");
  EXPECT_EQ(tasks[1].reference, "reg:5000/pre/ns/raw");  // stored by digest: the repository
  EXPECT_EQ(tasks[2].reference, "reg:5000/pre/ns/app:1.0");
  EXPECT_EQ(tasks[2].digest, kDigest);
  EXPECT_EQ(tasks[3].reference, "reg:5000/pre/ns/app:1.0");  // its platform image
  EXPECT_EQ(tasks[3].digest, kChild);
  EXPECT_EQ(tasks[3].item, 3u);

  // Cosign's own artifacts are not signed, nor a platform image pushed by
  // digest that its list's signature covers.
  std::vector<ItemResult> more = items;
  more.push_back(Image("sig", "reg:5000/pre/ns/app:sha256-" + kDigest.substr(7) + ".sig", kOther));
  more.push_back(Image("platform", "reg:5000/pre/ns/app@" + kChild, kChild));
  EXPECT_EQ(PlanSignatures(more, "reg:5000/", "pre", "").size(), 4u);

  // --sign-identity replaces the host and the target's prefix.
  auto mirrored = PlanSignatures(items, "reg:5000/", "pre", "public.example/cp");
  EXPECT_EQ(mirrored[0].reference, "public.example/cp/ns/app:1.0-amd64");
  EXPECT_EQ(mirrored[0].repository, "pre/ns/app");
  // A layout's references come from the identity alone.
  std::vector<ItemResult> layout = {Image("a", "oci:/srv/l:ns/app:1", kDigest)};
  auto from_layout = PlanSignatures(layout, "oci:/srv/l:", "", "reg.example");
  ASSERT_EQ(from_layout.size(), 1u);
  EXPECT_EQ(from_layout[0].reference, "reg.example/ns/app:1");
}

TEST(PlanSignaturesTest, ReferencePathDropsHostTagAndDigest) {
  EXPECT_EQ(ReferencePath("reg:5000/ns/app:1.0"), "ns/app");
  EXPECT_EQ(ReferencePath("reg/ns/app"), "ns/app");
  EXPECT_EQ(ReferencePath("reg/ns/app@" + kDigest), "ns/app");
  EXPECT_EQ(ReferencePath("reg:5000/a/b/c:t"), "a/b/c");
}

TEST(SecretFileTest, TheFirstLineWithoutItsLineEnd) {
  TempDir dir("ppa-secret");
  const struct {
    std::string content;
    std::string want;
  } cases[] = {{"pw\n", "pw"}, {"pw\r\n", "pw"}, {"pw", "pw"}, {"pw\nsecond\n", "pw"},
               {"", ""},       {"\n", ""},       {"  spaced pw  \n", "  spaced pw  "}};
  for (const auto& c : cases) {
    ASSERT_TRUE(WriteStringToFile(dir.Join("p"), c.content).ok());
    auto secret = ReadSecretFile(dir.Join("p"));
    ASSERT_TRUE(secret.ok()) << secret.status().ToString();
    EXPECT_EQ(secret->view(), c.want) << c.content;
  }
  ASSERT_TRUE(WriteStringToFile(dir.Join("big"), std::string(70 << 10, 'x')).ok());
  EXPECT_EQ(ReadSecretFile(dir.Join("big")).status().code(), StatusCode::kInvalidInput);
  EXPECT_FALSE(ReadSecretFile(dir.Join("missing")).ok());
  EXPECT_FALSE(ReadSecretFile(dir.path()).ok());  // a directory
}

TEST(SecretTest, MovingLeavesNothingBehind) {
  Secret a(std::string("short"));
  Secret b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_EQ(b.view(), "short");
  b.Wipe();
  EXPECT_TRUE(b.empty());
}

TEST(SignUsageTest, FlagsThatNeedAKeyAndMalformedIdentities) {
  EXPECT_TRUE(CheckSignUsage({}).ok());
  EXPECT_TRUE(CheckSignUsage({.sign_by = "ABC"}).ok());
  EXPECT_TRUE(CheckSignUsage({.sign_by = "ABC", .identity = "reg.example:5000/cp"}).ok());
  const SignOptions bad[] = {
      {.passphrase_file = "/p"},
      {.identity = "reg.example"},
      {.sign_by = "ABC", .identity = "https://reg.example"},
      {.sign_by = "ABC", .identity = "reg.example/app:1.0"},
      {.sign_by = "ABC", .identity = "user:pw@reg.example"},
      {.sign_by = "ABC", .identity = "not a host"},
  };
  for (const auto& options : bad) {
    Status s = CheckSignUsage(options);
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << options.identity << options.passphrase_file;
    EXPECT_EQ(s.message().find("pw"), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace ppa

namespace ppa {
namespace {

TEST(SignaturePolicyTest, TheMostSpecificDockerScopeElseDefault) {
  auto policy = ParseSignaturePolicy(R"({
    "default": [{"type": "reject"}],
    "transports": {"docker": {
      "reg:5000": [{"type": "insecureAcceptAnything"}],
      "reg:5000/cp": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}],
      "reg:5000/cp/app:1.0": [{"type": "sigstoreSigned", "keyData": "UEVN",
                               "signedIdentity": {"type": "matchRepository"}}]}}})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  using Type = PolicyRequirement::Type;
  EXPECT_EQ(RequirementsFor(*policy, "reg:5000/cp/app:1.0")[0].type, Type::kSigstoreSigned);
  EXPECT_EQ(RequirementsFor(*policy, "reg:5000/cp/app:1.0")[0].key_data[0], "PEM");
  EXPECT_EQ(RequirementsFor(*policy, "reg:5000/cp/app:2.0")[0].type, Type::kSignedBy);
  EXPECT_EQ(RequirementsFor(*policy, "reg:5000/cp/deep/app@sha256:1")[0].key_paths[0], "/k.gpg");
  EXPECT_EQ(RequirementsFor(*policy, "reg:5000/other/app:1")[0].type, Type::kAccept);
  EXPECT_EQ(RequirementsFor(*policy, "reg/cp/app:1.0")[0].type, Type::kReject);
}

TEST(SignaturePolicyTest, WhatItCannotEnforceIsRefusedNotIgnored) {
  for (const char* text : {
           R"({"default":[{"type":"signedBy","keyType":"X509Certificates","keyPath":"/k"}]})",
           R"({"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"remapIdentity","prefix":"a"}}]})",
           R"({"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"matchAnything"}}]})",
           R"({"default":[{"type":"sigstoreSigned","fulcio":{}}]})",
           R"({"default":[{"type":"signedBaseLayer"}]})",
           R"({"default":[{"type":"sigstoreSigned","keyPath":"/k","rekorPublicKeyPaths":["/r"]}]})",
           R"({"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","pki":{}}]})",
           R"({"default":[{"type":"reject"}],"transports":{"docker":{"*.example.com":[{"type":"reject"}]}}})"}) {
    auto policy = ParseSignaturePolicy(text);
    ASSERT_FALSE(policy.ok()) << text;
    EXPECT_EQ(policy.status().code(), StatusCode::kUnsupported) << text;
  }
  for (const char* text : {"{", "[]", R"({"transports":{}})", R"({"default":[]})",
                           R"({"default":[{"type":"signedBy","keyType":"GPGKeys"}]})",
                           R"({"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/a","keyData":"QQ=="}]})",
                           R"({"default":[{"type":5}]})",
                           R"({"default":[{"type":"signedBy","keyType":["GPGKeys"],"keyPath":"/k"}]})"}) {
    EXPECT_EQ(ParseSignaturePolicy(text).status().code(), StatusCode::kInvalidInput) << text;
  }
}

TEST(SignaturePolicyTest, SignedIdentityRules) {
  using Identity = PolicyRequirement::Identity;
  const struct {
    Identity identity;
    std::string value;
    const char* image;
    const char* signed_ref;
    bool want;
  } cases[] = {
      {Identity::kRepoDigestOrExact, "", "r/a:1", "r/a:1", true},
      {Identity::kRepoDigestOrExact, "", "r/a:1", "r/a:2", false},
      {Identity::kRepoDigestOrExact, "", "r/a:1", "r/a", false},
      {Identity::kRepoDigestOrExact, "", "r/a@sha256:1", "r/a:2", true},
      {Identity::kRepoDigestOrExact, "", "r/a@sha256:1", "r/b:2", false},
      {Identity::kExact, "", "r/a:1", "r/a:1", true},
      {Identity::kExact, "", "r/a@sha256:1", "r/a@sha256:1", false},
      {Identity::kRepository, "", "r/a:1", "r/a", true},
      {Identity::kRepository, "", "r/a:1", "r/ab", false},
      {Identity::kExactReference, "pub/a:1", "r/a:1", "pub/a:1", true},
      {Identity::kExactRepository, "pub/a", "r/a:1", "pub/a:9", true},
      {Identity::kExactRepository, "pub/a", "r/a:1", "r/a:1", false},
  };
  for (const auto& c : cases) {
    PolicyRequirement rule{.type = PolicyRequirement::Type::kSignedBy,
                           .identity = c.identity,
                           .identity_value = c.value};
    EXPECT_EQ(IdentityMatches(rule, c.image, c.signed_ref), c.want)
        << c.image << " signed as " << c.signed_ref;
  }
}

// remapIdentity (containers-policy.json(5)): a mirror's images were signed
// under another prefix; the prefix is replaced at a name boundary only,
// then the reference must match as matchRepoDigestOrExact would.
TEST(SignaturePolicyTest, RemapIdentityReplacesThePrefixAtABoundaryOnly) {
  auto policy = ParseSignaturePolicy(
      R"({"default":[{"type":"sigstoreSigned","keyPath":"/k","signedIdentity":)"
      R"({"type":"remapIdentity","prefix":"mirror.local/team","signedPrefix":"icr.io/cp"}}]})");
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  const PolicyRequirement& rule = policy->default_requirements.at(0);
  EXPECT_TRUE(IdentityMatches(rule, "mirror.local/team/app:1", "icr.io/cp/app:1"));
  EXPECT_TRUE(IdentityMatches(rule, "mirror.local/team/app@sha256:1", "icr.io/cp/app"));
  EXPECT_FALSE(IdentityMatches(rule, "mirror.local/team/app:1", "icr.io/cp/app:2"));
  EXPECT_FALSE(IdentityMatches(rule, "mirror.local/teamx/app:1", "icr.io/cpx/app:1"));
  EXPECT_FALSE(IdentityMatches(rule, "other.local/team/app:1", "icr.io/cp/app:1"));
  // Not under the prefix: matched as it is.
  EXPECT_TRUE(IdentityMatches(rule, "other.local/app:1", "other.local/app:1"));
  PolicyRequirement host{.type = PolicyRequirement::Type::kSignedBy,
                         .identity = PolicyRequirement::Identity::kRemap,
                         .identity_value = "mirror.local",
                         .identity_signed_prefix = "icr.io"};
  EXPECT_TRUE(IdentityMatches(host, "mirror.local/cp/app:1", "icr.io/cp/app:1"));
  EXPECT_FALSE(IdentityMatches(host, "mirror.local:5000/cp/app:1", "icr.io:5000/cp/app:1"));
}

TEST(CosignAttachmentTest, OnlyCosignsOwnTagsAreAttachments) {
  const std::string hex(64, 'a');
  EXPECT_TRUE(IsCosignAttachment("reg:5000/ns/app:sha256-" + hex + ".sig"));
  EXPECT_TRUE(IsCosignAttachment("sha256-" + hex + ".att"));
  EXPECT_TRUE(IsCosignAttachment("ns/app:sha256-" + hex + ".sbom"));
  EXPECT_FALSE(IsCosignAttachment("reg:5000/ns/app:1.0"));
  EXPECT_FALSE(IsCosignAttachment("reg:5000/ns/app:sha256-" + hex.substr(1) + ".sig"));
  EXPECT_FALSE(IsCosignAttachment("reg:5000/ns/app:sha256-" + std::string(64, 'A') + ".sig"));
  EXPECT_FALSE(IsCosignAttachment("reg:5000/ns/app:sha256-" + hex + ".sigx"));
  EXPECT_FALSE(IsCosignAttachment("reg:5000/ns/app@sha256:" + hex));
}

TEST(VerifyReportTest, EveryImageAndListOfAReportTheFailedOnesFailing) {
  auto images = ExpectedImagesOfReport(R"({"archives":[{"images":[
      {"target":"r/ns/a:1","manifest_digest":"sha256:1","status":"ok"},
      {"target":"r/ns/b:1","status":"failed"},
      {"target":"r/ns/c:1","manifest_digest":"sha256:3","status":"failed"},
      {"target":"r/ns/l:1","manifest_digest":"sha256:4","status":"ok","kind":"manifest-list"}]},
      {"exit_code":3}]})");
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 4u);
  EXPECT_EQ((*images)[0].target, "r/ns/a:1");
  EXPECT_TRUE((*images)[0].failure.empty());
  EXPECT_EQ((*images)[1].failure, "the import failed it");
  EXPECT_FALSE((*images)[2].failure.empty());  // failed, though a digest is there
  EXPECT_EQ((*images)[3].digest, "sha256:4");
  EXPECT_FALSE(ExpectedImagesOfReport("{}").ok());
  // What the import did not store is listed, failing.
  auto failed = ExpectedImagesOfReport(R"({"archives":[{"images":[
      {"target":"r/ns/b:1","status":"failed","error":"layer mismatch"},
      {"name":"bad name","target":"","status":"failed"},
      {"target":5,"manifest_digest":"sha256:1","status":"ok"}]}]})");
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  ASSERT_EQ(failed->size(), 3u);
  EXPECT_EQ((*failed)[0].failure, "the import failed it: layer mismatch");
  EXPECT_EQ((*failed)[1].target, "bad name");
  EXPECT_FALSE((*failed)[2].failure.empty());
  EXPECT_FALSE(ExpectedImagesOfReport("not json").ok());
}

}  // namespace
}  // namespace ppa
