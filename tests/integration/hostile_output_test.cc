// Hostile names and URLs in output (README, "Security"), with the real binary: what `load` and
// `inspect` print and report when names and URLs are hostile.
//  - Class 5 (terminal and log injection): entry names, RepoTags and chart
//    names with ESC, BEL, CR/LF, OSC, C1 and DEL reach stdout and stderr
//    only escaped: no raw control byte but the '\n' line ends.
//  - Class 6 (names that are not UTF-8): `--json` never aborts; the report
//    parses and gives back every byte (<field>_base64); the work directory
//    is gone afterwards.
//  - Class 3 (secrets in URLs): user:password@ in --registry,
//    PPA_IMPORT_REGISTRY, the config file or --chartmuseum-uri is used as
//    credentials against real authenticating servers and shows nowhere.
// Archives are built entry by entry with tests/support/raw_tar.h.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/support/chartmuseum_server.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::Output;
using test::ProcessResult;
using test::RawTarEntry;
using Json = nlohmann::ordered_json;

// ------------------------------------------------------------ helpers

// Every byte a terminal could act on, as a readable list ("" when none):
// controls other than '\n', DEL, C1 controls in UTF-8, and invalid UTF-8
// (a lone 0x9b is CSI on a Latin-1 terminal).
std::string RawControls(const std::string& text) {
  std::string found;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    bool bad = (c < 0x20 && c != '\n') || c == 0x7f;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      bad = true;  // C1 as UTF-8
    }
    if (bad) found += " 0x" + std::to_string(c) + "@" + std::to_string(i);
  }
  // Invalid UTF-8: what a strict decoder refuses.
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size() && !(c == 0xc0 || c == 0xc1 || c > 0xf4);
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (!ok) {
      found += " invalid-utf8@" + std::to_string(i);
      ++i;
    } else {
      i += n;
    }
  }
  return found;
}

void ExpectNoRawControls(const ProcessResult& r, const std::string& label) {
  EXPECT_EQ(RawControls(r.stdout_text), "") << label << ": stdout\n" << Output(r);
  EXPECT_EQ(RawControls(r.stderr_text), "") << label << ": stderr\n" << Output(r);
}

// A docker-save tarball holding one small image with these RepoTags.
std::string ImageTarball(const std::vector<std::string>& repo_tags, uint64_t seed = 1) {
  samples::ImageTarballSpec spec;
  samples::ImageSpec image;
  image.repo_tags = repo_tags;
  samples::LayerSpec layer;
  layer.seed = seed;
  image.layers = {layer};
  spec.images = {image};
  test::TempDir tmp("ppa-hostile-img");
  auto written = samples::WriteImageTarballFile(spec, tmp.Join("image.tar"));
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  return test::ReadFileOr(tmp.Join("image.tar"));
}

// A Helm chart package named `name`.
std::string ChartTgz(const std::string& name, const std::string& version = "1.0.0") {
  samples::ChartSpec chart{name, version, "a chart", "1.0.0", {}, {}, false};
  auto tgz = samples::BuildChartTgz(chart);
  EXPECT_TRUE(tgz.ok()) << tgz.status().ToString();
  return tgz.ok() ? *tgz : std::string();
}

std::string Gz(const std::vector<RawTarEntry>& entries) {
  return test::Gzip(test::BuildRawTar(entries));
}

// A fine image plus a chart, under the given (possibly hostile) file names.
std::string ImageAndChartArchive(const std::string& image_file, const std::string& chart_file,
                                 const std::string& repo_tag = "org/app:1.0") {
  return Gz({{"images/", '5'},
             {"images/" + image_file, '0', ImageTarball({repo_tag})},
             {"charts/", '5'},
             {"charts/" + chart_file, '0', ChartTgz("app")}});
}

