// Tests for helm_io/values_rewrite: only the listed scalars change, every
// other byte of values.yaml stays as it was.
#include "helm_io/values_rewrite.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace ppa {
namespace {

constexpr char kPrefix[] = "reg.example:5000/prod_ns/";

struct RewriteCase {
  const char* name;
  const char* input;
  std::vector<std::string> keys;
  const char* want;  // the whole expected output
  int rewritten;
  int warnings;
};

void PrintTo(const RewriteCase& c, std::ostream* os) { *os << c.name; }

class ValuesRewriteTableTest : public ::testing::TestWithParam<RewriteCase> {};

TEST_P(ValuesRewriteTableTest, RewritesExactlyTheListedScalars) {
  const RewriteCase& c = GetParam();
  Result<ValuesRewrite> out = RewriteValuesRepositories(c.input, c.keys, kPrefix);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->text, c.want);
  EXPECT_EQ(out->rewritten, c.rewritten);
  EXPECT_EQ(static_cast<int>(out->warnings.size()), c.warnings);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValuesRewriteTableTest,
    ::testing::Values(
        RewriteCase{"plain_with_comments",
                    "# Default values\nimage:\n  # the image\n  repository: ibmcase/auth  # repo\n"
                    "  tag: 1.0\n",
                    {"image.repository"},
                    "# Default values\nimage:\n  # the image\n  repository: "
                    "reg.example:5000/prod_ns/ibmcase/auth  # repo\n  tag: 1.0\n",
                    1, 0},
        RewriteCase{"double_quoted",
                    "image:\n  repository: \"ibmcase/auth\"\n",
                    {"image.repository"},
                    "image:\n  repository: \"reg.example:5000/prod_ns/ibmcase/auth\"\n", 1, 0},
        RewriteCase{"single_quoted",
                    "image:\n  repository:   'ibmcase/auth'\n",
                    {"image.repository"},
                    "image:\n  repository:   'reg.example:5000/prod_ns/ibmcase/auth'\n", 1, 0},
        RewriteCase{"nested_keys",
                    "global:\n  images:\n    auth:\n      repository: a/b\n    web:\n"
                    "      repository: c/d\n",
                    {"global.images.auth.repository", "global.images.web.repository"},
                    "global:\n  images:\n    auth:\n      repository: "
                    "reg.example:5000/prod_ns/a/b\n    web:\n      repository: "
                    "reg.example:5000/prod_ns/c/d\n",
                    2, 0},
        RewriteCase{"flow_map",
                    "image: {repository: ibm/x, tag: '1'}\n",
                    {"image.repository"},
                    "image: {repository: reg.example:5000/prod_ns/ibm/x, tag: '1'}\n", 1, 0},
        RewriteCase{"flow_map_quoted",
                    "image: {\"repository\": \"ibm/x\", tag: 1}\n",
                    {"image.repository"},
                    "image: {\"repository\": \"reg.example:5000/prod_ns/ibm/x\", tag: 1}\n", 1, 0},
        RewriteCase{"missing_key_is_a_warning",
                    "image:\n  repository: a/b\n",
                    {"other.repository", "image.repository"},
                    "image:\n  repository: reg.example:5000/prod_ns/a/b\n", 1, 1},
        RewriteCase{"already_prefixed_is_left_alone",
                    "image:\n  repository: reg.example:5000/prod_ns/a/b\n",
                    {"image.repository"},
                    "image:\n  repository: reg.example:5000/prod_ns/a/b\n", 0, 0},
        RewriteCase{"map_value_is_a_warning",
                    "image:\n  repository:\n    name: x\n",
                    {"image.repository"},
                    "image:\n  repository:\n    name: x\n", 0, 1},
        RewriteCase{"empty_value_is_a_warning",
                    "image:\n  repository:\n",
                    {"image.repository"},
                    "image:\n  repository:\n", 0, 1},
        RewriteCase{"block_scalar_is_a_warning",
                    "image:\n  repository: |\n    a/b\n",
                    {"image.repository"},
                    "image:\n  repository: |\n    a/b\n", 0, 1},
        RewriteCase{"tagged_scalar",
                    "image:\n  repository: !!str a/b\n",
                    {"image.repository"},
                    "image:\n  repository: !!str reg.example:5000/prod_ns/a/b\n", 1, 0},
        RewriteCase{"crlf_line_endings_kept",
                    "a: 1\r\nimage:\r\n  repository: a/b\r\n  tag: x\r\n",
                    {"image.repository"},
                    "a: 1\r\nimage:\r\n  repository: reg.example:5000/prod_ns/a/b\r\n  tag: x\r\n",
                    1, 0},
        RewriteCase{"same_key_twice",
                    "image:\n  repository: a/b\n",
                    {"image.repository", "image.repository"},
                    "image:\n  repository: reg.example:5000/prod_ns/a/b\n", 1, 0},
        RewriteCase{"no_keys",
                    "# nothing\nx: [1, 2]\n",
                    {},
                    "# nothing\nx: [1, 2]\n", 0, 0},
        RewriteCase{"utf8_comment_before",
                    "# Größe: ✓\nimage:\n  repository: a/b # é\n",
                    {"image.repository"},
                    "# Größe: ✓\nimage:\n  repository: reg.example:5000/prod_ns/a/b # é\n", 1, 0}),
    [](const ::testing::TestParamInfo<RewriteCase>& info) { return std::string(info.param.name); });

