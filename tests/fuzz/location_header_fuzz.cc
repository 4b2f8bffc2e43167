// Fuzzes ResolveUploadLocation. The input is split at its first '\n' into
// the request URL and the Location value (no '\n': the Location, resolved
// against a fixed upload URL). Asserts the contract of
// docker_io/registry/upload_headers.h: every accepted Location becomes an absolute
// http(s) URL with a plain host (no user information), with nothing that
// cannot go on a request line, that resolves to itself again; a Location
// without scheme or authority never leaves the request's origin and has no
// dot segments; its query is kept verbatim; errors are one line that never
// quotes the Location.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "docker_io/registry/upload_headers.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr std::string_view kDefaultRequest = "https://reg.example:5000/v2/ns/app/blobs/uploads/";

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "scheme://authority" of an absolute URL, scheme lower-cased ("" if none).
std::string OriginOf(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return {};
  std::string out;
  for (char c : url.substr(0, sep)) out.push_back(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  std::string_view rest = url.substr(sep + 3);
  return out + "://" + std::string(rest.substr(0, rest.find_first_of("/?#")));
}

bool HasDotSegment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "." || part == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view request = kDefaultRequest;
  std::string_view location = input;
  size_t newline = input.find('\n');
  if (newline != std::string_view::npos) {
    request = input.substr(0, newline);
    location = input.substr(newline + 1);
  }

  ppa::Result<std::string> got = ppa::ResolveUploadLocation(request, location);
  if (!got.ok()) {
    PPA_FUZZ_CHECK(got.status().code() == ppa::StatusCode::kInvalidInput);
    const std::string& message = got.status().message();
    PPA_FUZZ_CHECK(message.find('\n') == std::string::npos);
    // The fixed messages hold no '/': a Location with one is never quoted.
    PPA_FUZZ_CHECK(location.find('/') == std::string_view::npos ||
                   message.find(location) == std::string::npos);
    return 0;
  }
  const std::string& url = *got;

  // Absolute http(s), a non-empty authority without user information.
  PPA_FUZZ_CHECK(url.starts_with("http://") || url.starts_with("https://"));
  std::string origin = OriginOf(url);
  std::string_view authority = std::string_view(origin).substr(origin.find("://") + 3);
  PPA_FUZZ_CHECK(!authority.empty());
  PPA_FUZZ_CHECK(authority.find('@') == std::string_view::npos);
  for (char ch : url) {
    auto c = static_cast<unsigned char>(ch);
    PPA_FUZZ_CHECK(c > 0x20 && c < 0x7f && c != '\\' && c != '#');
  }

  // Absolute: resolving it again, against anything, changes nothing.
  ppa::Result<std::string> again = ppa::ResolveUploadLocation("http://other.example/x/y", url);
  PPA_FUZZ_CHECK(again.ok() && *again == url);

  std::string_view trimmed = TrimOws(location);
  std::string_view no_fragment = trimmed.substr(0, trimmed.find('#'));
  size_t colon = no_fragment.find(':');
  bool has_scheme = colon != std::string_view::npos && colon < no_fragment.find_first_of("/?");
  bool has_authority = no_fragment.starts_with("//");
  if (!has_scheme && !has_authority) {
    // A path or query: same origin as the request, no dot segments.
    PPA_FUZZ_CHECK(origin == OriginOf(request));
    std::string_view rest = std::string_view(url).substr(origin.size());
    PPA_FUZZ_CHECK(rest.starts_with("/"));
    PPA_FUZZ_CHECK(!HasDotSegment(rest.substr(0, rest.find('?'))));
  }
  size_t query = no_fragment.find('?');
  if (query != std::string_view::npos) {
    PPA_FUZZ_CHECK(std::string_view(url).ends_with(no_fragment.substr(query)));
  }
  return 0;
}
