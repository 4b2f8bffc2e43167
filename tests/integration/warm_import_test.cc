// The pull side of RegistryClient and the warm re-import, end to end against
// Debian's docker-registry: what our binary pushed is read back by our
// client and compared with what skopeo reads; a second import of the same
// archive ends without inflating or uploading, and falls back to the full
// import as soon as the target or the options differ.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "docker_io/image/digest.h"
#include "docker_io/registry/registry_client.h"
#include "tests/support/load_fixture.h"

namespace ppa::test {
namespace {

namespace fs = std::filesystem;

constexpr char kWarmLine[] = "Already imported: ";
constexpr char kNothingToDo[] = "; nothing to do.";
constexpr char kUnpacking[] = "Unpacking archive";

class WarmImportTest : public LoadFixture {
 protected:
  bool Warm(const ProcessResult& r) {
    return r.stdout_text.find(kWarmLine) != std::string::npos &&
           r.stdout_text.find(kNothingToDo) != std::string::npos &&
           r.stdout_text.find(kUnpacking) == std::string::npos;
  }
  int ManifestPuts() { return registry_->CountLogLines("\"PUT /v2/"); }
  std::string SampleArchive(const std::string& name) {
    return Archive(::ppa::samples::DemoSampleSpec(), name);
  }
};

TEST_F(WarmImportTest, PulledManifestsAndBlobsAreTheBytesSkopeoReads) {
  std::string archive = SampleArchive("sample.tgz");
  ProcessResult first = Load(archive, {"--no-cache"});
  ASSERT_EQ(first.exit_code, 0) << Output(first);

  RegistryClient client(RegistryEndpoint{registry_->host(), true}, {},
                        MakeCurlTransport(TransportOptions{}));
  const std::string repo = "test_ns/ibmcom/portal-db";
  Result<PulledManifest> by_tag = client.GetManifest(repo, "2.1.0-amd64");
  ASSERT_TRUE(by_tag.ok()) << by_tag.status().ToString();
  auto raw = SkopeoInspect(Ref("ibmcom/portal-db:2.1.0-amd64"), /*raw=*/true);
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(by_tag->body), *raw);
  EXPECT_EQ(by_tag->descriptor.digest, Sha256Digest(by_tag->body));
  EXPECT_EQ(by_tag->descriptor.media_type, (*raw)["mediaType"].get<std::string>());

  Result<PulledManifest> by_digest = client.GetManifest(repo, by_tag->descriptor.digest);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  EXPECT_EQ(by_digest->body, by_tag->body);
  auto head = client.HeadManifest(repo, "2.1.0-amd64");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->digest, by_tag->descriptor.digest);
  EXPECT_EQ((*head)->size, by_tag->body.size());
  auto absent = client.HeadManifest(repo, "no-such-tag");
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->has_value());
  auto missing = client.GetManifest(repo, "no-such-tag");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  // Every blob, streamed, equals skopeo's copy of it.
  TempDir out("ppa-pull-skopeo");
  ASSERT_TRUE(SkopeoCopyToDir(Ref("ibmcom/portal-db:2.1.0-amd64"), out.Join("img")).ok());
  std::vector<nlohmann::json> blobs = (*raw)["layers"];
  blobs.push_back((*raw)["config"]);
  for (const auto& blob : blobs) {
    const std::string digest = blob["digest"];
    const uint64_t size = blob["size"];
    std::string pulled;
    Status got = client.GetBlob(repo, digest, size, [&](std::string_view data) {
      pulled.append(data);
      return Status::Ok();
    });
    ASSERT_TRUE(got.ok()) << got.ToString();
    EXPECT_EQ(pulled, ReadFileOr(out.Join("img/" + digest.substr(7)))) << digest;
    // A wrong size or digest is an error, not bytes.
    EXPECT_FALSE(
        client.GetBlob(repo, digest, size - 1, [](std::string_view) { return Status::Ok(); }).ok());
    EXPECT_FALSE(
        client.GetBlob(repo, Sha256Digest("x"), size, [](std::string_view) { return Status::Ok(); })
            .ok());
  }
}

