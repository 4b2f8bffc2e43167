// A gtest fixture for end-to-end runs of the real `ppa-import` binary
// against Debian's docker-registry on 127.0.0.1, judged by skopeo.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/support/process.h"
#include "tests/support/registry_server.h"
#include "tests/support/skopeo.h"

namespace ppa::test {

// "stdout:\n...\nstderr:\n..." for assertion messages.
inline std::string Output(const ProcessResult& r) {
  return "stdout:\n" + r.stdout_text + "\nstderr:\n" + r.stderr_text;
}

// The file's content, or "" when unreadable.
inline std::string ReadFileOr(const std::string& path) {
  auto text = ReadFileToString(path);
  return text.ok() ? *text : "";
}

// The demo sample with one more layer in portal-tools: `files` files of
// `file_size` incompressible bytes, so the archive is large but its import
// still takes seconds.
inline samples::PpaArchiveSpec DemoSampleWithLargeLayer(int files, uint64_t file_size,
                                                       uint64_t seed) {
  samples::PpaArchiveSpec spec = samples::DemoSampleSpec();
  samples::LayerSpec big;
  big.seed = seed;
  big.file_count = files;
  big.file_size = file_size;
  big.random_content = true;
  big.directory = "opt/big";
  spec.images[3].tarball.images[0].layers.push_back(big);
  return spec;
}

// What the demo sample (samples::DemoSampleSpec) tags: its platform images
// and two of its manifest lists.
inline constexpr const char* kSampleImageRefs[] = {
    "ibmcom/portal:2.1.0-amd64",        "ibmcom/portal:2.1.0-ppc64le",
    "ibmcom/portal-db:2.1.0-amd64",     "ibmcom/portal-worker:2.1.0-amd64",
    "ibmcom/portal-tools:2.1.0-amd64",  "ibmcom/portal-init:2.1.0-amd64",
    "ibmcom/portal:2.1.0",              "ibmcom/portal-db:2.1.0"};

class LoadFixture : public ::testing::Test {
 protected:
  void StartRegistry(const RegistryOptions& options = {}) {
    auto server = RegistryServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    registry_ = std::move(server).value();
  }
  void SetUp() override { StartRegistry(); }

  std::string Archive(const ::ppa::samples::PpaArchiveSpec& spec, const std::string& name) {
    std::string path = dir_.Join(name);
    Status s = ::ppa::samples::WritePpaArchive(spec, path);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return path;
  }

  ProcessResult Load(const std::string& archive, std::vector<std::string> extra = {},
                     std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",       "--archive", archive,
                                     "--namespace",     "test_ns",    "--registry",
                                     registry_->host(), "--plain-http"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("HOME", dir_.path());
    return RunProcess(argv, std::nullopt, env, dir_.path());
  }

  std::string Ref(const std::string& repo_tag) {
    return "docker://" + registry_->host() + "/test_ns/" + repo_tag;
  }

  // skopeo copies the image out, checking every blob against its digest.
  void ExpectVerified(const std::string& repo_tag, const std::string& creds = "") {
    TempDir out("ppa-skopeo-out");
    Status s = SkopeoCopyToDir(Ref(repo_tag), out.Join("img"), creds);
    EXPECT_TRUE(s.ok()) << repo_tag << ": " << s.ToString();
  }

  void ExpectAbsent(const std::string& repo_tag) {
    auto r = SkopeoInspect(Ref(repo_tag), /*raw=*/true);
    EXPECT_FALSE(r.ok()) << repo_tag << " should not be tagged";
  }

  TempDir dir_{"ppa-load"};
  std::unique_ptr<RegistryServer> registry_;
};

}  // namespace ppa::test
