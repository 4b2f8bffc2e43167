// `ppa-import load -`: the archive read from standard input (a pipe) lands
// as the same file does, and keeps the file's guarantees: a truncated or
// bombed stream is refused (exit 3, no manifest pushed), and standard input
// is named once. A blob several repositories share reaches the later ones
// even when the registry declines cross-repository mounts: it is read back
// from the first (the spool file is gone by then, and a pipe cannot be read
// again).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/support/fault_proxy.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/skopeo.h"
#include "tests/support/zero_bomb.h"

namespace ppa {
namespace {

using test::Output;
using test::ProcessResult;

class LoadStdinTest : public test::LoadFixture {
 protected:
  // `load ARGS... --namespace NS` into the fixture's registry, `stdin_data`
  // on a pipe to its standard input; --json - (the report alone on stdout).
  // `registry` (default: the fixture's) is where the command sends it.
  ProcessResult LoadWith(const std::vector<std::string>& args, const std::string& ns,
                         const std::optional<std::string>& stdin_data,
                         const std::string& registry = "") {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--namespace", ns, "--registry",
                             registry.empty() ? registry_->host() : registry, "--plain-http",
                             "--json", "-"});
    return test::RunProcess(argv, stdin_data, {{"HOME", dir_.path()}}, dir_.path());
  }

  // target (without "<host>/<ns>/") -> manifest digest, of each image of the
  // report, read back by skopeo too.
  // `via` is the host the report names, when not the registry's own (a proxy).
  std::map<std::string, std::string> LandedDigests(const nlohmann::json& report,
                                                   const std::string& ns,
                                                   const std::string& via = "") {
    std::map<std::string, std::string> out;
    const std::string prefix = (via.empty() ? registry_->host() : via) + "/" + ns + "/";
    for (const auto& image : report["archives"][0]["images"]) {
      std::string target = image["target"].get<std::string>();
      EXPECT_EQ(target.rfind(prefix, 0), 0u) << target;
      auto landed = test::SkopeoInspect(
          "docker://" + registry_->host() + "/" + ns + "/" + target.substr(prefix.size()),
          /*raw=*/false);
      EXPECT_TRUE(landed.ok()) << target;
      if (landed.ok()) {
        EXPECT_EQ((*landed)["Digest"], image["manifest_digest"]) << target;
      }
      out[target.substr(prefix.size())] = image["manifest_digest"].get<std::string>();
    }
    return out;
  }
};

TEST_F(LoadStdinTest, ArchiveFromAPipeLandsAsTheFileDoes) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  auto bytes = test::ReadFileToString(archive);
  ASSERT_TRUE(bytes.ok());
  ProcessResult file = LoadWith({archive}, "file_ns", std::nullopt);
  ASSERT_EQ(file.exit_code, 0) << Output(file);
  ProcessResult pipe = LoadWith({"-"}, "pipe_ns", *bytes);
  ASSERT_EQ(pipe.exit_code, 0) << Output(pipe);
  auto file_report = nlohmann::json::parse(file.stdout_text);
  auto pipe_report = nlohmann::json::parse(pipe.stdout_text);
  EXPECT_EQ(pipe_report["archives"][0]["archive"], "-");
  EXPECT_EQ(pipe_report["exit_code"], 0);
  auto from_file = LandedDigests(file_report, "file_ns");
  EXPECT_EQ(from_file.size(), 11u);  // 6 platform images + 5 lists
  EXPECT_EQ(LandedDigests(pipe_report, "pipe_ns"), from_file);
  EXPECT_EQ(pipe_report["archives"][0]["charts"].size(),
            file_report["archives"][0]["charts"].size());
}

// Three image files: a and b share a base layer, solo shares nothing. The
// layers are 128 KiB of random bytes, so the unpacking takes each out of
// its file (only its blob is kept, until it lands).
samples::PpaArchiveSpec SharedLayerSpec() {
  const samples::LayerSpec base{.seed = 7, .file_count = 4, .file_size = 32 << 10,
                                .random_content = true, .directory = "opt/base"};
  samples::PpaArchiveSpec spec;
  std::vector<samples::YamlImage> listed;
  const std::vector<std::pair<std::string, uint64_t>> images = {{"a", 8}, {"b", 9}, {"solo", 10}};
  for (const auto& [name, seed] : images) {
    samples::LayerSpec own = base;
    own.seed = seed;
    own.directory = "opt/" + name;
    samples::ImageSpec image{.repo_tags = {"ibmcom/" + name + ":1.0"},
                             .layers = name == "solo" ? std::vector{own} : std::vector{base, own}};
    spec.images.push_back({"images/" + name + ".tar",
                           samples::ImageTarballSpec{.images = {image}}});
    listed.push_back(samples::YamlImage{
        "ibmcom/" + name + ":1.0",
        {samples::YamlReference{"ibmcom/" + name + ":1.0-amd64", "", "linux", "amd64", "",
                                "images/" + name + ".tar"}}});
  }
  spec.manifest_yaml = samples::RenderManifestYaml(listed, {});
  return spec;
}

