#include "tests/support/fake_transport.h"

#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace ppa::testing {
namespace {

// Reads a file region; "" with an error note when it cannot.
std::string ReadRegion(const FileBody& file) {
  int fd = open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<cannot open " + file.path + ">";
  std::string out;
  char buffer[4096];
  uint64_t offset = file.offset;
  while (file.until_eof || out.size() < file.size) {
    size_t want = sizeof buffer;
    if (!file.until_eof) want = std::min<uint64_t>(want, file.size - out.size());
    ssize_t n = pread(fd, buffer, want, static_cast<off_t>(offset));
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  close(fd);
  return out;
}

}  // namespace

void FakeTransport::Expect(std::string method, std::string path, HttpResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(
      Rule{std::move(method), std::move(path), std::move(response), Status::Ok(), true});
}

void FakeTransport::ExpectError(std::string method, std::string path, Status error) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(Rule{std::move(method), std::move(path), {}, std::move(error), true});
}

void FakeTransport::Always(std::string method, std::string path, HttpResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back(
      Rule{std::move(method), std::move(path), std::move(response), Status::Ok(), false});
}

Result<HttpResponse> FakeTransport::Send(const HttpRequest& request) {
  HttpRequest recorded = request;
  if (request.file_body) recorded.body = ReadRegion(*request.file_body);
  std::string path = PathOf(request.url);
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(std::move(recorded));
  auto matches = [&](const Rule& r) { return r.method == request.method && r.path == path; };
  auto once = std::find_if(rules_.begin(), rules_.end(),
                           [&](const Rule& r) { return r.once && matches(r); });
  if (once != rules_.end()) {
    Rule rule = std::move(*once);
    rules_.erase(once);
    if (!rule.error.ok()) return rule.error;
    rule.response.effective_url = request.url;
    return rule.response;
  }
  auto always = std::find_if(rules_.begin(), rules_.end(), matches);
  if (always != rules_.end()) {
    HttpResponse response = always->response;
    response.effective_url = request.url;
    return response;
  }
  return NetworkError("fake transport: no response scripted for " + request.method + " " +
                      request.url);
}

std::vector<HttpRequest> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeTransport::unused_rules() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<size_t>(
      std::count_if(rules_.begin(), rules_.end(), [](const Rule& r) { return r.once; }));
}

HttpResponse FakeTransport::Response(long status, HttpHeaders headers, std::string body) {
  HttpResponse response;
  response.status = status;
  for (auto& [name, value] : headers) {
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  response.headers = std::move(headers);
  response.body = std::move(body);
  return response;
}

std::string FakeTransport::PathOf(const std::string& url) {
  size_t start = 0;
  size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    start = url.find('/', scheme + 3);
    if (start == std::string::npos) return "/";
  }
  size_t end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::chrono::steady_clock::time_point FakeClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::chrono::steady_clock::time_point(elapsed_);
}

std::chrono::system_clock::time_point FakeClock::WallNow() {
  std::lock_guard<std::mutex> lock(mu_);
  // 2015-10-21 07:28:00 UTC plus the fake elapsed time.
  return std::chrono::system_clock::from_time_t(1445412480) + elapsed_;
}

void FakeClock::Sleep(std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mu_);
  elapsed_ += duration;
  sleeps_.push_back(duration);
}

void FakeClock::Advance(std::chrono::milliseconds duration) {
  std::lock_guard<std::mutex> lock(mu_);
  elapsed_ += duration;
}

std::vector<std::chrono::milliseconds> FakeClock::sleeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sleeps_;
}

std::string RequestHeader(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key.size() == name.size() && strncasecmp(key.c_str(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

}  // namespace ppa::testing