TEST_F(WarmImportTest, SecondRunOfTheSameContentIsWarm) {
  std::string archive = SampleArchive("sample.tgz");
  ProcessResult cold = Load(archive);
  ASSERT_EQ(cold.exit_code, 0) << Output(cold);
  EXPECT_FALSE(Warm(cold)) << Output(cold);

  const int uploads = registry_->CountBlobUploadRequests();
  const int puts = ManifestPuts();
  ProcessResult warm = Load(archive, {"--json", dir_.Join("warm.json")});
  ASSERT_EQ(warm.exit_code, 0) << Output(warm);
  EXPECT_TRUE(Warm(warm)) << Output(warm);
  EXPECT_NE(warm.stdout_text.find("at their recorded digests in " + registry_->host() +
                                  " (archive sha256:"),
            std::string::npos)
      << Output(warm);
  EXPECT_EQ(registry_->CountBlobUploadRequests(), uploads);
  EXPECT_EQ(ManifestPuts(), puts);
  auto report = nlohmann::json::parse(ReadFileOr(dir_.Join("warm.json")));
  EXPECT_EQ(report["exit_code"], 0);
  EXPECT_EQ(report["totals"]["bytes_uploaded"], 0);
  EXPECT_EQ(report["archives"][0]["status"], "ok");
  EXPECT_GE(report["archives"][0]["images"].size(), 6u);
  EXPECT_EQ(report["archives"][0]["charts"].size(), 2u);

  // Another work directory (a pod's, a bench's): still warm, the chart
  // files written there from the record's copy.
  ProcessResult elsewhere = Load(archive, {"--workdir", dir_.Join("other-work")});
  ASSERT_EQ(elsewhere.exit_code, 0) << Output(elsewhere);
  EXPECT_TRUE(Warm(elsewhere)) << Output(elsewhere);
  EXPECT_EQ(ReadFileOr(dir_.Join("other-work/charts/ibm-portal-prod-1.0.0.tgz")),
            ReadFileOr(dir_.Join("ppa-import/charts/ibm-portal-prod-1.0.0.tgz")));
  EXPECT_FALSE(ReadFileOr(dir_.Join("ppa-import/charts/ibm-portal-prod-1.0.0.tgz")).empty());

  // A renamed, touched copy is the same content: warm too.
  fs::copy_file(archive, dir_.Join("renamed-copy.tgz"));
  fs::last_write_time(dir_.Join("renamed-copy.tgz"), fs::file_time_type::clock::now());
  ProcessResult copy = Load(dir_.Join("renamed-copy.tgz"));
  ASSERT_EQ(copy.exit_code, 0) << Output(copy);
  EXPECT_TRUE(Warm(copy)) << Output(copy);
  EXPECT_EQ(registry_->CountBlobUploadRequests(), uploads);
  for (const char* ref : kSampleImageRefs) ExpectVerified(ref);
}

