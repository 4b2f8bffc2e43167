#include "importer/cli/config_file.h"

#include <gtest/gtest.h>

namespace ppa {
namespace {

TEST(ParseConfigYaml, FlatMappingOfFlags) {
  auto c = ParseConfigYaml(
      "# site defaults\nregistry: us.icr.io\n--namespace: portal_prod\nplain-http: true\n"
      "architectures: [amd64, ppc64le]\nempty:\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 5u);
  EXPECT_EQ((*c)[0].key, "registry");
  EXPECT_EQ((*c)[0].values, (std::vector<std::string>{"us.icr.io"}));
  EXPECT_EQ((*c)[0].line, 2);
  EXPECT_EQ((*c)[1].key, "namespace");
  EXPECT_EQ((*c)[3].values, (std::vector<std::string>{"amd64", "ppc64le"}));
  EXPECT_EQ((*c)[3].line, 5);
  EXPECT_TRUE((*c)[4].values.empty());
  EXPECT_TRUE(ParseConfigYaml("").ok());
}

TEST(ParseConfigYaml, RefusesSecretsAndShapes) {
  for (const char* text : {"password: x", "chartmuseum-password: x", "chartmuseum-token: t",
                           "registry: {host: x}", "- a\n- b", "a: [b, {c: d}]", "a: [unclosed"}) {
    EXPECT_FALSE(ParseConfigYaml(text).ok()) << text;
  }
  auto secret = ParseConfigYaml("password: hunter2");
  EXPECT_EQ(secret.status().message().find("hunter2"), std::string::npos);
}

TEST(ConfigEnvName, UppercaseWithUnderscores) {
  EXPECT_EQ(ConfigEnvName("chartmuseum-uri"), "PPA_IMPORT_CHARTMUSEUM_URI");
  EXPECT_EQ(ConfigEnvName("namespace"), "PPA_IMPORT_NAMESPACE");
}

}  // namespace
}  // namespace ppa
