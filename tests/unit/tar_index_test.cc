#include "archive/tar_index.h"

#include <gtest/gtest.h>

#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

using test::BuildRawTar;

TEST(TarIndex, FilesOffsetsAndLinks) {
  std::string tar = BuildRawTar({{"a/", '5'},
                                 {"./a/layer.tar", '0', "hello"},
                                 {"b/layer.tar", '2', "", "../a/layer.tar"},
                                 {"c/layer.tar", '1', "", "a/layer.tar"},
                                 {std::string(150, 'n'), '0', "long"}});
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  auto a = index->Find("a/layer.tar");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(tar.substr(a->offset, a->size), "hello");
  for (const char* name : {"b/layer.tar", "c/layer.tar"}) {
    auto e = index->Find(name);
    ASSERT_TRUE(e.ok()) << name;
    EXPECT_EQ(e->offset, a->offset) << name;
  }
  auto longname = index->Find(std::string(150, 'n'));
  ASSERT_TRUE(longname.ok());
  EXPECT_EQ(tar.substr(longname->offset, longname->size), "long");
  EXPECT_FALSE(index->Find("a").ok());  // a directory is not a file
  EXPECT_EQ(index->Find("missing").status().code(), StatusCode::kNotFound);
}

TEST(TarIndex, LinksThatLeaveOrLoop) {
  std::string tar = BuildRawTar({{"x", '2', "", "../../etc/passwd"},
                                 {"loop1", '2', "", "loop2"},
                                 {"loop2", '2', "", "loop1"},
                                 {"dangling", '2', "", "nothing"}});
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok());
  for (const char* name : {"x", "loop1", "dangling"}) {
    EXPECT_EQ(index->Find(name).status().code(), StatusCode::kNotFound) << name;
  }
}

TEST(TarIndex, RejectsGarbageAndTruncation) {
  EXPECT_FALSE(TarIndex::Parse(std::string(1024, 'x')).ok());
  std::string tar = BuildRawTar({{"f", '0', std::string(2000, 'a')}});
  EXPECT_FALSE(TarIndex::Parse(tar.substr(0, 1024)).ok());
  auto unsafe = TarIndex::Parse(BuildRawTar({{"../evil", '0', "x"}}));
  ASSERT_FALSE(unsafe.ok());
  EXPECT_EQ(unsafe.status().code(), StatusCode::kUnsafeArchive);
}

TEST(TarIndex, EmptyArchive) {
  auto index = TarIndex::Parse(std::string(1024, '\0'));
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE(index->entries().empty());
}

}  // namespace
}  // namespace ppa
