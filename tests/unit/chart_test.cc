// Tests for helm_io/chart: Chart.yaml parsing, chart versions, and archive
// checks on Helm's own test charts and on bad charts built here.
#include "helm_io/chart.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace ppa {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// IsValidChartVersion

TEST(ChartVersionTest, Table) {
  const struct {
    const char* version;
    bool valid;
  } kCases[] = {
      {"1.2.3", true},
      {"0.1.0", true},
      {"1.2", true},
      {"1", true},
      {"v1.2.3", true},
      {"v1.2", true},
      {"1.0.0-alpha", true},
      {"0.1.0-alpha", true},
      {"1.0.0-alpha.1", true},
      {"1.0.0-rc-1.x-y", true},
      {"1.0.0-alpha+build", true},
      {"1.0.0+build.5.sha-abc", true},
      {"1.0.0-0", true},
      {"18446744073709551615.0.0", true},
      {"", false},
      {"abc", false},
      {"v", false},
      {"1.2.3.4", false},
      {"1..3", false},
      {"1.2.", false},
      {".1.2", false},
      {"1.2.x", false},
      {"V1.2.3", false},
      {"1.0.0-", false},
      {"1.0.0+", false},
      {"1.0.0-alpha..1", false},
      {"1.0.0-01", false},  // numeric pre-release identifiers have no leading zero
      {"1.0.0-al_pha", false},
      {"1.0.0+bu ild", false},
      {" 1.0.0", false},
      {"18446744073709551616.0.0", false},  // does not fit 64 bits
      {"-1.0.0", false},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(IsValidChartVersion(c.version), c.valid) << "version: '" << c.version << "'";
  }
}

// ---------------------------------------------------------------------------
// ParseChartYaml

struct ChartYamlCase {
  const char* name;
  const char* text;
  const char* error;  // nullptr: must parse; else a fragment of the message
  ChartMetadata want;
};

void PrintTo(const ChartYamlCase& c, std::ostream* os) { *os << c.name; }

const ChartYamlCase kChartYamlCases[] = {
    {"V2",
     "apiVersion: v2\nname: portal\nversion: 1.2.3\nappVersion: 2.1.0\ndescription: A chart\n",
     nullptr,
     {"v2", "portal", "1.2.3", "2.1.0", "A chart"}},
    {"MissingApiVersionIsV1",
     "name: portal\nversion: 0.1.0\n",
     nullptr,
     {"v1", "portal", "0.1.0", "", ""}},
    {"NumbersKeepTheirText",
     "apiVersion: v1\nname: c\nversion: 1.10\nappVersion: 2.0\n",
     nullptr,
     {"v1", "c", "1.10", "2.0", ""}},
    {"QuotedVersionAndVPrefix",
     "apiVersion: v2\nname: c\nversion: \"v1.2.3\"\n",
     nullptr,
     {"v2", "c", "v1.2.3", "", ""}},
    {"PreReleaseAndBuild",
     "name: c\nversion: 1.0.0-alpha+build\n",
     nullptr,
     {"v1", "c", "1.0.0-alpha+build", "", ""}},
    {"UnknownKeysIgnored",
     "apiVersion: v2\nname: c\nversion: 1.0.0\nkeywords: [a]\ndependencies:\n- name: d\n"
     "annotations: {a: b}\n",
     nullptr,
     {"v2", "c", "1.0.0", "", ""}},
    {"NullAppVersion",
     "name: c\nversion: 1.0.0\nappVersion: ~\n",
     nullptr,
     {"v1", "c", "1.0.0", "", ""}},
    {"MissingName", "apiVersion: v2\nversion: 1.0.0\n", "'name' is required", {}},
    {"EmptyName", "name: ''\nversion: 1.0.0\n", "'name' is required", {}},
    {"NameWithSlash", "name: a/b\nversion: 1.0.0\n", "name 'a/b' is invalid", {}},
    {"NameWithBackslash", "name: a\\b\nversion: 1.0.0\n", "is invalid", {}},
    {"NameDotDot", "name: ..\nversion: 1.0.0\n", "name '..' is invalid", {}},
    {"NameDot", "name: .\nversion: 1.0.0\n", "is invalid", {}},
    {"NameIsAList", "name: [a]\nversion: 1.0.0\n", "'name' must be a text value", {}},
    {"MissingVersion", "name: c\n", "'version' is required", {}},
    {"BadVersion", "name: c\nversion: abc\n", "version 'abc' is not a valid SemVer", {}},
    {"FourPartVersion", "name: c\nversion: 1.2.3.4\n", "not a valid SemVer", {}},
    {"UnknownApiVersion", "apiVersion: v3\nname: c\nversion: 1.0.0\n", "apiVersion 'v3'", {}},
    {"NotAMapping", "- name: c\n", "mapping", {}},
    {"Empty", "", "mapping", {}},
    {"Malformed", "name: [c\nversion: 1\n", "line ", {}},
};

