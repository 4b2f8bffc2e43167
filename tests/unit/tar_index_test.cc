#include "archive/tar/tar_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>
#include <vector>

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


// Records what a TarStreamScanner reports.
struct Seen : TarStreamScanner::Visitor {
  struct File {
    std::string name;
    uint64_t offset, size;
    std::string data;
    bool ended = false;
  };
  std::vector<File> files;
  void BeginFile(std::string_view name, uint64_t offset, uint64_t size) override {
    files.push_back({std::string(name), offset, size, "", false});
  }
  void FileData(std::string_view bytes) override { files.back().data.append(bytes); }
  void EndFile() override { files.back().ended = true; }
};

using test::PaxRecord;

// Any chunking of the stream gives what TarIndex finds in the whole file.
TEST(TarStreamScanner, ReportsTheFilesTarIndexFindsWhateverTheChunks) {
  std::string big(70000, 'b');
  std::string tar = BuildRawTar({{"a/", '5'},
                                 {"a/layer.tar", '0', "hello"},
                                 {"empty", '0', ""},
                                 {"b/link", '2', "", "../a/layer.tar"},
                                 {std::string(150, 'n'), '0', "long name"},
                                 {"pax", 'x', PaxRecord("path", "from/pax")},
                                 {"short", '0', big},
                                 {"c", '0', std::string(512, 'c')}});
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{511}, size_t{512}, size_t{4096}, tar.size()}) {
    Seen seen;
    TarStreamScanner scanner(seen);
    for (size_t at = 0; at < tar.size(); at += chunk) {
      ASSERT_TRUE(scanner.Feed(std::string_view(tar).substr(at, chunk))) << chunk;
    }
    std::vector<std::tuple<std::string, uint64_t, uint64_t>> want, got;
    for (const auto& [name, e] : index->entries()) {
      if (e.type == TarEntry::Type::kFile) want.emplace_back(name, e.offset, e.size);
    }
    for (const auto& f : seen.files) {
      EXPECT_TRUE(f.ended) << f.name;
      EXPECT_EQ(f.data, tar.substr(f.offset, f.size)) << f.name;
      got.emplace_back(f.name, f.offset, f.size);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << "chunks of " << chunk;
  }
}

TEST(TarStreamScanner, PaxSizeOverridesTheHeader) {
  std::string data(3000, 'x');
  // A header claiming 0 bytes, corrected by the pax record before it.
  std::string tar = BuildRawTar({{"p", 'x', PaxRecord("size", "3000")}, {"f", '0', ""}});
  tar.resize(tar.size() - 1024);  // drop the end marker, then append the data
  tar += data + std::string(512 - 3000 % 512, '\0') + std::string(1024, '\0');
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  Seen seen;
  TarStreamScanner scanner(seen);
  ASSERT_TRUE(scanner.Feed(tar));
  ASSERT_EQ(seen.files.size(), 1u);
  EXPECT_EQ(seen.files[0].offset, index->entries().at("f").offset);
  EXPECT_EQ(seen.files[0].data, data);
}

TEST(TarStreamScanner, StopsAtGarbageAndAtTheEndMarker) {
  Seen garbage;
  TarStreamScanner bad(garbage);
  EXPECT_FALSE(bad.Feed(std::string(1024, 'x')));
  EXPECT_FALSE(bad.Feed(BuildRawTar({{"f", '0', "late"}})));
  EXPECT_TRUE(garbage.files.empty());

  Seen seen;
  TarStreamScanner scanner(seen);
  std::string tar = BuildRawTar({{"f", '0', "one"}}) + BuildRawTar({{"g", '0', "two"}});
  EXPECT_TRUE(scanner.Feed(tar));
  ASSERT_EQ(seen.files.size(), 1u);  // what follows the end marker is not looked at
  EXPECT_EQ(seen.files[0].name, "f");
}

}  // namespace
}  // namespace ppa
