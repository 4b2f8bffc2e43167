// Cosign signatures (docker_io/sign/cosign.h): keys as cosign writes them
// (its own published test keys, tests/data/cosign/), the payload and the
// signature manifest, signing and verifying.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "docker_io/sign/cosign.h"
#include "tests/support/cosign_vector.h"

namespace ppa {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::string KeyFile(const std::string& name) {
  return std::string(PPA_TEST_DATA_DIR) + "/cosign/" + name;
}

TEST(CosignKeyTest, ReadsCosignsPublishedKeysAndSignsWithEach) {
  const struct {
    const char* file;
    const char* passphrase;
  } keys[] = {{"sigstore-ec.key", "hello"},
              {"cosign-ec.key", "hello"},
              {"ec-p256-pkcs8.key", ""},
              {"ed25519-pkcs8.key", ""},
              {"rsa-2048-pkcs8.key", ""}};
  const std::string payload = CosignPayload({.reference = "reg/ns/app", .digest = kDigest});
  for (const auto& k : keys) {
    auto key = SigstoreKey::Load(KeyFile(k.file), Secret(std::string(k.passphrase)), true);
    ASSERT_TRUE(key.ok()) << k.file << ": " << key.status().ToString();
    auto signature = (*key)->Sign(payload);
    ASSERT_TRUE(signature.ok()) << k.file;
    EXPECT_TRUE((*key)->Verify(payload, *signature)) << k.file;
    EXPECT_FALSE((*key)->Verify(payload + " ", *signature)) << k.file;
    auto with_pem = VerifyWithPublicKey((*key)->PublicKeyPem(), payload, *signature);
    ASSERT_TRUE(with_pem.ok());
    EXPECT_TRUE(*with_pem) << k.file;
    EXPECT_TRUE(IsValidSha256Digest((*key)->KeyId())) << (*key)->KeyId();
    // verify names the public half the same way.
    auto id = PublicKeyId((*key)->PublicKeyPem());
    ASSERT_TRUE(id.ok()) << k.file;
    EXPECT_EQ(*id, (*key)->KeyId()) << k.file;
  }
}

TEST(CosignKeyTest, RefusesWrongPassphrasesWeakKeysAndOtherFiles) {
  auto wrong = SigstoreKey::Load(KeyFile("sigstore-ec.key"), Secret(std::string("nope")), true);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("passphrase of the signing key is wrong"),
            std::string::npos);
  auto none = SigstoreKey::Load(KeyFile("cosign-ec.key"), Secret(), false);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no passphrase is given"), std::string::npos);
  for (const char* file : {"ec-p384.key", "rsa-1024.key", "README.md", "missing.key"}) {
    auto key = SigstoreKey::Load(KeyFile(file), Secret(), false);
    EXPECT_FALSE(key.ok()) << file;
    if (!key.ok()) {
      EXPECT_FALSE(key.status().hint().empty()) << file;
    }
  }
}

TEST(CosignPayloadTest, IsCosignsDocumentAndReadsBack) {
  const std::string payload = CosignPayload({.reference = "reg:5000/ns/app", .digest = kDigest});
  EXPECT_EQ(payload,
            R"({"critical":{"identity":{"docker-reference":"reg:5000/ns/app"},)"
            R"("image":{"docker-manifest-digest":")" +
                kDigest + R"("},"type":"cosign container image signature"},"optional":null})");
  auto claim = ParseCosignPayload(payload);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(claim->reference, "reg:5000/ns/app");
  EXPECT_EQ(claim->digest, kDigest);
  for (const char* bad :
       {"{", "[]", R"({"critical":{}})",
        R"({"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"atomic container signature"}})",
        R"({"critical":{"identity":{"docker-reference":1},"image":{"docker-manifest-digest":"d"},"type":"cosign container image signature"}})"}) {
    EXPECT_FALSE(ParseCosignPayload(bad).ok()) << bad;
  }
  EXPECT_EQ(CosignSignatureTag(kDigest), "sha256-" + std::string(64, 'a') + ".sig");
}

TEST(CosignManifestTest, BuildsWhatItParsesAndKeepsEveryLayer) {
  std::vector<CosignManifestLayer> layers = {
      {.digest = Sha256Digest("one"), .size = 3, .signature = "c2lnMQ=="},
      {.digest = Sha256Digest("two"), .size = 3, .signature = "c2lnMg=="}};
  CosignDocuments docs = BuildCosignManifest(layers);
  auto manifest = nlohmann::json::parse(docs.manifest);
  EXPECT_EQ(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(manifest["config"]["digest"], Sha256Digest(docs.config));
  EXPECT_EQ(manifest["config"]["size"], docs.config.size());
  EXPECT_EQ(manifest["layers"][1]["mediaType"], kCosignPayloadMediaType);
  EXPECT_EQ(manifest["layers"][1]["annotations"][kCosignSignatureAnnotation], "c2lnMg==");
  auto config = nlohmann::json::parse(docs.config);
  EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 2u);
  auto parsed = ParseCosignManifest(docs.manifest);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].digest, layers[0].digest);
  EXPECT_EQ((*parsed)[1].signature, "c2lnMg==");
  EXPECT_FALSE(ParseCosignManifest("{}").ok());
  // Fields of the wrong type are refused or skipped, never thrown.
  EXPECT_FALSE(ParseCosignManifest(R"({"schemaVersion":"2","layers":[]})").ok());
  auto odd = ParseCosignManifest(
      R"({"schemaVersion":2,"layers":[{"mediaType":5},{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":1,"size":"x"}]})");
  ASSERT_TRUE(odd.ok()) << odd.status().ToString();
  EXPECT_TRUE(odd->empty());
  EXPECT_FALSE(ParseCosignPayload(R"({"critical":{"identity":1,"image":2,"type":3}})").ok());
  EXPECT_FALSE(ParseCosignManifest("not json").ok());
}

