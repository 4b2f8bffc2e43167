// Signed imports (README, "Signing"), judged by the real skopeo: images
// land signed with simple signing (containers-signature(5)) into a
// lookaside directory from registries.d or into the registry's signature
// API extension, and skopeo, under a `signedBy` policy, accepts each of
// them with the signing key and refuses them with another key, with a
// tampered signature and with a signature of another digest.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "docker_io/sign/cosign.h"
#include "tests/support/cosign_vector.h"
#include "tests/support/gnupg.h"
#include "tests/support/load_fixture.h"
#include "tests/support/signature_api_proxy.h"

namespace ppa::test {
namespace {

namespace fs = std::filesystem;

constexpr char kPassphrase[] = "correct horse";

class SignTest : public LoadFixture {
 protected:
  void SetUp() override {
    LoadFixture::SetUp();
    auto fpr = keyring_.AddKey("signer@example.com", kPassphrase);
    ASSERT_TRUE(fpr.ok()) << fpr.status().ToString();
    fingerprint_ = *fpr;
    ASSERT_TRUE(keyring_.ExportPublic(fingerprint_, dir_.Join("signer.gpg")).ok());
    ASSERT_TRUE(WriteStringToFile(dir_.Join("pass.txt"), std::string(kPassphrase) + "\n").ok());
    fs::create_directories(RegistriesD());
    ASSERT_TRUE(WriteStringToFile(RegistriesD() + "/sigs.yaml",
                                  "default-docker:\n  lookaside: file://" + Lookaside() +
                                      "\n")
                    .ok());
  }

  std::string RegistriesD() { return dir_.Join("registries.d"); }
  std::string Lookaside() { return dir_.Join("sigstore"); }

  // `load` of the demo sample, signing with the test key.
  ProcessResult SignedLoad(std::vector<std::string> extra = {}, const std::string& host = "") {
    std::vector<std::string> args = {"--sign-by", fingerprint_, "--sign-passphrase-file",
                                     dir_.Join("pass.txt"), "--registries.d", RegistriesD()};
    args.insert(args.end(), extra.begin(), extra.end());
    if (host.empty()) return Load(Sample(), args, keyring_.env());
    // Another registry address than the fixture's.
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",      "--archive", Sample(),
                                     "--namespace",     "test_ns",   "--registry", host,
                                     "--plain-http"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto env = keyring_.env();
    env.emplace("HOME", dir_.path());
    return RunProcess(argv, std::nullopt, env, dir_.path());
  }
  std::string Sample() {
    if (sample_.empty()) sample_ = Archive(samples::DemoSampleSpec(), "sample.tgz");
    return sample_;
  }
  Status Verify(const std::string& repo_tag, const std::string& key = "", bool all = false) {
    return SkopeoCopyWithPolicy(Ref(repo_tag),
                                SignedByPolicy(key.empty() ? dir_.Join("signer.gpg") : key),
                                RegistriesD(), all);
  }
  std::vector<fs::path> SignatureFiles() {
    std::vector<fs::path> out;
    if (!fs::exists(Lookaside())) return out;
    for (const auto& e : fs::recursive_directory_iterator(Lookaside())) {
      if (e.is_regular_file()) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The lookaside folder of test_ns/<repo>'s manifest `digest`.
  std::string SignatureFolder(const std::string& repo, const std::string& digest) {
    return Lookaside() + "/test_ns/" + repo + "@sha256=" + digest.substr(7);
  }
  std::string DigestOf(const std::string& repo_tag) {
    auto raw = SkopeoInspect(Ref(repo_tag), /*raw=*/false);
    EXPECT_TRUE(raw.ok()) << raw.status().ToString();
    return raw.ok() ? (*raw)["Digest"].get<std::string>() : "";
  }

  TestKeyring keyring_;
  std::string fingerprint_;
  std::string sample_;
};

TEST_F(SignTest, SkopeoAcceptsEveryImportedImageWithTheSigningKey) {
  ProcessResult r = SignedLoad();
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Signing every image and manifest list with OpenPGP key " +
                               fingerprint_),
            std::string::npos)
      << Output(r);
  for (const char* ref : kSampleImageRefs) {
    Status verified = Verify(ref);
    EXPECT_TRUE(verified.ok()) << ref << ": " << verified.ToString();
  }
  // Every platform image of a list too, as `copy --all` reads them.
  Status all = Verify("ibmcom/portal:2.1.0", "", /*all=*/true);
  EXPECT_TRUE(all.ok()) << all.ToString();
  // skopeo's layout: <repository>@sha256=<hex>/signature-N, readable by all.
  const std::string digest = DigestOf("ibmcom/portal-db:2.1.0-amd64");
  const std::string first = SignatureFolder("ibmcom/portal-db", digest) + "/signature-1";
  struct stat st{};
  ASSERT_EQ(stat(first.c_str(), &st), 0) << first;
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(SignTest, SkopeoRefusesAnotherKey) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  auto other = keyring_.AddKey("other@example.com", "");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE(keyring_.ExportPublic(*other, dir_.Join("other.gpg")).ok());
  Status refused = Verify("ibmcom/portal-db:2.1.0-amd64", dir_.Join("other.gpg"));
  EXPECT_FALSE(refused.ok()) << "accepted with a key that signed nothing";
  EXPECT_TRUE(Verify("ibmcom/portal-db:2.1.0-amd64").ok());
}

TEST_F(SignTest, SkopeoRefusesATamperedSignature) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  const std::string digest = DigestOf("ibmcom/portal-worker:2.1.0-amd64");
  const std::string folder = SignatureFolder("ibmcom/portal-worker", digest);
  ASSERT_TRUE(fs::exists(folder)) << folder;
  for (const auto& e : fs::directory_iterator(folder)) {
    std::string bytes = ReadFileOr(e.path());
    ASSERT_GT(bytes.size(), 40u);
    bytes[bytes.size() - 20] ^= 0x01;  // inside the signature packet
    ASSERT_TRUE(WriteStringToFile(e.path(), bytes).ok());
  }
  EXPECT_FALSE(Verify("ibmcom/portal-worker:2.1.0-amd64").ok());
}

TEST_F(SignTest, SkopeoRefusesASignatureOfAnotherDigest) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  // portal-tools's signature, filed as portal-init's: it names another
  // digest (and reference), so it proves nothing about portal-init.
  const std::string tools = SignatureFolder("ibmcom/portal-tools",
                                            DigestOf("ibmcom/portal-tools:2.1.0-amd64"));
  const std::string init = SignatureFolder("ibmcom/portal-init",
                                           DigestOf("ibmcom/portal-init:2.1.0-amd64"));
  fs::remove_all(init);
  fs::create_directories(init);
  fs::copy_file(tools + "/signature-1", init + "/signature-1");
  EXPECT_FALSE(Verify("ibmcom/portal-init:2.1.0-amd64").ok());
}

