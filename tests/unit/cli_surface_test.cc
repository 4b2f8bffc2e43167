// The pure parts of the command-line surface (docs/cli.md): did-you-mean for
// flags, config keys and PPA_IMPORT_* variables; the shard from
// JOB_COMPLETION_INDEX; the --json path; the manifest format with zstd; the
// ChartMuseum URI; the JSON report of a usage error.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "importer/cli/archive_list.h"
#include "importer/cli/chart_flags.h"
#include "importer/cli/config_file.h"
#include "importer/cli/usage_checks.h"
#include "importer/cli/usage_errors.h"
#include "importer/cli/usage_report.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

const std::vector<std::string> kLoadFlags = {
    "archive",  "namespace", "namespace-rules", "registry",     "password-stdin",
    "username", "no-cache",  "architectures",   "platform",     "chartmuseum-password",
    "format",   "workdir",   "json",            "shard-count",  "shard"};

TEST(EditDistance, CountsEdits) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("namespce", "namespace"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("json", "jsno"), 1u);  // a swap is one edit
  EXPECT_EQ(EditDistance("regsitry", "registry"), 1u);
}

TEST(ClosestNames, PrefixesThenNearSpellings) {
  EXPECT_EQ(ClosestNames("password", kLoadFlags), (std::vector<std::string>{"password-stdin"}));
  EXPECT_EQ(ClosestNames("namespce", kLoadFlags), (std::vector<std::string>{"namespace"}));
  EXPECT_EQ(ClosestNames("regsitry", kLoadFlags), (std::vector<std::string>{"registry"}));
  EXPECT_EQ(ClosestNames("workdri", kLoadFlags), (std::vector<std::string>{"workdir"}));
  EXPECT_TRUE(ClosestNames("authfile", kLoadFlags).empty());
  EXPECT_TRUE(ClosestNames("", kLoadFlags).empty());
  // "shard" begins two names: the shorter first.
  EXPECT_EQ(ClosestNames("shar", kLoadFlags), (std::vector<std::string>{"shard", "shard-count"}));
}

TEST(DidYouMean, Sentences) {
  EXPECT_EQ(DidYouMean({}), "");
  EXPECT_EQ(DidYouMean({"--a"}), "; did you mean --a?");
  EXPECT_EQ(DidYouMean({"--a", "--b", "--c"}), "; did you mean --a, --b or --c?");
}

TEST(OptionNameOf, LongShortWithValues) {
  EXPECT_EQ(OptionNameOf("--password"), "--password");
  EXPECT_EQ(OptionNameOf("--password=x"), "--password");
  EXPECT_EQ(OptionNameOf("-n"), "-n");
  EXPECT_EQ(OptionNameOf("-nfoo"), "-n");
  EXPECT_EQ(OptionNameOf("x"), "");
  EXPECT_EQ(OptionNameOf("-"), "");
  EXPECT_EQ(OptionNameOf("--"), "");
}

TEST(UnknownOptionError, NamesTheOptionAndWhatWasMeant) {
  Status s = UnknownOptionError("--password", kLoadFlags, "load");
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(s.message(), "unknown option --password; did you mean --password-stdin?");
  EXPECT_NE(s.hint().find("ppa-import help load"), std::string::npos);
  EXPECT_EQ(UnknownOptionError("--authfile", kLoadFlags, "load").message(),
            "unknown option --authfile");
  EXPECT_EQ(UnknownOptionError("-n", kLoadFlags, "load").message(),
            "unknown option -n; did you mean --no-cache, --namespace or --namespace-rules?");
  EXPECT_EQ(UnknownOptionError("--namespce", kLoadFlags, "load").message(),
            "unknown option --namespce; did you mean --namespace?");
}

TEST(CheckEnvironmentNames, UnknownVariableIsNamedWithTheFlagMeant) {
  const std::vector<std::string> flags = {"PPA_IMPORT_NAMESPACE", "PPA_IMPORT_WORKDIR"};
  Status s = CheckEnvironmentNames({"PPA_IMPORT_NAMESPCE"}, flags);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(s.message(),
            "environment variable PPA_IMPORT_NAMESPCE names no option; did you mean "
            "PPA_IMPORT_NAMESPACE?");
  EXPECT_FALSE(CheckEnvironmentNames({"PPA_IMPORT_WORKDIR", "PPA_IMPORT_X"}, flags).ok());
  EXPECT_FALSE(CheckEnvironmentNames({"PPA_IMPORT_PASSWRD"}, flags).ok());
  // The variables the code reads itself are known without a flag.
  std::vector<std::string> direct(std::begin(kEnvironmentReadDirectly),
                                  std::end(kEnvironmentReadDirectly));
  direct.push_back("PPA_IMPORT_NAMESPACE");
  EXPECT_TRUE(CheckEnvironmentNames(direct, flags).ok());
  EXPECT_TRUE(CheckEnvironmentNames({}, flags).ok());
}

TEST(CheckConfigKeys, UnknownKeyWithLineAndDidYouMean) {
  auto entries = ParseConfigYaml("registry: r.example\n\n# a comment\nnamespce: portal\n");
  ASSERT_TRUE(entries.ok());
  Status s = CheckConfigKeys(*entries, kLoadFlags);
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(s.message(), "line 4: unknown key 'namespce'; did you mean namespace?");
  auto other = ParseConfigYaml("plain-htpp: true\n");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(CheckConfigKeys(*other, kLoadFlags).ok());
  auto good = ParseConfigYaml("registry: r\nplatform: [linux/amd64]\n--workdir: /w\n");
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(CheckConfigKeys(*good, kLoadFlags).ok());
}

