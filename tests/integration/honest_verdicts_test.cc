// Verdicts that must never say OK falsely (docs/guarantees.md, "Verified"): the real binary
// against Debian's docker-registry, judged by skopeo and the registry's
// own storage. Each test is named after the false verdict it pins.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/skopeo.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;

class HonestVerdictsTest : public test::LoadFixture {
 protected:
  // `ppa-import load ARCHIVE --namespace test_ns` plus `args`, in the test's
  // folder, with its own HOME.
  ProcessResult Run(const std::string& archive, std::vector<std::string> args,
                    const std::string& ns = "test_ns") {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load", archive, "--namespace", ns};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}, {"PPA_IMPORT_REGISTRY", ""}},
                            dir_.path());
  }

  std::string Sample() { return Archive(samples::DemoSampleSpec(), "sample.tgz"); }

  // The values.yaml of a chart written to ppa-import/charts.
  std::string ChartValues(const std::string& chart_file, const std::string& chart_name) {
    test::TempDir out("ppa-chart");
    ProcessResult tar = test::RunProcess(
        {"tar", "-xzf", dir_.Join("ppa-import/charts/" + chart_file), "-C", out.path()});
    EXPECT_EQ(tar.exit_code, 0) << tar.stderr_text;
    return test::ReadFileOr(out.Join(chart_name + "/values.yaml"));
  }
};

// The bug: `--registry oci://127.0.0.1:5000` wrote an OCI layout to the
// directory "/127.0.0.1:5000" and said OK. oci:// (helm, oras) and docker://
// (skopeo) name the registry.
TEST_F(HonestVerdictsTest, OciAndDockerSchemesPushToTheRegistryNotToALayoutAtRoot) {
  std::string archive = Sample();
  const std::string host = registry_->host();
  ProcessResult oci = Run(archive, {"--registry", "oci://" + host, "--plain-http"});
  EXPECT_EQ(oci.exit_code, 0) << Output(oci);
  EXPECT_FALSE(fs::exists("/" + host)) << "a layout was made at /" << host;
  ExpectVerified("ibmcom/portal:2.1.0-amd64");
  ProcessResult docker =
      Run(archive, {"--registry", "docker://" + host + "/mirror", "--plain-http"});
  EXPECT_EQ(docker.exit_code, 0) << Output(docker);
  EXPECT_NE(docker.stdout_text.find(host + "/mirror/test_ns/ibmcom/portal-db:2.1.0-amd64"),
            std::string::npos)
      << docker.stdout_text;
  test::TempDir out("ppa-skopeo-out");
  Status pulled = test::SkopeoCopyToDir(
      "docker://" + host + "/mirror/test_ns/ibmcom/portal-db:2.1.0-amd64", out.Join("img"));
  EXPECT_TRUE(pulled.ok()) << pulled.ToString();
}

// The bug: forms that mean two things (or nothing we know) were guessed at:
// "oci:" wrote a layout into the current directory, "oci:///x" a layout at
// /x, "ftp://h" tried a host named "ftp:". Each is exit 2 with a hint, and
// nothing is written.
TEST_F(HonestVerdictsTest, AmbiguousOrUnknownTargetsExit2WithAHintAndWriteNothing) {
  std::string archive = Sample();
  const std::string host = registry_->host();
  const std::string layouts = dir_.Join("layouts");
  for (const std::string& registry :
       {std::string("oci:"), "oci://" + layouts + "/triple",
        "ftp://" + host, "oci-archive:" + layouts + "/a.tar", "dir:" + layouts + "/d",
        "oci:" + host, "docker://" + host + "/test_ns/ibmcom/portal:2.1.0",
        "oci:" + layouts + "/l:latest"}) {
    ProcessResult r = Run(archive, {"--registry", registry, "--plain-http"});
    EXPECT_EQ(r.exit_code, 2) << registry << "\n" << Output(r);
    EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << registry << "\n" << Output(r);
    EXPECT_EQ(r.stdout_text.find("OK"), std::string::npos) << registry;
  }
  EXPECT_FALSE(fs::exists(layouts));
  EXPECT_FALSE(fs::exists(dir_.Join("index.json"))) << "'oci:' wrote a layout into the cwd";
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
}