class ChartYamlTest : public ::testing::TestWithParam<ChartYamlCase> {};

TEST_P(ChartYamlTest, Parses) {
  const ChartYamlCase& c = GetParam();
  Result<ChartMetadata> got = ParseChartYaml(c.text);
  if (c.error != nullptr) {
    ASSERT_FALSE(got.ok()) << "parsed name '" << got->name << "'";
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(got.status().message().find(c.error), std::string::npos) << got.status().message();
    EXPECT_NE(got.status().message().find("Chart.yaml"), std::string::npos);
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->api_version, c.want.api_version);
  EXPECT_EQ(got->name, c.want.name);
  EXPECT_EQ(got->version, c.want.version);
  EXPECT_EQ(got->app_version, c.want.app_version);
  EXPECT_EQ(got->description, c.want.description);
}

INSTANTIATE_TEST_SUITE_P(Cases, ChartYamlTest, ::testing::ValuesIn(kChartYamlCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// InspectChartArchive on Helm's test charts

struct RealChart {
  const char* file;
  const char* name;
  const char* version;
  const char* top_dir;
  uint64_t size;  // `tar xzf FILE -O | wc -c`
};

TEST(InspectChartArchiveTest, HelmTestCharts) {
  const RealChart kCharts[] = {
      {"compressedchart-0.1.0.tgz", "compressedchart", "0.1.0", "compressedchart", 335},
      {"frobnitz-1.2.3.tgz", "frobnitz", "1.2.3", "frobnitz", 3901},
      {"pre-release-chart-0.1.0-alpha.tgz", "pre-release-chart", "0.1.0-alpha", "pre-release-chart",
       248},
  };
  for (const RealChart& c : kCharts) {
    const std::string path = std::string(PPA_TEST_DATA_DIR) + "/charts/" + c.file;
    Result<ChartInfo> got = InspectChartArchive(path);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->metadata.name, c.name);
    EXPECT_EQ(got->metadata.version, c.version);
    EXPECT_EQ(got->metadata.api_version, "v1");
    EXPECT_EQ(got->top_dir, c.top_dir);
    EXPECT_EQ(got->unpacked_size, c.size) << c.file;
  }
}

TEST(InspectChartArchiveTest, HelmTestChartOverTheTotalLimit) {
  const std::string path = std::string(PPA_TEST_DATA_DIR) + "/charts/frobnitz-1.2.3.tgz";
  Result<ChartInfo> got = InspectChartArchive(path, ChartLimits{3900, 1000});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("more than the limit of 3900 bytes"), std::string::npos)
      << got.status().message();
  EXPECT_TRUE(InspectChartArchive(path, ChartLimits{3901, 1000}).ok());
}

// ---------------------------------------------------------------------------
// InspectChartArchive on charts built here

// A temporary folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = fs::temp_directory_path() / ("ppa_chart_test_" + std::to_string(getpid()) + "_" + name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

enum class Kind { kFile, kDir, kSymlink, kHardlink, kFifo };