// The run folders are gone from `work`: only the lock, the charts folder
// and the layout stay. When items failed, the unpacked archive (<uuid>/)
// stays on purpose for a look; its scratch folder (<uuid>.tmp/) never does.
void ExpectRunFoldersGone(const std::string& work, const std::string& label, bool items_failed) {
  if (!fs::exists(work)) return;
  for (auto& e : fs::directory_iterator(work)) {
    const std::string name = e.path().filename();
    const bool kept_root = items_failed && e.is_directory() && name.size() == 36;
    EXPECT_TRUE(name == ".lock" || name == "charts" || name == "layout" || kept_root)
        << label << ": left behind: " << name;
  }
}

class HostileOutputTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& file_name, const std::string& bytes) {
    const std::string path = dir_.Join(file_name);
    test::WriteFileOrDie(path, bytes);
    return path;
  }

  ProcessResult Load(const std::vector<std::string>& archives,
                     const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",       "--namespace", "test_ns",
                                     "--workdir",       work_,        "--registry",
                                     "oci:" + layout_};
    argv.insert(argv.end(), archives.begin(), archives.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  }

  ProcessResult Inspect(const std::string& archive, bool json) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "inspect", archive, "--workdir", work_};
    if (json) argv.push_back("--json");
    return test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  }

  void ExpectWorkdirClean(const std::string& label, bool items_failed = false) {
    ExpectRunFoldersGone(work_, label, items_failed);
  }

  Json ParseJson(const std::string& text, const std::string& label) {
    Json j;
    EXPECT_NO_THROW(j = Json::parse(text)) << label << "\n" << text;
    return j;
  }

  test::TempDir dir_{"ppa-hostile-out"};
  std::string work_ = dir_.Join("work");
  std::string layout_ = dir_.Join("work/layout");
};

// The original bytes of j[key]: the base64 sibling when there is one.
std::string Original(const Json& j, const std::string& key) {
  if (j.contains(key + "_base64")) {
    std::string b64 = j[key + "_base64"].get<std::string>();
    // Minimal RFC 4648 decoder, independent of the tool's.
    std::string out;
    int bits = 0;
    unsigned value = 0;
    for (char c : b64) {
      if (c == '=') break;
      const std::string alphabet =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      value = (value << 6) | static_cast<unsigned>(alphabet.find(c));
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((value >> bits) & 0xff);
      }
    }
    return out;
  }
  return j.contains(key) ? j[key].get<std::string>() : "";
}

// ------------------------------------------------------------ class 5

TEST_F(HostileOutputTest, EntryNameWithClearScreenAndBellIsEscapedInTheError) {
  // A device node is refused by name: the error line carries the name.
  const std::string archive =
      Write("clear.tgz", Gz({{"images/", '5'}, {"images/\x1b[2J\x1b[H\x07tty", '3'}}));
  ProcessResult r = Load({archive});
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  ExpectNoRawControls(r, "clear screen");
  EXPECT_NE(r.stderr_text.find("images/\\x1b[2J\\x1b[H\\x07tty"), std::string::npos) << Output(r);
  ExpectWorkdirClean("clear screen");
}

TEST_F(HostileOutputTest, CarriageReturnAndLineFeedCannotForgeAnOkLine) {
  const std::string forged = "images/x\r\nOK\r\nUploaded 9 blob(s)\n\rOK";
  const std::string archive =
      Write("forge.tgz", Gz({{"images/", '5'}, {forged, '6'}}));
  ProcessResult r = Load({archive});
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  ExpectNoRawControls(r, "forged OK");
  EXPECT_EQ(r.stdout_text.find("\nOK"), std::string::npos) << Output(r);
  EXPECT_NE(r.stdout_text.find("FAILED\n"), std::string::npos) << Output(r);
  EXPECT_NE(r.stderr_text.find("x\\r\\nOK\\r\\nUploaded 9 blob(s)\\n\\rOK"), std::string::npos)
      << Output(r);
  ExpectWorkdirClean("forged OK");
}

