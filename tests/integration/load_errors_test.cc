// Errors a user can act on, from `load` (docs/cli.md, "Errors": "the cause
// and the fix"): each is one `Error:` line and one `Hint:` line with the
// right exit status, run through the real binary.
//  - a read-only or full work directory: exit 1 (our disk), saying how much
//    space the run needs;
//  - a truncated download, or a file that is no archive at all: exit 3,
//    saying which;
//  - an image tarball (docker save, OCI layout) given as the archive:
//    exit 2, saying what it is;
//  - an unreachable ChartMuseum: a failure naming ChartMuseum.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <regex>

#include "tests/integration/charts_support.h"
#include "tests/support/load_fixture.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

using test::Output;
using test::ProcessResult;

// A tmpfs mounted at `path` (read-only when asked) for the life of the
// object; mounted() false (and error() why) where mounts are not allowed.
class TestMount {
 public:
  TestMount(const std::string& path, const std::string& size, bool read_only) : path_(path) {
    fs::create_directories(path);
    std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      error_ = std::strerror(errno);
      return;
    }
    mounted_ = true;
    if (read_only &&
        ::mount("tmpfs", path.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, options.c_str()) != 0) {
      error_ = std::string("remount read-only: ") + std::strerror(errno);
    }
  }
  ~TestMount() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool ready() const { return mounted_ && error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

// The lines of `text` that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.rfind(prefix, 0) == 0) lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

// Exactly one Error: line holding `error` and a Hint: line holding `hint`.
void ExpectOneErrorAndHint(const ProcessResult& r, const std::string& error,
                           const std::string& hint) {
  auto errors = LinesStartingWith(r.stderr_text, "Error: ");
  ASSERT_EQ(errors.size(), 1u) << Output(r);
  EXPECT_NE(errors[0].find(error), std::string::npos) << errors[0];
  auto hints = LinesStartingWith(r.stderr_text, "Hint: ");
  ASSERT_EQ(hints.size(), 1u) << Output(r);
  EXPECT_NE(hints[0].find(hint), std::string::npos) << hints[0];
}

class LoadErrorsTest : public test::LoadFixture {
 protected:
  std::string Sample() { return Archive(samples::DemoSampleSpec(), "sample.tgz"); }
};

TEST_F(LoadErrorsTest, ReadOnlyWorkDirectoryIsOurDiskWithAHint) {
  const std::string archive = Sample();
  const std::string ro = dir_.Join("ro");
  TestMount mount(ro, "1m", /*read_only=*/true);
  if (!mount.ready()) GTEST_SKIP() << "cannot mount a read-only tmpfs here: " << mount.error();
  // The work directory itself, and one to be created below it.
  for (const std::string& workdir : {ro, ro + "/sub/work"}) {
    ProcessResult r = Load(archive, {"--workdir", workdir});
    EXPECT_EQ(r.exit_code, 1) << Output(r);
    ExpectOneErrorAndHint(r, "is on a read-only file system", "--workdir");
    EXPECT_NE(r.stderr_text.find("'" + ro), std::string::npos) << r.stderr_text;
    // How much room the run needs: the archive's unpacked size, in MiB/KiB.
    EXPECT_TRUE(std::regex_search(r.stderr_text, std::regex(R"(needs about [0-9.]+ (KiB|MiB))")))
        << r.stderr_text;
  }
}

TEST_F(LoadErrorsTest, FullWorkDirectorySaysHowMuchSpaceTheRunNeeds) {
  const std::string archive = Sample();
  for (const char* size : {"64k", "96k"}) {  // full while the archive is unpacked
    const std::string work = dir_.Join(std::string("full-") + size);
    TestMount mount(work, size, /*read_only=*/false);
    if (!mount.ready()) GTEST_SKIP() << "cannot mount a tmpfs here: " << mount.error();
    ProcessResult r = Load(archive, {"--workdir", work});
    EXPECT_EQ(r.exit_code, 1) << size << "\n" << Output(r);
    ExpectOneErrorAndHint(r, "no space left in the work directory '" + work + "'", "free");
    EXPECT_TRUE(std::regex_search(r.stderr_text, std::regex(R"(needs about [0-9.]+ (KiB|MiB))")))
        << r.stderr_text;
  }
}

TEST_F(LoadErrorsTest, TruncatedDownloadSaysTruncatedAtWhichByte) {
  const std::string whole = *test::ReadFileToString(Sample());
  samples::PpaArchiveSpec plain = samples::DemoSampleSpec();
  plain.gzip = false;
  const std::string tar = *test::ReadFileToString(Archive(plain, "sample.tar"));
  struct Case {
    std::string label, bytes;
  };
  const std::vector<Case> cases = {
      {"tgz cut in the middle", whole.substr(0, whole.size() / 2)},
      {"tgz cut near its end", whole.substr(0, whole.size() - 100)},
      {"tgz cut after its header", whole.substr(0, 600)},
      {"tar cut in the middle of an entry", tar.substr(0, tar.size() / 2 + 100)},
  };
  for (const auto& c : cases) {
    const std::string path = dir_.Join("cut.tgz");
    test::WriteFileOrDie(path, c.bytes);
    ProcessResult r = Load(path);
    EXPECT_EQ(r.exit_code, 3) << c.label << "\n" << Output(r);
    ExpectOneErrorAndHint(r, "is truncated at byte " + std::to_string(c.bytes.size()),
                          "download the archive again");
  }
}

TEST_F(LoadErrorsTest, FileThatIsNoArchiveSaysSo) {
  std::string random(4096, '\0');
  std::mt19937 gen(7);
  for (char& ch : random) ch = static_cast<char>(gen());
  random[0] = 'x';  // no magic by chance
  const std::string zip = std::string("PK\x03\x04", 4) + std::string(200, '\0');
  struct Case {
    std::string label, bytes, says;
  };
  const std::vector<Case> cases = {
      {"an HTML error page", "<html><body>403 Forbidden</body></html>\n",
       "is not a tar or compressed tar archive (it starts with text"},
      {"random bytes", random, "is not a tar or compressed tar archive"},
      {"an empty file", "", "is empty (0 bytes), not a tar or compressed tar archive"},
      {"a zip file", zip, "is a zip file, not a tar or compressed tar archive"},
  };
  for (const auto& c : cases) {
    const std::string path = dir_.Join("download.tgz");
    test::WriteFileOrDie(path, c.bytes);
    ProcessResult r = Load(path);
    EXPECT_EQ(r.exit_code, 3) << c.label << "\n" << Output(r);
    ExpectOneErrorAndHint(r, "'" + path + "' " + c.says, c.label == "a zip file" ? "unzip" : "download");
  }
}

TEST_F(LoadErrorsTest, ImageTarballGivenAsTheArchiveSaysWhatItIs) {
  samples::ImageTarballSpec image = samples::DemoSampleSpec().images[0].tarball;
  struct Case {
    samples::ImageTarballFormat format;
    bool gzip;
    std::string says;
  };
  const std::vector<Case> cases = {
      {samples::ImageTarballFormat::kDockerLegacy, false, "is a docker save image tarball"},
      {samples::ImageTarballFormat::kDockerLegacy, true, "is a docker save image tarball"},
      {samples::ImageTarballFormat::kDocker25, false, "is a docker save image tarball"},
      {samples::ImageTarballFormat::kOciLayout, false, "is an OCI image layout tarball"},
  };
  for (const auto& c : cases) {
    image.format = c.format;
    image.gzip = c.gzip;
    const std::string path = dir_.Join("portal.tar");
    auto written = samples::WriteImageTarballFile(image, path);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    ProcessResult r = Load(path);
    EXPECT_EQ(r.exit_code, 2) << c.says << "\n" << Output(r);
    ExpectOneErrorAndHint(r, "'" + path + "' " + c.says + ", not a PPA archive", "skopeo copy");
    EXPECT_EQ(registry_->CountBlobUploadRequests(), 0) << "nothing may be pushed";
  }
}

TEST_F(LoadErrorsTest, UnreachableChartMuseumIsOneFailureNamingChartMuseum) {
  const std::string archive = Archive(test::ChartsArchive(test::AppChart()), "charts.tgz");
  const std::string uri = "http://127.0.0.1:1";  // nothing listens on port 1
  ProcessResult r = Load(archive, {"--chartmuseum-uri", uri, "--timeout", "2"});
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  // Three charts, one Error/Hint pair: the server is down, not each chart.
  auto errors = LinesStartingWith(r.stderr_text, "Error: ");
  ASSERT_EQ(errors.size(), 1u) << Output(r);
  EXPECT_NE(r.stderr_text.find("the same failure for 2 more chart(s)"), std::string::npos)
      << Output(r);
  for (const auto& e : errors) {
    EXPECT_NE(e.find("ChartMuseum at '" + uri + "' is unreachable: connection refused"),
              std::string::npos)
        << e;
  }
  for (const auto& h : LinesStartingWith(r.stderr_text, "Hint: ")) {
    EXPECT_NE(h.find("--chartmuseum-uri"), std::string::npos) << h;
    EXPECT_EQ(h.find("registry"), std::string::npos) << "the hint must not blame the registry\n"
                                                     << h;
  }
  // The images still landed.
  EXPECT_EQ(r.stderr_text.find("the registry"), std::string::npos) << r.stderr_text;
}

// path -> size, mtime and content of every file below `dir` (links as
// their targets), to show that nothing in it changed.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(e.path(), dir);
    if (e.is_symlink()) {
      files[rel] = "-> " + fs::read_symlink(e.path()).string();
    } else if (e.is_regular_file()) {
      auto mtime = fs::last_write_time(e.path()).time_since_epoch().count();
      files[rel] = std::to_string(mtime) + " " + test::ReadFileOr(e.path());
    } else {
      files[rel] = "dir";
    }
  }
  return files;
}

