// Files below a confined directory are opened beneath it on disk, whatever
// links were planted there (by an archive or by anything else): the rule
// that holds when Unpack's own checks are bypassed.
#include "base/confined.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "archive/tar/tar_index.h"
#include "archive/tar/unpack.h"
#include "docker_io/registry/http_transport.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

class ConfinedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_ + "/d");
    fs::create_directories(root_ + "/real");
    test::WriteFileOrDie(root_ + "/real/file", "inside");
    test::WriteFileOrDie(dir_.Join("secret"), "outside");
    fs::create_symlink("..", root_ + "/d/s");
    auto confined = ConfinedDir::Confine(root_);
    ASSERT_TRUE(confined.ok()) << confined.status().ToString();
    confined_ = *confined;
  }
  void Link(const std::string& target, const std::string& name) {
    fs::create_symlink(target, root_ + "/" + name);
  }

  test::TempDir dir_{"ppa-confined"};
  std::string root_ = dir_.Join("root");
  std::shared_ptr<ConfinedDir> confined_;
};

TEST_F(ConfinedTest, LinksThatLeaveTheDirectoryAreRefusedOnRead) {
  Link("d/s/d/s/../secret", "chained");  // inside as text, outside on disk
  Link(dir_.Join("secret"), "absolute");
  Link("../secret", "parent");
  Link("/proc/self/root" + dir_.Join("secret"), "magic");
  Link("chained", "via-another-link");
  Link("loop-b", "loop-a");
  Link("loop-a", "loop-b");
  for (const char* name : {"chained", "absolute", "parent", "magic", "via-another-link", "loop-a"}) {
    const std::string path = root_ + "/" + name;
    auto fd = OpenForRead(path);
    ASSERT_FALSE(fd.ok()) << name;
    EXPECT_EQ(fd.status().code(), StatusCode::kUnsafeArchive) << name << ": " << fd.status().ToString();
    EXPECT_NE(fd.status().message().find(path), std::string::npos) << fd.status().ToString();
    // Every reader built on OpenForRead says the same.
    EXPECT_EQ(ReadSmallFile(path).status().code(), StatusCode::kUnsafeArchive) << name;
    EXPECT_EQ(DetectFileCompression(path).status().code(), StatusCode::kUnsafeArchive) << name;
    EXPECT_EQ(IsRegularFile(path).status().code(), StatusCode::kUnsafeArchive) << name;
  }
  // A path that climbs out as text is refused the same way.
  EXPECT_EQ(OpenForRead(root_ + "/../secret").status().code(), StatusCode::kUnsafeArchive);
  // Writes too.
  EXPECT_EQ(OpenFile(root_ + "/parent", O_WRONLY).status().code(), StatusCode::kUnsafeArchive);
}

TEST_F(ConfinedTest, LinksThatStayInsideAreFollowed) {
  Link("d/s/d/s/real/file", "hops");
  Link("real", "dirlink");
  for (const std::string name : {"real/file", "hops", "dirlink/file", "d/s/real/file"}) {
    auto text = ReadSmallFile(root_ + "/" + name);
    ASSERT_TRUE(text.ok()) << name << ": " << text.status().ToString();
    EXPECT_EQ(*text, "inside") << name;
  }
  auto missing = IsRegularFile(root_ + "/missing");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(*missing);
  EXPECT_EQ(OpenForRead(root_ + "/missing").status().code(), StatusCode::kNotFound);
}

TEST_F(ConfinedTest, PathsOutsideEveryConfinedDirectoryOpenAsBefore) {
  auto text = ReadSmallFile(dir_.Join("secret"));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "outside");
  // A sibling whose name starts with the root's is not below it.
  test::WriteFileOrDie(root_ + "-sibling", "sibling");
  EXPECT_TRUE(ReadSmallFile(root_ + "-sibling").ok());
  // Released: the link is opened as open(2) opens it.
  Link("../secret", "parent");
  confined_.reset();
  EXPECT_TRUE(ReadSmallFile(root_ + "/parent").ok());
}

TEST_F(ConfinedTest, TheInnermostConfinedDirectoryIsUsed) {
  // A link inside real/ that leads to root/ is outside real/ when real/ is
  // confined too.
  Link("../real/file", "real/up");
  EXPECT_TRUE(ReadSmallFile(root_ + "/real/up").ok());
  auto inner = ConfinedDir::Confine(root_ + "/real");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(ReadSmallFile(root_ + "/real/up").status().code(), StatusCode::kUnsafeArchive);
}