struct TarEntry {
  TarEntry(std::string n, std::string d, Kind k = Kind::kFile, std::string l = {})
      : name(std::move(n)), data(std::move(d)), kind(k), link(std::move(l)) {}

  std::string name;
  std::string data;
  Kind kind;
  std::string link;  // target of a link
};

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

void SetKind(struct archive_entry* e, const TarEntry& t) {
  switch (t.kind) {
    case Kind::kFile:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
      break;
    case Kind::kDir:
      archive_entry_set_filetype(e, AE_IFDIR);
      break;
    case Kind::kSymlink:
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_symlink(e, t.link.c_str());
      break;
    case Kind::kHardlink:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_hardlink(e, t.link.c_str());
      break;
    case Kind::kFifo:
      archive_entry_set_filetype(e, AE_IFIFO);
      break;
  }
}

// Writes a tar (gzip-compressed when `gzip`) holding `entries`.
void WriteTar(const std::string& path, const std::vector<TarEntry>& entries, bool gzip = true) {
  std::unique_ptr<struct archive, ArchiveWriteDeleter> a(archive_write_new());
  if (gzip) {
    ASSERT_EQ(archive_write_add_filter_gzip(a.get()), ARCHIVE_OK);
  }
  ASSERT_EQ(archive_write_set_format_pax_restricted(a.get()), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a.get(), path.c_str()), ARCHIVE_OK);
  for (const TarEntry& t : entries) {
    std::unique_ptr<struct archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), t.name.c_str());
    archive_entry_set_perm(e.get(), t.kind == Kind::kDir ? 0755 : 0644);
    SetKind(e.get(), t);
    ASSERT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK)
        << t.name << ": " << archive_error_string(a.get());
    if (t.kind == Kind::kFile && !t.data.empty()) {
      ASSERT_EQ(archive_write_data(a.get(), t.data.data(), t.data.size()),
                static_cast<la_ssize_t>(t.data.size()));
    }
  }
  ASSERT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

const std::string kGoodChartYaml = "apiVersion: v2\nname: demo\nversion: 1.0.0\n";

TEST(InspectChartArchiveTest, BuiltGoodChart) {
  TempDir dir;
  const std::string path = dir.File("demo-1.0.0.tgz");
  const std::string values = "image:\n  repository: x\n";
  WriteTar(path, {{"demo/", "", Kind::kDir},
                  {"demo/Chart.yaml", kGoodChartYaml},
                  {"demo/values.yaml", values},
                  {"demo/templates/deploy.yaml", std::string(1000, 'x')}});
  Result<ChartInfo> got = InspectChartArchive(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->metadata.api_version, "v2");
  EXPECT_EQ(got->metadata.name, "demo");
  EXPECT_EQ(got->top_dir, "demo");
  EXPECT_EQ(got->unpacked_size, kGoodChartYaml.size() + values.size() + 1000);
}

TEST(InspectChartArchiveTest, DotSlashPrefixesAreAccepted) {
  TempDir dir;
  const std::string path = dir.File("demo.tgz");
  WriteTar(path, {{"./", "", Kind::kDir}, {"./demo/Chart.yaml", kGoodChartYaml}});
  Result<ChartInfo> got = InspectChartArchive(path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->top_dir, "demo");
}

struct BadChartCase {
  const char* name;
  std::vector<TarEntry> entries;
  StatusCode code;
  const char* fragment;
  bool gzip = true;
  ChartLimits limits = {};
};

void PrintTo(const BadChartCase& c, std::ostream* os) { *os << c.name; }

const std::string kChartYamlEntry = "demo/Chart.yaml";

