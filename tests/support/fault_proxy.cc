#include "tests/support/fault_proxy.h"

#include "docker_io/registry_errors.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace ppa::test {
namespace {

constexpr auto kPollStep = std::chrono::milliseconds(200);
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr size_t kMaxHead = 64 * 1024;
constexpr uint64_t kUnlimited = UINT64_MAX;

// Closes with an RST instead of a FIN: the peer sees "connection reset".
void ResetAndClose(int fd) {
  if (fd < 0) return;
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

bool SendAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n, size -= static_cast<size_t>(n);
  }
  return true;
}

// Waits up to one poll step for `fd` to be readable; true when it is.
bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(kPollStep.count())) > 0;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}


Result<int> ConnectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return NetworkError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int e = errno;
    ::close(fd);
    return NetworkError(std::string("connect upstream: ") + std::strerror(e));
  }
  return fd;
}

}  // namespace

// A parsed request head plus the body bytes read along with it.
struct FaultProxy::Request {
  std::string method;
  std::string path;
  std::string head;      // rewritten head to send upstream (ends with CRLF CRLF)
  std::string leftover;  // bytes after the head already read from the client
  bool has_body = false;
  uint64_t content_length = 0;  // when not chunked
  bool chunked = false;
};

namespace {

// Parses the head in `raw` (up to and including CRLF CRLF), forcing
// `Connection: close`. False when malformed.
bool ParseHead(const std::string& raw, std::string& method, std::string& path, std::string& head,
               uint64_t& content_length, bool& chunked) {
  std::istringstream in(raw);
  std::string line;
  if (!std::getline(in, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::istringstream first(line);
  std::string version;
  if (!(first >> method >> path >> version)) return false;
  head = line + "\r\n";
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string name = Lower(line.substr(0, colon));
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (name == "connection" || name == "keep-alive" || name == "proxy-connection") continue;
    if (name == "content-length") content_length = std::strtoull(value.c_str(), nullptr, 10);
    if (name == "transfer-encoding" && Lower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
    head += line + "\r\n";
  }
  head += "Connection: close\r\n\r\n";
  return true;
}

}  // namespace

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int upstream_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return NetworkError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    return NetworkError(std::string("fault proxy: cannot listen: ") + std::strerror(e));
  }
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(fd, ntohs(addr.sin_port), upstream_port));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultProxy::FaultProxy(int listen_fd, int port, int upstream_port)
    : listen_fd_(listen_fd), port_(port), upstream_port_(upstream_port) {}

FaultProxy::~FaultProxy() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
}

std::string FaultProxy::host() const { return "127.0.0.1:" + std::to_string(port_); }

void FaultProxy::SetRules(std::vector<FaultRule> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
  for (auto& r : rules) rules_.push_back(RuleState{std::move(r)});
}

int FaultProxy::Injected(FaultKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = injected_.find(kind);
  return it == injected_.end() ? 0 : it->second;
}

std::optional<FaultRule> FaultProxy::Decide(bool connection_level, const std::string& method,
                                            const std::string& path, bool has_body) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& state : rules_) {
    const FaultRule& r = state.rule;
    if ((r.kind == FaultKind::kRefuse) != connection_level) continue;
    if (!connection_level) {
      if (!r.method.empty() && r.method != method) continue;
      if (!r.path_contains.empty() && path.find(r.path_contains) == std::string::npos) continue;
      if (r.kind == FaultKind::kResetBody && !has_body) continue;
    }
    ++state.matched;
    if (state.matched % std::max(1, r.every) != 0) continue;
    if (r.limit >= 0 && state.fired >= r.limit) continue;
    ++state.fired;
    ++injected_[r.kind];
    return r;
  }
  return std::nullopt;
}

void FaultProxy::AcceptLoop() {
  while (!stop_) {
    if (!Readable(listen_fd_)) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    bool refuse = Decide(/*connection_level=*/true, "", "", false).has_value();
    std::lock_guard<std::mutex> lock(mu_);
    connections_.emplace_back([this, client, refuse] {
      if (refuse) return RefuseAfterFirstBytes(client);
      Serve(client);
    });
  }
}

void FaultProxy::RefuseAfterFirstBytes(int client_fd) {
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    if (Readable(client_fd)) {
      (void)::recv(client_fd, buf, sizeof(buf), 0);
      break;
    }
  }
  ResetAndClose(client_fd);
}