TEST_F(HostileOutputTest, OscTitleAndC1InFileNamesOfAnImportedArchiveAreEscaped) {
  // Both items import fine; their names show in progress lines on stdout.
  const std::string image_file = "app\x1b]0;pwned\x07.tar";
  const std::string chart_file = "app\x9b" "2J\xc2\x9b" "31m-1.0.0.tgz";
  const std::string archive = Write("osc.tgz", ImageAndChartArchive(image_file, chart_file));
  ProcessResult r = Load({archive});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectNoRawControls(r, "osc/c1");
  EXPECT_NE(r.stdout_text.find("app\\x9b2J\\xc2\\x9b31m-1.0.0.tgz"), std::string::npos)
      << Output(r);
  EXPECT_NE(r.stdout_text.find("\nOK ("), std::string::npos) << Output(r);
  ExpectWorkdirClean("osc/c1");
}

// Against the real registry, so that -v logs every request.
class HostileOutputRegistryTest : public test::LoadFixture {};

TEST_F(HostileOutputRegistryTest, RepoTagsWithControlsAreEscapedAlsoInVerboseLogs) {
  const std::string tag = "org/app\x1b[31m:1.0\x07\x7f\r";
  const std::string archive = dir_.Join("tags.tgz");
  test::WriteFileOrDie(archive, Gz({{"images/", '5'},
                                    {"images/app\x1b[2J.tar", '0', ImageTarball({tag, "org/ok:1"})}}));
  const std::string work = dir_.Join("work");
  for (const bool verbose : {false, true}) {
    std::vector<std::string> extra = {"--workdir", work};
    if (verbose) extra.push_back("-v");
    ProcessResult r = Load(archive, extra);
    EXPECT_EQ(r.exit_code, 1) << Output(r);  // the bad name fails, org/ok:1 imports
    ExpectNoRawControls(r, verbose ? "tags -v" : "tags");
    EXPECT_NE(r.stderr_text.find("org/app\\x1b[31m:1.0\\x07\\x7f\\r"), std::string::npos)
        << Output(r);
    if (verbose) {
      EXPECT_NE(r.stderr_text.find("debug: "), std::string::npos) << Output(r);
    }
    ExpectRunFoldersGone(work, "tags", /*items_failed=*/true);
  }
  ExpectVerified("org/ok:1");
}

TEST_F(HostileOutputTest, InspectShowsHostileChartAndImageNamesEscaped) {
  const std::string archive = Write(
      "inspect.tgz",
      Gz({{"images/", '5'},
          {"images/a\x1b[2J.tar", '0', ImageTarball({"org/app:1\x1b]0;t\x07"})},
          {"charts/", '5'},
          {"charts/evil\r\nOK-1.0.0.tgz", '0', ChartTgz("evil\x1b[2Jchart")},
          {"charts/del\x7f\x9b-1.0.0.tgz", '0', ChartTgz("del")}}));
  ProcessResult r = Inspect(archive, /*json=*/false);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << Output(r);
  ExpectNoRawControls(r, "inspect");
  EXPECT_NE(r.stdout_text.find("charts/evil\\r\\nOK-1.0.0.tgz"), std::string::npos) << Output(r);
  EXPECT_NE(r.stdout_text.find("charts/del\\x7f\\x9b-1.0.0.tgz"), std::string::npos) << Output(r);
  EXPECT_NE(r.stdout_text.find("images/a\\x1b[2J.tar"), std::string::npos) << Output(r);
  ExpectWorkdirClean("inspect");
}

TEST_F(HostileOutputTest, SummaryTableEscapesArchiveFileNames) {
  const std::string good = Write("good.tgz", ImageAndChartArchive("a.tar", "app-1.0.0.tgz"));
  const std::string evil = Write("evil\x1b[2J\x07\r.tgz", ImageAndChartArchive("a.tar", "app-1.0.0.tgz"));
  ProcessResult r = Load({good, evil});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectNoRawControls(r, "summary");
  EXPECT_NE(r.stdout_text.find("evil\\x1b[2J\\x07\\r.tgz"), std::string::npos) << Output(r);
  ExpectWorkdirClean("summary");
}

// ------------------------------------------------------------ class 6