TEST(ResolveShard, ShardCountWithoutJobCompletionIndexIsAUsageError) {
  auto missing = ResolveShard("", "", 4);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(missing.status().message().find("JOB_COMPLETION_INDEX is not set"), std::string::npos);
  EXPECT_NE(missing.status().hint().find("--shard I/N"), std::string::npos);
  for (const char* bad : {"x", "-1", "4", "17", "1.5", " 1"}) {
    auto r = ResolveShard("", bad, 4);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_FALSE(r.status().hint().empty()) << bad;
  }
  auto ok = ResolveShard("", "3", 4);
  ASSERT_TRUE(ok.ok() && ok->has_value());
  EXPECT_EQ((*ok)->index, 3);
  auto none = ResolveShard("", "", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(CheckReportPathWritable, FindsUnwritablePathsBeforeAnyWork) {
  test::TempDir dir("ppa-json-path");
  EXPECT_TRUE(CheckReportPathWritable("").ok());
  EXPECT_TRUE(CheckReportPathWritable("-").ok());
  EXPECT_TRUE(CheckReportPathWritable(dir.Join("report.json")).ok());
  EXPECT_FALSE(CheckReportPathWritable(dir.path()).ok());                         // a directory
  EXPECT_FALSE(CheckReportPathWritable(dir.Join("missing/report.json")).ok());  // no parent
  std::ofstream(dir.Join("file")) << "x";
  EXPECT_FALSE(CheckReportPathWritable(dir.Join("file/report.json")).ok());  // parent a file
  EXPECT_FALSE(CheckReportPathWritable("/proc/ppa-import-report.json").ok());  // cannot create
  // The probe leaves nothing behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

// Checked where the report will really go (WriteUserNamedFile): a device or
// /dev/stdout in place, a link at its target's folder.
TEST(CheckReportPathWritable, LooksWhereTheReportReallyGoes) {
  test::TempDir dir("ppa-json-path");
  EXPECT_TRUE(CheckReportPathWritable("/dev/null").ok());
  EXPECT_TRUE(CheckReportPathWritable("/dev/stdout").ok());
  std::filesystem::create_symlink(dir.Join("missing/r.json"), dir.Join("dangling.json"));
  EXPECT_FALSE(CheckReportPathWritable(dir.Join("dangling.json")).ok());  // target's folder missing
  std::filesystem::create_directory(dir.Join("reports"));
  std::filesystem::create_symlink("reports/r.json", dir.Join("link.json"));
  EXPECT_TRUE(CheckReportPathWritable(dir.Join("link.json")).ok());
  std::filesystem::create_symlink(dir.Join("loop"), dir.Join("loop"));
  EXPECT_FALSE(CheckReportPathWritable(dir.Join("loop")).ok());
}

TEST(ChooseManifestFormat, ZstdNeverMakesDockerManifests) {
  std::string warning;
  auto refused = ChooseManifestFormat("docker", Compression::kZstd, &warning);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().hint().find("--format oci"), std::string::npos);
  auto switched = ChooseManifestFormat("", Compression::kZstd, &warning);
  ASSERT_TRUE(switched.ok());
  EXPECT_EQ(*switched, ManifestFormat::kOci);
  EXPECT_NE(warning.find("OCI"), std::string::npos);
  for (auto [flag, compression, want] :
       {std::tuple{"", Compression::kGzip, ManifestFormat::kDocker},
        std::tuple{"docker", Compression::kGzip, ManifestFormat::kDocker},
        std::tuple{"docker", Compression::kNone, ManifestFormat::kDocker},
        std::tuple{"oci", Compression::kZstd, ManifestFormat::kOci},
        std::tuple{"oci", Compression::kGzip, ManifestFormat::kOci}}) {
    std::string none;
    auto f = ChooseManifestFormat(flag, compression, &none);
    ASSERT_TRUE(f.ok()) << flag;
    EXPECT_EQ(*f, want) << flag;
    EXPECT_TRUE(none.empty()) << flag;
  }
}

TEST(ValidateChartMuseumUri, SchemeAndHostRequired) {
  for (const char* good : {"", "https://charts.example", "http://127.0.0.1:8080",
                           "https://u:p@charts.example:8443/api/repo", "HTTPS://c.example/",
                           "http://[::1]:8080/x"}) {
    EXPECT_TRUE(ValidateChartMuseumUri(good).ok()) << good;
  }
  for (const char* bad : {"charts.example:8080", "charts.example", "ftp://charts.example",
                          "oci://charts.example", "https://", "https:///path", "http://:8080",
                          "https://charts example", "https://c.example:port",
                          "https://c.example:99999", "https://c.example:", "http://[::1"}) {
    Status s = ValidateChartMuseumUri(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput) << bad;
    EXPECT_NE(s.hint().find("https://"), std::string::npos) << bad;
  }
  // The password never shows in the message.
  Status secret = ValidateChartMuseumUri("ftp://user:hunter2@c.example");
  EXPECT_EQ(secret.message().find("hunter2"), std::string::npos) << secret.message();
}

TEST(RenderUsageErrorReport, OneJsonObjectWithTheError) {
  auto j = nlohmann::json::parse(RenderUsageErrorReport(
      InvalidInput("unknown option --password", "see ppa-import help load"), "portal"));
  EXPECT_EQ(j["exit_code"], 2);
  EXPECT_EQ(j["error"], "unknown option --password");
  EXPECT_EQ(j["hint"], "see ppa-import help load");
  EXPECT_EQ(j["target"]["namespace"], "portal");
  EXPECT_TRUE(j["archives"].empty());
  EXPECT_TRUE(j.contains("tool"));
}

}  // namespace
}  // namespace ppa