TEST_F(WarmImportTest, DeletedOrMovedTagFallsBackToTheFullImport) {
  std::string archive = SampleArchive("sample.tgz");
  ASSERT_EQ(Load(archive).exit_code, 0);

  // Moved: another image pushed to one of the archive's tags.
  ASSERT_TRUE(
      SkopeoCopy(Ref("ibmcom/portal-init:2.1.0-amd64"), Ref("ibmcom/portal-db:2.1.0-amd64")).ok());
  ProcessResult moved = Load(archive);
  ASSERT_EQ(moved.exit_code, 0) << Output(moved);
  EXPECT_FALSE(Warm(moved)) << Output(moved);
  EXPECT_NE(moved.stdout_text.find("Imported before, but 'test_ns/ibmcom/portal-db:2.1.0-amd64' "
                                   "now names sha256:"),
            std::string::npos)
      << Output(moved);
  EXPECT_NE(moved.stdout_text.find(kUnpacking), std::string::npos) << Output(moved);
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64");
  auto restored = SkopeoInspect(Ref("ibmcom/portal-db:2.1.0-amd64"), false);
  auto init = SkopeoInspect(Ref("ibmcom/portal-init:2.1.0-amd64"), false);
  ASSERT_TRUE(restored.ok() && init.ok());
  EXPECT_NE((*restored)["Digest"], (*init)["Digest"]);

  // The full import recorded again: warm once more.
  ProcessResult again = Load(archive);
  EXPECT_TRUE(Warm(again)) << Output(again);

  // Deleted: the manifest a tag names is removed from the registry.
  ProcessResult deleted =
      RunSkopeo({"delete", "--tls-verify=false", Ref("ibmcom/portal:2.1.0-amd64")});
  ASSERT_EQ(deleted.exit_code, 0) << Output(deleted);
  ProcessResult fallback = Load(archive);
  ASSERT_EQ(fallback.exit_code, 0) << Output(fallback);
  EXPECT_FALSE(Warm(fallback)) << Output(fallback);
  EXPECT_NE(fallback.stdout_text.find("is not in the target: importing in full."),
            std::string::npos)
      << Output(fallback);
  for (const char* ref : kSampleImageRefs) ExpectVerified(ref);
}

// The bug: the warm check confirmed a list's tag, not the platform
// manifests the list names in its repository. A platform image pushed to a
// repository of its own is copied into the list's by digest; with that copy
// deleted the list's tag still stood, the run ended warm, and pulling the
// platform through the list failed.
TEST_F(WarmImportTest, AListWhosePlatformManifestIsGoneFromItsRepositoryIsImportedAgain) {
  auto spec = ::ppa::samples::DemoSampleSpec();
  // The ppc64le image goes to ibmcom/portal-ppc; the list stays ibmcom/portal.
  const std::string from = "ibmcom/portal:2.1.0-ppc64le", to = "ibmcom/portal-ppc:2.1.0-ppc64le";
  std::string& yaml = *spec.manifest_yaml;
  for (size_t at = yaml.find(from); at != std::string::npos; at = yaml.find(from, at + to.size())) {
    yaml.replace(at, from.size(), to);
  }
  spec.manifest_json.reset();
  const std::string archive = Archive(spec, "split.tgz");
  ProcessResult cold = Load(archive);
  ASSERT_EQ(cold.exit_code, 0) << Output(cold);
  ASSERT_TRUE(Warm(Load(archive)));

  auto ppc = SkopeoInspect(Ref(to), /*raw=*/false);
  ASSERT_TRUE(ppc.ok()) << ppc.status().ToString();
  const std::string digest = (*ppc)["Digest"];
  const std::string copy = "docker://" + registry_->host() + "/test_ns/ibmcom/portal@" + digest;
  ProcessResult deleted = RunSkopeo({"delete", "--tls-verify=false", copy});
  ASSERT_EQ(deleted.exit_code, 0) << Output(deleted);
  ASSERT_FALSE(SkopeoInspect(copy, /*raw=*/true).ok()) << "the copy is gone";

  ProcessResult again = Load(archive);
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_FALSE(Warm(again)) << Output(again);
  EXPECT_NE(again.stdout_text.find("platform manifest " + digest.substr(0, 19) +
                                   " of 'test_ns/ibmcom/portal:2.1.0' is not in the target"),
            std::string::npos)
      << Output(again);
  EXPECT_TRUE(SkopeoInspect(copy, /*raw=*/true).ok()) << "copied again by the full import";
  ExpectVerified("ibmcom/portal:2.1.0");
}

