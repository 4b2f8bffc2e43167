#include "docker_io/registry/auth_challenge.h"

#include <gtest/gtest.h>

namespace ppa {
namespace {

using Scheme = AuthChallenge::Scheme;

struct ChallengeCase {
  const char* name;
  const char* header;
  bool ok;
  Scheme scheme;
  const char* realm;
  const char* service;
  const char* scope;
  const char* error;
};

const ChallengeCase kChallengeCases[] = {
    {"basic", R"(Basic realm="basic-realm")", true, Scheme::kBasic, "basic-realm", "", "", ""},
    {"basic_lowercase_no_params", "basic", true, Scheme::kBasic, "", "", "", ""},
    {"bearer_all_params",
     R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:ns/app:pull,push",error="invalid_token")",
     true, Scheme::kBearer, "https://auth.example/token", "registry.example",
     "repository:ns/app:pull,push", "invalid_token"},
    {"bearer_mixed_case_spaces", R"(BEARER  realm = "https://a/t" ,  service="s")", true,
     Scheme::kBearer, "https://a/t", "s", "", ""},
    {"bearer_token_values", "Bearer realm=https://a/t,service=reg", true, Scheme::kBearer,
     "https://a/t", "reg", "", ""},
    {"quoted_commas", R"(Bearer realm="https://a/t?x=1,2",scope="repository:a:pull,push")", true,
     Scheme::kBearer, "https://a/t?x=1,2", "", "repository:a:pull,push", ""},
    {"escaped_quotes", R"(Basic realm="say \"hi\", ok")", true, Scheme::kBasic, R"(say "hi", ok)",
     "", "", ""},
    {"unknown_params_ignored", R"(Bearer foo="bar",realm="r",baz=1)", true, Scheme::kBearer, "r",
     "", "", ""},
    {"second_challenge_ignored", R"(Bearer realm="r", Basic realm="b")", true, Scheme::kBearer, "r",
     "", "", ""},
    {"empty", "", false, Scheme::kBasic, "", "", "", ""},
    {"garbage", "=== ???", false, Scheme::kBasic, "", "", "", ""},
    {"unknown_scheme", R"(Negotiate abc)", false, Scheme::kBasic, "", "", "", ""},
    {"unterminated_quote", R"(Bearer realm="https://a/t)", false, Scheme::kBasic, "", "", "", ""},
    {"bearer_without_realm", R"(Bearer service="s")", false, Scheme::kBasic, "", "", "", ""},
    {"junk_after_value", R"(Bearer realm="r" junk)", false, Scheme::kBasic, "", "", "", ""},
};

class ParseWwwAuthenticateTest : public ::testing::TestWithParam<ChallengeCase> {};

TEST_P(ParseWwwAuthenticateTest, Parses) {
  const ChallengeCase& c = GetParam();
  Result<AuthChallenge> got = ParseWwwAuthenticate(c.header);
  ASSERT_EQ(got.ok(), c.ok) << c.header << " -> " << got.status().ToString();
  if (!c.ok) {
    EXPECT_FALSE(got.status().message().empty());
    return;
  }
  EXPECT_EQ(got->scheme, c.scheme);
  EXPECT_EQ(got->realm, c.realm);
  EXPECT_EQ(got->service, c.service);
  EXPECT_EQ(got->scope, c.scope);
  EXPECT_EQ(got->error, c.error);
}

INSTANTIATE_TEST_SUITE_P(Table, ParseWwwAuthenticateTest, ::testing::ValuesIn(kChallengeCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ParseWwwAuthenticateTest, UnknownSchemeIsUnsupported) {
  EXPECT_EQ(ParseWwwAuthenticate("Digest realm=\"x\"").status().code(), StatusCode::kUnsupported);
}

struct TokenCase {
  const char* name;
  const char* json;
  bool ok;
  const char* token;
  int64_t expires_in;
};

const TokenCase kTokenCases[] = {
    {"token", R"({"token":"abc","expires_in":300})", true, "abc", 300},
    {"access_token", R"({"access_token":"xyz"})", true, "xyz", 60},
    {"both_prefers_token", R"({"token":"t1","access_token":"t2"})", true, "t1", 60},
    {"empty_token_falls_back", R"({"token":"","access_token":"t2"})", true, "t2", 60},
    {"bad_expiry_defaults", R"({"token":"t","expires_in":"soon"})", true, "t", 60},
    {"missing", R"({"expires_in":300})", false, "", 0},
    {"token_not_string", R"({"token":42})", false, "", 0},
    {"not_json", "<html>oops</html>", false, "", 0},
    {"array", "[]", false, "", 0},
    {"empty", "", false, "", 0},
};

class ParseTokenResponseTest : public ::testing::TestWithParam<TokenCase> {};

TEST_P(ParseTokenResponseTest, Parses) {
  const TokenCase& c = GetParam();
  Result<TokenResponse> got = ParseTokenResponse(c.json);
  ASSERT_EQ(got.ok(), c.ok) << got.status().ToString();
  if (!c.ok) {
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
    return;
  }
  EXPECT_EQ(got->token, c.token);
  EXPECT_EQ(got->expires_in, c.expires_in);
}

INSTANTIATE_TEST_SUITE_P(Table, ParseTokenResponseTest, ::testing::ValuesIn(kTokenCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ParseTokenResponseTest, ErrorNeverQuotesTheBody) {
  Result<TokenResponse> got = ParseTokenResponse(R"({"tokn":"s3cr3t-value"})");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().ToString().find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace ppa
