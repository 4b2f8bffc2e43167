#include "docker_io/registry/transport_policy.h"

#include <strings.h>

#include <algorithm>
#include <cctype>

#include "base/ascii.h"

namespace ppa {
namespace {

constexpr std::string_view kTooLargeMarker = " (not read further)";

struct Authority {
  std::string scheme;  // lower case
  std::string host;    // lower case, IPv6 in brackets
  std::string port;    // explicit, else the scheme's default
};

// Scheme, host and port of an absolute URL; empty host when there is none.
Authority ParseAuthority(std::string_view url) {
  Authority out;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return out;
  out.scheme = AsciiLower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  size_t bracket = authority.rfind(']');
  size_t colon = authority.rfind(':');
  bool has_port = colon != std::string_view::npos &&
                  (bracket == std::string_view::npos || colon > bracket);
  out.host = AsciiLower(has_port ? authority.substr(0, colon) : authority);
  out.port = has_port ? std::string(authority.substr(colon + 1)) : "";
  if (out.port.empty()) out.port = out.scheme == "http" ? "80" : "443";
  return out;
}

std::chrono::milliseconds Seconds(uint64_t seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::min<uint64_t>(seconds, 1ull << 40)) *
                                   1000);
}

// ceil(bytes / rate) seconds.
uint64_t SecondsAt(uint64_t bytes, uint64_t rate) { return (bytes + rate - 1) / rate; }

}  // namespace

std::string UrlHostPort(std::string_view url) {
  Authority a = ParseAuthority(url);
  return a.host.empty() ? "" : a.host + ":" + a.port;
}

std::string UrlHostName(std::string_view url) { return ParseAuthority(url).host; }

bool IsPlainHttpUrl(std::string_view url) {
  return url.size() >= 7 && strncasecmp(url.data(), "http://", 7) == 0;
}

bool CarriesCredentials(const HttpRequest& request) {
  if (request.carries_secret) return true;
  return std::any_of(request.headers.begin(), request.headers.end(), [](const auto& header) {
    return strcasecmp(header.first.c_str(), "authorization") == 0;
  });
}

Status CheckPlainHttp(const HttpRequest& request) {
  if (!IsPlainHttpUrl(request.url) || request.plain_http_allowed || !CarriesCredentials(request)) {
    return Status::Ok();
  }
  const std::string server = UrlHostPort(request.url);
  return NetworkError(
      request.method + " " + server + ": refused to send credentials over plain HTTP to http://" +
          server,
      "the registry or server pointed ppa-import at http://" + server +
          " (a token realm, a redirect or an upload location), and plain HTTP was not asked "
          "for that host: have " + server +
          " served over HTTPS; --plain-http (or an http:// URL) allows plain HTTP only for "
          "the host it names");
}

Status PlainHttpDowngradeError(const std::string& method, const std::string& url) {
  const std::string server = UrlHostPort(url);
  return NetworkError(method + " " + server + ": refused to leave HTTPS for plain HTTP (http://" +
                          server + ", a URL the registry handed out)",
                      "the registry (or a proxy in front of it) advertises http:// URLs although "
                      "it is reached over HTTPS: configure it to advertise https:// (behind a "
                      "TLS proxy: X-Forwarded-Proto, or relative URLs)");
}

RequestLimits RequestLimitsFor(const TransportOptions& options, uint64_t body_bytes,
                               size_t request_max_response_body) {
  const uint64_t t = static_cast<uint64_t>(std::max<long>(options.timeout_seconds, 1));
  const uint64_t check = SecondsAt(body_bytes, kServerCheckBytesPerSecond);
  RequestLimits limits;
  limits.connect = Seconds(t);
  limits.silence = Seconds(t);
  limits.after_body = Seconds(t + check);
  limits.deadline = Seconds(t + SecondsAt(body_bytes, kFloorBytesPerSecond) + check);
  limits.max_response_body =
      request_max_response_body > 0 ? request_max_response_body : options.max_response_body;
  return limits;
}

std::string DescribeBytes(uint64_t bytes) {
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Status ResponseTooLargeError(const std::string& method, const std::string& server, size_t limit) {
  return NetworkError(method + " " + server + ": the answer is longer than " +
                          DescribeBytes(limit) + std::string(kTooLargeMarker),
                      "no registry or ChartMuseum answer is that long: check that " + server +
                          " is the server meant (not a proxy or portal page)");
}

bool IsResponseTooLarge(const Status& status) {
  return status.code() == StatusCode::kNetwork && status.message().ends_with(kTooLargeMarker);
}

void SilentServers::Answered(const std::string& server) {
  MutexLock lock(&mu_);
  auto it = timeouts_in_a_row_.find(server);
  if (it != timeouts_in_a_row_.end() && it->second < kTimeoutsBeforeGivingUp) {
    timeouts_in_a_row_.erase(it);
  }
}

bool SilentServers::TimedOut(const std::string& server) {
  MutexLock lock(&mu_);
  return ++timeouts_in_a_row_[server] >= kTimeoutsBeforeGivingUp;
}

bool SilentServers::GivenUp(const std::string& server) const {
  MutexLock lock(&mu_);
  auto it = timeouts_in_a_row_.find(server);
  return it != timeouts_in_a_row_.end() && it->second >= kTimeoutsBeforeGivingUp;
}

}  // namespace ppa
