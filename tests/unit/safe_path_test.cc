#include "archive/tar/safe_path.h"

#include <gtest/gtest.h>

namespace ppa {
namespace {

struct SanitizeCase {
  std::string input;
  bool ok;
  std::string want;
};

TEST(SanitizeEntryPath, Table) {
  const SanitizeCase cases[] = {
      {"a/b/c", true, "a/b/c"},
      {"./a//b/", true, "a/b"},
      {".", true, ""},
      {"./", true, ""},
      {"images/x.tar.gz", true, "images/x.tar.gz"},
      {"a/./b", true, "a/b"},
      {"..", false, ""},
      {"../etc/passwd", false, ""},
      {"a/../../b", false, ""},
      {"a/../b", false, ""},  // any ".." is refused, even one that stays inside
      {"/etc/passwd", false, ""},
      {"//x", false, ""},
      {std::string("a\0b", 3), false, ""},
      {std::string(5000, 'a'), false, ""},
      // A component longer than NAME_MAX: no file system here can hold it.
      {std::string(255, 'c'), true, std::string(255, 'c')},
      {std::string(256, 'c'), false, ""},
      {"a/" + std::string(256, 'c'), false, ""},
      {std::string(256, 'c') + "/b", false, ""},
      {"a/" + std::string(300, 'c') + "/b", false, ""},
      {"./" + std::string(255, 'c') + "//", true, std::string(255, 'c')},
  };
  for (const auto& c : cases) {
    auto got = SanitizeEntryPath(c.input);
    EXPECT_EQ(got.ok(), c.ok) << c.input;
    if (got.ok() && c.ok) {
      EXPECT_EQ(*got, c.want) << c.input;
    }
    if (!got.ok()) {
      EXPECT_EQ(got.status().code(), StatusCode::kUnsafeArchive) << c.input;
    }
  }
}

struct LinkCase {
  std::string entry, target;
  bool ok;
  std::string want;
};

TEST(ResolveLinkTarget, Table) {
  const LinkCase cases[] = {
      {"abc/layer.tar", "../def/layer.tar", true, "def/layer.tar"},
      {"a/b/link", "c", true, "a/b/c"},
      {"a/link", "../../etc/passwd", false, ""},
      {"link", "../x", false, ""},
      {"a/link", "/etc/passwd", false, ""},
      {"a/link", "", false, ""},
      {"a/b/link", "../../c", true, "c"},
  };
  for (const auto& c : cases) {
    auto got = ResolveLinkTarget(c.entry, c.target);
    EXPECT_EQ(got.ok(), c.ok) << c.entry << " -> " << c.target;
    if (got.ok() && c.ok) {
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(PathParts, ParentAndBase) {
  EXPECT_EQ(ParentPath("a/b/c"), "a/b");
  EXPECT_EQ(ParentPath("c"), "");
  EXPECT_EQ(BaseName("a/b/c.tgz"), "c.tgz");
  EXPECT_EQ(BaseName("c.tgz"), "c.tgz");
}

}  // namespace
}  // namespace ppa
