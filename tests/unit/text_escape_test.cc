// docs/guarantees.md, "Secrets and names": the escape scheme for human output and the
// UTF-8 repair and base64 under the JSON encoding (base/text_escape.h).
#include "base/text_escape.h"
#include "docker_io/image/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace ppa {
namespace {

struct EscapeCase {
  const char* label;
  std::string in;
  std::string out;
};

TEST(EscapeControlsTest, EscapesEveryControlAndInvalidByteAndKeepsValidUtf8) {
  const EscapeCase cases[] = {
      {"plain", "charts/app-1.0.0.tgz", "charts/app-1.0.0.tgz"},
      {"clear screen", "images/\x1b[2Jx.tar", "images/\\x1b[2Jx.tar"},
      {"bell", "a\x07" "b", "a\\x07b"},
      {"forged OK line", "x\r\nOK\n", "x\\r\\nOK\\n"},
      {"osc title", "\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"},
      {"tab", "a\tb", "a\\tb"},
      {"nul", std::string("a\0b", 3), "a\\x00b"},
      {"del", "a\x7f" "b", "a\\x7fb"},
      {"raw c1 byte (invalid utf-8)", "a\x9b" "31m", "a\\x9b31m"},
      {"c1 csi as utf-8", "a\xc2\x9b" "31m", "a\\xc2\\x9b31m"},
      {"c1 nel as utf-8", "\xc2\x85", "\\xc2\\x85"},
      {"first non-c1 two-byte char", "\xc2\xa0", "\xc2\xa0"},
      {"accented", "caf\xc3\xa9-\xc3\xbc", "caf\xc3\xa9-\xc3\xbc"},
      {"cjk and emoji", "\xe6\x97\xa5\xf0\x9f\x93\xa6", "\xe6\x97\xa5\xf0\x9f\x93\xa6"},
      {"invalid byte", "bad\xff" "name", "bad\\xffname"},
      {"overlong slash", "\xc0\xaf", "\\xc0\\xaf"},
      {"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
      {"above U+10FFFF", "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
      {"truncated sequence", "\xe6\x97", "\\xe6\\x97"},
      {"backslash stays", "a\\x1b", "a\\x1b"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EscapeControls(c.in), c.out) << c.label;
  }
}

TEST(EscapeControlsTest, OutputHoldsNoControlByteAndIsValidUtf8) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string escaped = EscapeControls(all);
  EXPECT_TRUE(IsValidUtf8(escaped));
  for (unsigned char c : escaped) {
    EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "byte " << static_cast<int>(c);
  }
}

struct Utf8Case {
  const char* label;
  std::string in;
  bool valid;
  std::string repaired;
};

TEST(Utf8Test, ValidatesAndReplacesEachInvalidByteWithU_FFFD) {
  const std::string r = "\xef\xbf\xbd";
  const Utf8Case cases[] = {
      {"empty", "", true, ""},
      {"ascii with controls", "a\x1b\n", true, "a\x1b\n"},
      {"accented", "\xc3\xa9", true, "\xc3\xa9"},
      {"4-byte", "\xf0\x9f\x93\xa6", true, "\xf0\x9f\x93\xa6"},
      {"lone 0xff", "a\xff" "b", false, "a" + r + "b"},
      {"latin-1 name", "caf\xe9", false, "caf" + r},
      {"lone continuation", "\x80", false, r},
      {"overlong", "\xc1\xbf", false, r + r},
      {"surrogate", "\xed\xbf\xbf", false, r + r + r},
      {"truncated at end", "ab\xf0\x9f\x93", false, "ab" + r + r + r},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(IsValidUtf8(c.in), c.valid) << c.label;
    EXPECT_EQ(ToValidUtf8(c.in), c.repaired) << c.label;
    EXPECT_TRUE(IsValidUtf8(ToValidUtf8(c.in))) << c.label;
  }
}

TEST(Base64Test, Rfc4648VectorsAndRoundTrips) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
      {std::string("\xff\xfe\x00", 3), "//4A"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << encoded;
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, plain) << encoded;
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(Base64Decode(Base64Encode(all)), all);
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "Zg=a", "=Zg=", "Zg==Zg=="}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ppa
