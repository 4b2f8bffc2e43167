// Credentials in URLs (README, "Security"): user info in --registry / --chartmuseum-uri is taken
// as credentials and redacted from every text (base/url_userinfo.h).
#include "base/url_userinfo.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "importer/load/charts_stage.h"
#include "importer/report/display_text.h"
#include "importer/load/pipeline.h"

namespace ppa {
namespace {

struct SplitCase {
  std::string in;
  std::string url;
  bool present;
  std::string user;
  std::string password;
};

TEST(SplitUserInfoTest, TakesUserAndPasswordOutOfUrlsAndAddresses) {
  const SplitCase cases[] = {
      {"registry.example.com:5000/org", "registry.example.com:5000/org", false, "", ""},
      {"https://h/x", "https://h/x", false, "", ""},
      {"user:pw@127.0.0.1:5000", "127.0.0.1:5000", true, "user", "pw"},
      {"https://user:pw@h:443/org/repo", "https://h:443/org/repo", true, "user", "pw"},
      {"http://bob@h", "http://h", true, "bob", ""},
      {"http://:pw@h", "http://h", true, "", "pw"},
      {"http://@h", "http://h", true, "", ""},
      {"us%40er:p%3Ass%25@h/p", "h/p", true, "us@er", "p:ss%"},
      {"u:pa:ss@h", "h", true, "u", "pa:ss"},
      // Unencoded '@', '/', '#' and '?' in a password: still hidden whole.
      {"http://u:p@ss@h/x", "http://h/x", true, "u", "p@ss"},
      {"https://u:pa/ss@h/x", "https://h/x", true, "u", "pa/ss"},
      {"u:p#s?s@h", "h", true, "u", "p#s?s"},
      {"u:%zz%4@h", "h", true, "u", "%zz%4"},  // not percent escapes: kept
  };
  for (const auto& c : cases) {
    UrlUserInfo got = SplitUserInfo(c.in);
    EXPECT_EQ(got.url, c.url) << c.in;
    EXPECT_EQ(got.present, c.present) << c.in;
    EXPECT_EQ(got.username, c.user) << c.in;
    EXPECT_EQ(got.password, c.password) << c.in;
    EXPECT_EQ(RedactUserInfo(c.in), c.url) << c.in;
  }
}

TEST(RedactUserInfoInTextTest, RemovesUserInfoOfEveryUrlInFreeText) {
  const std::pair<std::string, std::string> cases[] = {
      {"no url here", "no url here"},
      {"GET http://127.0.0.1:5000/v2/ -> 200", "GET http://127.0.0.1:5000/v2/ -> 200"},
      {"redirected to https://u:s3cret@h/x/y", "redirected to https://h/x/y"},
      {"ChartMuseum 'http://u:p%3A@h:8080/org': refused",
       "ChartMuseum 'http://h:8080/org': refused"},
      {"a http://u:1@h1 and b https://v:2@h2/p", "a http://h1 and b https://h2/p"},
      {"mail bob@example.com stays", "mail bob@example.com stays"},
      {"http://host/path?x=a@b", "http://b"},  // when in doubt, hide
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(RedactUserInfoInText(in), out) << in;
}

TEST(DisplayLineTest, EscapesControlsAndRedactsUrls) {
  EXPECT_EQ(DisplayLine("push to http://u:pw@h\x1b[2J\r\nOK"), "push to http://h\\x1b[2J\\r\\nOK");
  EXPECT_EQ(DisplayLine("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \\xff");
}

struct RegistryCase {
  std::string text;
  std::string host;
  std::string prefix;
  std::string user;
  std::string password;
};

TEST(ParseRegistryAddressTest, UserInfoBecomesCredentialsAndLeavesTheAddress) {
  const RegistryCase cases[] = {
      {"user:pw@127.0.0.1:5000", "127.0.0.1:5000", "", "user", "pw"},
      {"https://user:pw@reg.example.com/org", "reg.example.com", "org", "user", "pw"},
      {"http://us%40er:p%3Ass@h:80/a/b", "h:80", "a/b", "us@er", "p:ss"},
      {"reg.example.com", "reg.example.com", "", "", ""},
  };
  for (const auto& c : cases) {
    auto address = ParseRegistryAddress(c.text, false);
    ASSERT_TRUE(address.ok()) << c.text << ": " << address.status().ToString();
    EXPECT_EQ(address->endpoint.host, c.host) << c.text;
    EXPECT_EQ(address->prefix, c.prefix) << c.text;
    EXPECT_EQ(address->userinfo.username, c.user) << c.text;
    EXPECT_EQ(address->userinfo.password, c.password) << c.text;
  }
}

TEST(ParseRegistryAddressTest, ErrorsNeverShowThePassword) {
  for (const std::string text : {"user:Secr3tPw@bad host", "user:Secr3tPw@", "https://u:Secr3tPw@"}) {
    auto address = ParseRegistryAddress(text, false);
    ASSERT_FALSE(address.ok()) << text;
    EXPECT_EQ(address.status().ToString().find("Secr3tPw"), std::string::npos)
        << address.status().ToString();
  }
}

TEST(ResolveChartMuseumConfigTest, UserInfoCountsAsUserAndPasswordFlags) {
  std::map<std::string, std::string> env_values = {{"PPA_IMPORT_CHARTMUSEUM_USER", "envuser"},
                                                   {"PPA_IMPORT_CHARTMUSEUM_PASSWORD", "envpw"}};
  auto env = [&](const char* name) {
    auto it = env_values.find(name);
    return it == env_values.end() ? std::string() : it->second;
  };
  ChartOptions options;
  options.chartmuseum_uri = "http://cm%40user:cm%3Apw@127.0.0.1:8080/org";
  ChartMuseumConfig config = ResolveChartMuseumConfig(options, env);
  EXPECT_EQ(config.uri, "http://127.0.0.1:8080/org");
  EXPECT_EQ(config.username, "cm@user");
  EXPECT_EQ(config.password, "cm:pw");

  options.chartmuseum_user = "flaguser";  // the flags win over the URI
  options.chartmuseum_password = "flagpw";
  config = ResolveChartMuseumConfig(options, env);
  EXPECT_EQ(config.uri, "http://127.0.0.1:8080/org");
  EXPECT_EQ(config.username, "flaguser");
  EXPECT_EQ(config.password, "flagpw");

  options = ChartOptions{};
  options.chartmuseum_uri = "http://127.0.0.1:8080";  // no user info: the environment
  config = ResolveChartMuseumConfig(options, env);
  EXPECT_EQ(config.username, "envuser");
  EXPECT_EQ(config.password, "envpw");
}

}  // namespace
}  // namespace ppa
