#include "base/url_userinfo.h"

#include <cctype>

namespace ppa {
namespace {

bool IsSchemeChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// Where the authority of `text` starts: after "scheme://" when `text` starts
// with one, else 0.
size_t AuthorityStart(std::string_view text) {
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return 0;
  if (!std::isalpha(static_cast<unsigned char>(text[0]))) return 0;
  for (size_t i = 0; i < sep; ++i) {
    if (!IsSchemeChar(text[i])) return 0;
  }
  return sep + 3;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EndsUrl(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' || c == '<' ||
         c == '>' || c == '`';
}

}  // namespace

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

UrlUserInfo SplitUserInfo(std::string_view text) {
  UrlUserInfo out;
  const size_t start = AuthorityStart(text);
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos || at < start) {
    out.url = std::string(text);
    return out;
  }
  out.present = true;
  out.url = std::string(text.substr(0, start)) + std::string(text.substr(at + 1));
  const std::string_view info = text.substr(start, at - start);
  const size_t colon = info.find(':');
  out.username = PercentDecode(info.substr(0, colon));
  if (colon != std::string_view::npos) out.password = PercentDecode(info.substr(colon + 1));
  return out;
}

std::string RedactUserInfo(std::string_view text) { return SplitUserInfo(text).url; }

std::string RedactUserInfoInText(std::string_view text) {
  std::string out;
  size_t done = 0;  // text[0, done) is in `out`
  for (size_t sep = text.find("://"); sep != std::string_view::npos;
       sep = text.find("://", sep + 3)) {
    if (sep < done) continue;
    size_t end = sep + 3;
    while (end < text.size() && !EndsUrl(text[end])) ++end;
    const size_t at = text.substr(0, end).rfind('@');
    if (at == std::string_view::npos || at < sep + 3) continue;
    out.append(text.substr(done, sep + 3 - done));
    done = at + 1;
  }
  out.append(text.substr(done));
  return out;
}

}  // namespace ppa