TEST_F(HostileOutputTest, NonUtf8EntryNamesRoundTripInLoadJsonAfterASuccessfulPush) {
  const std::string image_file = "app-\xff\xfe.tar";
  const std::string chart_file = "caf\xe9-1.0.0.tgz";
  const std::string archive = Write("names.tgz", ImageAndChartArchive(image_file, chart_file));
  const std::string report = dir_.Join("report.json");
  ProcessResult r = Load({archive}, {"--json", report});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectNoRawControls(r, "names");
  Json j = ParseJson(test::ReadFileOr(report), "report");
  const Json& a = j["archives"][0];
  ASSERT_EQ(a["images"].size(), 1u) << j.dump(2);
  EXPECT_EQ(Original(a["images"][0], "source"), "images/" + image_file) << j.dump(2);
  EXPECT_EQ(a["images"][0]["status"], "ok");
  ASSERT_EQ(a["charts"].size(), 1u) << j.dump(2);
  EXPECT_EQ(Original(a["charts"][0], "file"), "charts/" + chart_file) << j.dump(2);
  EXPECT_EQ(j["exit_code"], 0);
  ExpectWorkdirClean("names");
}

TEST_F(HostileOutputTest, NonUtf8NamesInLoadJsonOnStdout) {
  const std::string archive =
      Write("stdout.tgz", ImageAndChartArchive("\x80\x81.tar", "x\xc0\xaf-1.0.0.tgz"));
  ProcessResult r = Load({archive}, {"--json", "-"});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  Json j = ParseJson(r.stdout_text, "stdout report");
  EXPECT_EQ(Original(j["archives"][0]["images"][0], "source"), "images/\x80\x81.tar");
  EXPECT_EQ(Original(j["archives"][0]["charts"][0], "file"), "charts/x\xc0\xaf-1.0.0.tgz");
  EXPECT_EQ(RawControls(r.stderr_text), "") << r.stderr_text;
  ExpectWorkdirClean("stdout");
}

TEST_F(HostileOutputTest, NonUtf8EntryNameInAnErrorRoundTripsInLoadJson) {
  const std::string entry = "images/\xff\xfe-dev";
  const std::string archive = Write("error.tgz", Gz({{"images/", '5'}, {entry, '3'}}));
  for (const std::string where : {"file", "-"}) {
    const std::string report = dir_.Join("error-report.json");
    ProcessResult r = Load({archive}, {"--json", where == "-" ? "-" : report});
    EXPECT_EQ(r.exit_code, 3) << Output(r);
    Json j = ParseJson(where == "-" ? r.stdout_text : test::ReadFileOr(report), where);
    const std::string error = Original(j["archives"][0], "error");
    EXPECT_NE(error.find(entry), std::string::npos) << j.dump(2);
    EXPECT_EQ(j["archives"][0]["exit_code"], 3);
    ExpectNoRawControls(r, "error " + where);
    ExpectWorkdirClean("error " + where);
  }
}

TEST_F(HostileOutputTest, NonUtf8ArchiveFileNameRoundTripsInLoadJson) {
  const std::string archive =
      Write("archive-\xff\xfe\x1b.tgz", ImageAndChartArchive("a.tar", "app-1.0.0.tgz"));
  const std::string report = dir_.Join("archive-report.json");
  ProcessResult r = Load({archive}, {"--json", report});
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  ExpectNoRawControls(r, "archive name");
  Json j = ParseJson(test::ReadFileOr(report), "report");
  EXPECT_EQ(Original(j["archives"][0], "archive"), archive) << j.dump(2);
  ExpectWorkdirClean("archive name");
}

