#include "docker_io/registry/registry_errors.h"

#include <gtest/gtest.h>

#include <string>

namespace ppa {
namespace {

struct ErrorCase {
  const char* name;
  long status;
  std::string body;
  const char* content_type;
  const char* want_message;  // exact
  const char* want_hint;     // substring ("" = hint must be empty)
};

std::string OciError(const std::string& code, const std::string& message) {
  return R"({"errors":[{"code":")" + code + R"(","message":")" + message +
         R"(","detail":{"x":1}}]})";
}

const char kNginx413[] =
    "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
    "<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n";

const ErrorCase kErrorCases[] = {
    {"unauthorized", 401, OciError("UNAUTHORIZED", "authentication required"), "application/json",
     "push of 'ns/app' failed: 401 UNAUTHORIZED: authentication required", "iamapikey"},
    {"denied", 403, OciError("DENIED", "requested access to the resource is denied"),
     "application/json",
     "push of 'ns/app' failed: 403 DENIED: requested access to the resource is denied",
     "namespace"},
    {"quota", 403, OciError("DENIED", "You have exceeded your storage quota."), "application/json",
     "push of 'ns/app' failed: 403 DENIED: You have exceeded your storage quota.",
     "delete unused images"},
    {"name_invalid", 400, OciError("NAME_INVALID", "invalid repository name"), "application/json",
     "push of 'ns/app' failed: 400 NAME_INVALID: invalid repository name", "lowercase"},
    {"name_unknown", 404, OciError("NAME_UNKNOWN", "repository name not known to registry"),
     "application/json",
     "push of 'ns/app' failed: 404 NAME_UNKNOWN: repository name not known to registry",
     "does not exist"},
    {"manifest_invalid", 400, OciError("MANIFEST_INVALID", "manifest invalid"), "application/json",
     "push of 'ns/app' failed: 400 MANIFEST_INVALID: manifest invalid", "media type"},
    {"manifest_blob_unknown", 400, OciError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry"),
     "application/json",
     "push of 'ns/app' failed: 400 MANIFEST_BLOB_UNKNOWN: blob unknown to registry",
     "rerun the import"},
    {"blob_unknown", 404, OciError("BLOB_UNKNOWN", "blob unknown to registry"), "application/json",
     "push of 'ns/app' failed: 404 BLOB_UNKNOWN: blob unknown to registry", "rerun the import"},
    {"digest_invalid", 400, OciError("DIGEST_INVALID", "provided digest did not match"),
     "application/json",
     "push of 'ns/app' failed: 400 DIGEST_INVALID: provided digest did not match", "corrupt"},
    {"size_invalid", 400, OciError("SIZE_INVALID", "provided length did not match"),
     "application/json", "push of 'ns/app' failed: 400 SIZE_INVALID: provided length did not match",
     "size"},
    {"too_many_requests", 429, OciError("TOOMANYREQUESTS", "rate limit"), "application/json",
     "push of 'ns/app' failed: 429 TOOMANYREQUESTS: rate limit", "wait and retry"},
    {"plain_429", 429, "", "", "push of 'ns/app' failed: 429 Too Many Requests", "wait and retry"},
    {"nginx_413", 413, kNginx413, "text/html",
     "push of 'ns/app' failed: 413 413 Request Entity Too Large", "client_max_body_size"},
    {"html_without_content_type", 502, "<!DOCTYPE html><html><head><title>Bad\n gateway</title>",
     "", "push of 'ns/app' failed: 502 Bad gateway", "retry later"},
    {"html_without_title", 503, "<html><body><p>down</p></body></html>", "text/html",
     "push of 'ns/app' failed: 503 Service Unavailable", "retry later"},
    {"empty_500", 500, "", "", "push of 'ns/app' failed: 500 Internal Server Error", "retry later"},
    {"empty_401", 401, "", "", "push of 'ns/app' failed: 401 Unauthorized", "username"},
    {"empty_403", 403, "", "", "push of 'ns/app' failed: 403 Forbidden", "write access"},
    {"plain_text_first_line", 400, "bad thing happened\nstack trace line\n", "text/plain",
     "push of 'ns/app' failed: 400 bad thing happened", ""},
    {"errors_detail_only", 400, R"({"errors":[{"code":"UNSUPPORTED","detail":"no"}]})",
     "application/json", "push of 'ns/app' failed: 400 UNSUPPORTED: no", "not support"},
    {"quota_in_plain_text", 507, "Storage quota exceeded", "text/plain",
     "push of 'ns/app' failed: 507 Storage quota exceeded", "review the registry plan"},
};

class MapRegistryErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(MapRegistryErrorTest, OneLineAndHint) {
  const ErrorCase& c = GetParam();
  Status got = MapRegistryError(c.status, c.body, c.content_type, "push of 'ns/app'");
  EXPECT_EQ(got.code(), StatusCode::kHttp);
  EXPECT_EQ(got.message(), c.want_message);
  EXPECT_EQ(got.message().find('\n'), std::string::npos);
  if (std::string(c.want_hint).empty()) {
    EXPECT_EQ(got.hint(), "");
  } else {
    EXPECT_NE(got.hint().find(c.want_hint), std::string::npos) << got.hint();
  }
}

INSTANTIATE_TEST_SUITE_P(Table, MapRegistryErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(MapRegistryErrorTest, LongBodyIsShortened) {
  Status got = MapRegistryError(400, std::string(5000, 'x'), "text/plain", "op");
  EXPECT_LT(got.message().size(), 300u);
}

}  // namespace
}  // namespace ppa
