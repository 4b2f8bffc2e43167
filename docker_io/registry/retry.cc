#include "docker_io/registry/retry.h"

#include <time.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>

namespace ppa {
namespace {

class SystemClock : public RetryClock {
 public:
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() override {
    return std::chrono::system_clock::now();
  }
  void Sleep(std::chrono::milliseconds duration) override {
    std::this_thread::sleep_for(duration);
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<std::chrono::seconds> ParseDeltaSeconds(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return std::chrono::seconds(value);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view s) {
  std::string text(s);
  tm parts{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
  if (end == nullptr || *end != '\0') return std::nullopt;
  time_t t = timegm(&parts);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
}

std::shared_ptr<RetryClock> SystemRetryClock() {
  static const std::shared_ptr<RetryClock> clock = std::make_shared<SystemClock>();
  return clock;
}

bool IsRetryableStatus(long status) {
  switch (status) {
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double jitter01) {
  int64_t delay = policy.base_delay.count();
  for (int i = 1; i < attempt && delay < policy.max_delay.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, policy.max_delay.count());
  double factor = 0.5 + 0.5 * std::clamp(jitter01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(delay) * factor));
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (auto seconds = ParseDeltaSeconds(value)) return seconds;
  auto date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(*date - now);
}

Result<HttpResponse> SendRetrying(const RetryPolicy& policy, RetryClock& clock,
                                  const std::string& what,
                                  const std::function<Result<HttpResponse>()>& attempt,
                                  const std::function<double()>& jitter01,
                                  const std::function<Status(const HttpResponse&)>& error_for) {
  using Millis = std::chrono::milliseconds;
  auto seconds = [](Millis d) { return std::to_string((d.count() + 500) / 1000) + "s"; };
  // The server's Retry-After when it sent one, else the backoff.
  auto next_delay = [&](int n, const HttpResponse* response) {
    if (response != nullptr) {
      auto after = ParseRetryAfter(response->Header("retry-after"), clock.WallNow());
      if (after) return std::chrono::duration_cast<Millis>(*after);
    }
    return BackoffDelay(policy, n, jitter01());
  };
  const auto start = clock.Now();
  int failures = 0;          // retryable statuses and transient network failures
  int connect_failures = 0;  // connections that could not be opened
  Millis connect_waited{0};
  for (int n = 1;; ++n) {
    Result<HttpResponse> got = attempt();
    const bool connect = !got.ok() && IsConnectNetworkError(got.status());
    const bool transient = !got.ok() && IsTransientNetworkError(got.status());
    const bool retryable_status = got.ok() && IsRetryableStatus(got->status);
    if (!connect && !transient && !retryable_status) return got;
    Millis spent = std::chrono::duration_cast<Millis>(clock.Now() - start);
    Millis delay;
    bool out_of_attempts;
    bool out_of_time;
    if (connect) {
      // The server is not there (yet): wait for it, within its own budget.
      ++connect_failures;
      Millis left = policy.max_connect_wait - connect_waited;
      delay = std::min(next_delay(connect_failures, nullptr), std::max(left, Millis(0)));
      out_of_attempts = connect_failures >= policy.max_connect_attempts;
      out_of_time = left <= Millis(0) || spent + delay > policy.max_total;
    } else {
      ++failures;
      delay = next_delay(failures, got.ok() ? &*got : nullptr);
      out_of_attempts = failures >= policy.max_attempts;
      out_of_time = spent + delay > policy.max_total;
    }
    if (out_of_attempts || out_of_time) {
      if (got.ok() && !error_for) return got;
      std::string tail = " (gave up after " + std::to_string(n) + " attempt(s) in " +
                         seconds(spent) +
                         (out_of_time && !out_of_attempts && !connect
                              ? "; the next wait of " + seconds(delay) + " exceeds the time limit"
                              : "") +
                         ")";
      Status error = got.ok() ? error_for(*got) : got.status().WithContext(what + " failed");
      return Status(error.code(), error.message() + tail, error.hint());
    }
    if (connect) connect_waited += delay;
    spdlog::debug("{}: {}; retrying in {} ms", what,
                  got.ok() ? std::to_string(got->status) : got.status().message(),
                  delay.count());
    clock.Sleep(delay);
  }
}

}  // namespace ppa