TEST_F(SignTest, ReImportAddsNoDuplicateSignature) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  std::vector<fs::path> first = SignatureFiles();
  ASSERT_FALSE(first.empty());
  ProcessResult again = SignedLoad({"--json", dir_.Join("report.json")});
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_EQ(SignatureFiles(), first);
  EXPECT_NE(again.stdout_text.find("Already signed "), std::string::npos) << Output(again);
  auto report = nlohmann::json::parse(ReadFileOr(dir_.Join("report.json")));
  int signatures = 0;
  for (const auto& item : report["archives"][0]["images"]) {
    for (const auto& sig : item.value("signatures", nlohmann::json::array())) {
      ++signatures;
      EXPECT_EQ(sig["scheme"], "simple-signing");
      EXPECT_EQ(sig["key"], fingerprint_);
      EXPECT_FALSE(sig["added"].get<bool>()) << sig.dump();
    }
  }
  EXPECT_EQ(signatures, static_cast<int>(first.size()));
}

// Two archives of the same images imported at once: each image is signed
// once, not once per archive (looking for an equal signature and adding one
// are one step).
TEST_F(SignTest, ArchivesImportedAtOnceSignEachImageOnce) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  const size_t once = SignatureFiles().size();
  fs::remove_all(Lookaside());
  const std::string copy = dir_.Join("copy.tgz");
  fs::copy_file(Sample(), copy);
  ProcessResult r = SignedLoad({"--archive", copy, "--parallel-archives", "2", "--no-cache"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(SignatureFiles().size(), once) << Output(r);
}

TEST_F(SignTest, JsonReportListsEachSignatureWhereItIs) {
  ProcessResult r = SignedLoad({"--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(r.stdout_text);
  bool found = false;
  for (const auto& item : report["archives"][0]["images"]) {
    if (item["target"] != registry_->host() + "/test_ns/ibmcom/portal-db:2.1.0-amd64") continue;
    ASSERT_EQ(item["signatures"].size(), 1u) << item.dump();
    const auto& sig = item["signatures"][0];
    EXPECT_EQ(sig["reference"], registry_->host() + "/test_ns/ibmcom/portal-db:2.1.0-amd64");
    EXPECT_EQ(sig["digest"], item["manifest_digest"]);
    EXPECT_EQ(sig["stored"],
              SignatureFolder("ibmcom/portal-db", item["manifest_digest"]) + "/signature-1");
    EXPECT_TRUE(sig["added"].get<bool>());
    found = true;
  }
  EXPECT_TRUE(found) << r.stdout_text;
  // No passphrase in the report, the output or the work directory.
  EXPECT_EQ(r.stdout_text.find(kPassphrase), std::string::npos);
  EXPECT_EQ(r.stderr_text.find(kPassphrase), std::string::npos);
}

TEST_F(SignTest, WrongPassphraseStopsTheRunBeforeAnyPush) {
  ASSERT_TRUE(WriteStringToFile(dir_.Join("pass.txt"), "wrong\n").ok());
  ProcessResult r = SignedLoad();
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("Error: the passphrase of signing key " + fingerprint_ +
                               " is wrong"),
            std::string::npos)
      << Output(r);
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos);
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
  EXPECT_TRUE(SignatureFiles().empty());
}

// gpg-agent remembers a passphrase for minutes: a wrong one given right
// after the right one must still fail, not sign with the remembered one.
TEST_F(SignTest, AWrongPassphraseFailsEvenWhenTheAgentRemembersTheRightOne) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  ASSERT_TRUE(WriteStringToFile(dir_.Join("pass.txt"), "wrong\n").ok());
  ProcessResult r = SignedLoad();
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find(" is wrong"), std::string::npos) << Output(r);
}

