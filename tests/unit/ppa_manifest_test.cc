// Tests for archive/ppa_manifest: both manifest dialects, their edge cases,
// malformed input, and the merge of the two.
#include "archive/manifest/ppa_manifest.h"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace ppa {
namespace {

// A canonical text form of a manifest's images and charts (not warnings),
// so that expectations read like the manifest and failures show a diff.
std::string Describe(const PpaManifest& m) {
  std::string out;
  for (const PpaImage& image : m.images) {
    out += "image " + image.image + "\n";
    for (const PpaImageReference& ref : image.references) {
      out += "  ref " + ref.repository;
      if (!ref.pull_repository.empty()) out += " pull=" + ref.pull_repository;
      if (ref.platform) {
        out += " platform=" + ref.platform->os + "/" + ref.platform->architecture;
        if (!ref.platform->variant.empty()) out += "/" + ref.platform->variant;
      }
      if (!ref.archive.empty()) out += " archive=" + ref.archive;
      out += "\n";
    }
  }
  for (const PpaChart& chart : m.charts) {
    out += "chart " + chart.archive + " keys=";
    for (size_t i = 0; i < chart.repository_keys.size(); ++i) {
      out += (i > 0 ? "," : "") + chart.repository_keys[i];
    }
    out += "\n";
  }
  return out;
}

std::string JoinWarnings(const std::vector<std::string>& warnings) {
  std::string out;
  for (const std::string& w : warnings) out += "  " + w + "\n";
  return out;
}

// Every expected fragment occurs in some warning, and the counts agree.
void ExpectWarnings(const std::vector<std::string>& actual,
                    const std::vector<std::string>& fragments) {
  EXPECT_EQ(actual.size(), fragments.size()) << JoinWarnings(actual);
  for (const std::string& fragment : fragments) {
    bool found = false;
    for (const std::string& w : actual) found = found || w.find(fragment) != std::string::npos;
    EXPECT_TRUE(found) << "no warning contains '" << fragment << "' in:\n" << JoinWarnings(actual);
  }
}

// ---------------------------------------------------------------------------
// NormalizeManifestPath

TEST(NormalizeManifestPathTest, Table) {
  const struct {
    const char* in;
    const char* want;
  } kCases[] = {
      {"images/a.tar.gz", "images/a.tar.gz"},
      {"./images/a.tar.gz", "images/a.tar.gz"},
      {"/images/a.tar.gz", "images/a.tar.gz"},
      {"file:charts/x.tgz", "charts/x.tgz"},
      {"file:./charts/x.tgz", "charts/x.tgz"},
      {"file:///charts/x.tgz", "charts/x.tgz"},
      {"././/charts/x.tgz", "charts/x.tgz"},
      {"  charts/x.tgz ", "charts/x.tgz"},
      {"charts/./x.tgz", "charts/./x.tgz"},  // only the front is normalized
      {"", ""},
      {"file:", ""},
      {"file: images/a.tar", "images/a.tar"},
      {" file: ./images/a.tar", "images/a.tar"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(NormalizeManifestPath(c.in), c.want) << "input: '" << c.in << "'";
  }
}

// ---------------------------------------------------------------------------
// manifest.yaml

struct ParseCase {
  const char* name;
  const char* text;
  const char* want;                   // Describe() of the result
  std::vector<std::string> warnings;  // fragments, one per expected warning
};

const ParseCase kYamlCases[] = {
    {"MultiArchImageAndChart",
     R"(
charts:
  - archive: file:./charts/ibm-portal-prod-1.0.0.tgz
    repository-keys: [image.repository, sidecar.image.repository]
images:
  - image: ibmcom/portal:2.1.0
    references:
      - repository: ibmcom/portal:2.1.0-amd64
        pull-repository: cp.icr.io/cp/portal:2.1.0-amd64
        platform: {os: linux, architecture: amd64}
        archive: images/portal-amd64.tar.gz
      - repository: ibmcom/portal:2.1.0-arm64
        platform: {os: linux, architecture: arm64, variant: v8}
        archive: ./images/portal-arm64.tar.gz
)",
     "image ibmcom/portal:2.1.0\n"
     "  ref ibmcom/portal:2.1.0-amd64 pull=cp.icr.io/cp/portal:2.1.0-amd64 platform=linux/amd64 "
     "archive=images/portal-amd64.tar.gz\n"
     "  ref ibmcom/portal:2.1.0-arm64 platform=linux/arm64/v8 archive=images/portal-arm64.tar.gz\n"
     "chart charts/ibm-portal-prod-1.0.0.tgz keys=image.repository,sidecar.image.repository\n",
     {}},
    {"ImageWithoutReferencesIsItsOwnReference",
     "images:\n- image: ibmcom/db:1.0\n- image: ibmcom/web:2.0\n  references: []\n"
     "- image: ibmcom/job:3\n  references: ~\n",
     "image ibmcom/db:1.0\n  ref ibmcom/db:1.0\n"
     "image ibmcom/web:2.0\n  ref ibmcom/web:2.0\n"
     "image ibmcom/job:3\n  ref ibmcom/job:3\n",
     {}},
    {"ScalarsKeepTheirOriginalText",
     "images:\n- image: 1.10\n  references:\n  - repository: org/x:1.10\n"
     "    platform: {os: linux, architecture: 386, variant: 7.0}\n"
     "charts:\n- archive: charts/c.tgz\n  repository-keys: [1.0, true]\n",
     "image 1.10\n  ref org/x:1.10 platform=linux/386/7.0\nchart charts/c.tgz keys=1.0,true\n",
     {}},
    {"NullsAndMissingSectionsAreEmpty", "images: ~\ncharts:\n", "", {}},
    {"OnlyCharts",
     "charts:\n- archive: /charts/a.tgz\n  repository-keys: ~\n",
     "chart charts/a.tgz keys=\n",
     {}},
    {"SingleRepositoryKeyAsText",
     "charts:\n- archive: charts/a.tgz\n  repository-keys: image.repo\n",
     "chart charts/a.tgz keys=image.repo\n",
     {}},
    {"NullFieldsInsideEntries",
     "images:\n- image: org/a:1\n  references:\n  - repository: org/a:1-amd64\n"
     "    pull-repository: ~\n    platform: ~\n    archive: ~\n",
     "image org/a:1\n  ref org/a:1-amd64\n",
     {}},
    {"UnknownKeysAreIgnored",
     "manifest-revision: 2\nvendor: {name: IBM}\nimages:\n- image: org/a:1\n  size: 12\n"
     "  references:\n  - repository: org/a:1\n    digest: sha256:abc\n",
     "image org/a:1\n  ref org/a:1\n",
     {}},
    {"EntryWithoutImageIsSkipped",
     "images:\n- references:\n  - repository: org/a:1\n- image: ''\n- image: org/b:2\n",
     "image org/b:2\n  ref org/b:2\n",
     {"line 2: an entry of 'images' has no 'image'",
      "line 4: an entry of 'images' has no 'image'"}},
    {"ReferenceWithoutRepositoryIsSkipped",
     "images:\n- image: org/a:1\n  references:\n  - pull-repository: x/a:1\n"
     "  - repository: org/a:1-amd64\n",
     "image org/a:1\n  ref org/a:1-amd64\n",
     {"a reference of 'org/a:1' has no 'repository'"}},
    {"ImageWhoseReferencesAreAllBadIsSkipped",
     "images:\n- image: org/a:1\n  references:\n  - platform: {os: linux}\n  - just-text\n",
     "",
     {"has no 'repository'", "is not a mapping", "image 'org/a:1' has no usable reference"}},
    {"WrongShapesInsideEntriesWarn",
     "images:\n- plain-text\n- image: [a, b]\n- image: org/a:1\n  references: {repository: x}\n"
     "- image: org/b:1\n  references:\n  - repository: org/b:1\n    platform: linux/amd64\n"
     "charts:\n- archive: charts/c.tgz\n  repository-keys: {a: b}\n- 42\n",
     "image org/b:1\n  ref org/b:1\nchart charts/c.tgz keys=\n",
     {"an entry of 'images' is not a mapping", "'image' is not a text value", "no 'image'",
      "'references' of 'org/a:1' is not a list", "'platform' is not a mapping",
      "'repository-keys' is not a list", "an entry of 'charts' is not a mapping"}},
    {"ChartWithoutArchiveIsSkipped",
     "charts:\n- repository-keys: [a]\n- archive: 'file:'\n- archive: charts/b.tgz\n",
     "chart charts/b.tgz keys=\n",
     {"line 2: an entry of 'charts' has no 'archive'",
      "line 3: an entry of 'charts' has no 'archive'"}},
};

void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

class YamlParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(YamlParseTest, Parses) {
  const ParseCase& c = GetParam();
  Result<PpaManifest> got = ParsePpaManifestYaml(c.text);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Describe(*got), c.want);
  ExpectWarnings(got->warnings, c.warnings);
}

