#include "docker_io/image/image_reference.h"

#include <gtest/gtest.h>

namespace ppa {
namespace {

struct RefCase {
  std::string input;
  bool ok;
  std::string domain, path, tag, target_path, match_key;
};

TEST(ParseImageReference, Table) {
  const RefCase cases[] = {
      {"ibmcom/portal:2.1.0", true, "", "ibmcom/portal", "2.1.0", "ibmcom/portal",
       "ibmcom/portal:2.1.0"},
      {"busybox", true, "", "busybox", "latest", "busybox", "busybox:latest"},
      {"docker.io/library/busybox:1.36", true, "docker.io", "library/busybox", "1.36", "busybox",
       "busybox:1.36"},
      {"library/busybox:1", true, "", "library/busybox", "1", "busybox", "busybox:1"},
      {"localhost:5000/a/b:t", true, "localhost:5000", "a/b", "t", "a/b", "a/b:t"},
      {"cp.icr.io/cp/app:1.0-amd64", true, "cp.icr.io", "cp/app", "1.0-amd64", "cp/app",
       "cp/app:1.0-amd64"},
      {"a__b/c-d.e:v_1", true, "", "a__b/c-d.e", "v_1", "a__b/c-d.e", "a__b/c-d.e:v_1"},
      {"Upper/case:1", false},
      {"a/b:-bad", false},
      {"a//b:1", false},
      {"a/b:", false},
      {"", false},
      {"a/b@sha256:1234", false},
      {"a_/b:1", false},
  };
  for (const auto& c : cases) {
    auto got = ParseImageReference(c.input);
    ASSERT_EQ(got.ok(), c.ok) << c.input << ": " << got.status().ToString();
    if (!c.ok) continue;
    EXPECT_EQ(got->domain, c.domain) << c.input;
    EXPECT_EQ(got->path, c.path) << c.input;
    EXPECT_EQ(got->tag, c.tag) << c.input;
    EXPECT_EQ(got->TargetPath(), c.target_path) << c.input;
    EXPECT_EQ(got->MatchKey(), c.match_key) << c.input;
  }
}

TEST(ParseImageReference, Digest) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto got = ParseImageReference("org/app@" + d);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->digest, d);
  EXPECT_EQ(got->tag, "");
}

TEST(IsValidTag, LengthLimit) {
  EXPECT_TRUE(IsValidTag(std::string(128, 'a')));
  EXPECT_FALSE(IsValidTag(std::string(129, 'a')));
  EXPECT_FALSE(IsValidTag(".hidden"));
}

TEST(JoinRepository, SkipsEmptyParts) {
  EXPECT_EQ(JoinRepository("", "ns", "org/app"), "ns/org/app");
  EXPECT_EQ(JoinRepository("pfx/", "/ns", "app"), "pfx/ns/app");
}

}  // namespace
}  // namespace ppa