TEST_F(WarmImportTest, OtherContentOptionsOrRunKindsAreNotWarm) {
  std::string archive = SampleArchive("sample.tgz");
  // --dry-run never records; --no-cache neither.
  ProcessResult dry = Load(archive, {"--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << Output(dry);
  ProcessResult uncached = Load(archive, {"--no-cache"});
  ASSERT_EQ(uncached.exit_code, 0) << Output(uncached);
  EXPECT_FALSE(Warm(uncached)) << Output(uncached);
  ProcessResult recorded = Load(archive);
  ASSERT_EQ(recorded.exit_code, 0) << Output(recorded);
  EXPECT_FALSE(Warm(recorded)) << "no earlier run recorded\n" << Output(recorded);
  // Recorded now; --no-cache and --dry-run still import (or check) in full.
  ProcessResult no_cache = Load(archive, {"--no-cache"});
  EXPECT_FALSE(Warm(no_cache)) << Output(no_cache);
  ProcessResult dry_again = Load(archive, {"--dry-run"});
  EXPECT_FALSE(Warm(dry_again)) << Output(dry_again);

  // Another namespace or format lands something else.
  ProcessResult ns = RunProcess({PPA_IMPORT_BINARY, "load", "--archive", archive, "--namespace",
                                 "other_ns", "--registry", registry_->host(), "--plain-http"},
                                std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(ns.exit_code, 0) << Output(ns);
  EXPECT_FALSE(Warm(ns)) << Output(ns);
  ProcessResult oci = Load(archive, {"--format", "oci"});
  ASSERT_EQ(oci.exit_code, 0) << Output(oci);
  EXPECT_FALSE(Warm(oci)) << Output(oci);

  // Another archive under the same name is other content.
  auto spec = ::ppa::samples::DemoSampleSpec();
  spec.images[0].tarball.images[0].layers[0].seed += 1000;
  fs::remove(archive);
  Archive(spec, "sample.tgz");
  ProcessResult other = Load(archive);
  ASSERT_EQ(other.exit_code, 0) << Output(other);
  EXPECT_FALSE(Warm(other)) << Output(other);
}

TEST_F(WarmImportTest, OciLayoutTargetIsConfirmedFromItsIndex) {
  std::string archive = SampleArchive("sample.tgz");
  const std::string layout = dir_.Join("layout");
  auto load = [&] {
    return RunProcess({PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns",
                       "--registry", "oci:" + layout},
                      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  };
  ProcessResult cold = load();
  ASSERT_EQ(cold.exit_code, 0) << Output(cold);
  ProcessResult warm = load();
  ASSERT_EQ(warm.exit_code, 0) << Output(warm);
  EXPECT_TRUE(Warm(warm)) << Output(warm);
  EXPECT_NE(warm.stdout_text.find("in oci:" + layout + " (archive sha256:"), std::string::npos)
      << Output(warm);

  // A manifest blob removed from the layout: imported in full again.
  auto index = nlohmann::json::parse(ReadFileOr(layout + "/index.json"));
  const std::string digest = index["manifests"][0]["digest"];
  fs::remove(layout + "/blobs/sha256/" + digest.substr(7));
  ProcessResult fallback = load();
  ASSERT_EQ(fallback.exit_code, 0) << Output(fallback);
  EXPECT_FALSE(Warm(fallback)) << Output(fallback);
  EXPECT_NE(fallback.stdout_text.find("is not in the target: importing in full."),
            std::string::npos)
      << Output(fallback);
  EXPECT_TRUE(fs::exists(layout + "/blobs/sha256/" + digest.substr(7)));
}

TEST_F(WarmImportTest, DoctorReportsPullPermission) {
  ProcessResult r = RunProcess({PPA_IMPORT_BINARY, "doctor", "--registry", registry_->host(),
                                "--plain-http", "--namespace", "test_ns"},
                               std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("PASS  pull permission: may read manifests in "
                               "'test_ns/ppa-import-doctor' (its tag 'latest' is not there, as "
                               "expected)"),
            std::string::npos)
      << Output(r);
}

}  // namespace
}  // namespace ppa::test