TEST(ValuesRewriteTest, IsIdempotent) {
  const std::string input =
      "image:\n  repository: \"a/b\"\nside:\n  image: {repository: c/d}\n";
  const std::vector<std::string> keys = {"image.repository", "side.image.repository"};
  Result<ValuesRewrite> once = RewriteValuesRepositories(input, keys, kPrefix);
  ASSERT_TRUE(once.ok()) << once.status().ToString();
  Result<ValuesRewrite> twice = RewriteValuesRepositories(once->text, keys, kPrefix);
  ASSERT_TRUE(twice.ok()) << twice.status().ToString();
  EXPECT_EQ(twice->text, once->text);
  EXPECT_EQ(twice->rewritten, 0);
}

TEST(ValuesRewriteTest, OnlyInsertsThePrefix) {
  // Removing the inserted prefixes gives back the input byte for byte.
  const std::string input =
      "# c1\nauth:\n  image:\n    repository: ibmcase/bluecompute-auth # c2\n    tag: "
      "'0.5.0'\n\n\nweb:\n  image:\n      repository:    \"ibmcase/web\"\n";
  Result<ValuesRewrite> out = RewriteValuesRepositories(
      input, {"auth.image.repository", "web.image.repository"}, kPrefix);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::string stripped = out->text;
  for (size_t at; (at = stripped.find(kPrefix)) != std::string::npos;) {
    stripped.erase(at, std::string(kPrefix).size());
  }
  EXPECT_EQ(stripped, input);
  const YAML::Node root = YAML::Load(out->text);
  EXPECT_EQ(root["auth"]["image"]["repository"].as<std::string>(),
            "reg.example:5000/prod_ns/ibmcase/bluecompute-auth");
  EXPECT_EQ(root["web"]["image"]["repository"].as<std::string>(),
            "reg.example:5000/prod_ns/ibmcase/web");
}

TEST(ValuesRewriteTest, InvalidYamlIsAnError) {
  Result<ValuesRewrite> out =
      RewriteValuesRepositories("image: [unclosed\n", {"image.repository"}, kPrefix);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidInput);
}

TEST(ValuesRewriteTest, PrefixFromRegistryAddress) {
  EXPECT_EQ(ImageRepositoryPrefix("host:5000", "", "ns"), "host:5000/ns/");
  EXPECT_EQ(ImageRepositoryPrefix("us.icr.io", "team/a", "ns"), "us.icr.io/team/a/ns/");
}

}  // namespace
}  // namespace ppa