TEST_F(SignTest, DoctorChecksTheKeyThePassphraseAndWhereSignaturesGo) {
  auto doctor = [&](const std::string& pass_file) {
    return RunProcess({PPA_IMPORT_BINARY, "doctor", "--registry", registry_->host(),
                       "--plain-http", "--namespace", "test_ns", "--sign-by", fingerprint_,
                       "--sign-passphrase-file", pass_file, "--registries.d", RegistriesD()},
                      std::nullopt, keyring_.env(), dir_.path());
  };
  ProcessResult good = doctor(dir_.Join("pass.txt"));
  EXPECT_EQ(good.exit_code, 0) << Output(good);
  EXPECT_NE(good.stdout_text.find("PASS  signing key: OpenPGP key " + fingerprint_ +
                                  " signs (the passphrase is right)"),
            std::string::npos)
      << Output(good);
  EXPECT_NE(good.stdout_text.find("PASS  signature storage: lookaside " + Lookaside()),
            std::string::npos)
      << Output(good);
  ASSERT_TRUE(WriteStringToFile(dir_.Join("bad.txt"), "wrong\n").ok());
  ProcessResult bad = doctor(dir_.Join("bad.txt"));
  EXPECT_EQ(bad.exit_code, 1) << Output(bad);
  EXPECT_NE(bad.stdout_text.find("FAIL  signing key: the passphrase of signing key " +
                                 fingerprint_ + " is wrong"),
            std::string::npos)
      << Output(bad);
  EXPECT_NE(bad.stdout_text.find("      fix: check the file given to --sign-passphrase-file"),
            std::string::npos);
  EXPECT_NE(bad.stdout_text.find("SKIP  signature storage: needs the 'signing key' check"),
            std::string::npos);
  EXPECT_TRUE(SignatureFiles().empty()) << "doctor stores nothing";
}

TEST_F(SignTest, ProtectedKeyWithoutPassphraseIsAUsageError) {
  ProcessResult r = Load(Sample(), {"--sign-by", fingerprint_, "--registries.d", RegistriesD()},
                         keyring_.env());
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("is protected by a passphrase"), std::string::npos) << Output(r);
  EXPECT_NE(r.stderr_text.find("Hint: pass it in a file with --sign-passphrase-file"),
            std::string::npos);
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
}

TEST_F(SignTest, UnknownKeyIsAUsageError) {
  ProcessResult r = Load(Sample(), {"--sign-by", "0123456789ABCDEF0123456789ABCDEF01234567"},
                         keyring_.env());
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("no secret key '0123456789ABCDEF0123456789ABCDEF01234567'"),
            std::string::npos)
      << Output(r);
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
}

// A lookaside that cannot take the signatures (here a web URL: only
// file:// is written) is found before any push, not after.
TEST_F(SignTest, ALookasideThatCannotBeWrittenStopsTheRunBeforeAnyPush) {
  ASSERT_TRUE(WriteStringToFile(RegistriesD() + "/sigs.yaml",
                                "default-docker:\n  lookaside: https://sigs.example.com\n")
                  .ok());
  ProcessResult r = SignedLoad();
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("file:// lookaside storage only"), std::string::npos) << Output(r);
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
}

TEST_F(SignTest, DryRunSaysWhatItWouldSignAndWritesNothing) {
  ProcessResult r = SignedLoad({"--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Would sign " + registry_->host() +
                               "/test_ns/ibmcom/portal-db:2.1.0-amd64@sha256:"),
            std::string::npos)
      << Output(r);
  EXPECT_NE(r.stdout_text.find(" into lookaside " + Lookaside()), std::string::npos);
  EXPECT_TRUE(SignatureFiles().empty());
}