// Through a proxy that declines every mount, the shared layer's spool file
// is gone once it landed in the first repository; the second gets it read
// back from there (GET) and uploaded: from a pipe and from the file alike,
// with the digests of a plain import. When the registry refuses that read
// too, the image of a pipe that needs the blob fails with a hint (a file is
// read again instead), and the image that needs none still lands.
TEST_F(LoadStdinTest, ARegistryDecliningMountsGetsASharedBlobReadBackFromTheFirstRepository) {
  std::string archive = Archive(SharedLayerSpec(), "shared.tgz");
  auto bytes = test::ReadFileToString(archive);
  ASSERT_TRUE(bytes.ok());
  ProcessResult plain = LoadWith({archive}, "plain_ns", std::nullopt);
  ASSERT_EQ(plain.exit_code, 0) << Output(plain);
  auto expected = LandedDigests(nlohmann::json::parse(plain.stdout_text), "plain_ns");
  EXPECT_EQ(expected.size(), 6u);  // 3 images and their lists
  auto proxy = test::FaultProxy::Start(registry_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  test::FaultRule decline{.kind = test::FaultKind::kDeclineMount, .method = "POST",
                          .path_contains = "mount="};
  (*proxy)->SetRules({decline});
  for (const std::string& ns : {std::string("pipe_ns"), std::string("file_ns")}) {
    SCOPED_TRACE(ns);
    ProcessResult r = ns == "pipe_ns" ? LoadWith({"-"}, ns, *bytes, (*proxy)->host())
                                      : LoadWith({archive}, ns, std::nullopt, (*proxy)->host());
    ASSERT_EQ(r.exit_code, 0) << Output(r);
    // The shared blob read back from the repository it landed in first
    // (counted before skopeo reads anything).
    EXPECT_EQ(registry_->CountLogLines("\"GET /v2/" + ns + "/ibmcom/a/blobs/sha256:") +
                  registry_->CountLogLines("\"GET /v2/" + ns + "/ibmcom/b/blobs/sha256:"),
              1);
    EXPECT_EQ(LandedDigests(nlohmann::json::parse(r.stdout_text), ns, (*proxy)->host()),
              expected);
  }
  EXPECT_GE((*proxy)->Injected(test::FaultKind::kDeclineMount), 2);

  test::FaultRule no_reads{.kind = test::FaultKind::kStatus, .method = "GET",
                           .path_contains = "/blobs/sha256:", .status = 403};
  (*proxy)->SetRules({decline, no_reads});
  ProcessResult refused = LoadWith({"-"}, "refused_ns", *bytes, (*proxy)->host());
  EXPECT_EQ(refused.exit_code, 1) << Output(refused);
  EXPECT_NE(refused.stderr_text.find("cannot be read twice"), std::string::npos)
      << refused.stderr_text;
  EXPECT_NE(refused.stderr_text.find("Hint: import the archive from a file"), std::string::npos)
      << refused.stderr_text;
  std::map<std::string, std::string> status;  // image name -> "ok" or "failed"
  const auto report = nlohmann::json::parse(refused.stdout_text);
  for (const auto& image : report["archives"][0]["images"]) {
    status[image["name"].get<std::string>()] = image["status"].get<std::string>();
  }
  EXPECT_EQ(status["ibmcom/solo:1.0-amd64"], "ok") << refused.stdout_text;
  const int failed = (status["ibmcom/a:1.0-amd64"] == "failed" ? 1 : 0) +
                     (status["ibmcom/b:1.0-amd64"] == "failed" ? 1 : 0);
  EXPECT_EQ(failed, 1) << refused.stdout_text;
  ProcessResult from_file = LoadWith({archive}, "refused_file_ns", std::nullopt, (*proxy)->host());
  EXPECT_EQ(from_file.exit_code, 0) << Output(from_file);  // made again from the file
}

// An OCI image file whose layers are stored gzip (128 KiB of random bytes
// each: taken out as the archive is unpacked). From the file and from a
// pipe alike, each layer goes to a spool file, never into the image file,
// and the image lands with the digest it has in the archive (read back by
// skopeo).
TEST_F(LoadStdinTest, StoredLayersAreCopiedOutOfTheirImageFileAndKeepTheDigest) {
  samples::LayerSpec layer{.seed = 21, .file_count = 4, .file_size = 32 << 10,
                           .random_content = true, .directory = "opt/a"};
  samples::LayerSpec other = layer;
  other.seed = 22;
  other.directory = "opt/b";
  samples::PpaArchiveSpec spec;
  samples::ImageSpec image{.repo_tags = {"ibmcom/oci:1.0"}, .layers = {layer, other}};
  spec.images.push_back(
      {"images/oci.tar", samples::ImageTarballSpec{.format = samples::ImageTarballFormat::kOciLayout,
                                                   .images = {image}}});
  spec.manifest_yaml = samples::RenderManifestYaml(
      {samples::YamlImage{"ibmcom/oci:1.0",
                          {samples::YamlReference{"ibmcom/oci:1.0-amd64", "", "linux", "amd64", "",
                                                  "images/oci.tar"}}}},
      {});
  std::string archive = Archive(spec, "oci.tgz");
  auto bytes = test::ReadFileToString(archive);
  ASSERT_TRUE(bytes.ok());
  ProcessResult file = LoadWith({archive, "--verbose"}, "file_ns", std::nullopt);
  ASSERT_EQ(file.exit_code, 0) << Output(file);
  ProcessResult pipe = LoadWith({"-", "--verbose"}, "pipe_ns", *bytes);
  ASSERT_EQ(pipe.exit_code, 0) << Output(pipe);
  for (const ProcessResult* r : {&file, &pipe}) {
    size_t copied = 0;
    for (size_t at = 0; (at = r->stderr_text.find("copying the stored gzip layer", at)) !=
                        std::string::npos;
         ++at) {
      ++copied;
    }
    EXPECT_EQ(copied, 2u) << r->stderr_text;
    const auto report = nlohmann::json::parse(r->stdout_text);
    const auto& items = report["archives"][0]["images"];
    ASSERT_FALSE(items.empty());
    EXPECT_EQ(items[0]["digest_kept"], true) << items[0].dump();
    EXPECT_EQ(items[0]["manifest_digest"], items[0]["archive_digest"]) << items[0].dump();
  }
  auto from_file = LandedDigests(nlohmann::json::parse(file.stdout_text), "file_ns");
  EXPECT_EQ(LandedDigests(nlohmann::json::parse(pipe.stdout_text), "pipe_ns"), from_file);
}

TEST_F(LoadStdinTest, StandardInputNamedTwiceIsAUsageError) {
  ProcessResult r = LoadWith({"-", "--archive", "-"}, "test_ns", std::string("x"));
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("given twice"), std::string::npos) << r.stderr_text;
  ProcessResult password =
      LoadWith({"-", "--username", "u", "--password-stdin"}, "test_ns", std::string("x"));
  EXPECT_EQ(password.exit_code, 2) << Output(password);
  EXPECT_NE(password.stderr_text.find("both read standard input"), std::string::npos)
      << password.stderr_text;
}