// The bug: --plain-http (and the TLS flags) were silently ignored with a
// layout target.
TEST_F(HonestVerdictsTest, RegistryFlagsWithALayoutTargetExit2) {
  std::string archive = Sample();
  const std::string layout = dir_.Join("layout");
  const std::vector<std::vector<std::string>> cases = {
      {"--registry", "oci:" + layout, "--plain-http"},
      {"--plain-http"},  // the default layout
      {"--registry", "oci:" + layout, "--insecure"},
      {"--registry", "oci:" + layout, "--ca-file", archive},
  };
  for (const auto& args : cases) {
    ProcessResult r = Run(archive, args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << "\n" << Output(r);
    EXPECT_NE(r.stderr_text.find("only to a registry"), std::string::npos) << Output(r);
  }
  EXPECT_FALSE(fs::exists(layout));
  EXPECT_FALSE(fs::exists(dir_.Join("ppa-import/oci-layout")));
  // The layout itself still works.
  ProcessResult ok = Run(archive, {"--registry", "oci:" + layout});
  EXPECT_EQ(ok.exit_code, 0) << Output(ok);
}

// The bug: a platform filter that matched nothing skipped every image and
// ended in OK. Now exit 1, the archive's platforms in the hint.
TEST_F(HonestVerdictsTest, PlatformFilterMatchingNothingFailsWithTheArchivesPlatforms) {
  std::string archive = Sample();
  for (const std::string filter : {"s390x", "linux/arm64/v8", "aarch64"}) {
    ProcessResult r = Run(archive, {"--registry", registry_->host(), "--plain-http",
                                    "--architectures", filter, "--json", "-"});
    EXPECT_EQ(r.exit_code, 1) << filter << "\n" << Output(r);
    EXPECT_NE(r.stderr_text.find("Hint: this archive has linux/amd64, linux/ppc64le"),
              std::string::npos)
        << Output(r);
    auto report = nlohmann::json::parse(r.stdout_text);
    EXPECT_EQ(report["archives"][0]["status"], "failed") << r.stdout_text;
    EXPECT_EQ(report["exit_code"], 1);
  }
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/"), 0);
  EXPECT_FALSE(fs::exists(dir_.Join("ppa-import/charts/ibm-portal-prod-1.0.0.tgz")));
  // os/arch spelled the containerd way selects the same images as arch.
  ProcessResult ppc = Run(archive, {"--registry", registry_->host(), "--plain-http",
                                    "--architectures", "linux/ppc64le"});
  EXPECT_EQ(ppc.exit_code, 0) << Output(ppc);
  ExpectVerified("ibmcom/portal:2.1.0-ppc64le");
  ExpectAbsent("ibmcom/portal:2.1.0-amd64");
}

// The bug: with --architectures ppc64le the charts' values were pointed at
// ibmcom/portal-db and the others, which got no image (amd64 only).
TEST_F(HonestVerdictsTest, ChartValuesAreNotPointedAtSkippedImages) {
  std::string archive = Sample();
  ProcessResult r = Run(archive, {"--registry", registry_->host(), "--plain-http",
                                  "--architectures", "ppc64le"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  const std::string prefix = registry_->host() + "/test_ns/";
  std::string values = ChartValues("ibm-portal-prod-1.0.0.tgz", "ibm-portal-prod");
  // The generator writes plain and double-quoted values.
  auto rewritten = [&](const std::string& repo) {
    return values.find(prefix + repo + "\n") != std::string::npos ||
           values.find(prefix + repo + "\"") != std::string::npos;
  };
  EXPECT_TRUE(rewritten("ibmcom/portal")) << values;
  for (const char* skipped : {"ibmcom/portal-db", "ibmcom/portal-worker", "ibmcom/portal-init"}) {
    EXPECT_FALSE(rewritten(skipped)) << skipped << "\n" << values;
    EXPECT_NE(values.find(skipped), std::string::npos) << skipped << "\n" << values;
    EXPECT_NE(r.stderr_text.find(std::string("names '") + skipped + "'"), std::string::npos)
        << Output(r);
  }
}

// The bug: an archive whose every image failed was "partial" in --json.
TEST_F(HonestVerdictsTest, EveryImageFailedIsFailedNotPartial) {
  samples::PpaArchiveSpec spec = samples::DemoSampleSpec();
  spec.manifest_json.reset();
  spec.manifest_yaml = R"(images:
- image: ibmcom/portal:2.1.0
  references: [{repository: ibmcom/portal:2.1.0-amd64, archive: images/gone-amd64.tar}]
- image: ibmcom/portal-db:2.1.0
  references: [{repository: ibmcom/portal-db:2.1.0-amd64, archive: images/gone-db.tar}]
charts:
- archive: charts/ibm-portal-dev-1.0.0.tgz
)";
  std::string archive = Archive(spec, "all-fail.tgz");
  ProcessResult r = Run(archive, {"--registry", registry_->host(), "--plain-http", "--json", "-"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  auto report = nlohmann::json::parse(r.stdout_text);
  EXPECT_EQ(report["schema_version"], 1);
  const auto& a = report["archives"][0];
  EXPECT_EQ(a["status"], "failed") << a.dump(2);
  ASSERT_FALSE(a["images"].empty());
  for (const auto& image : a["images"]) EXPECT_EQ(image["status"], "failed") << image.dump();
  EXPECT_EQ(a["charts"][0]["status"], "ok");  // the chart alone does not make it partial
}

// --registry host/portal_prod --namespace portal_prod: a warning naming the
// doubled path; the import goes on (some registries are organised so).
TEST_F(HonestVerdictsTest, NamespaceRepeatedInTheRegistryPathWarns) {
  std::string archive = Sample();
  ProcessResult r = Run(archive, {"--registry", registry_->host() + "/test_ns", "--plain-http"});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stderr_text.find("Warning: images go to '" + registry_->host() +
                               "/test_ns/test_ns/...'"),
            std::string::npos)
      << Output(r);
  EXPECT_NE(r.stderr_text.find("drop '/test_ns' from --registry"), std::string::npos);
  ProcessResult plain = Run(archive, {"--registry", registry_->host() + "/other", "--plain-http"});
  EXPECT_EQ(plain.exit_code, 0) << Output(plain);
  EXPECT_EQ(plain.stderr_text.find("Warning: images go to"), std::string::npos) << Output(plain);
}

// Every blob under the registry's storage, by repository ("test_ns/app-a")
// and digest, and whether any manifest was stored.
struct Stored {
  std::set<std::pair<std::string, std::string>> blobs;
  bool manifests = false;
};
Stored ReadStorage(const std::string& storage) {
  Stored out;
  const fs::path repos = fs::path(storage) / "docker/registry/v2/repositories";
  if (!fs::exists(repos)) return out;
  for (const auto& e : fs::recursive_directory_iterator(repos)) {
    if (e.path().filename() == "_manifests") out.manifests = true;
    if (e.path().filename() != "link" || e.path().parent_path().parent_path().filename() != "sha256") {
      continue;
    }
    fs::path digest_dir = e.path().parent_path();
    fs::path kind = digest_dir.parent_path().parent_path();  // _layers
    if (kind.filename() != "_layers") continue;
    std::string repo = fs::relative(kind.parent_path(), repos).string();
    out.blobs.insert({repo, "sha256:" + digest_dir.filename().string()});
  }
  return out;
}

// Exit 3's promise: an archive found unreadable after its layers started to
// upload (manifest.yaml first, the archive cut short at its end) gets no
// manifest and no tag; the blobs that did land are untagged, named on
// stderr and listed in the JSON report, exactly.
TEST_F(HonestVerdictsTest, TruncatedArchiveExit3LeavesNoTagAndListsItsUploadedBlobs) {
  samples::PpaArchiveSpec spec;
  spec.gzip = false;
  samples::ImageTarballSpec tarball;
  tarball.format = samples::ImageTarballFormat::kDockerLegacy;
  samples::LayerSpec layer;
  layer.seed = 7;
  layer.file_count = 4;
  layer.file_size = 64 << 10;
  samples::ImageSpec image;
  image.repo_tags = {"org/app-a:1"};
  image.layers = {layer};
  tarball.images = {image};
  // "payload/" sorts after "manifest.yaml": the manifest comes first, so the
  // image's layers upload while the rest is unpacked.
  spec.images = {{"payload/a.tar", tarball}};
  spec.manifest_yaml = R"(images:
- image: org/app-a:1
  references: [{repository: org/app-a:1, archive: payload/a.tar}]
)";
  std::string padding(192 << 20, '\0');
  for (size_t i = 0; i < padding.size(); i += 4096) padding[i] = static_cast<char>(i >> 12);
  spec.extra_files = {{"zz/padding.bin", std::move(padding)}};
  std::string archive = Archive(spec, "cut.tar");
  fs::resize_file(archive, fs::file_size(archive) - (96 << 20));

  ProcessResult r = Run(archive, {"--registry", registry_->host(), "--plain-http", "--json", "-"});
  ASSERT_EQ(r.exit_code, 3) << Output(r);
  auto report = nlohmann::json::parse(r.stdout_text);
  const auto& a = report["archives"][0];
  EXPECT_EQ(a["status"], "unreadable");
  Stored stored = ReadStorage(registry_->storage_dir());
  EXPECT_FALSE(stored.manifests) << "a manifest was stored for an unreadable archive";
  ExpectAbsent("org/app-a:1");
  ASSERT_FALSE(stored.blobs.empty()) << "no layer went ahead: the test did not test the case";
  ASSERT_TRUE(a.contains("untagged_blobs")) << a.dump(2);
  std::set<std::pair<std::string, std::string>> listed;
  for (const auto& b : a["untagged_blobs"]) {
    std::string repo = b["repository"];
    ASSERT_EQ(repo.rfind(registry_->host() + "/", 0), 0u) << repo;
    listed.insert({repo.substr(registry_->host().size() + 1), b["digest"]});
    EXPECT_GT(b["size"].get<uint64_t>(), 0u);
  }
  EXPECT_EQ(listed, stored.blobs);
  EXPECT_NE(r.stderr_text.find("before the archive was found unreadable; they are untagged"),
            std::string::npos)
      << Output(r);
}

}  // namespace
}  // namespace ppa
