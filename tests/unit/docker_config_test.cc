// Docker client configuration: the lookup table (pure) and a credential
// helper run through the docker-credential-<name> protocol (a tiny shell
// script put on PATH for the test).
#include "docker_io/registry/docker_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/process.h"

namespace ppa {
namespace {

using Kind = DockerConfigEntry::Kind;

struct LookupCase {
  const char* name;
  const char* json;
  const char* host;
  Kind kind;
  const char* username;
  const char* password;
  const char* identity_token;
  const char* helper;
};

class DockerConfigLookupTest : public ::testing::TestWithParam<LookupCase> {};

TEST_P(DockerConfigLookupTest, Finds) {
  const LookupCase& c = GetParam();
  Result<DockerConfigEntry> got = LookupDockerConfig(c.json, c.host);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->kind, c.kind);
  EXPECT_EQ(got->credentials.username, c.username);
  EXPECT_EQ(got->credentials.password, c.password);
  EXPECT_EQ(got->credentials.identity_token, c.identity_token);
  EXPECT_EQ(got->helper, c.helper);
}

// "dXNlcjpwYTpzcw==" is base64("user:pa:ss").
INSTANTIATE_TEST_SUITE_P(
    Table, DockerConfigLookupTest,
    ::testing::Values(
        LookupCase{"auth_base64", R"({"auths":{"reg.example:5000":{"auth":"dXNlcjpwYTpzcw=="}}})",
                   "reg.example:5000", Kind::kInline, "user", "pa:ss", "", ""},
        LookupCase{"key_with_scheme_and_path",
                   R"({"auths":{"https://Reg.Example/v1/":{"auth":"dXNlcjpwYTpzcw=="}}})",
                   "reg.example", Kind::kInline, "user", "pa:ss", "", ""},
        LookupCase{"username_password",
                   R"({"auths":{"reg.example":{"username":"u","password":"p"}}})", "reg.example",
                   Kind::kInline, "u", "p", "", ""},
        LookupCase{"identity_token", R"({"auths":{"reg.example":{"identitytoken":"refresh"}}})",
                   "reg.example", Kind::kInline, "", "", "refresh", ""},
        LookupCase{"docker_hub_alias",
                   R"({"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYTpzcw=="}}})",
                   "docker.io", Kind::kInline, "user", "pa:ss", "", ""},
        LookupCase{"other_port_is_other_registry",
                   R"({"auths":{"reg.example:5000":{"auth":"dXNlcjpwYTpzcw=="}}})",
                   "reg.example", Kind::kNone, "", "", "", ""},
        LookupCase{"cred_helper_wins",
                   R"({"auths":{"reg.example":{"auth":"dXNlcjpwYTpzcw=="}},)"
                   R"("credHelpers":{"reg.example":"ecr-login"},"credsStore":"pass"})",
                   "reg.example", Kind::kHelper, "", "", "", "ecr-login"},
        LookupCase{"empty_auths_entry_falls_to_store",
                   R"({"auths":{"reg.example":{}},"credsStore":"desktop"})", "reg.example",
                   Kind::kHelper, "", "", "", "desktop"},
        LookupCase{"store_for_unknown_host", R"({"credsStore":"secretservice"})", "other.example",
                   Kind::kHelper, "", "", "", "secretservice"},
        LookupCase{"nothing", R"({})", "reg.example", Kind::kNone, "", "", "", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DockerConfigTest, BadInputIsAnErrorWithoutSecrets) {
  EXPECT_EQ(LookupDockerConfig("[1]", "r").status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(LookupDockerConfig("{", "r").status().code(), StatusCode::kInvalidInput);
  Result<DockerConfigEntry> bad =
      LookupDockerConfig(R"({"auths":{"r":{"auth":"bm9jb2xvbg=="}}})", "r");  // "nocolon"
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().ToString().find("bm9jb2xvbg"), std::string::npos);
}

TEST(DockerConfigTest, NormalizeRegistryHost) {
  EXPECT_EQ(NormalizeRegistryHost("https://REG.example:443/v2/"), "reg.example:443");
  EXPECT_EQ(NormalizeRegistryHost("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryHost("us.icr.io"), "us.icr.io");
}

TEST(DockerConfigTest, CredentialHelperOutput) {
  Result<Credentials> c = ParseCredentialHelperOutput(
      R"({"ServerURL":"r","Username":"iamapikey","Secret":"key-1"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "iamapikey");
  EXPECT_EQ(c->password, "key-1");
  Result<Credentials> t =
      ParseCredentialHelperOutput(R"({"ServerURL":"r","Username":"<token>","Secret":"rt"})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->identity_token, "rt");
  EXPECT_TRUE(t->username.empty());
}

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    const char* old = std::getenv(name);
    if (old) old_ = old;
    had_ = old != nullptr;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

TEST(DockerConfigTest, CredentialHelperOnPathAndDockerConfigEnv) {
  test::TempDir dir("docker-config-test");
  const std::string script = dir.Join("docker-credential-fake");
  // Answers for reg.example only, like real helpers; the host comes on stdin.
  std::ofstream(script) << "#!/bin/sh\n"
                           "[ \"$1\" = get ] || exit 2\n"
                           "read host\n"
                           "if [ \"$host\" = reg.example:5000 ]; then\n"
                           "  echo '{\"ServerURL\":\"reg.example:5000\",\"Username\":\"helper-user\","
                           "\"Secret\":\"helper-secret\"}'\n"
                           "else\n"
                           "  echo 'credentials not found in native keychain'; exit 1\n"
                           "fi\n";
  chmod(script.c_str(), 0755);
  ASSERT_TRUE(test::WriteStringToFile(
                  dir.Join("config.json"),
                  R"({"auths":{"inline.example":{"auth":"dXNlcjpwYTpzcw=="}},"credsStore":"fake"})")
                  .ok());
  const char* path = std::getenv("PATH");
  ScopedEnv env_path("PATH", dir.path() + ":" + (path ? path : "/usr/bin:/bin"));
  ScopedEnv env_config("DOCKER_CONFIG", dir.path());

  Result<Credentials> helper = LoadDockerCredentials("reg.example:5000");
  ASSERT_TRUE(helper.ok()) << helper.status().ToString();
  EXPECT_EQ(helper->username, "helper-user");
  EXPECT_EQ(helper->password, "helper-secret");

  Result<Credentials> inline_creds = LoadDockerCredentials("inline.example");
  ASSERT_TRUE(inline_creds.ok());
  EXPECT_EQ(inline_creds->username, "user");

  Result<Credentials> unknown = LoadDockerCredentials("other.example");
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_TRUE(unknown->empty());

  Result<Credentials> missing = RunCredentialHelper("does-not-exist-42", "reg.example");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().hint().find("credHelpers"), std::string::npos);
}

TEST(DockerConfigTest, NoConfigMeansNoCredentials) {
  test::TempDir dir("docker-config-empty");
  ScopedEnv env_config("DOCKER_CONFIG", dir.path());
  Result<Credentials> got = LoadDockerCredentials("reg.example");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

}  // namespace
}  // namespace ppa
