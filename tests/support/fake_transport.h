// FakeTransport: a scripted, recording HttpTransport for unit tests.
//
// Responses are scripted per method + URL path (the URL without scheme,
// host and query), either once (consumed in the order they were added) or
// always. Every request is recorded; a file body is read into the recorded
// request's `body` so tests can check the bytes sent. Thread-safe.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/retry.h"

namespace ppa::testing {

class FakeTransport : public HttpTransport {
 public:
  // Answers the next matching request with `response` (once).
  void Expect(std::string method, std::string path, HttpResponse response);
  // Answers the next matching request with a transport failure (once).
  void ExpectError(std::string method, std::string path, Status error);
  // Answers every matching request not taken by a once-rule.
  void Always(std::string method, std::string path, HttpResponse response);

  Result<HttpResponse> Send(const HttpRequest& request) override;

  std::vector<HttpRequest> requests() const;
  // Scripted once-rules that were never used.
  size_t unused_rules() const;

  // Builds a response; headers given as {"Name", "value"} (lower-cased here).
  static HttpResponse Response(long status, HttpHeaders headers = {}, std::string body = {});
  // The path of `url`: "https://h:1/v2/x?y" -> "/v2/x".
  static std::string PathOf(const std::string& url);

 private:
  struct Rule {
    std::string method;
    std::string path;
    HttpResponse response;
    Status error;
    bool once = true;
  };

  mutable std::mutex mu_;
  std::deque<Rule> rules_;
  std::vector<HttpRequest> requests_;
};

// A RetryClock that never waits: Sleep advances Now and records the wait.
// Thread-safe.
class FakeClock : public RetryClock {
 public:
  std::chrono::steady_clock::time_point Now() override;
  std::chrono::system_clock::time_point WallNow() override;
  void Sleep(std::chrono::milliseconds duration) override;
  // Moves time forward without a recorded sleep.
  void Advance(std::chrono::milliseconds duration);
  std::vector<std::chrono::milliseconds> sleeps() const;

 private:
  mutable std::mutex mu_;
  std::chrono::milliseconds elapsed_{0};
  std::vector<std::chrono::milliseconds> sleeps_;
};

// The value of header `name` (case-insensitive) in `request`, or "".
std::string RequestHeader(const HttpRequest& request, std::string_view name);

}  // namespace ppa::testing