TEST_F(LoadStdinTest, TruncatedPipeIsUnreadableAndPushesNoManifest) {
  std::string archive = Archive(samples::DemoSampleSpec(), "sample.tgz");
  auto bytes = test::ReadFileToString(archive);
  ASSERT_TRUE(bytes.ok());
  ProcessResult r = LoadWith({"-"}, "test_ns", bytes->substr(0, bytes->size() * 2 / 3));
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  EXPECT_NE(r.stderr_text.find("standard input is truncated"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(registry_->CountLogLines("\"PUT /v2/test_ns/ibmcom/portal/manifests/"), 0);
}

TEST_F(LoadStdinTest, DecompressionBombOnAPipeIsRefused) {
  // 2 GiB of zeros in about 2 MB: past the floor of 1 GiB (and 100x the
  // bytes read), whatever the pipe's unknown size.
  ProcessResult r = LoadWith({"-"}, "test_ns", test::ZeroBombTgz("images/bomb.tar", 2ull << 30));
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  EXPECT_NE(r.stderr_text.find("decompression bomb"), std::string::npos) << r.stderr_text;
  // A limit given is kept as it is.
  ProcessResult small = LoadWith({"-", "--max-unpacked-size", "4M"}, "test_ns",
                                 test::ZeroBombTgz("images/zeros", 8u << 20));
  EXPECT_EQ(small.exit_code, 3) << Output(small);
  EXPECT_NE(small.stderr_text.find("4194304 bytes"), std::string::npos) << small.stderr_text;
}

}  // namespace
}  // namespace ppa
