// `ppa-import load -`: the archive read from standard input (a pipe) lands
// as the same file does, and keeps the file's guarantees: a truncated or
// bombed stream is refused (exit 3, no manifest pushed), and standard input
// is named once.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
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
  ProcessResult LoadWith(const std::vector<std::string>& args, const std::string& ns,
                         const std::optional<std::string>& stdin_data) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--namespace", ns, "--registry", registry_->host(), "--plain-http",
                             "--json", "-"});
    return test::RunProcess(argv, stdin_data, {{"HOME", dir_.path()}}, dir_.path());
  }

  // target (without "<host>/<ns>/") -> manifest digest, of each image of the
  // report, read back by skopeo too.
  std::map<std::string, std::string> LandedDigests(const nlohmann::json& report,
                                                   const std::string& ns) {
    std::map<std::string, std::string> out;
    const std::string prefix = registry_->host() + "/" + ns + "/";
    for (const auto& image : report["archives"][0]["images"]) {
      std::string target = image["target"].get<std::string>();
      EXPECT_EQ(target.rfind(prefix, 0), 0u) << target;
      auto landed = test::SkopeoInspect("docker://" + target, /*raw=*/false);
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