void FaultProxy::Serve(int client_fd) {
  std::string raw;
  size_t end = std::string::npos;
  auto deadline = std::chrono::steady_clock::now() + kIdleTimeout;
  char buf[16384];
  while (end == std::string::npos && !stop_ && std::chrono::steady_clock::now() < deadline &&
         raw.size() < kMaxHead) {
    if (!Readable(client_fd)) continue;
    ssize_t n = ::recv(client_fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    end = raw.find("\r\n\r\n");
  }
  Request request;
  if (end == std::string::npos ||
      !ParseHead(raw.substr(0, end + 4), request.method, request.path, request.head,
                 request.content_length, request.chunked)) {
    ::close(client_fd);
    return;
  }
  request.leftover = raw.substr(end + 4);
  request.has_body = request.chunked || request.content_length > 0;
  ++requests_;
  std::optional<FaultRule> fault = Decide(false, request.method, request.path, request.has_body);
  if (fault && fault->kind == FaultKind::kStatus) return Answer(client_fd, *fault);
  if (fault && fault->kind == FaultKind::kStall) std::this_thread::sleep_for(fault->stall);
  uint64_t budget = kUnlimited;
  if (fault && fault->kind == FaultKind::kResetBody) {
    budget = request.chunked ? fault->reset_after_bytes
                             : std::min(fault->reset_after_bytes, request.content_length / 2);
  }
  Forward(client_fd, request, budget);
}

void FaultProxy::Forward(int client_fd, const Request& request, uint64_t body_budget) {
  auto upstream = ConnectLoopback(upstream_port_);
  if (!upstream.ok()) {  // the registry is down: the client sees a reset
    ResetAndClose(client_fd);
    return;
  }
  int up = *upstream;
  auto reset_both = [&] {
    ResetAndClose(up);
    ResetAndClose(client_fd);
  };
  // Sends client bytes upstream within the budget; false once it is spent.
  auto send_up = [&](const char* data, size_t size) {
    size_t allowed = static_cast<size_t>(std::min<uint64_t>(size, body_budget));
    if (body_budget != kUnlimited) body_budget -= allowed;
    if (!SendAll(up, data, allowed)) return false;
    return allowed == size;
  };
  if (!SendAll(up, request.head.data(), request.head.size()) ||
      !send_up(request.leftover.data(), request.leftover.size())) {
    return reset_both();
  }
  char buf[65536];
  auto last_activity = std::chrono::steady_clock::now();
  bool client_open = true;
  while (!stop_ && std::chrono::steady_clock::now() - last_activity < kIdleTimeout) {
    pollfd fds[2] = {{up, POLLIN, 0}, {client_open ? client_fd : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(kPollStep.count())) <= 0) continue;
    last_activity = std::chrono::steady_clock::now();
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(client_fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        client_open = false;  // the client is done sending (or gone): wait for the answer
      } else if (!send_up(buf, static_cast<size_t>(n))) {
        return reset_both();
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::recv(up, buf, sizeof(buf), 0);
      if (n <= 0) break;  // the registry answered and closed (Connection: close)
      if (!SendAll(client_fd, buf, static_cast<size_t>(n))) break;
    }
  }
  ::close(up);
  ::shutdown(client_fd, SHUT_WR);
  ::close(client_fd);
}

void FaultProxy::Answer(int client_fd, const FaultRule& rule) {
  std::string code = rule.status == 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE";
  std::string body = "{\"errors\":[{\"code\":\"" + code +
                     "\",\"message\":\"fault injected by the test proxy\",\"detail\":null}]}";
  std::string response =
      "HTTP/1.1 " + std::to_string(rule.status) + " " + ReasonPhrase(rule.status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n";
  if (!rule.retry_after.empty()) response += "Retry-After: " + rule.retry_after + "\r\n";
  response += "\r\n" + body;
  SendAll(client_fd, response.data(), response.size());
  ::shutdown(client_fd, SHUT_WR);
  // Drain what the client still sends (a body) so closing does not reset
  // the connection before it has read the answer.
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!stop_ && std::chrono::steady_clock::now() < deadline) {
    if (!Readable(client_fd)) continue;
    if (::recv(client_fd, buf, sizeof(buf), 0) <= 0) break;
  }
  ::close(client_fd);
}

}  // namespace ppa::test
