// The real `ppa-import load` against seven hostile archives (README, Security,
// "safe unpacking"): each is refused with exit status 3 and one error line
// naming the entry, and nothing is written outside the work directory:
// a snapshot of the test's folder (minus the work directory) and
// /etc/passwd are the same before and after.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/zero_bomb.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

using test::Output;
using test::ProcessResult;
using test::RawTarEntry;

// path -> "type size content-prefix" of everything below `root` except
// `skip` (the work directory); symlinks are not followed.
std::map<std::string, std::string> Snapshot(const std::string& root, const std::string& skip) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string p = it->path().string();
    if (p == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    ::lstat(p.c_str(), &st);
    std::string desc = std::to_string(st.st_mode) + " " + std::to_string(st.st_size);
    if (S_ISREG(st.st_mode)) {
      std::ifstream f(p, std::ios::binary);
      char head[64] = {};
      f.read(head, sizeof(head));
      desc += " " + std::string(head, static_cast<size_t>(f.gcount()));
    }
    out[p] = desc;
  }
  return out;
}

class HostileArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(outside_);
    test::WriteFileOrDie(outside_ + "/victim", "original");
    fs::create_directories(work_);
  }

  // Runs the binary on `archive` bytes; expects exit 3, one error line
  // naming `entry`, and nothing changed outside the work directory.
  void ExpectRefused(const std::string& label, const std::string& archive_bytes,
                     const std::string& entry) {
    std::string archive = dir_.Join(label + ".tgz");
    test::WriteFileOrDie(archive, archive_bytes);
    auto before = Snapshot(dir_.path(), work_);
    const std::string passwd = test::ReadFileOr("/etc/passwd");
    auto started = std::chrono::steady_clock::now();
    ProcessResult r =
        test::RunProcess({PPA_IMPORT_BINARY, "load", archive, "--namespace", "test_ns", "--workdir",
                          work_, "--registry", "oci:" + work_ + "/layout"},
                         std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(r.exit_code, 3) << label << "\n" << Output(r);
    size_t errors = 0;
    for (size_t at = r.stderr_text.find("Error: "); at != std::string::npos;
         at = r.stderr_text.find("Error: ", at + 1)) {
      ++errors;
    }
    EXPECT_EQ(errors, 1u) << label << "\n" << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("'" + entry + "'"), std::string::npos)
        << label << ": the error must name the entry\n"
        << r.stderr_text;
    EXPECT_EQ(Snapshot(dir_.path(), work_), before) << label << ": written outside the work dir";
    EXPECT_EQ(test::ReadFileOr("/etc/passwd"), passwd) << label;
    // The unpacked run folder is removed: nothing of the archive stays.
    for (auto& e : fs::directory_iterator(work_)) {
      std::string name = e.path().filename();
      EXPECT_TRUE(name == ".lock" || name == "charts" || name == "layout") << label << ": " << name;
    }
    RecordProperty(label + "_seconds", std::to_string(seconds));
  }

  std::string Gz(const std::vector<RawTarEntry>& entries) {
    return test::Gzip(test::BuildRawTar(entries));
  }

  test::TempDir dir_{"ppa-hostile"};
  std::string work_ = dir_.Join("work");
  std::string outside_ = dir_.Join("outside");
};

TEST_F(HostileArchiveTest, DotDot) {
  ExpectRefused("dotdot", Gz({{"images/", '5'}, {"images/../../../outside/victim", '0', "pwned"}}),
                "images/../../../outside/victim");
}

TEST_F(HostileArchiveTest, AbsolutePath) {
  std::string target = outside_ + "/absolute";
  ExpectRefused("absolute", Gz({{target, '0', "pwned"}}), target);
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(HostileArchiveTest, SymlinkEscapeThenWriteThroughIt) {
  ExpectRefused("symlink-escape", Gz({{"link", '2', "", outside_}, {"link/victim", '0', "pwned"}}),
                "link");
  ExpectRefused("symlink-escape-relative",
                Gz({{"link", '2', "", "../../outside"}, {"link/victim", '0', "pwned"}}), "link");
}

TEST_F(HostileArchiveTest, HardLinkToEtcPasswdThenSameName) {
  ExpectRefused(
      "hardlink-passwd",
      Gz({{"passwd", '1', "", "/etc/passwd"}, {"passwd", '0', "pwned:x:0:0::/:/bin/sh\n"}}),
      "passwd");
}

TEST_F(HostileArchiveTest, DeviceNode) {
  ExpectRefused("device", Gz({{"images/", '5'}, {"images/tty", '3'}}), "images/tty");
  ExpectRefused("fifo", Gz({{"fifo", '6'}}), "fifo");
}

TEST_F(HostileArchiveTest, SymlinkedDirectoryThenFileBelowIt) {
  ExpectRefused("symlinked-dir",
                Gz({{"images/", '5'}, {"dir", '2', "", "images"}, {"dir/evil", '0', "x"}}),
                "dir/evil");
}

TEST_F(HostileArchiveTest, DecompressionBombOf2GiBIn2MB) {
  std::string bomb = test::ZeroBombTgz("images/bomb.tar", 2ull << 30);
  ASSERT_LT(bomb.size(), 3u << 20) << "the bomb should compress to about 2 MB";
  auto started = std::chrono::steady_clock::now();
  ExpectRefused("bomb", bomb, "images/bomb.tar");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120));
}

TEST_F(HostileArchiveTest, BombGeneratorIsAValidArchiveAndTheLimitCanBeRaised) {
  // The same generator, small: gzip and tar accept it, and ppa-import refuses
  // it only for its size (passing --max-unpacked-size lower than it).
  std::string path = dir_.Join("small-bomb.tgz");
  test::WriteFileOrDie(path, test::ZeroBombTgz("images/zeros", 8u << 20));
  ProcessResult listed = test::RunProcess({"tar", "-tvzf", path});
  ASSERT_EQ(listed.exit_code, 0) << Output(listed);
  EXPECT_NE(listed.stdout_text.find("8388608"), std::string::npos) << listed.stdout_text;
  ProcessResult r = test::RunProcess(
      {PPA_IMPORT_BINARY, "load", path, "--namespace", "test_ns", "--workdir", work_, "--registry",
       "oci:" + work_ + "/layout", "--max-unpacked-size", "4M"},
      std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(r.exit_code, 3) << Output(r);
  EXPECT_NE(r.stderr_text.find("4194304 bytes"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("--max-unpacked-size"), std::string::npos) << r.stderr_text;
}

}  // namespace
}  // namespace ppa
