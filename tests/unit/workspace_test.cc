// Restoring one file of an archive unpacked before (the work directory's
// second pass, for a layer taken out of its image file and needed again).
#include "importer/load/workspace.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/file_util.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::BuildRawTar;
using test::TempDir;

TEST(NamesOfSameFile, FindsTheOtherHardLinksUnderTheRoot) {
  TempDir dir("ppa-names");
  const std::string root = dir.path();
  fs::create_directories(root + "/sub");
  test::WriteFileOrDie(root + "/f", "one");
  test::WriteFileOrDie(root + "/h", "other");
  ASSERT_EQ(::link((root + "/f").c_str(), (root + "/g").c_str()), 0);
  ASSERT_EQ(::link((root + "/f").c_str(), (root + "/sub/k").c_str()), 0);
  ASSERT_EQ(::symlink("f", (root + "/s").c_str()), 0);

  const std::vector<std::string> linked{"f", "g", "sub/k"};
  EXPECT_EQ(NamesOfSameFile(root, "g"), linked);
  EXPECT_EQ(NamesOfSameFile(root, "f"), linked);
  EXPECT_EQ(NamesOfSameFile(root, "h"), std::vector<std::string>{"h"});
  EXPECT_EQ(NamesOfSameFile(root, "s"), std::vector<std::string>{"s"});  // not followed
  EXPECT_EQ(NamesOfSameFile(root, "missing"), std::vector<std::string>{"missing"});
}

struct Restore : ::testing::Test {
  TempDir dir{"ppa-restore"};
  std::string archive = dir.path() + "/archive.tgz";
  Workspace ws;

  void SetUp() override {
    // images/b.tar is a hard link to images/a.tar, as tar writes the second
    // name of a file: a link entry naming the first.
    test::WriteFileOrDie(archive, test::Gzip(BuildRawTar({{"manifest.yaml", '0', "images: []\n"},
                                                          {"images/", '5'},
                                                          {"images/a.tar", '0', "aaa"},
                                                          {"images/b.tar", '1', "", "images/a.tar"},
                                                          {"images/c.tar", '0', "ccc"}})));
    auto made = PrepareWorkspace(dir.path() + "/work");
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ws = *made;
    auto unpacked = UnpackArchive(archive, ws.root);
    ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  }
};

TEST_F(Restore, AFileComesBackAloneIntoTheScratchFolder) {
  auto restored = RestoreArchiveFile(archive, ws, "images/c.tar", UnpackOptions{});
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->rfind(ws.scratch + "/", 0), 0u);
  EXPECT_EQ(*test::ReadFileToString(*restored + "/images/c.tar"), "ccc");
  EXPECT_FALSE(fs::exists(*restored + "/images/a.tar"));
  EXPECT_FALSE(fs::exists(*restored + "/manifest.yaml"));
}

TEST_F(Restore, AHardLinkComesBackWithTheFileItNames) {
  // The link entry alone cannot be unpacked: its target would be missing.
  UnpackOptions alone;
  alone.select = [](const std::string& path) { return path == "images/b.tar"; };
  TempDir elsewhere("ppa-restore-alone");
  EXPECT_FALSE(UnpackArchive(archive, elsewhere.path(), alone).ok());

  auto restored = RestoreArchiveFile(archive, ws, "images/b.tar", UnpackOptions{});
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(*test::ReadFileToString(*restored + "/images/b.tar"), "aaa");
  EXPECT_FALSE(fs::exists(*restored + "/images/c.tar"));

  // And the first name, whose link comes after it.
  auto first = RestoreArchiveFile(archive, ws, "images/a.tar", UnpackOptions{});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*test::ReadFileToString(*first + "/images/a.tar"), "aaa");
}

}  // namespace
}  // namespace ppa