TEST_F(HostileOutputTest, InspectJsonRoundTripsNonUtf8NamesAndArchiveName) {
  const std::string archive =
      Write("insp-\xe9.tgz", Gz({{"images/", '5'},
                                 {"images/i\xff.tar", '0', ImageTarball({"org/app:1"})},
                                 {"charts/", '5'},
                                 {"charts/c\xfe-1.0.0.tgz", '0', ChartTgz("c")},
                                 {"charts/broken\xfd-1.0.0.tgz", '0', "not a chart"}}));
  ProcessResult r = Inspect(archive, /*json=*/true);
  EXPECT_EQ(r.exit_code, 1) << Output(r);  // the broken chart is a problem
  Json j = ParseJson(r.stdout_text, "inspect");
  EXPECT_EQ(Original(j, "archive"), archive);
  EXPECT_EQ(Original(j["images"][0]["references"][0], "source"), "images/i\xff.tar") << j.dump(2);
  std::set<std::string> chart_files;
  for (const auto& chart : j["charts"]) chart_files.insert(Original(chart, "file"));
  EXPECT_EQ(chart_files, (std::set<std::string>{"charts/broken\xfd-1.0.0.tgz",
                                                "charts/c\xfe-1.0.0.tgz"}))
      << j.dump(2);
  ASSERT_EQ(j["problems"].size(), 1u) << j.dump(2);
  ASSERT_TRUE(j.contains("problems_base64")) << j.dump(2);
  EXPECT_EQ(RawControls(r.stderr_text), "");
  ExpectWorkdirClean("inspect json");

  ProcessResult human = Inspect(archive, /*json=*/false);
  EXPECT_EQ(human.exit_code, 1) << Output(human);
  ExpectNoRawControls(human, "inspect human");
  EXPECT_NE(human.stdout_text.find("charts/c\\xfe-1.0.0.tgz"), std::string::npos)
      << Output(human);
  ExpectWorkdirClean("inspect human");
}

// ------------------------------------------------------------ class 3

constexpr char kUser[] = "us@er";
constexpr char kPassword[] = "Pw:S3cr3t/x@y%z";
constexpr char kEncodedUser[] = "us%40er";
constexpr char kEncodedPassword[] = "Pw%3AS3cr3t%2Fx%40y%25z";