TEST_F(SignTest, SignIdentityNamesThePublicRegistryInTheSignature) {
  ProcessResult r = SignedLoad({"--sign-identity", "registry.example.com/mirror", "--json", "-"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(r.stdout_text);
  for (const auto& item : report["archives"][0]["images"]) {
    for (const auto& sig : item.value("signatures", nlohmann::json::array())) {
      const std::string ref = sig["reference"];
      EXPECT_EQ(ref.rfind("registry.example.com/mirror/test_ns/ibmcom/", 0), 0u) << ref;
      // Filed under the path clusters pull from.
      EXPECT_EQ(sig["stored"].get<std::string>().rfind(Lookaside() + "/mirror/test_ns/", 0), 0u)
          << sig.dump();
    }
  }
}

// A signature the registry refuses fails its image: exit 1, an Error line,
// the item failed in the report; never "OK" unsigned.
TEST_F(SignTest, ASignatureTheRegistryRefusesFailsItsImage) {
  auto proxy = SignatureApiProxy::Start(registry_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  (*proxy)->RefuseSignatures();
  ProcessResult r = SignedLoad({"--json", dir_.Join("r.json")}, (*proxy)->host());
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("Error: "), std::string::npos) << Output(r);
  EXPECT_NE(r.stderr_text.find("signing '"), std::string::npos) << Output(r);
  EXPECT_EQ(r.stdout_text.find("\nOK ("), std::string::npos) << Output(r);
  auto report = nlohmann::json::parse(ReadFileOr(dir_.Join("r.json")));
  int failed = 0;
  for (const auto& item : report["archives"][0]["images"]) failed += item["status"] == "failed";
  EXPECT_EQ(failed, 11) << report.dump();
  EXPECT_EQ((*proxy)->SignatureCount(), 0u);
}

// An OCI image layout target: simple signatures go to a lookaside beside
// the layout, cosign's signature manifests into the layout, both naming the
// registry of --sign-identity (a layout has no registry of its own).
TEST_F(SignTest, AnOciLayoutGetsItsSignaturesBesideAndInsideIt) {
  const std::string layout = dir_.Join("layout");
  const std::string cosign_key = std::string(PPA_TEST_DATA_DIR) + "/cosign/ec-p256-pkcs8.key";
  // Without --sign-identity: a usage error, nothing written.
  std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",        "--archive",
                                   Sample(),          "--namespace", "test_ns",
                                   "--registry",      "oci:" + layout,
                                   "--sign-by",       fingerprint_,
                                   "--sign-passphrase-file", dir_.Join("pass.txt"),
                                   "--sign-key",      cosign_key,
                                   "--registries.d",  dir_.Join("empty.d")};
  auto env = keyring_.env();
  env.emplace("HOME", dir_.path());
  ProcessResult refused = RunProcess(argv, std::nullopt, env, dir_.path());
  EXPECT_EQ(refused.exit_code, 2) << Output(refused);
  EXPECT_NE(refused.stderr_text.find("needs --sign-identity"), std::string::npos);
  argv.insert(argv.end(), {"--sign-identity", "registry.example.com/cp", "--json", "-"});
  ProcessResult r = RunProcess(argv, std::nullopt, env, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  auto report = nlohmann::json::parse(r.stdout_text);
  int simple = 0, cosign = 0;
  for (const auto& item : report["archives"][0]["images"]) {
    for (const auto& sig : item.value("signatures", nlohmann::json::array())) {
      const std::string ref = sig["reference"];
      EXPECT_EQ(ref.rfind("registry.example.com/cp/test_ns/ibmcom/", 0), 0u) << ref;
      if (sig["scheme"] == "simple-signing") {
        ++simple;
        EXPECT_EQ(sig["stored"].get<std::string>().rfind(layout + ".sigstore/cp/test_ns/", 0), 0u)
            << sig.dump();
        EXPECT_TRUE(fs::exists(sig["stored"].get<std::string>()));
      } else {
        ++cosign;
        EXPECT_EQ(sig["stored"].get<std::string>().rfind("oci:" + layout + ":test_ns/", 0), 0u)
            << sig.dump();
      }
    }
  }
  EXPECT_GT(simple, 0);
  EXPECT_EQ(simple, cosign);
  // skopeo reads a signature manifest out of the layout by its tag.
  const std::string digest =
      SkopeoInspect("oci:" + layout + ":test_ns/ibmcom/portal-db:2.1.0-amd64", /*raw=*/false)
          .value()["Digest"];
  auto sig = SkopeoInspect(
      "oci:" + layout + ":test_ns/ibmcom/portal-db:sha256-" + digest.substr(7) + ".sig", true);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ((*sig)["layers"][0]["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
}

// `ppa-import verify`: every image of the import at its digest and signed.
class VerifyTest : public SignTest {
 protected:
  ProcessResult Verify(std::vector<std::string> args) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "verify",     "--registry",
                                     registry_->host(), "--plain-http", "--registries.d",
                                     RegistriesD()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto env = keyring_.env();
    env.emplace("HOME", dir_.path());
    return RunProcess(argv, std::nullopt, env, dir_.path());
  }
  std::string CosignPub() {
    const std::string out = dir_.Join("cosign.pub");
    RunProcess({"openssl", "pkey", "-in", CosignKey(), "-pubout", "-out", out});
    return out;
  }
  std::string CosignKey() {
    return std::string(PPA_TEST_DATA_DIR) + "/cosign/ec-p256-pkcs8.key";
  }
  int Lines(const ProcessResult& r, const std::string& prefix) {
    int n = 0;
    std::istringstream lines(r.stdout_text);
    for (std::string line; std::getline(lines, line);) n += line.rfind(prefix, 0) == 0;
    return n;
  }
};

TEST_F(VerifyTest, EveryImageOfTheReportIsThereAndSignedBothWays) {
  ASSERT_EQ(SignedLoad({"--sign-key", CosignKey(), "--json", dir_.Join("r.json")}).exit_code, 0);
  ProcessResult r = Verify({"--report", dir_.Join("r.json"), "--key", CosignPub(), "--gpg-key",
                            dir_.Join("signer.gpg")});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(Lines(r, "OK      "), 11) << Output(r);
  EXPECT_NE(r.stdout_text.find("cosign sha256:"), std::string::npos);
  EXPECT_NE(r.stdout_text.find("simple-signing " + fingerprint_), std::string::npos);
  EXPECT_NE(r.stdout_text.find("11 image(s) verified, 0 failed."), std::string::npos);
}

TEST_F(VerifyTest, FromTheArchiveAgainstAPolicyAsPodmanWouldRequireIt) {
  ASSERT_EQ(SignedLoad().exit_code, 0);
  const std::string policy = dir_.Join("policy.json");
  ASSERT_TRUE(WriteStringToFile(
                  policy, R"({"default":[{"type":"reject"}],"transports":{"docker":{")" +
                              registry_->host() + R"(/test_ns":[{"type":"signedBy",)"
                              R"("keyType":"GPGKeys","keyPath":")" + dir_.Join("signer.gpg") +
                              R"("}]}}})")
                  .ok());
  ProcessResult r = Verify({Sample(), "--namespace", "test_ns", "--policy", policy});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(Lines(r, "OK      "), 11) << Output(r);
}

