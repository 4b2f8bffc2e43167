#include "docker_io/registry/upload_headers.h"

#include <cstdint>
#include <limits>

namespace ppa {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// HTTP optional whitespace (spaces and tabs) around a field value.
std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Bytes that never go into a URL we send: controls, space, DEL, non-ASCII,
// and the backslash (which WHATWG parsers read as '/', curl does not).
bool HasForbiddenByte(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '\\') return true;
  }
  return false;
}

// RFC 3986 reg-name characters (unreserved, pct-encoded, sub-delims).
bool IsRegNameChar(char c) {
  static constexpr std::string_view kOthers = "-._~%!$&'()*+,;=";
  return IsAlpha(c) || IsDigit(c) || kOthers.find(c) != std::string_view::npos;
}

// "host", "host:port", "[v6]" or "[v6]:port"; no user information.
bool IsValidAuthority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : authority.substr(1, close - 1)) {
      if (!(IsDigit(c) || (Lower(c) >= 'a' && Lower(c) <= 'f') || c == ':' || c == '.')) {
        return false;
      }
    }
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
    host = authority.substr(0, close + 1);
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
      host = authority.substr(0, colon);
    }
    if (host.empty()) return false;
    for (char c : host) {
      if (!IsRegNameChar(c)) return false;  // '@' (user information) among them
    }
  }
  if (has_port) {
    if (port.empty() || port.size() > 5) return false;
    uint32_t value = 0;
    for (char c : port) {
      if (!IsDigit(c)) return false;
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value < 1 || value > 65535) return false;
  }
  return true;
}

// The length of a scheme ("http" in "http://...") at the start of `s`, or 0
// when `s` does not start with ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
size_t SchemeLength(std::string_view s) {
  if (s.empty() || !IsAlpha(s.front())) return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == ':') return i;
    if (!(IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.')) return 0;
  }
  return 0;
}

// An absolute http(s) URL split up (fragment dropped).
struct AbsoluteUrl {
  std::string scheme;          // lower case: "http" or "https"
  std::string_view authority;  // "host[:port]"
  std::string_view path;       // "" or "/..."
  std::string_view query;      // "" or "?..."
};

std::optional<AbsoluteUrl> SplitAbsolute(std::string_view url) {
  url = url.substr(0, url.find('#'));
  size_t scheme_length = SchemeLength(url);
  if (scheme_length == 0) return std::nullopt;
  AbsoluteUrl out;
  for (char c : url.substr(0, scheme_length)) out.scheme.push_back(Lower(c));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(scheme_length + 1);
  if (rest.substr(0, 2) != "//") return std::nullopt;
  rest.remove_prefix(2);
  size_t authority_end = rest.find_first_of("/?");
  out.authority = rest.substr(0, authority_end);
  if (!IsValidAuthority(out.authority)) return std::nullopt;
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  size_t query = rest.find('?');
  out.path = rest.substr(0, query);
  out.query = query == std::string_view::npos ? std::string_view() : rest.substr(query);
  return out;
}

// RFC 3986 section 5.2.4 on a path that starts with '/'.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      size_t last = out.rfind('/');
      out.resize(last == std::string::npos ? 0 : last);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t next = in.find('/', 1);
      if (in.front() != '/') next = in.find('/');
      std::string_view segment = in.substr(0, next);
      out.append(segment);
      in.remove_prefix(segment.size());
    }
  }
  return out;
}

Status Rejected(std::string why) {
  return InvalidInput("unusable upload Location from the registry: " + std::move(why));
}

}  // namespace

Result<std::string> ResolveUploadLocation(std::string_view request_url, std::string_view location) {
  std::optional<AbsoluteUrl> base;
  if (!HasForbiddenByte(request_url)) base = SplitAbsolute(request_url);
  if (!base) return InvalidInput("upload request URL is not an absolute http(s) URL");

  location = TrimOws(location);
  if (location.empty()) return Rejected("empty");
  if (HasForbiddenByte(location)) {
    return Rejected("it holds a control character, space, backslash or non-ASCII byte");
  }
  location = location.substr(0, location.find('#'));

  // A scheme: only http and https, and only as an absolute URL.
  size_t first_delimiter = location.find_first_of("/?");
  size_t colon = location.find(':');
  if (colon != std::string_view::npos && colon < first_delimiter) {
    if (SchemeLength(location) == 0) {
      return Rejected("a relative path whose first segment holds a ':'");
    }
    std::optional<AbsoluteUrl> target = SplitAbsolute(location);
    if (!target) return Rejected("not an http(s) URL with a valid host and port");
    return target->scheme + "://" + std::string(target->authority) + std::string(target->path) +
           std::string(target->query);
  }

  const std::string origin = base->scheme + "://" + std::string(base->authority);
  if (location.starts_with("//")) {
    std::string_view rest = location.substr(2);
    size_t authority_end = rest.find_first_of("/?");
    if (!IsValidAuthority(rest.substr(0, authority_end))) {
      return Rejected("a network-path reference without a valid host and port");
    }
    return base->scheme + ":" + std::string(location);
  }

  size_t query_start = location.find('?');
  std::string_view path = location.substr(0, query_start);
  std::string_view query =
      query_start == std::string_view::npos ? std::string_view() : location.substr(query_start);
  std::string merged;
  if (path.empty()) {
    // "?query" only, or "#fragment" only (the request's query then stays).
    merged = base->path.empty() ? "/" : std::string(base->path);
    return origin + RemoveDotSegments(merged) + std::string(query.empty() ? base->query : query);
  }
  if (path.front() == '/') {
    merged = std::string(path);
  } else {
    std::string_view dir = base->path.substr(0, base->path.rfind('/') + 1);
    merged = (dir.empty() ? std::string("/") : std::string(dir)) + std::string(path);
  }
  return origin + RemoveDotSegments(merged) + std::string(query);
}

std::optional<uint64_t> ParseUploadRangeEnd(std::string_view range) {
  range = TrimOws(range);
  if (range.size() >= 6 && EqualsIgnoreCase(range.substr(0, 6), "bytes=")) range.remove_prefix(6);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  for (char c : range.substr(0, dash)) {
    if (c != '0') return std::nullopt;
  }
  std::string_view end = range.substr(dash + 1);
  if (end.empty()) return std::nullopt;
  // end + 1 must fit in int64_t: end <= 2^63 - 2.
  constexpr uint64_t kMaxEnd = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - 1;
  uint64_t value = 0;
  for (char c : end) {
    if (!IsDigit(c)) return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (kMaxEnd - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace ppa