// Cosign's own signature and public key (tests/data/cosign/README.md): the
// verifier `ppa-import verify --key` uses accepts what cosign signed, and
// nothing changed after.
TEST(CosignVectorTest, VerifiesTheSignatureCosignMadeAndNothingChanged) {
  using test::CosignVector;
  using test::DssePae;
  const CosignVector v = test::LoadCosignVector();
  ASSERT_FALSE(v.signature.empty());
  auto ok = VerifyWithPublicKey(v.public_pem, v.signed_bytes, v.signature);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(*ok);
  auto id = PublicKeyId(v.public_pem);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(IsValidSha256Digest(*id));

  // Another subject digest in the payload: the signed bytes differ.
  std::string other_digest = v.payload;
  const size_t at = other_digest.find("658781cd");
  ASSERT_NE(at, std::string::npos);
  other_digest[at] = '7';
  // Another payload type, the payload unsigned, one signature byte changed,
  // the signature cut short.
  std::string flipped = v.signature;
  flipped[flipped.size() / 2] ^= 0x01;
  const struct {
    const char* what;
    std::string bytes;
    std::string signature;
  } rejected[] = {
      {"another digest", DssePae(v.payload_type, other_digest), v.signature},
      {"another type", DssePae("application/json", v.payload), v.signature},
      {"the bare payload", v.payload, v.signature},
      {"a changed signature", v.signed_bytes, flipped},
      {"a cut signature", v.signed_bytes, v.signature.substr(0, v.signature.size() - 1)},
      {"no signature", v.signed_bytes, ""},
  };
  for (const auto& r : rejected) {
    auto verdict = VerifyWithPublicKey(v.public_pem, r.bytes, r.signature);
    EXPECT_TRUE(!verdict.ok() || !*verdict) << r.what;
  }
  // Another key: one of cosign's published test keys.
  auto other = SigstoreKey::Load(KeyFile("ec-p256-pkcs8.key"), Secret(), false);
  ASSERT_TRUE(other.ok());
  auto with_other = VerifyWithPublicKey((*other)->PublicKeyPem(), v.signed_bytes, v.signature);
  ASSERT_TRUE(with_other.ok());
  EXPECT_FALSE(*with_other);
  auto other_id = PublicKeyId((*other)->PublicKeyPem());
  ASSERT_TRUE(other_id.ok());
  EXPECT_NE(*other_id, *id);
}

}  // namespace
// Appending a signature keeps every layer already there byte for byte (a
// keyless signature's certificate and bundle, another tool's layer), and
// the config lists all of them.
TEST(CosignManifestTest, AppendingKeepsTheLayersThereAsTheyAre) {
  const std::string keyless =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":1,"digest":"sha256:)" +
      std::string(64, '0') +
      R"("},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":10,)"
      R"("digest":"sha256:)" + std::string(64, '1') +
      R"(","annotations":{"dev.cosignproject.cosign/signature":"c2ln",)"
      R"("dev.sigstore.cosign/certificate":"CERT","dev.sigstore.cosign/bundle":"BUNDLE"}},)"
      R"({"mediaType":"application/x-other","size":3,"digest":"sha256:)" + std::string(64, '2') +
      R"("}]})";
  auto docs = AppendCosignLayer(keyless, {.digest = "sha256:" + std::string(64, '3'),
                                          .size = 20,
                                          .signature = "bmV3"});
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  auto manifest = nlohmann::json::parse(docs->manifest);
  ASSERT_EQ(manifest["layers"].size(), 3u);
  const auto before = nlohmann::json::parse(keyless)["layers"];
  EXPECT_EQ(manifest["layers"][0], before[0]);
  EXPECT_EQ(manifest["layers"][1], before[1]);
  EXPECT_EQ(manifest["layers"][2]["annotations"]["dev.cosignproject.cosign/signature"], "bmV3");
  EXPECT_EQ(manifest["mediaType"], "application/vnd.oci.image.manifest.v1+json");
  auto config = nlohmann::json::parse(docs->config);
  EXPECT_EQ(config["rootfs"]["diff_ids"].size(), 3u);
  EXPECT_EQ(manifest["config"]["digest"], Sha256Digest(docs->config));
  EXPECT_FALSE(AppendCosignLayer("{}", {}).ok());
  auto fresh = AppendCosignLayer("", {.digest = "sha256:" + std::string(64, '3'), .size = 20,
                                      .signature = "bmV3"});
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(nlohmann::json::parse(fresh->manifest)["layers"].size(), 1u);
}

}  // namespace ppa
