#include "importer/cli/archive_list.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

TEST(ParseShard, Table) {
  struct Case {
    const char* text;
    bool ok;
    int index, count;
  };
  const Case cases[] = {{"0/1", true, 0, 1}, {"2/4", true, 2, 4}, {"3/4", true, 3, 4},
                        {"4/4", false},       {"0/0", false},       {"-1/4", false},
                        {"a/b", false},       {"1", false},         {"", false}};
  for (const auto& c : cases) {
    auto s = ParseShard(c.text);
    ASSERT_EQ(s.ok(), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(s->index, c.index);
      EXPECT_EQ(s->count, c.count);
    }
  }
}

TEST(SelectShard, EveryNthOfTheSortedListCoversAllOnce) {
  std::vector<std::string> all = {"e.tgz", "a.tgz", "d.tgz", "b.tgz", "c.tgz", "f.tgz", "g.tgz"};
  std::multiset<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    for (auto& a : SelectShard(all, Shard{i, 3})) seen.insert(a);
  }
  EXPECT_EQ(seen, std::multiset<std::string>(all.begin(), all.end()));
  EXPECT_EQ(SelectShard(all, Shard{0, 3}), (std::vector<std::string>{"a.tgz", "d.tgz", "g.tgz"}));
  EXPECT_EQ(SelectShard(all, Shard{2, 3}), (std::vector<std::string>{"c.tgz", "f.tgz"}));
  EXPECT_TRUE(SelectShard({"a"}, Shard{1, 2}).empty());
}

TEST(ResolveShard, FlagWinsThenJobCompletionIndex) {
  auto flag = ResolveShard("1/2", "0", 5);
  ASSERT_TRUE(flag.ok() && flag->has_value());
  EXPECT_EQ((*flag)->index, 1);
  auto env = ResolveShard("", "3", 5);
  ASSERT_TRUE(env.ok() && env->has_value());
  EXPECT_EQ((*env)->index, 3);
  EXPECT_EQ((*env)->count, 5);
  auto none = ResolveShard("", "3", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(ResolveShard("", "5", 5).ok());
}

TEST(ExpandArchives, FilesDirectoriesAndLists) {
  test::TempDir dir("ppa-list");
  std::string tar = test::BuildRawTar({{"x", '0', "y"}});
  test::WriteFileOrDie(dir.Join("b.tgz"), test::Gzip(tar));
  test::WriteFileOrDie(dir.Join("a.tar"), tar);
  test::WriteFileOrDie(dir.Join("notes.txt"), "not an archive");
  test::WriteFileOrDie(dir.Join("list"), "# archives\n" + dir.Join("a.tar") + "\n\n" + dir.Join("b.tgz") + "\n");
  auto from_dir = ExpandArchives({dir.path()}, {});
  ASSERT_TRUE(from_dir.ok()) << from_dir.status().ToString();
  EXPECT_EQ(*from_dir, (std::vector<std::string>{dir.Join("a.tar"), dir.Join("b.tgz")}));
  auto from_list = ExpandArchives({dir.Join("a.tar")}, {dir.Join("list")});
  ASSERT_TRUE(from_list.ok());
  EXPECT_EQ(from_list->size(), 2u);  // a.tar once
  auto missing = ExpandArchives({dir.Join("nope.tgz")}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.tgz"), std::string::npos);
}

// "-" is standard input: kept as it is beside files, once; a second one
// (as an argument or in a list) is a usage error, whatever file named "-"
// exists.
TEST(ExpandArchives, StandardInputOnceBesideFiles) {
  test::TempDir dir("ppa-list");
  test::WriteFileOrDie(dir.Join("a.tar"), test::BuildRawTar({{"x", '0', "y"}}));
  test::WriteFileOrDie(dir.Join("list"), "-\n");
  auto one = ExpandArchives({"-", dir.Join("a.tar")}, {});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, (std::vector<std::string>{"-", dir.Join("a.tar")}));
  for (const auto& [args, lists] :
       std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>>{
           {{"-", "-"}, {}}, {{"-"}, {dir.Join("list")}}}) {
    auto twice = ExpandArchives(args, lists);
    ASSERT_FALSE(twice.ok());
    EXPECT_EQ(twice.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(twice.status().message().find("given twice"), std::string::npos);
  }
}

// A directory that holds no archive is an error naming it and what was
// looked for, not an empty run.
TEST(ExpandArchives, ADirectoryWithoutArchivesIsNamed) {
  test::TempDir dir("ppa-list");
  const std::string tar = test::BuildRawTar({{"x", '0', "y"}});
  struct Case {
    std::string label;
    std::function<void(const std::string&)> fill;
  };
  const std::vector<Case> cases = {
      {"empty", [](const std::string&) {}},
      {"only-text", [](const std::string& d) { test::WriteFileOrDie(d + "/notes.txt", "text"); }},
      {"archives-one-level-down",
       [&](const std::string& d) {
         std::filesystem::create_directories(d + "/sub");
         test::WriteFileOrDie(d + "/sub/a.tar", tar);
       }},
      {"named-tgz-but-not-one",
       [](const std::string& d) { test::WriteFileOrDie(d + "/ppa.tgz", "not gzip at all"); }},
      {"truncated-magic", [](const std::string& d) { test::WriteFileOrDie(d + "/a.tgz", "\x1f"); }},
  };
  for (const auto& c : cases) {
    const std::string d = dir.Join(c.label);
    std::filesystem::create_directories(d);
    c.fill(d);
    auto found = ExpandArchives({d}, {});
    ASSERT_FALSE(found.ok()) << c.label;
    EXPECT_NE(found.status().message().find("'" + d + "' holds no archive"), std::string::npos)
        << c.label << ": " << found.status().ToString();
    EXPECT_NE(found.status().hint().find("compressed"), std::string::npos) << c.label;
    // The same through a list file.
    test::WriteFileOrDie(d + ".list", d + "\n");
    auto listed = ExpandArchives({}, {d + ".list"});
    ASSERT_FALSE(listed.ok()) << c.label;
    EXPECT_NE(listed.status().message().find(d), std::string::npos) << c.label;
  }
}

}  // namespace
}  // namespace ppa