// Base64 of `in`, the form a Basic Authorization header would leak in.
std::string B64(const std::string& in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

class UrlCredentialsTest : public test::LoadFixture {
 protected:
  void SetUp() override { StartRegistry({kUser, kPassword}); }

  std::string UserInfo() const { return std::string(kEncodedUser) + ":" + kEncodedPassword + "@"; }

  ProcessResult Run(std::vector<std::string> extra, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, "load",   archive_, "--namespace",
                                     "test_ns",         "--json", report_,  "--workdir",
                                     work_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    env.emplace("HOME", dir_.path());
    for (const char* name : {"PPA_IMPORT_USERNAME", "PPA_IMPORT_PASSWORD", "IBMCLOUD_API_KEY",
                             "PPA_IMPORT_REGISTRY"}) {
      env.emplace(name, "");
    }
    std::error_code ignored;
    fs::remove(report_, ignored);
    return test::RunProcess(argv, std::nullopt, env, dir_.path());
  }

  void ExpectNoSecret(const ProcessResult& r, const std::string& label,
                      const std::vector<std::string>& secrets) {
    const std::string report = test::ReadFileOr(report_);
    for (const std::string& s : secrets) {
      EXPECT_EQ(r.stdout_text.find(s), std::string::npos) << label << ": '" << s << "' on stdout";
      EXPECT_EQ(r.stderr_text.find(s), std::string::npos) << label << ": '" << s << "' on stderr";
      EXPECT_EQ(report.find(s), std::string::npos) << label << ": '" << s << "' in the report";
    }
  }

  std::vector<std::string> Secrets() const {
    return {kPassword, kEncodedPassword, "S3cr3t", B64(std::string(kUser) + ":" + kPassword),
            "Basic "};
  }

  // Exactly one warning about credentials in a URL.
  void ExpectOneWarning(const ProcessResult& r, const std::string& label) {
    size_t n = 0;
    for (size_t at = r.stderr_text.find("credentials written into a URL");
         at != std::string::npos; at = r.stderr_text.find("credentials written into a URL", at + 1)) {
      ++n;
    }
    EXPECT_EQ(n, 1u) << label << "\n" << Output(r);
  }

  std::string archive_ = Archive(samples::DemoSampleSpec(), "sample.tgz");
  std::string work_ = dir_.Join("work");
  std::string report_ = dir_.Join("report.json");
};

TEST_F(UrlCredentialsTest, RegistryFlagUserInfoPushesAndNeverShowsThePassword) {
  for (const bool verbose : {false, true}) {
    std::vector<std::string> flags = {"--registry", UserInfo() + registry_->host(), "--plain-http"};
    if (verbose) flags.push_back("-v");
    ProcessResult r = Run(flags);
    ASSERT_EQ(r.exit_code, 0) << Output(r);
    if (verbose) {
      EXPECT_NE(r.stderr_text.find("debug: "), std::string::npos) << Output(r);
    }
    ExpectNoSecret(r, verbose ? "flag -v" : "flag", Secrets());
    ExpectOneWarning(r, "flag");
    Json j = Json::parse(test::ReadFileOr(report_));
    EXPECT_EQ(j["target"]["registry"], registry_->host()) << j.dump(2);
  }
  ExpectVerified("ibmcom/portal-db:2.1.0-amd64", registry_->creds());
}

TEST_F(UrlCredentialsTest, RegistryUserInfoFromTheEnvironment) {
  ProcessResult r = Run({"--plain-http", "-v"},
                        {{"PPA_IMPORT_REGISTRY", "http://" + UserInfo() + registry_->host()}});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  ExpectNoSecret(r, "env", Secrets());
  // Not on the command line, so not in the process list: no warning.
  EXPECT_EQ(r.stderr_text.find("credentials written into a URL"), std::string::npos) << Output(r);
  ExpectVerified("ibmcom/portal:2.1.0", registry_->creds());
}

TEST_F(UrlCredentialsTest, RegistryUserInfoFromTheConfigFile) {
  const std::string config = dir_.Join("config.yaml");
  test::WriteFileOrDie(config, "registry: " + UserInfo() + registry_->host() + "\nplain-http: true\n");
  ProcessResult r = Run({"--config", config, "-v"});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  ExpectNoSecret(r, "config", Secrets());
  ExpectVerified("ibmcom/portal-worker:2.1.0-amd64", registry_->creds());
}

TEST_F(UrlCredentialsTest, WrongPasswordInTheUrlIsRefusedWithoutEchoingIt) {
  const std::string wrong = "Wr0ng-Pa55-in-url";
  ProcessResult r =
      Run({"--registry", "user:" + wrong + "@" + registry_->host(), "--plain-http", "-v"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << Output(r);
  ExpectNoSecret(r, "wrong", {wrong, B64("user:" + wrong)});
}

TEST_F(UrlCredentialsTest, InvalidRegistryWithUserInfoIsAUsageErrorWithoutThePassword) {
  ProcessResult r = Run({"--registry", "user:" + std::string(kEncodedPassword) + "@bad host:5000"});
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  EXPECT_NE(r.stderr_text.find("invalid registry 'bad host:5000'"), std::string::npos) << Output(r);
  ExpectNoSecret(r, "invalid", Secrets());
}

TEST_F(UrlCredentialsTest, ChartMuseumUriUserInfoUploadsAndNeverShowsThePassword) {
  const std::string cm_password = "Cm:Pa55/w@rd";
  auto museum = test::ChartMuseumServer::Start({"cm user", cm_password});
  ASSERT_TRUE(museum.ok()) << museum.status().ToString();
  const std::string url = (*museum)->url();  // http://127.0.0.1:PORT
  const std::string with_userinfo = "http://cm%20user:Cm%3APa55%2Fw%40rd@" + url.substr(7);
  ProcessResult r = Run({"--registry", UserInfo() + registry_->host(), "--plain-http", "-v",
                         "--chartmuseum-uri", with_userinfo});
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_GT((*museum)->ChartCount(), 0u);
  ExpectNoSecret(r, "chartmuseum",
                 {cm_password, "Cm%3APa55", "Pa55", B64("cm user:" + cm_password), kPassword});
  ExpectOneWarning(r, "chartmuseum");
  Json j = Json::parse(test::ReadFileOr(report_));
  bool found = false;
  for (const auto& chart : j["archives"][0]["charts"]) {
    for (const auto& d : chart["destinations"]) found = found || d == url;
  }
  EXPECT_TRUE(found) << "the ChartMuseum destination without user info\n" << j.dump(2);
}

}  // namespace
}  // namespace ppa