std::vector<BadChartCase> BadChartCases() {
  return {
      {"PlainTar",
       {{kChartYamlEntry, kGoodChartYaml}},
       StatusCode::kInvalidInput,
       "is not a gzip'd tar archive",
       false},
      {"TwoTopDirs",
       {{kChartYamlEntry, kGoodChartYaml}, {"other/Chart.yaml", kGoodChartYaml}},
       StatusCode::kInvalidInput,
       "more than one top directory ('demo' and 'other')"},
      {"FileAtTheTop",
       {{kChartYamlEntry, kGoodChartYaml}, {"README.md", "hi"}},
       StatusCode::kInvalidInput,
       "'README.md' is outside the chart's top directory"},
      {"DotDotEntry",
       {{kChartYamlEntry, kGoodChartYaml}, {"../evil", "x"}},
       StatusCode::kUnsafeArchive,
       "entry '../evil' contains '..'"},
      {"DotDotInside",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo/templates/../../evil", "x"}},
       StatusCode::kUnsafeArchive,
       "contains '..'"},
      {"AbsolutePath",
       {{kChartYamlEntry, kGoodChartYaml}, {"/etc/evil", "x"}},
       StatusCode::kUnsafeArchive,
       "entry '/etc/evil' has an absolute path"},
      {"BackslashDotDot",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo\\..\\..\\evil", "x"}},
       StatusCode::kUnsafeArchive,
       "contains '..'"},
      {"Symlink",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo/link", "", Kind::kSymlink, "/etc"}},
       StatusCode::kUnsafeArchive,
       "'demo/link' is a symbolic link"},
      {"Hardlink",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo/link", "", Kind::kHardlink, kChartYamlEntry}},
       StatusCode::kUnsafeArchive,
       "'demo/link' is a hard link"},
      {"Fifo",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo/pipe", "", Kind::kFifo}},
       StatusCode::kUnsafeArchive,
       "'demo/pipe' is not a regular file or directory"},
      {"NameWithSlash",
       {{kChartYamlEntry, "name: a/b\nversion: 1.0.0\n"}},
       StatusCode::kInvalidInput,
       "name 'a/b' is invalid"},
      {"BadVersion",
       {{kChartYamlEntry, "name: demo\nversion: latest\n"}},
       StatusCode::kInvalidInput,
       "version 'latest'"},
      {"MissingChartYaml",
       {{"demo/", "", Kind::kDir}, {"demo/values.yaml", "a: 1\n"}},
       StatusCode::kInvalidInput,
       "has no 'demo/Chart.yaml'"},
      {"ChartYamlOnlyInASubchart",
       {{"demo/values.yaml", "a: 1\n"}, {"demo/charts/sub/Chart.yaml", kGoodChartYaml}},
       StatusCode::kInvalidInput,
       "has no 'demo/Chart.yaml'"},
      {"ChartYamlIsADirectory",
       {{"demo/Chart.yaml/", "", Kind::kDir}},
       StatusCode::kInvalidInput,
       "has no 'demo/Chart.yaml'"},
      {"NoEntries", {}, StatusCode::kInvalidInput, "contains no files"},
      {"OversizeFileDefaultLimit",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo/big.bin", std::string((5u << 20) + 1, '\0')}},
       StatusCode::kInvalidInput,
       "file 'demo/big.bin' is larger than the limit of 5242880 bytes"},
      {"FileOneByteOverLimit",
       {{kChartYamlEntry, kGoodChartYaml}, {"demo/a", std::string(101, 'a')}},
       StatusCode::kInvalidInput,
       "larger than the limit of 100 bytes",
       true,
       ChartLimits{1000, 100}},
      {"TotalOverLimit",
       {{kChartYamlEntry, kGoodChartYaml},
        {"demo/a", std::string(100, 'a')},
        {"demo/b", std::string(100, 'b')}},
       StatusCode::kInvalidInput,
       "unpacks to more than the limit of 200 bytes",
       true,
       ChartLimits{200, 100}},
      {"OversizeChartYaml",
       {{kChartYamlEntry, kGoodChartYaml + std::string(100, '#')}},
       StatusCode::kInvalidInput,
       "'demo/Chart.yaml' is larger than the limit",
       true,
       ChartLimits{1000, 100}},
  };
}

class BadChartTest : public ::testing::TestWithParam<BadChartCase> {};