TEST_F(LoadErrorsTest, ExtractedPpaDirectoryIsImportedAndLeftUntouched) {
  const std::string archive = Sample();
  const std::string extracted = dir_.Join("extracted");
  fs::create_directories(extracted);
  ProcessResult tar = test::RunProcess({"tar", "-xzf", archive, "-C", extracted});
  ASSERT_EQ(tar.exit_code, 0) << tar.stderr_text;
  const auto before = Snapshot(extracted);
  // As an argument and as --archive.
  ProcessResult r = test::RunProcess({PPA_IMPORT_BINARY, "load", extracted, "--namespace",
                                      "test_ns", "--registry", registry_->host(), "--plain-http"},
                                     std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(r.stderr_text.find("no archive"), std::string::npos) << r.stderr_text;
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref);
  EXPECT_EQ(Snapshot(extracted), before) << "nothing in the directory may change";
  ProcessResult again = Load(extracted);
  EXPECT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_EQ(Snapshot(extracted), before);
  // inspect takes the directory too, and reads it as load does.
  ProcessResult inspect = test::RunProcess(
      {PPA_IMPORT_BINARY, "inspect", extracted, "--json", "--workdir", dir_.Join("iw")},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(inspect.exit_code, 0) << Output(inspect);
  EXPECT_NE(inspect.stdout_text.find("ibmcom/portal"), std::string::npos) << Output(inspect);
  EXPECT_EQ(Snapshot(extracted), before);
}

// inspect gave every unpack error exit 3: our own full or read-only disk
// too, and an image tarball that is simply not a PPA archive.
TEST_F(LoadErrorsTest, InspectExitStatusesAreLoads) {
  auto inspect = [&](const std::string& path, const std::string& workdir) {
    return test::RunProcess({PPA_IMPORT_BINARY, "inspect", path, "--workdir", workdir},
                            std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  };
  samples::ImageTarballSpec image = samples::DemoSampleSpec().images[0].tarball;
  const std::string tarball = dir_.Join("portal.tar");
  ASSERT_TRUE(samples::WriteImageTarballFile(image, tarball).ok());
  ProcessResult r = inspect(tarball, dir_.Join("w"));
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  ExpectOneErrorAndHint(r, "is a docker save image tarball, not a PPA archive", "skopeo copy");
  // A directory that is no extracted PPA archive.
  fs::create_directories(dir_.Join("plain-dir/sub"));
  r = inspect(dir_.Join("plain-dir"), dir_.Join("w"));
  EXPECT_EQ(r.exit_code, 2) << Output(r);
  ExpectOneErrorAndHint(r, "holds no manifest.yaml or manifest.json", "");
  const std::string ro = dir_.Join("ro");
  TestMount mount(ro, "1m", /*read_only=*/true);
  if (!mount.ready()) GTEST_SKIP() << "cannot mount a read-only tmpfs here: " << mount.error();
  r = inspect(Sample(), ro);
  EXPECT_EQ(r.exit_code, 1) << Output(r);
  ExpectOneErrorAndHint(r, "is on a read-only file system", "--workdir");
}

TEST_F(LoadErrorsTest, ExtractedPpaDirectoryWithALinkLeadingOutIsUnsafe) {
  const std::string archive = Sample();
  test::WriteFileOrDie(dir_.Join("secret.txt"), "outside");
  for (const std::string& target : {std::string("../../secret.txt"), dir_.Join("secret.txt")}) {
    const std::string extracted = dir_.Join("extracted-link");
    fs::remove_all(extracted);
    fs::create_directories(extracted);
    ASSERT_EQ(test::RunProcess({"tar", "-xzf", archive, "-C", extracted}).exit_code, 0);
    fs::create_symlink(target, extracted + "/images/evil.tar");
    const auto before = Snapshot(extracted);
    ProcessResult r = Load(extracted);
    EXPECT_EQ(r.exit_code, 3) << target << "\n" << Output(r);
    EXPECT_NE(r.stderr_text.find("images/evil.tar"), std::string::npos) << r.stderr_text;
    EXPECT_EQ(Snapshot(extracted), before);
    EXPECT_EQ(test::ReadFileOr(dir_.Join("secret.txt")), "outside");
  }
}

}  // namespace
}  // namespace ppa