TEST_F(VerifyTest, AnUnsignedImageAnotherKeyAndAMovedTagFail) {
  ASSERT_EQ(SignedLoad({"--json", dir_.Join("r.json")}).exit_code, 0);
  auto other = keyring_.AddKey("other@example.com", "");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(keyring_.ExportPublic(*other, dir_.Join("other.gpg")).ok());
  ProcessResult wrong_key = Verify({"--report", dir_.Join("r.json"), "--gpg-key", dir_.Join("other.gpg")});
  EXPECT_EQ(wrong_key.exit_code, 1) << Output(wrong_key);
  EXPECT_EQ(Lines(wrong_key, "FAILED  "), 11) << Output(wrong_key);
  EXPECT_NE(wrong_key.stdout_text.find("no simple signature by the --gpg-key key(s) names it"),
            std::string::npos);
  ProcessResult unsigned_cosign = Verify({"--report", dir_.Join("r.json"), "--key", CosignPub()});
  EXPECT_EQ(unsigned_cosign.exit_code, 1) << Output(unsigned_cosign);
  // A tag moved to another image after the import.
  ASSERT_TRUE(SkopeoCopy(Ref("ibmcom/portal-db:2.1.0-amd64"), Ref("ibmcom/portal-init:2.1.0-amd64"))
                  .ok());
  ProcessResult moved = Verify({"--report", dir_.Join("r.json"), "--gpg-key", dir_.Join("signer.gpg")});
  EXPECT_EQ(moved.exit_code, 1) << Output(moved);
  EXPECT_EQ(Lines(moved, "FAILED  "), 1) << Output(moved);
  EXPECT_NE(moved.stdout_text.find("FAILED  " + registry_->host() +
                                   "/test_ns/ibmcom/portal-init:2.1.0-amd64: the registry holds "),
            std::string::npos)
      << Output(moved);
}

TEST_F(VerifyTest, ImagesSignedUnderAnotherIdentityVerifyWithIt) {
  ASSERT_EQ(SignedLoad({"--sign-identity", "registry.example.com/mirror", "--json",
                        dir_.Join("r.json")})
                .exit_code,
            0);
  std::vector<std::string> args = {"--report", dir_.Join("r.json"), "--gpg-key",
                                   dir_.Join("signer.gpg")};
  ProcessResult plain = Verify(args);
  EXPECT_EQ(plain.exit_code, 1) << "the signatures name another registry: " << Output(plain);
  args.insert(args.end(), {"--sign-identity", "registry.example.com/mirror"});
  ProcessResult named = Verify(args);
  EXPECT_EQ(named.exit_code, 0) << Output(named);
}

