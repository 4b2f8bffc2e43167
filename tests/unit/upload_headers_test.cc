#include "docker_io/registry/upload_headers.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace ppa {
namespace {

constexpr char kRequest[] = "https://reg.example:5000/v2/ns/app/blobs/uploads/";
constexpr char kSessionRequest[] = "https://reg.example:5000/v2/ns/app/blobs/uploads/u1?_state=a#f";

struct LocationCase {
  const char* location;
  const char* request;  // nullptr: kRequest
  const char* want;     // nullptr: rejected
};

TEST(ResolveUploadLocationTest, Table) {
  const LocationCase cases[] = {
      // Absolute http(s) URLs: as written, scheme lower-cased, fragment dropped.
      {"https://reg.example:5000/v2/ns/app/blobs/uploads/u2", nullptr,
       "https://reg.example:5000/v2/ns/app/blobs/uploads/u2"},
      {"https://storage.example/up/1?sig=a%2Fb&x=1", nullptr,
       "https://storage.example/up/1?sig=a%2Fb&x=1"},
      {"HTTPS://Storage.example/up", nullptr, "https://Storage.example/up"},
      {"http://reg.example:5000/u", nullptr, "http://reg.example:5000/u"},  // a downgrade
      {"https://storage.example", nullptr, "https://storage.example"},
      {"https://storage.example?x", nullptr, "https://storage.example?x"},
      {"https://[::1]:5000/u", nullptr, "https://[::1]:5000/u"},
      {"https://reg.example/u#frag", nullptr, "https://reg.example/u"},
      {"https://reg.example/a/../b", nullptr, "https://reg.example/a/../b"},
      // Network-path references: the request's scheme.
      {"//cdn.example/up/1?s=1", nullptr, "https://cdn.example/up/1?s=1"},
      {"//cdn.example:8443", nullptr, "https://cdn.example:8443"},
      // Absolute paths: the request's origin.
      {"/v2/ns/app/blobs/uploads/u1", nullptr,
       "https://reg.example:5000/v2/ns/app/blobs/uploads/u1"},
      {"/v2/ns/app/blobs/uploads/u1?_state=x", nullptr,
       "https://reg.example:5000/v2/ns/app/blobs/uploads/u1?_state=x"},
      {"/u/1#frag", nullptr, "https://reg.example:5000/u/1"},
      {"/a/./b/../c", nullptr, "https://reg.example:5000/a/c"},
      {"/../../etc", nullptr, "https://reg.example:5000/etc"},
      {"/u?q=/../x", nullptr, "https://reg.example:5000/u?q=/../x"},  // queries untouched
      // Relative paths: merged with the request path's directory.
      {"u4", nullptr, "https://reg.example:5000/v2/ns/app/blobs/uploads/u4"},
      {"s2?_state=b", kSessionRequest,
       "https://reg.example:5000/v2/ns/app/blobs/uploads/s2?_state=b"},
      {"../x", nullptr, "https://reg.example:5000/v2/ns/app/blobs/x"},
      {"../../../../../../x", nullptr, "https://reg.example:5000/x"},
      {"./u5", nullptr, "https://reg.example:5000/v2/ns/app/blobs/uploads/u5"},
      {".", nullptr, "https://reg.example:5000/v2/ns/app/blobs/uploads/"},
      {"a:b/c", nullptr, nullptr},  // scheme "a", not a path
      {"./a:b", nullptr, "https://reg.example:5000/v2/ns/app/blobs/uploads/a:b"},
      {"u6", "https://reg.example", "https://reg.example/u6"},
      // A query only: the request's path.
      {"?_state=c", kSessionRequest,
       "https://reg.example:5000/v2/ns/app/blobs/uploads/u1?_state=c"},
      {"?x", "https://reg.example", "https://reg.example/?x"},
      {"?q", "https://reg.example/a/../b/./c?old", "https://reg.example/b/c?q"},  // fuzz-found
      {"#f", "https://reg.example/a/../b?old", "https://reg.example/b?old"},
      // A fragment only: the request URL itself (RFC 3986 section 5.2.2).
      {"#only-a-fragment", nullptr, "https://reg.example:5000/v2/ns/app/blobs/uploads/"},
      // Optional whitespace around the value.
      {" \t/u/1 ", nullptr, "https://reg.example:5000/u/1"},
      // Rejected.
      {"", nullptr, nullptr},
      {"   ", nullptr, nullptr},
      {"ftp://reg.example/u", nullptr, nullptr},
      {"file:///etc/passwd", nullptr, nullptr},
      {"javascript:alert(1)", nullptr, nullptr},
      {"data:text/plain,x", nullptr, nullptr},
      {"http:/u", nullptr, nullptr},
      {"https:u", nullptr, nullptr},
      {"https://", nullptr, nullptr},
      {"https:///u", nullptr, nullptr},
      {"https://:5000/u", nullptr, nullptr},
      {"https://user:pass@evil.example/u", nullptr, nullptr},
      {"https://reg.example@evil.example/u", nullptr, nullptr},
      {"https://reg.example:0/u", nullptr, nullptr},
      {"https://reg.example:65536/u", nullptr, nullptr},
      {"https://reg.example:/u", nullptr, nullptr},
      {"https://reg.example:50a/u", nullptr, nullptr},
      {"https://[::1/u", nullptr, nullptr},
      {"//", nullptr, nullptr},
      {"///u", nullptr, nullptr},
      {"//a@b/u", nullptr, nullptr},
      {"/u/1\r\nX-Injected: 1", nullptr, nullptr},
      {"/u/1 2", nullptr, nullptr},
      {"/u\\..\\x", nullptr, nullptr},
      {"https://reg.example\\@evil.example/", nullptr, nullptr},
      {"/u/\xc3\xa9", nullptr, nullptr},
      {":5000/u", nullptr, nullptr},
      {"1a:b", nullptr, nullptr},
      // The request URL must be absolute http(s).
      {"/u", "/v2/", nullptr},
      {"/u", "ftp://reg.example/", nullptr},
      {"/u", "https:///", nullptr},
      {"/u", "", nullptr},
  };
  for (const LocationCase& c : cases) {
    const std::string request = c.request ? c.request : kRequest;
    Result<std::string> got = ResolveUploadLocation(request, c.location);
    SCOPED_TRACE(std::string("location '") + c.location + "' from '" + request + "'");
    if (c.want == nullptr) {
      ASSERT_FALSE(got.ok()) << *got;
      EXPECT_EQ(got.status().code(), StatusCode::kInvalidInput);
    } else {
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(ResolveUploadLocationTest, NulAndControlBytesAreRejected) {
  for (std::string bad : {std::string("/u\0x", 4), std::string("/u\x7f"), std::string("/u\tx"),
                          std::string("/u\nx"), std::string("https://reg.example/\x01")}) {
    EXPECT_FALSE(ResolveUploadLocation(kRequest, bad).ok()) << bad;
  }
}

TEST(ResolveUploadLocationTest, AResolvedUrlResolvesToItself) {
  for (const char* location : {"/a/./b/../c?x#y", "../u?s", "//cdn.example/u", "?q", "u7"}) {
    Result<std::string> once = ResolveUploadLocation(kSessionRequest, location);
    ASSERT_TRUE(once.ok()) << location;
    Result<std::string> twice = ResolveUploadLocation("http://elsewhere.example/x/y", *once);
    ASSERT_TRUE(twice.ok()) << *once;
    EXPECT_EQ(*twice, *once);
  }
}

TEST(ResolveUploadLocationTest, ErrorsNeverQuoteTheLocation) {
  const std::string secret = "https://user:S3cr3t-Signature@storage.example/u";
  Result<std::string> got = ResolveUploadLocation(kRequest, secret);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message().find("S3cr3t"), std::string::npos) << got.status().message();
  EXPECT_EQ(got.status().message().find('\n'), std::string::npos);
}

struct RangeCase {
  const char* range;
  std::optional<uint64_t> want;
};

TEST(ParseUploadRangeEndTest, Table) {
  const RangeCase cases[] = {
      {"0-0", 0},
      {"0-7", 7},
      {"bytes=0-1048575", 1048575},
      {"BYTES=0-9", 9},
      {"Bytes=0-9", 9},
      {"00-5", 5},
      {"0-0005", 5},
      {" 0-5\t", 5},
      {"0-9223372036854775806", 9223372036854775806ull},  // 2^63 - 2: end + 1 fits int64
      {"0-09223372036854775806", 9223372036854775806ull},
      {"0-9223372036854775807", std::nullopt},   // 2^63 - 1
      {"0-18446744073709551615", std::nullopt},  // UINT64_MAX
      {"0-18446744073709551616", std::nullopt},  // wraps to 0 without a check
      {"0-99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"-", std::nullopt},
      {"0-", std::nullopt},
      {"-5", std::nullopt},
      {"1-5", std::nullopt},
      {"10-5", std::nullopt},
      {"0-5-6", std::nullopt},
      {"0--5", std::nullopt},
      {"0-+5", std::nullopt},
      {"0- 5", std::nullopt},
      {"0 -5", std::nullopt},
      {"0-5/10", std::nullopt},
      {"0-5,7-9", std::nullopt},
      {"bytes 0-5/10", std::nullopt},
      {"bytes=", std::nullopt},
      {"bytes=-5", std::nullopt},
      {"items=0-5", std::nullopt},
      {"0x0-0x5", std::nullopt},
      {"0-5\r\n", std::nullopt},
      {"\xef\xbc\x90-5", std::nullopt},  // a full-width digit
  };
  for (const RangeCase& c : cases) {
    EXPECT_EQ(ParseUploadRangeEnd(c.range), c.want) << "'" << c.range << "'";
  }
}

}  // namespace
}  // namespace ppa