TEST_P(BadChartTest, IsRejected) {
  const BadChartCase& c = GetParam();
  TempDir dir;
  const std::string path = dir.File("bad-chart.tgz");
  WriteTar(path, c.entries, c.gzip);
  Result<ChartInfo> got = InspectChartArchive(path, c.limits);
  ASSERT_FALSE(got.ok()) << "accepted, top dir '" << got->top_dir << "'";
  EXPECT_EQ(got.status().code(), c.code) << got.status().ToString();
  EXPECT_NE(got.status().message().find(c.fragment), std::string::npos) << got.status().message();
  EXPECT_NE(got.status().message().find("chart '" + path + "'"), std::string::npos)
      << "message does not name the file: " << got.status().message();
}

INSTANTIATE_TEST_SUITE_P(Cases, BadChartTest, ::testing::ValuesIn(BadChartCases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(InspectChartArchiveTest, LimitsAreInclusive) {
  TempDir dir;
  const std::string path = dir.File("demo.tgz");
  WriteTar(path, {{kChartYamlEntry, kGoodChartYaml}, {"demo/a", std::string(100, 'a')}});
  const uint64_t total = kGoodChartYaml.size() + 100;
  Result<ChartInfo> got = InspectChartArchive(path, ChartLimits{total, 100});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->unpacked_size, total);
}

TEST(InspectChartArchiveTest, NotATarball) {
  TempDir dir;
  const struct {
    const char* file;
    std::string data;
    const char* fragment;
  } kCases[] = {
      {"empty.tgz", "", "is not a gzip'd tar archive"},
      {"text.tgz", "this is not a chart\n", "is not a gzip'd tar archive"},
      {"zeros.tgz", std::string(1024, '\0'), "is not a gzip'd tar archive"},
      {"truncated-gzip.tgz", std::string("\x1f\x8b\x08\x00", 4), "chart '"},
  };
  for (const auto& c : kCases) {
    const std::string path = dir.File(c.file);
    WriteFile(path, c.data);
    Result<ChartInfo> got = InspectChartArchive(path);
    ASSERT_FALSE(got.ok()) << c.file;
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput) << c.file;
    EXPECT_NE(got.status().message().find(c.fragment), std::string::npos) << got.status().message();
    EXPECT_NE(got.status().message().find(path), std::string::npos) << got.status().message();
  }
}

TEST(InspectChartArchiveTest, GzipOfSomethingElse) {
  TempDir dir;
  const std::string path = dir.File("gzipped-text.tgz");
  std::unique_ptr<struct archive, ArchiveWriteDeleter> a(archive_write_new());
  ASSERT_EQ(archive_write_add_filter_gzip(a.get()), ARCHIVE_OK);
  ASSERT_EQ(archive_write_set_format_raw(a.get()), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a.get(), path.c_str()), ARCHIVE_OK);
  std::unique_ptr<struct archive_entry, EntryDeleter> e(archive_entry_new());
  const std::string text(600, 't');
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(text.size()));
  ASSERT_EQ(archive_write_header(a.get(), e.get()), ARCHIVE_OK);
  ASSERT_EQ(archive_write_data(a.get(), text.data(), text.size()),
            static_cast<la_ssize_t>(text.size()));
  ASSERT_EQ(archive_write_close(a.get()), ARCHIVE_OK);
  Result<ChartInfo> got = InspectChartArchive(path);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(got.status().message().find("chart '" + path + "' is not a gzip'd tar archive"),
            std::string::npos)
      << got.status().message();
}

TEST(InspectChartArchiveTest, MissingFile) {
  TempDir dir;
  const std::string path = dir.File("nope.tgz");
  Result<ChartInfo> got = InspectChartArchive(path);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find(path), std::string::npos);
}

TEST(InspectChartArchiveTest, Directory) {
  TempDir dir;
  Result<ChartInfo> got = InspectChartArchive(dir.File(""));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
}

}  // namespace
}  // namespace ppa
