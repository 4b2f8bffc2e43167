// What every HttpTransport enforces on every request, as pure functions and
// one small thread-safe record, so that the rules live in one place and are
// tested on their own:
//  - credentials never travel over plain HTTP the user did not ask for
//    (CheckPlainHttp);
//  - every request has limits in time (RequestLimitsFor: connect, silence,
//    overall deadline) and in the size of the answer held in memory;
//  - a server that times out twice in a row is given up on for the rest of
//    the run (SilentServers), so a silent server costs at most about two
//    timeouts, retries included.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "docker_io/registry/http_transport.h"

namespace ppa {

// "host:port" of an absolute http(s) URL, lower-cased, with the scheme's
// default port spelled out and any user info dropped ("" when `url` has no
// "scheme://host"). IPv6 literals keep their brackets: "[::1]:5000".
std::string UrlHostPort(std::string_view url);

// The host name alone ("reg.example", "[::1]"), lower-cased; "" as above.
std::string UrlHostName(std::string_view url);

// True for an "http://" URL (scheme case-insensitive).
bool IsPlainHttpUrl(std::string_view url);

// True when `request` carries credentials: an Authorization header (any
// case) or `carries_secret`.
bool CarriesCredentials(const HttpRequest& request);

// OK, or the refusal to send `request`: it carries credentials to an
// http:// URL and `plain_http_allowed` is not set. The message names the
// method and host:port, the hint what to do; neither holds a secret.
Status CheckPlainHttp(const HttpRequest& request);

// The refusal to follow a server reached over HTTPS to `url`, an http://
// URL it handed out (an upload Location): nothing is sent there.
Status PlainHttpDowngradeError(const std::string& method, const std::string& url);

// The limits of one request. With T = TransportOptions::timeout_seconds and
// B the bytes of the request body:
//  - connect:    T (TCP and TLS handshake);
//  - silence:    T with no byte moving either way;
//  - after_body: once the whole body is sent, the wait for the first byte
//                of the answer: T + B / kServerCheckBytesPerSecond (a
//                registry checks the digest of a large blob before it
//                answers);
//  - deadline:   the whole exchange: T + B / kFloorBytesPerSecond +
//                B / kServerCheckBytesPerSecond. A request without a body
//                (or a small one) must complete within about T; a blob
//                upload is never cut for being large unless it runs slower
//                than the floor rate on average, and a stalled one is cut
//                by `silence`.
//  - max_response_body: the request's own cap, else the transport's.
struct RequestLimits {
  std::chrono::milliseconds connect{0};
  std::chrono::milliseconds silence{0};
  std::chrono::milliseconds after_body{0};
  std::chrono::milliseconds deadline{0};
  size_t max_response_body = 0;
};

// 128 KiB/s (about 1 Mbit/s): slower than any link a registry is pushed over.
inline constexpr uint64_t kFloorBytesPerSecond = 128 * 1024;
// 32 MiB/s: a registry re-reading a blob from slow storage to check its digest.
inline constexpr uint64_t kServerCheckBytesPerSecond = 32 * 1024 * 1024;
// Timeouts in a row after which a server is given up on.
inline constexpr int kTimeoutsBeforeGivingUp = 2;

RequestLimits RequestLimitsFor(const TransportOptions& options, uint64_t body_bytes,
                               size_t request_max_response_body);

// "4 MiB", "512 KiB", "100 bytes".
std::string DescribeBytes(uint64_t bytes);

// A kNetwork Status for an answer longer than `limit` bytes (not transient:
// sending the request again gets the same answer). The message names
// `method` and `server` (host:port).
Status ResponseTooLargeError(const std::string& method, const std::string& server, size_t limit);
bool IsResponseTooLarge(const Status& status);

// Per server (host:port): timeouts in a row, reset by any HTTP answer from
// that server. Once a server has timed out kTimeoutsBeforeGivingUp times in
// a row it stays given up on (the run does not wait for it again).
// Thread-safe.
class SilentServers {
 public:
  // Any HTTP answer arrived from `server`.
  void Answered(const std::string& server) EXCLUDES(mu_);
  // A request to `server` timed out; true when the server is now given up on.
  bool TimedOut(const std::string& server) EXCLUDES(mu_);
  bool GivenUp(const std::string& server) const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<std::string, int> timeouts_in_a_row_ GUARDED_BY(mu_);
};

}  // namespace ppa