// The shared budget: every charge counts, the first one past the limit and
// all later ones fail, also from several threads.
TEST(InflationBudget, OneTotalForEveryCharge) {
  InflationBudget budget(100);
  EXPECT_TRUE(budget.Charge(60, "a").ok());
  EXPECT_TRUE(budget.Charge(40, "b").ok());
  Status past = budget.Charge(1, "c");
  EXPECT_EQ(past.code(), StatusCode::kUnsafeArchive);
  EXPECT_NE(past.message().find("'c'"), std::string::npos);
  EXPECT_NE(past.hint().find("--max-unpacked-size"), std::string::npos);
  EXPECT_TRUE(budget.exceeded());
  EXPECT_FALSE(budget.Charge(0, "d").ok());  // stays exceeded
  InflationBudget huge(~0ull);
  EXPECT_TRUE(huge.Charge(~0ull - 1, "x").ok());
  EXPECT_FALSE(huge.Charge(10, "y").ok());  // no wrap-around
}

// DecompressFile charges the budget it is given: two files that each fit
// together do not, and a spent budget inflates nothing more.
TEST(InflationBudget, DecompressFileSharesIt) {
  test::TempDir dir("ppa-budget");
  const std::string data(600 << 10, 'z');
  test::WriteFileOrDie(dir.Join("a.gz"), test::Gzip(data));
  test::WriteFileOrDie(dir.Join("b.gz"), test::Gzip(data));
  InflationBudget budget(1 << 20);
  ASSERT_TRUE(DecompressFile(dir.Join("a.gz"), dir.Join("a"), budget).ok());
  Status second = DecompressFile(dir.Join("b.gz"), dir.Join("b"), budget);
  EXPECT_EQ(second.code(), StatusCode::kUnsafeArchive) << second.ToString();
  EXPECT_FALSE(fs::exists(dir.Join("b")));  // no partial file
  const uint64_t used = budget.used();
  EXPECT_FALSE(DecompressFile(dir.Join("a.gz"), dir.Join("c"), budget).ok());
  EXPECT_EQ(budget.used(), used) << "a spent budget must not inflate again";
}

}  // namespace
}  // namespace ppa

namespace ppa {
namespace {

// Readers outside archive/ go through the same door: an upload body (an
// image file of the archive) is opened beneath the work directory before
// anything is sent.
TEST_F(ConfinedTest, AnUploadBodyIsOpenedBeneathTheWorkDirectory) {
  Link("d/s/d/s/../secret", "images.tar");
  auto transport = MakeCurlTransport(TransportOptions{});
  HttpRequest request;
  request.method = "PUT";
  request.url = "http://127.0.0.1:1/v2/ns/app/blobs/uploads/x";
  request.file_body = FileBody{root_ + "/images.tar", 0, 7};
  auto answer = transport->Send(request);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kUnsafeArchive) << answer.status().ToString();
}

// The index of an image tarball is bounded: entries and name bytes.
TEST(TarIndexBounds, TooManyEntriesOrNameBytesAreRefused) {
  std::vector<test::RawTarEntry> many;
  for (int i = 0; i < 100'001; ++i) many.push_back({"e" + std::to_string(i), '5'});
  // Directories carry no data: 100 001 headers of 512 bytes.
  std::string tar = test::BuildRawTar(many);
  auto index = TarIndex::Parse(tar);
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.status().message().find("entries"), std::string::npos);
  std::vector<test::RawTarEntry> long_names;
  std::string name;
  for (int level = 0; level < 19; ++level) name += std::string(200, 'n') + "/";  // 3.8 KB
  for (int i = 0; i < 4500; ++i) {
    long_names.push_back({"pax", 'x', test::PaxRecord("path", name + std::to_string(i))});
    long_names.push_back({"f", '5'});
  }
  auto named = TarIndex::Parse(test::BuildRawTar(long_names));
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.status().message().find("bytes of names"), std::string::npos);
}

// The outer archive's names are held for the plan: their total is bounded.
TEST(UnpackBounds, EntryNamesPastTheLimitAreRefused) {
  test::TempDir dir("ppa-names");
  std::vector<test::RawTarEntry> entries;
  const std::string dirname(200, 'd');
  std::string prefix;
  for (int level = 0; level < 15; ++level) prefix += dirname + "/";  // ~3 KB paths
  for (int i = 0; i < 12'000; ++i) {
    entries.push_back({"pax", 'x', test::PaxRecord("path", prefix + std::to_string(i))});
    entries.push_back({"f", '0', ""});
  }
  test::WriteFileOrDie(dir.Join("a.tar"), test::BuildRawTar(entries));
  std::filesystem::create_directories(dir.Join("out"));
  auto unpacked = UnpackArchive(dir.Join("a.tar"), dir.Join("out"));
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.status().code(), StatusCode::kUnsafeArchive);
  EXPECT_NE(unpacked.status().message().find("entry names"), std::string::npos)
      << unpacked.status().ToString();
}

}  // namespace
}  // namespace ppa