INSTANTIATE_TEST_SUITE_P(Cases, YamlParseTest, ::testing::ValuesIn(kYamlCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct ErrorCase {
  const char* name;
  const char* text;
  std::vector<std::string> fragments;  // all must occur in the message
};

const ErrorCase kYamlErrors[] = {
    {"UnclosedFlowList", "images: [\n  {image: a\n", {"manifest.yaml", "line "}},
    {"BadIndentation", "images:\n  - image: a\n bad: [\n", {"manifest.yaml", "line "}},
    {"TopLevelList", "- image: a\n- image: b\n", {"line 1, column 1", "mapping"}},
    {"TopLevelScalar", "just some text\n", {"line 1", "mapping"}},
    {"Empty", "", {"manifest.yaml", "empty"}},
    {"OnlyComments", "# nothing here\n", {"empty"}},
    {"ImagesNotAList", "images:\n  image: a\n", {"line 2", "'images' must be a list"}},
    {"ChartsNotAList", "charts: charts/a.tgz\n", {"line 1", "'charts' must be a list"}},
    {"TabIndentation", "images:\n\t- image: a\n", {"manifest.yaml", "line "}},
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class YamlErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(YamlErrorTest, IsInvalidInput) {
  const ErrorCase& c = GetParam();
  Result<PpaManifest> got = ParsePpaManifestYaml(c.text);
  ASSERT_FALSE(got.ok()) << Describe(*got);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
  for (const std::string& fragment : c.fragments) {
    EXPECT_NE(got.status().message().find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << got.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, YamlErrorTest, ::testing::ValuesIn(kYamlErrors),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// manifest.json

const ParseCase kJsonCases[] = {
    {"ImagesAndCharts",
     R"({"manifest-revision": "1.0",
         "charts": [{"archive": "charts/ibm-portal-1.0.0.tgz",
                     "images": ["image.repository", "db.image.repository"]}],
         "images": [{"image": "ibmcom/portal", "tag": "2.1.0", "archive": "images/portal.tar.gz"},
                    {"image": "ibmcom/db", "tag": "9.5", "archive": "./images/db.tar.gz"}]})",
     "image ibmcom/portal:2.1.0\n  ref ibmcom/portal:2.1.0 archive=images/portal.tar.gz\n"
     "image ibmcom/db:9.5\n  ref ibmcom/db:9.5 archive=images/db.tar.gz\n"
     "chart charts/ibm-portal-1.0.0.tgz keys=image.repository,db.image.repository\n",
     {}},
    {"RepeatedEntryWithSameArchiveIsDroppedSilently",
     R"({"images": [{"image": "org/a", "tag": "1", "archive": "images/a.tar"},
                    {"image": "org/a", "tag": "1", "archive": "file:images/a.tar"},
                    {"image": "org/a", "tag": "2", "archive": "images/a.tar"}]})",
     "image org/a:1\n  ref org/a:1 archive=images/a.tar\n"
     "image org/a:2\n  ref org/a:2 archive=images/a.tar\n",
     {}},
    {"RepeatedEntryWithOtherArchiveKeepsTheFirst",
     R"({"images": [{"image": "org/a", "tag": "1", "archive": "images/a.tar"},
                    {"image": "org/a", "tag": "1", "archive": "images/a-other.tar"}]})",
     "image org/a:1\n  ref org/a:1 archive=images/a.tar\n",
     {"images[1]: 'org/a:1' is listed again with archive 'images/a-other.tar'; keeping "
      "'images/a.tar'"}},
    {"NumericTagsKeepTheirText",
     R"({"images": [{"image": "org/a", "tag": 1.0, "archive": "images/a.tar"},
                    {"image": "org/b", "tag": 1.10, "archive": "images/b.tar"},
                    {"image": "org/c", "tag": 10, "archive": "images/c.tar"},
                    {"image": "org/d", "tag": 2e3, "archive": "images/d.tar"}]})",
     "image org/a:1.0\n  ref org/a:1.0 archive=images/a.tar\n"
     "image org/b:1.10\n  ref org/b:1.10 archive=images/b.tar\n"
     "image org/c:10\n  ref org/c:10 archive=images/c.tar\n"
     "image org/d:2e3\n  ref org/d:2e3 archive=images/d.tar\n",
     {}},
    {"MissingTagMeansLatestWithAWarning",
     R"({"images": [{"image": "org/a", "archive": "images/a.tar"},
                    {"image": "org/b", "tag": null},
                    {"image": "org/c:3.0", "archive": "images/c.tar"}]})",
     "image org/a:latest\n  ref org/a:latest archive=images/a.tar\n"
     "image org/b:latest\n  ref org/b:latest\n"
     "image org/c:3.0\n  ref org/c:3.0 archive=images/c.tar\n",
     {"images[0]: 'org/a:latest' has no tag", "images[1]: 'org/b:latest' has no tag"}},
    {"EntriesWithoutImageAreSkipped",
     R"({"images": [{"tag": "1", "archive": "images/x.tar"}, "text", {"image": 5, "tag": "1"},
                    {"image": "org/a", "tag": "1"}]})",
     "image 5:1\n  ref 5:1\nimage org/a:1\n  ref org/a:1\n",
     {"images[0] has no 'image'", "images[1] is not an object"}},
    {"RepeatedChartsAreMerged",
     R"({"charts": [{"archive": "charts/a.tgz", "images": ["x"]},
                    {"archive": "file:charts/a.tgz", "images": ["x", "y", 3]},
                    {"archive": "charts/b.tgz", "images": null},
                    {"archive": "charts/b.tgz"},
                    {"images": ["z"]}]})",
     "chart charts/a.tgz keys=x,y\nchart charts/b.tgz keys=\n",
     {"charts[1]: chart 'charts/a.tgz' is listed again with other keys",
      "charts[4] has no 'archive'"}},
    {"NullSectionsAndUnknownKeys",
     R"({"manifest-revision": "1.0", "images": null, "charts": null, "extra": {"a": [1, 2.5]}})",
     "",
     {}},
    {"EmptyObject", "{}", "", {}},
};

class JsonParseTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(JsonParseTest, Parses) {
  const ParseCase& c = GetParam();
  Result<PpaManifest> got = ParsePpaManifestJson(c.text);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Describe(*got), c.want);
  ExpectWarnings(got->warnings, c.warnings);
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonParseTest, ::testing::ValuesIn(kJsonCases),
                         [](const auto& info) { return std::string(info.param.name); });

const ErrorCase kJsonErrors[] = {
    {"Unterminated", R"({"images": [)", {"manifest.json", "line 1"}},
    {"TrailingComma", "{\"images\": [],\n}", {"manifest.json", "line 2"}},
    {"Empty", "", {"manifest.json"}},
    {"TopLevelArray", "[]", {"manifest.json", "object"}},
    {"TopLevelString", "\"images\"", {"object"}},
    {"ImagesNotAnArray", R"({"images": {"image": "a"}})", {"'images' must be an array"}},
    {"ChartsNotAnArray", R"({"charts": "charts/a.tgz"})", {"'charts' must be an array"}},
    {"YamlIsNotJson", "images:\n- image: a\n", {"manifest.json"}},
};

class JsonErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JsonErrorTest, IsInvalidInput) {
  const ErrorCase& c = GetParam();
  Result<PpaManifest> got = ParsePpaManifestJson(c.text);
  ASSERT_FALSE(got.ok()) << Describe(*got);
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
  for (const std::string& fragment : c.fragments) {
    EXPECT_NE(got.status().message().find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << got.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, JsonErrorTest, ::testing::ValuesIn(kJsonErrors),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// Merging

struct MergeCase {
  const char* name;
  const char* yaml;  // nullptr: absent
  const char* json;  // nullptr: absent
  const char* want;
  std::vector<std::string> warnings;
};

const MergeCase kMergeCases[] = {
    {"NeitherGivesEmpty", nullptr, nullptr, "", {}},
    {"OnlyYaml", "images:\n- image: org/a:1\n", nullptr, "image org/a:1\n  ref org/a:1\n", {}},
    {"OnlyJsonKeepsItsWarnings",
     nullptr,
     R"({"images": [{"image": "org/a", "archive": "images/a.tar"}]})",
     "image org/a:latest\n  ref org/a:latest archive=images/a.tar\n",
     {"has no tag"}},
    {"ArchiveByRepository",
     "images:\n- image: org/a:1\n  references:\n  - repository: org/a:1-amd64\n"
     "    platform: {os: linux, architecture: amd64}\n",
     R"({"images": [{"image": "org/a", "tag": "1-amd64", "archive": "images/a-amd64.tar"},
                    {"image": "org/a", "tag": "1", "archive": "images/a-fat.tar"}]})",
     "image org/a:1\n  ref org/a:1-amd64 platform=linux/amd64 archive=images/a-amd64.tar\n",
     {}},
    {"ArchiveByPullRepository",
     "images:\n- image: ibmcom/a:1\n  references:\n  - repository: ibmcom/a:1-amd64\n"
     "    pull-repository: cp.icr.io/cp/a:1-amd64\n",
     R"({"images": [{"image": "cp.icr.io/cp/a", "tag": "1-amd64", "archive": "images/a.tar"}]})",
     "image ibmcom/a:1\n  ref ibmcom/a:1-amd64 pull=cp.icr.io/cp/a:1-amd64 archive=images/a.tar\n",
     {}},
    {"ArchiveByFatImageName",
     "images:\n- image: org/a:1\n  references:\n  - repository: org/a:1-amd64\n",
     R"({"images": [{"image": "org/a", "tag": "1", "archive": "images/a.tar"}]})",
     "image org/a:1\n  ref org/a:1-amd64 archive=images/a.tar\n",
     {}},
    {"RepositoryWinsOverPullRepositoryAndImage",
     "images:\n- image: org/a:1\n  references:\n  - repository: org/a:1-amd64\n"
     "    pull-repository: up/a:1\n",
     R"({"images": [{"image": "org/a", "tag": "1", "archive": "images/fat.tar"},
                    {"image": "up/a", "tag": "1", "archive": "images/pull.tar"},
                    {"image": "org/a", "tag": "1-amd64", "archive": "images/repo.tar"}]})",
     "image org/a:1\n  ref org/a:1-amd64 pull=up/a:1 archive=images/repo.tar\n",
     {}},
    {"DockerHubNamesAreNormalized",
     "images:\n- image: docker.io/library/busybox:1.36\n- image: docker.io/org/b\n",
     R"({"images": [{"image": "busybox", "tag": "1.36", "archive": "images/busybox.tar"},
                    {"image": "org/b", "tag": "latest", "archive": "images/b.tar"}]})",
     "image docker.io/library/busybox:1.36\n"
     "  ref docker.io/library/busybox:1.36 archive=images/busybox.tar\n"
     "image docker.io/org/b\n  ref docker.io/org/b archive=images/b.tar\n",
     {}},
    {"YamlArchiveWinsOverJson",
     "images:\n- image: org/a:1\n  archive: images/yaml.tar\n",
     R"({"images": [{"image": "org/a", "tag": "1", "archive": "images/json.tar"}]})",
     "image org/a:1\n  ref org/a:1 archive=images/yaml.tar\n",
     {"manifest.yaml names archive 'images/yaml.tar', manifest.json names 'images/json.tar'"}},
    {"JsonOnlyImageIsNotImported",
     "images:\n- image: org/a:1\n",
     R"({"images": [{"image": "org/a", "tag": "1", "archive": "images/a.tar"},
                    {"image": "org/extra", "tag": "2", "archive": "images/extra.tar"}]})",
     "image org/a:1\n  ref org/a:1 archive=images/a.tar\n",
     {"image 'org/extra:2' is listed in manifest.json but not in manifest.yaml"}},
    {"JsonImageUnderAnotherNameButSameArchiveIsNotReported",
     "images:\n- image: ibm/a:1\n  archive: images/a.tar\n",
     R"({"images": [{"image": "upstream/a", "tag": "1", "archive": "images/a.tar"}]})",
     "image ibm/a:1\n  ref ibm/a:1 archive=images/a.tar\n",
     {}},
    {"UnmatchedReferenceKeepsEmptyArchive",
     "images:\n- image: org/a:1\n  references:\n  - repository: org/a:1-s390x\n",
     R"({"images": []})",
     "image org/a:1\n  ref org/a:1-s390x\n",
     {}},
    {"ChartKeysFromJsonByBasename",
     "charts:\n- archive: file:charts/x-1.0.0.tgz\n- archive: other/y-2.0.0.tgz\n"
     "  repository-keys: [image.repo]\n",
     R"({"charts": [{"archive": "charts/x-1.0.0.tgz", "images": ["image.repository"]},
                    {"archive": "charts/y-2.0.0.tgz", "images": ["image.name"]},
                    {"archive": "charts/z-3.0.0.tgz", "images": []}]})",
     "chart charts/x-1.0.0.tgz keys=image.repository\nchart other/y-2.0.0.tgz keys=image.repo\n",
     {"chart 'other/y-2.0.0.tgz': manifest.yaml and manifest.json list different repository-keys",
      "chart 'charts/z-3.0.0.tgz' is listed in manifest.json but not in manifest.yaml"}},
    {"WarningsOfBothParsesAreKept",
     "images:\n- image: ''\n- image: org/a:1\n",
     R"({"images": [{"image": "org/a", "archive": "images/a.tar"}]})",
     "image org/a:1\n  ref org/a:1\n",
     {"has no 'image'", "has no tag", "'org/a:latest' is listed in manifest.json but not"}},
};

