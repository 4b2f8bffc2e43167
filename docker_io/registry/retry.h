// Retry policy of the registry client: which answers are worth sending a
// request again for, how long to wait between attempts (exponential backoff
// with jitter, or the server's Retry-After), and a clock behind a tiny
// interface so unit tests never really wait.
//
// Pure functions are thread-safe. SystemRetryClock() is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "docker_io/registry/http_transport.h"

namespace ppa {

// Time as the registry client sees it. Implementations must be thread-safe.
class RetryClock {
 public:
  virtual ~RetryClock() = default;
  // Monotonic time: backoff budgets and token expiry.
  virtual std::chrono::steady_clock::time_point Now() = 0;
  // Wall-clock time: only to read a Retry-After HTTP date.
  virtual std::chrono::system_clock::time_point WallNow() = 0;
  virtual void Sleep(std::chrono::milliseconds duration) = 0;
};

// The real clock (std::chrono clocks, std::this_thread::sleep_for).
std::shared_ptr<RetryClock> SystemRetryClock();

// How often, and how long, one request is sent again. Two failure classes
// have separate budgets:
//  - the server answered badly (a retryable status, IsRetryableStatus) or
//    the connection broke (IsTransientNetworkError): at most `max_attempts`
//    sends counting the first;
//  - no connection could be opened at all (IsConnectNetworkError: refused,
//    no route; the registry is down, e.g. restarting): retried with the same
//    backoff, but only while the waits for such failures together stay
//    within `max_connect_wait` (the last wait is shortened to fit it), and
//    at most `max_connect_attempts` such failures. With the defaults a
//    registry that is back within ~10 s is survived, and one that never
//    comes back costs ~10 s per request.
// `max_total` bounds all waits of one request together, of both classes.
struct RetryPolicy {
  int max_attempts = 5;                          // sends of one request, first included
  std::chrono::milliseconds base_delay{500};     // before the 2nd attempt (then x2, x4, ...)
  std::chrono::milliseconds max_delay{30000};    // one wait is never longer
  std::chrono::milliseconds max_total{180000};   // all waits of one request together
  int max_connect_attempts = 8;                  // connect failures tolerated (1: none retried)
  std::chrono::milliseconds max_connect_wait{10000};  // all waits after connect failures
};

// 408, 429, 500, 502, 503, 504.
bool IsRetryableStatus(long status);

// The wait before attempt `attempt` + 1 (attempt counts from 1):
// base_delay * 2^(attempt-1), capped at max_delay, then scaled by a jitter
// factor in [0.5, 1.0] taken from `jitter01` in [0, 1].
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double jitter01);

// An HTTP date in IMF-fixdate form ("Wed, 21 Oct 2015 07:28:00 GMT"), the
// only form HTTP/1.1 senders may generate (Retry-After, Date). nullopt when
// malformed.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view s);

// A Retry-After header value: delta-seconds ("120") or an HTTP date
// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`; a past date means 0).
// nullopt when absent or malformed.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now);

// One request under `policy`: `attempt` sends it; a retryable answer or
// network failure is sent again after the backoff (or the server's
// Retry-After), as RetryPolicy says. Returns the first answer that is not
// retryable, or, once the budgets are spent, the failure: the network error,
// or `error_for` of the last answer, with "(gave up after N attempt(s) in
// Xs)" added (without `error_for`, that last answer itself). `what` names the
// request in those messages and the debug log. `jitter01` gives numbers in
// [0, 1].
Result<HttpResponse> SendRetrying(const RetryPolicy& policy, RetryClock& clock,
                                  const std::string& what,
                                  const std::function<Result<HttpResponse>()>& attempt,
                                  const std::function<double()>& jitter01,
                                  const std::function<Status(const HttpResponse&)>& error_for);

}  // namespace ppa