TEST_F(VerifyTest, AReportOfFailedOrNoImagesNeverPasses) {
  ASSERT_TRUE(WriteStringToFile(dir_.Join("none.json"), R"({"archives":[{"images":[]}]})").ok());
  ProcessResult none = Verify({"--report", dir_.Join("none.json"), "--gpg-key",
                               dir_.Join("signer.gpg")});
  EXPECT_EQ(none.exit_code, 1) << Output(none);
  EXPECT_NE(none.stderr_text.find("no image to verify"), std::string::npos) << Output(none);
  ASSERT_TRUE(WriteStringToFile(dir_.Join("failed.json"),
                                R"({"archives":[{"images":[{"name":"a","target":")" +
                                    registry_->host() +
                                    R"(/test_ns/a:1","status":"failed","error":"boom"}]}]})")
                  .ok());
  ProcessResult failed = Verify({"--report", dir_.Join("failed.json"), "--gpg-key",
                                 dir_.Join("signer.gpg")});
  EXPECT_EQ(failed.exit_code, 1) << Output(failed);
  EXPECT_NE(failed.stdout_text.find("FAILED  " + registry_->host() +
                                    "/test_ns/a:1: the import failed it: boom"),
            std::string::npos)
      << Output(failed);
}

TEST_F(VerifyTest, UsageErrorsSayWhatIsMissing) {
  EXPECT_EQ(Verify({"--key", dir_.Join("signer.gpg")}).exit_code, 2);  // no ARCHIVE or --report
  ASSERT_TRUE(WriteStringToFile(dir_.Join("r.json"), R"({"archives":[]})").ok());
  ProcessResult nothing = Verify({"--report", dir_.Join("r.json")});
  EXPECT_EQ(nothing.exit_code, 2) << Output(nothing);
  EXPECT_NE(nothing.stderr_text.find("--key, --gpg-key or --policy"), std::string::npos);
  ProcessResult not_pem = Verify({"--report", dir_.Join("r.json"), "--key", dir_.Join("signer.gpg")});
  EXPECT_EQ(not_pem.exit_code, 2) << Output(not_pem);
  ASSERT_TRUE(WriteStringToFile(dir_.Join("p.json"),
                                R"({"default":[{"type":"signedBy","keyType":"X509Certificates","keyPath":"/k"}]})")
                  .ok());
  ProcessResult weak = Verify({"--report", dir_.Join("r.json"), "--policy", dir_.Join("p.json")});
  EXPECT_EQ(weak.exit_code, 2) << Output(weak);
  EXPECT_NE(weak.stderr_text.find("is not read by ppa-import"), std::string::npos);
}

TEST_F(SignTest, RegistryWithTheSignatureExtensionStoresThemAndSkopeoReadsThem) {
  auto proxy = SignatureApiProxy::Start(registry_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  const std::string host = (*proxy)->host();
  ProcessResult r = SignedLoad({}, host);
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_TRUE(SignatureFiles().empty()) << "the registry takes them, not the lookaside";
  const size_t stored = (*proxy)->SignatureCount();
  EXPECT_GT(stored, 0u);
  const std::string ref = "docker://" + host + "/test_ns/ibmcom/portal-db:2.1.0-amd64";
  Status accepted =
      SkopeoCopyWithPolicy(ref, SignedByPolicy(dir_.Join("signer.gpg")), RegistriesD());
  EXPECT_TRUE(accepted.ok()) << accepted.ToString();
  // A second import adds none.
  ProcessResult again = SignedLoad({}, host);
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_EQ((*proxy)->SignatureCount(), stored);
  // Another key is refused by skopeo reading from the registry as well.
  auto other = keyring_.AddKey("other@example.com", "");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(keyring_.ExportPublic(*other, dir_.Join("other.gpg")).ok());
  EXPECT_FALSE(
      SkopeoCopyWithPolicy(ref, SignedByPolicy(dir_.Join("other.gpg")), RegistriesD()).ok());
}

}  // namespace
}  // namespace ppa::test