void PrintTo(const MergeCase& c, std::ostream* os) { *os << c.name; }

class MergeTest : public ::testing::TestWithParam<MergeCase> {};

TEST_P(MergeTest, Merges) {
  const MergeCase& c = GetParam();
  std::optional<PpaManifest> yaml, json;
  if (c.yaml != nullptr) {
    Result<PpaManifest> parsed = ParsePpaManifestYaml(c.yaml);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    yaml = *parsed;
  }
  if (c.json != nullptr) {
    Result<PpaManifest> parsed = ParsePpaManifestJson(c.json);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    json = *parsed;
  }
  const PpaManifest merged = MergePpaManifests(yaml, json);
  EXPECT_EQ(Describe(merged), c.want);
  ExpectWarnings(merged.warnings, c.warnings);
}

INSTANTIATE_TEST_SUITE_P(Cases, MergeTest, ::testing::ValuesIn(kMergeCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MergeInputsTest, AreNotChanged) {
  Result<PpaManifest> yaml = ParsePpaManifestYaml("images:\n- image: org/a:1\n");
  Result<PpaManifest> json =
      ParsePpaManifestJson(R"({"images": [{"image": "org/a", "tag": "1", "archive": "a.tar"}]})");
  ASSERT_TRUE(yaml.ok() && json.ok());
  const PpaManifest merged = MergePpaManifests(*yaml, *json);
  EXPECT_EQ(merged.images.at(0).references.at(0).archive, "a.tar");
  EXPECT_EQ(yaml->images.at(0).references.at(0).archive, "");
}

}  // namespace
}  // namespace ppa
