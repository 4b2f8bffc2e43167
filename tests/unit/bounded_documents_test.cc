// The bounded loaders of untrusted YAML and JSON (archive/manifest/bounded_yaml.h,
// archive/manifest/bounded_json.h) and the parsers that go through them: documents
// that would amplify into gigabytes once a tree is built and walked are
// refused with one InvalidInput naming the file and the limit; big but
// legitimate documents pass.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "archive/manifest/bounded_json.h"
#include "archive/manifest/bounded_yaml.h"
#include "archive/manifest/ppa_manifest.h"
#include "docker_io/image/image_formats.h"
#include "helm_io/chart.h"
#include "helm_io/values_rewrite.h"
#include "tests/support/hostile_documents.h"

namespace ppa {
namespace {

using test::ManifestAliasBomb;
using test::Repeat;

// "Billion laughs": level i is a list of ten aliases of level i-1.
std::string BillionLaughs(int levels) {
  std::string y = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < levels; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    y += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" +
         Repeat(prev + ", ", 9) + prev + "]\n";
  }
  return y;
}


// Maps nested through aliases in values: each level a map of ten aliases of
// the map of the level below.
std::string NestedMapAliases(int levels) {
  std::string y = "m0: &m0 {a: x, b: y}\n";
  for (int i = 1; i < levels; ++i) {
    y += "m" + std::to_string(i) + ": &m" + std::to_string(i) + " {";
    for (int k = 0; k < 10; ++k) {
      y += std::string(k ? ", " : "") + "k" + std::to_string(k) + ": *m" + std::to_string(i - 1);
    }
    y += "}\n";
  }
  return y;
}

// Merge keys: each level merges the level below under ten keys.
std::string MergeKeyBomb(int levels) {
  std::string y = "b0: &b0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n";
  for (int i = 1; i < levels; ++i) {
    y += "b" + std::to_string(i) + ": &b" + std::to_string(i) + "\n";
    for (int k = 0; k < 10; ++k) {
      y += "  k" + std::to_string(k) + ":\n    <<: *b" + std::to_string(i - 1) + "\n";
    }
  }
  return y;
}

// A PPA manifest.yaml of `images` images, four platform references each.
std::string BigManifestYaml(int images) {
  std::string y = "platforms:\n  amd64: &amd64 {os: linux, architecture: amd64}\n"
                  "  arm64: &arm64 {os: linux, architecture: arm64, variant: v8}\nimages:\n";
  for (int i = 0; i < images; ++i) {
    const std::string name = "cp.icr.io/cp/product/component-" + std::to_string(i);
    y += "  - image: " + name + ":4.2.0\n    references:\n";
    for (const char* arch : {"amd64", "arm64", "ppc64le", "s390x"}) {
      y += std::string("      - repository: ") + name + ":4.2.0-" + arch + "\n" +
           "        pull-repository: icr.io/cpopen/component-" + std::to_string(i) + ":4.2.0-" +
           arch + "\n" + "        archive: images/component-" + std::to_string(i) + "-" + arch +
           ".tar.gz\n" + "        platform: " +
           (std::string(arch) == "amd64"   ? "*amd64"
            : std::string(arch) == "arm64" ? "*arm64"
                                           : std::string("{os: linux, architecture: ") + arch + "}") +
           "\n";
    }
  }
  return y;
}

// A values.yaml of about `lines` lines in the style of large public charts.
std::string BigValuesYaml(int lines) {
  std::string y = "image:\n  repository: org/app\n  tag: \"1.0\"\ndefaults: &defaults\n"
                  "  resources: {limits: {cpu: 100m, memory: 128Mi}}\n  replicas: 2\n";
  for (int i = 0; y.size() < static_cast<size_t>(lines) * 30; ++i) {
    y += "component" + std::to_string(i) + ":\n  <<: *defaults\n  # a comment line\n"
         "  env:\n    - {name: VAR_" + std::to_string(i) + ", value: \"x\"}\n"
         "  enabled: true\n";
  }
  return y;
}

struct YamlCase {
  const char* name;
  std::string text;
  const char* limit;  // a word the error names ("" when the text must load)
};

std::vector<YamlCase> YamlCases() {
  return {
      {"billion laughs", BillionLaughs(9), "100000 nodes"},
      {"laughs of five levels", BillionLaughs(6), "100000 nodes"},
      {"references aliased by every image", ManifestAliasBomb(40, 3000), "100000 nodes"},
      {"maps of aliased maps", NestedMapAliases(7), "100000 nodes"},
      {"merge keys", MergeKeyBomb(7), "100000 nodes"},
      {"deep flow nesting", Repeat("[", 200) + Repeat("]", 200), "64 levels"},
      {"deep block nesting",
       [] {
         std::string y;
         for (int i = 0; i < 100; ++i) y += std::string(i * 2, ' ') + "k:\n";
         return y + std::string(200, ' ') + "v\n";
       }(),
       "64 levels"},
      {"flat list", Repeat("- a\n", 150'000), "100000 nodes"},
      {"flat flow list", "[" + Repeat("a,", 150'000) + "a]", "100000 nodes"},
      {"flat mapping", [] {
         std::string y;
         for (int i = 0; i < 60'000; ++i) y += "k" + std::to_string(i) + ": v\n";
         return y;
       }(),
       "100000 nodes"},
      {"huge text", "a: '" + std::string(9 << 20, 'x') + "'\n", "8388608 bytes"},
      {"big scalar aliased", "s: &s '" + std::string(1 << 20, 'x') + "'\nl: [" +
                                 Repeat("*s, ", 20) + "*s]\n",
       "16777216 bytes of values"},
      {"alias of its own parent", "a: &a [x, *a]\n", "cycle"},
      {"big legitimate manifest", BigManifestYaml(500), ""},
      {"big legitimate values", BigValuesYaml(5000), ""},
      {"legitimate aliases", BillionLaughs(3), ""},
      {"empty", "", ""},
  };
}

TEST(BoundedYaml, RefusesAmplificationLoadsRealDocuments) {
  for (const YamlCase& c : YamlCases()) {
    Result<YAML::Node> node = LoadBoundedYaml(c.text, "values.yaml");
    if (*c.limit == '\0') {
      EXPECT_TRUE(node.ok()) << c.name << ": " << node.status().ToString();
      continue;
    }
    ASSERT_FALSE(node.ok()) << c.name << " must be refused";
    EXPECT_EQ(node.status().code(), StatusCode::kInvalidInput) << c.name;
    const std::string& message = node.status().message();
    EXPECT_EQ(message.rfind("values.yaml", 0), 0u) << c.name << ": " << message;
    EXPECT_NE(message.find(c.limit), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name << ": " << message;
  }
}

TEST(BoundedYaml, SyntaxErrorNamesFileLineAndColumn) {
  Result<YAML::Node> node = LoadBoundedYaml("a: [1, 2\nb: c\n", "Chart.yaml");
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message().rfind("Chart.yaml: line ", 0), 0u) << node.status().message();
  Result<YAML::Node> alias = LoadBoundedYaml("a: *nowhere\n", "Chart.yaml");
  ASSERT_FALSE(alias.ok());
  EXPECT_EQ(alias.status().message().rfind("Chart.yaml: line 1", 0), 0u);
}

TEST(BoundedYaml, LimitsAreTheGivenOnes) {
  const YamlLimits tight{.max_bytes = 100, .max_nodes = 5, .max_scalar_bytes = 10, .max_depth = 2};
  EXPECT_TRUE(CheckYamlBounds("[a, b, c, d]", "x", tight).ok());  // 5 nodes
  EXPECT_FALSE(CheckYamlBounds("[a, b, c, d, e]", "x", tight).ok());
  EXPECT_FALSE(CheckYamlBounds("[[[a]]]", "x", tight).ok());
  EXPECT_FALSE(CheckYamlBounds("a: 12345678901", "x", tight).ok());
  EXPECT_FALSE(CheckYamlBounds(std::string(101, '#'), "x", tight).ok());
  // Only the first document counts, as YAML::Load reads only that one.
  EXPECT_TRUE(CheckYamlBounds("a\n---\n[1, 2, 3, 4, 5, 6, 7]\n", "x", tight).ok());
}

// The parsers of untrusted YAML all go through the bounded loader.
TEST(BoundedYaml, EveryParserOfUntrustedYamlIsBounded) {
  const std::string bomb = BillionLaughs(9);
  auto manifest = ParsePpaManifestYaml(bomb);
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.status().message().rfind("manifest.yaml", 0), 0u);
  auto aliased = ParsePpaManifestYaml(ManifestAliasBomb(40, 3000));
  ASSERT_FALSE(aliased.ok());
  EXPECT_NE(aliased.status().message().find("100000 nodes"), std::string::npos);
  auto chart = ParseChartYaml("name: a\nversion: 1.0.0\nx: " + Repeat("[", 100) + Repeat("]", 100));
  ASSERT_FALSE(chart.ok());
  EXPECT_EQ(chart.status().message().rfind("Chart.yaml", 0), 0u);
  auto values = RewriteValuesRepositories(Repeat("- a\n", 1'500'000), {"image.repository"},
                                          "reg:5000/ns/");
  ASSERT_FALSE(values.ok());
  EXPECT_EQ(values.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(values.status().message().rfind("values.yaml", 0), 0u);
  // The real ones pass.
  auto big = ParsePpaManifestYaml(BigManifestYaml(500));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->images.size(), 500u);
  EXPECT_EQ(big->images[499].references.size(), 4u);
  auto rewrite = RewriteValuesRepositories(BigValuesYaml(5000), {"image.repository"}, "r:1/ns/");
  ASSERT_TRUE(rewrite.ok()) << rewrite.status().ToString();
  EXPECT_EQ(rewrite->rewritten, 1);
}

// ---------------------------------------------------------------------------
// JSON

std::string BigManifestJson(int images) {
  std::string j = "{\"images\": [";
  for (int i = 0; i < images; ++i) {
    j += std::string(i ? "," : "") + "{\"image\": \"cp.icr.io/cp/component-" + std::to_string(i) +
         "\", \"tag\": \"4.2.0\", \"archive\": \"images/c" + std::to_string(i) + ".tar.gz\"}";
  }
  return j + "], \"charts\": [{\"archive\": \"charts/a.tgz\", \"images\": [\"image.repository\"]}]}";
}

struct JsonCase {
  const char* name;
  std::string text;
  const char* limit;
};

std::vector<JsonCase> JsonCases() {
  return {
      {"flat array", "[" + Repeat("1,", 250'000) + "1]", "200000 values"},
      {"array of empty objects", "[" + Repeat("{},", 250'000) + "{}]", "200000 values"},
      {"object of many keys", [] {
         std::string j = "{";
         for (int i = 0; i < 120'000; ++i) j += "\"k" + std::to_string(i) + "\":0,";
         return j + "\"end\":0}";
       }(),
       "200000 values"},
      {"deep nesting", Repeat("[", 100) + Repeat("]", 100), "64 levels"},
      {"huge text", "\"" + std::string(17 << 20, 'x') + "\"", "16777216 bytes"},
      {"big legitimate manifest", BigManifestJson(2000), ""},
      {"malformed is left to the parser", "[1, 2", ""},
  };
}

TEST(BoundedJson, RefusesAmplificationPassesRealDocuments) {
  for (const JsonCase& c : JsonCases()) {
    Status s = CheckJsonBounds(c.text, "manifest.json");
    if (*c.limit == '\0') {
      EXPECT_TRUE(s.ok()) << c.name << ": " << s.ToString();
      continue;
    }
    ASSERT_FALSE(s.ok()) << c.name << " must be refused";
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
    EXPECT_EQ(s.message().rfind("manifest.json", 0), 0u) << c.name << ": " << s.message();
    EXPECT_NE(s.message().find(c.limit), std::string::npos) << c.name << ": " << s.message();
  }
}

// The parsers of untrusted JSON all go through the bounds check.
TEST(BoundedJson, EveryParserOfUntrustedJsonIsBounded) {
  const std::string flat = "[" + Repeat("{\"a\":1},", 150'000) + "{}]";
  auto ppa = ParsePpaManifestJson("{\"images\": " + flat + "}");
  ASSERT_FALSE(ppa.ok());
  EXPECT_EQ(ppa.status().message().rfind("manifest.json has more than", 0), 0u)
      << ppa.status().message();
  auto save = ParseDockerSaveManifest(flat);
  ASSERT_FALSE(save.ok());
  EXPECT_NE(save.status().message().find("200000 values"), std::string::npos);
  auto index = ParseOciIndex("{\"manifests\": " + flat + "}");
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.status().message().find("200000 values"), std::string::npos);
  auto config = ParseImageConfig("{\"history\": " + flat + "}");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message().rfind("image config has more than", 0), 0u);
  auto manifest = ParseImageManifest("{\"layers\": " + flat + "}");
  ASSERT_FALSE(manifest.ok());
  // A big real PPA manifest.json passes.
  auto big = ParsePpaManifestJson(BigManifestJson(2000));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->images.size(), 2000u);
}

}  // namespace
}  // namespace ppa