namespace ppa::test {
namespace {

// Cosign signatures, checked the way `cosign verify --key` checks them
// (CountCosignSignatures, tests/support/cosign_vector.h).
class CosignTest : public LoadFixture {
 protected:
  std::string Key(const std::string& name) {
    return std::string(PPA_TEST_DATA_DIR) + "/cosign/" + name;
  }
  ProcessResult SignedLoad(const std::string& key, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--sign-key", Key(key)};
    args.insert(args.end(), extra.begin(), extra.end());
    return Load(Sample(), args, {{"COSIGN_PASSWORD", "hello"}});
  }
  std::string Sample() {
    if (sample_.empty()) sample_ = Archive(samples::DemoSampleSpec(), "sample.tgz");
    return sample_;
  }
  // The public half of a key file, as PEM, written by openssl.
  std::string PublicKey(const std::string& key) {
    const std::string out = dir_.Join(key + ".pub");
    ProcessResult r = RunProcess({"openssl", "pkey", "-in", Key(key), "-pubout", "-out", out});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    return out;
  }
  std::string DigestOf(const std::string& repo_tag) {
    auto info = SkopeoInspect(Ref(repo_tag), /*raw=*/false);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? (*info)["Digest"].get<std::string>() : "";
  }
  // How many signatures of `digest` in test_ns/`repo` verify with the PEM
  // public key `pub` and name `reference` (default: the repository).
  int Verified(const std::string& repo, const std::string& digest, const std::string& pub,
               std::string reference = "") {
    if (reference.empty()) reference = registry_->host() + "/test_ns/" + repo;
    const std::string tag = "sha256-" + digest.substr(7) + ".sig";
    return CountCosignSignatures(Ref(repo + ":" + tag), pub, reference, digest);
  }

  std::string sample_;
};

TEST_F(CosignTest, EveryImageAndListGetsASignatureTheKeyVerifies) {
  ProcessResult r = SignedLoad("sigstore-ec.key");
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  const std::string pub = PublicKey("ec-p256-pkcs8.key");  // another key
  const std::string ours = dir_.Join("ours.pub");
  {
    // The public half of the encrypted key: what `cosign public-key` prints.
    auto key = SigstoreKey::Load(Key("sigstore-ec.key"), Secret(std::string("hello")), true);
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(WriteStringToFile(ours, (*key)->PublicKeyPem()).ok());
  }
  for (const char* ref : kSampleImageRefs) {
    const std::string repo_tag = ref;
    const std::string repo = repo_tag.substr(0, repo_tag.find(':'));
    const std::string digest = DigestOf(repo_tag);
    EXPECT_EQ(Verified(repo, digest, ours), 1) << ref;
    EXPECT_EQ(Verified(repo, digest, pub), 0) << ref << ": verified with another key";
    // A signature proves nothing for another repository or digest.
    EXPECT_EQ(Verified(repo, digest, ours, registry_->host() + "/test_ns/other"), 0) << ref;
  }
}

TEST_F(CosignTest, ATamperedPayloadOrAnotherDigestDoesNotVerify) {
  ASSERT_EQ(SignedLoad("ec-p256-pkcs8.key").exit_code, 0);
  const std::string pub = PublicKey("ec-p256-pkcs8.key");
  const std::string repo = "ibmcom/portal-tools";
  const std::string digest = DigestOf(repo + ":2.1.0-amd64");
  ASSERT_EQ(Verified(repo, digest, pub), 1);
  // The signature manifest of portal-tools, re-tagged as portal-init's:
  // its payload names portal-tools's digest.
  const std::string init = DigestOf("ibmcom/portal-init:2.1.0-amd64");
  ASSERT_TRUE(SkopeoCopy(Ref(repo + ":sha256-" + digest.substr(7) + ".sig"),
                         Ref("ibmcom/portal-init:sha256-" + init.substr(7) + ".sig"))
                  .ok());
  EXPECT_EQ(Verified("ibmcom/portal-init", init, pub), 0);
  // A payload changed after signing: same signature, other bytes.
  TempDir work("ppa-cosign-tamper");
  ASSERT_TRUE(SkopeoCopyToDir(Ref(repo + ":sha256-" + digest.substr(7) + ".sig"),
                              work.Join("sig"))
                  .ok());
  auto manifest = nlohmann::json::parse(ReadFileOr(work.Join("sig/manifest.json")));
  const std::string blob = work.Join("sig/" + manifest["layers"][0]["digest"].get<std::string>().substr(7));
  std::string payload = ReadFileOr(blob);
  payload.replace(payload.find("portal-tools"), 12, "portal-toolz");
  const std::string tampered = work.Join("tampered");
  ASSERT_TRUE(WriteStringToFile(tampered, payload).ok());
  auto signature = Base64Decode(
      manifest["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"].get<std::string>());
  ASSERT_TRUE(signature.has_value());
  EXPECT_TRUE(OpensslVerifies(pub, *signature, blob));
  EXPECT_FALSE(OpensslVerifies(pub, *signature, tampered));
}

// The check above, proved against a signature cosign itself made with a key
// pair it publishes (tests/data/cosign/README.md): it accepts that signature
// and refuses it over changed bytes or with another key.
TEST(CosignTestVerifier, AcceptsCosignsOwnSignatureAndNothingChanged) {
  const CosignVector v = LoadCosignVector();
  ASSERT_FALSE(v.signature.empty());
  TempDir dir("ppa-cosign-vector");
  const std::string pub = dir.Join("cosign.pub");
  const std::string signed_file = dir.Join("signed");
  const std::string changed_file = dir.Join("changed");
  ASSERT_TRUE(WriteStringToFile(pub, v.public_pem).ok());
  ASSERT_TRUE(WriteStringToFile(signed_file, v.signed_bytes).ok());
  std::string changed = v.payload;
  changed.replace(changed.find("\"blob\""), 6, "\"blub\"");
  ASSERT_TRUE(WriteStringToFile(changed_file, DssePae(v.payload_type, changed)).ok());
  EXPECT_TRUE(OpensslVerifies(pub, v.signature, signed_file));
  EXPECT_FALSE(OpensslVerifies(pub, v.signature, changed_file));
  const std::string other = dir.Join("other.pub");
  ProcessResult r = RunProcess({"openssl", "pkey", "-in",
                                std::string(PPA_TEST_DATA_DIR) + "/cosign/ec-p256-pkcs8.key",
                                "-pubout", "-out", other});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_FALSE(OpensslVerifies(other, v.signature, signed_file));
}

TEST_F(CosignTest, ReImportAppendsNothingAndAnotherKeyAppendsItsOwn) {
  ASSERT_EQ(SignedLoad("ec-p256-pkcs8.key").exit_code, 0);
  const std::string repo = "ibmcom/portal-db";
  const std::string digest = DigestOf(repo + ":2.1.0-amd64");
  const std::string first_key = PublicKey("ec-p256-pkcs8.key");
  ProcessResult again = SignedLoad("ec-p256-pkcs8.key", {"--json", dir_.Join("again.json")});
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_NE(again.stdout_text.find("Already signed "), std::string::npos) << Output(again);
  auto sig = SkopeoInspect(Ref(repo + ":sha256-" + digest.substr(7) + ".sig"), /*raw=*/true);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ((*sig)["layers"].size(), 1u);
  // A second key adds its layer; the first signature stays.
  ProcessResult other = SignedLoad("rsa-2048-pkcs8.key");
  ASSERT_EQ(other.exit_code, 0) << Output(other);
  sig = SkopeoInspect(Ref(repo + ":sha256-" + digest.substr(7) + ".sig"), /*raw=*/true);
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ((*sig)["layers"].size(), 2u);
  EXPECT_EQ(Verified(repo, digest, first_key), 1);
  EXPECT_EQ(Verified(repo, digest, PublicKey("rsa-2048-pkcs8.key")), 1);
  auto report = nlohmann::json::parse(ReadFileOr(dir_.Join("again.json")));
  for (const auto& item : report["archives"][0]["images"]) {
    for (const auto& s : item.value("signatures", nlohmann::json::array())) {
      EXPECT_EQ(s["scheme"], "cosign");
      EXPECT_FALSE(s["added"].get<bool>()) << s.dump();
    }
  }
}

TEST_F(CosignTest, DoctorReadsTheKeyWithItsPassphrase) {
  auto doctor = [&](const std::map<std::string, std::string>& env) {
    auto all = env;
    all.emplace("HOME", dir_.path());
    return RunProcess({PPA_IMPORT_BINARY, "doctor", "--registry", registry_->host(),
                       "--plain-http", "--namespace", "test_ns", "--sign-key",
                       Key("cosign-ec.key")},
                      std::nullopt, all, dir_.path());
  };
  ProcessResult good = doctor({{"COSIGN_PASSWORD", "hello"}});
  EXPECT_EQ(good.exit_code, 0) << Output(good);
  EXPECT_NE(good.stdout_text.find("PASS  signing key: cosign key sha256:"), std::string::npos)
      << Output(good);
  ProcessResult bad = doctor({{"COSIGN_PASSWORD", "nope"}});
  EXPECT_EQ(bad.exit_code, 1) << Output(bad);
  EXPECT_NE(bad.stdout_text.find("FAIL  signing key: the passphrase of the signing key is wrong"),
            std::string::npos)
      << Output(bad);
}

TEST_F(CosignTest, AnEncryptedKeyWithoutItsPassphraseStopsTheRunBeforeAnyPush) {
  ProcessResult r = Load(Sample(), {"--sign-key", Key("cosign-ec.key")}, {});
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("is encrypted and no passphrase is given"), std::string::npos)
      << Output(r);
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
  ProcessResult wrong = Load(Sample(), {"--sign-key", Key("cosign-ec.key")},
                             {{"COSIGN_PASSWORD", "not hello"}});
  EXPECT_EQ(wrong.exit_code, 2) << Output(wrong);
  EXPECT_NE(wrong.stderr_text.find("passphrase of the signing key is wrong"), std::string::npos);
  EXPECT_EQ(wrong.stderr_text.find("not hello"), std::string::npos);
}

}  // namespace
}  // namespace ppa::test
