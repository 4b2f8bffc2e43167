#include "tests/support/fault_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <sstream>

#include "docker_io/registry/auth_challenge.h"
#include "docker_io/registry/registry_errors.h"

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

// A listening socket on 127.0.0.1:port (0: a free one); SO_REUSEADDR, so
// the same port can be bound again while old connections linger.
Result<int> ListenLoopback(int port, int* bound_port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return NetworkError(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    return NetworkError(std::string("fault proxy: cannot listen on 127.0.0.1:") +
                        std::to_string(port) + ": " + std::strerror(e));
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

// The repository of a "/v2/<name>/(blobs|manifests|tags)/..." path, or "".
std::string RepositoryOf(std::string path) {
  path = path.substr(0, path.find('?'));
  if (path.rfind("/v2/", 0) != 0) return {};
  size_t end = std::string::npos;
  for (const char* marker : {"/blobs/", "/manifests/", "/tags/"}) {
    size_t at = path.rfind(marker);
    if (at != std::string::npos && at > 4 && (end == std::string::npos || at > end)) end = at;
  }
  return end == std::string::npos ? std::string() : path.substr(4, end - 4);
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
  std::string bearer;  // the token of "Authorization: Bearer <token>", or ""
};

namespace {

// Parses the head in `raw` (up to and including CRLF CRLF), forcing
// `Connection: close`. False when malformed.
bool ParseHead(const std::string& raw, std::string& method, std::string& path, std::string& head,
               uint64_t& content_length, bool& chunked, std::string& bearer) {
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
    if (name == "authorization" && Lower(value.substr(0, 7)) == "bearer ") {
      bearer = value.substr(7);
      while (!bearer.empty() && (bearer.back() == ' ' || bearer.back() == '\t')) bearer.pop_back();
    }
    head += line + "\r\n";
  }
  head += "Connection: close\r\n\r\n";
  return true;
}

}  // namespace

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kRefuse:
      return "refuse";
    case FaultKind::kResetBody:
      return "reset-body";
    case FaultKind::kStatus:
      return "status";
    case FaultKind::kStall:
      return "stall";
    case FaultKind::kExpireToken:
      return "expire-token";
    case FaultKind::kDeclineMount:
      return "decline-mount";
  }
  return "?";
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(int upstream_port, int listen_port) {
  int port = 0;
  PPA_ASSIGN_OR_RETURN(int fd, ListenLoopback(listen_port, &port));
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(fd, port, upstream_port));
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

FaultProxy::FaultProxy(int listen_fd, int port, int upstream_port)
    : listen_fd_(listen_fd), port_(port), upstream_port_(upstream_port) {}

FaultProxy::~FaultProxy() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<Connection> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    connections.swap(connections_);
  }
  for (auto& c : connections) c.thread.join();
}

std::string FaultProxy::host() const { return "127.0.0.1:" + std::to_string(port_); }

void FaultProxy::SetRules(std::vector<FaultRule> rules) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
  for (auto& r : rules) rules_.push_back(RuleState{std::move(r)});
}

std::vector<std::string> FaultProxy::BearerTokensSeen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {tokens_seen_.begin(), tokens_seen_.end()};
}

bool FaultProxy::SetRefusing(bool refusing) {
  want_refusing_ = refusing;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (refusing_.load() != refusing) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::vector<int> FaultProxy::RuleFired() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> out;
  for (const auto& state : rules_) out.push_back(state.fired);
  return out;
}

int FaultProxy::Injected(FaultKind kind) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = injected_.find(kind);
  return it == injected_.end() ? 0 : it->second;
}

std::optional<FaultRule> FaultProxy::Decide(bool connection_level, const std::string& method,
                                            const std::string& path, bool has_body,
                                            const std::string& bearer) {
  std::lock_guard<std::mutex> lock(mu_);
  // A token expired earlier stays expired while a kExpireToken rule is in
  // the schedule.
  bool first_use = false;
  if (!bearer.empty()) {
    first_use = tokens_seen_.insert(bearer).second;
    if (tokens_expired_.count(bearer) != 0) {
      for (const auto& state : rules_) {
        if (state.rule.kind != FaultKind::kExpireToken) continue;
        ++injected_[FaultKind::kExpireToken];
        return state.rule;
      }
    }
  }
  for (auto& state : rules_) {
    const FaultRule& r = state.rule;
    if ((r.kind == FaultKind::kRefuse) != connection_level) continue;
    if (!connection_level) {
      if (!r.method.empty() && r.method != method) continue;
      if (!r.path_contains.empty() && path.find(r.path_contains) == std::string::npos) continue;
      if (r.kind == FaultKind::kResetBody && !has_body) continue;
      if (r.kind == FaultKind::kExpireToken &&
          (bearer.empty() || first_use || (r.realm.empty() && learned_realm_.empty()))) {
        continue;
      }
    }
    ++state.matched;
    if (state.matched % std::max(1, r.every) != 0) continue;
    if (r.limit >= 0 && state.fired >= r.limit) continue;
    ++state.fired;
    ++injected_[r.kind];
    if (r.kind == FaultKind::kExpireToken) tokens_expired_.insert(bearer);
    return r;
  }
  return std::nullopt;
}

std::string FaultProxy::Challenge(const FaultRule& rule, const std::string& method,
                                  const std::string& path) const {
  std::string realm = rule.realm;
  std::string service = rule.service;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (realm.empty()) realm = learned_realm_;
    if (service.empty()) service = learned_service_;
  }
  std::string challenge = "Bearer realm=\"" + realm + "\"";
  if (!service.empty()) challenge += ",service=\"" + service + "\"";
  // The actions Distribution asks for (registry/handlers/app.go).
  std::string repo = RepositoryOf(path);
  std::string actions = method == "GET" || method == "HEAD" ? "pull"
                        : method == "DELETE"                ? "delete"
                                                            : "pull,push";
  if (!repo.empty()) challenge += ",scope=\"repository:" + repo + ":" + actions + "\"";
  return challenge + ",error=\"invalid_token\"";
}

void FaultProxy::LearnChallenge(const std::string& response_head) {
  size_t line_end = response_head.find("\r\n");
  std::istringstream first(response_head.substr(0, line_end));
  std::string version;
  int status = 0;
  if (!(first >> version >> status) || status != 401) return;
  std::istringstream in(response_head.substr(line_end + 2));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos || Lower(line.substr(0, colon)) != "www-authenticate") continue;
    auto challenge = ParseWwwAuthenticate(line.substr(colon + 1));
    if (!challenge.ok() || challenge->scheme != AuthChallenge::Scheme::kBearer) continue;
    std::lock_guard<std::mutex> lock(mu_);
    learned_realm_ = challenge->realm;
    learned_service_ = challenge->service;
    return;
  }
}

void FaultProxy::AcceptLoop() {
  while (!stop_) {
    ReapConnections();
    ApplyListening();
    if (listen_fd_ < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    bool refuse = Decide(/*connection_level=*/true, "", "", false, "").has_value();
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::lock_guard<std::mutex> lock(mu_);
    connections_.push_back(Connection{std::thread([this, client, refuse, done] {
                                        if (refuse) {
                                          RefuseAfterFirstBytes(client);
                                        } else {
                                          Serve(client);
                                        }
                                        *done = true;
                                      }),
                                      done});
  }
}

void FaultProxy::ApplyListening() {
  const bool want = want_refusing_.load();
  if (want == refusing_.load()) return;
  if (want) {
    ::close(listen_fd_);  // pending, not yet accepted connections get a reset
    listen_fd_ = -1;
    refusing_ = true;
    return;
  }
  int port = 0;
  auto fd = ListenLoopback(port_, &port);
  if (!fd.ok()) return;  // tried again on the next round (SetRefusing waits)
  listen_fd_ = *fd;
  refusing_ = false;
}

void FaultProxy::ReapConnections() {
  std::vector<Connection> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto split = std::partition(connections_.begin(), connections_.end(),
                                [](const Connection& c) { return !c.done->load(); });
    std::move(split, connections_.end(), std::back_inserter(finished));
    connections_.erase(split, connections_.end());
  }
  for (auto& c : finished) c.thread.join();
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
                 request.content_length, request.chunked, request.bearer)) {
    ::close(client_fd);
    return;
  }
  request.leftover = raw.substr(end + 4);
  request.has_body = request.chunked || request.content_length > 0;
  ++requests_;
  std::optional<FaultRule> fault =
      Decide(false, request.method, request.path, request.has_body, request.bearer);
  if (fault && fault->kind == FaultKind::kStatus) {
    std::string extra;
    if (!fault->retry_after.empty()) extra = "Retry-After: " + fault->retry_after + "\r\n";
    return Answer(client_fd, fault->status, extra);
  }
  if (fault && fault->kind == FaultKind::kExpireToken) {
    return Answer(client_fd, 401,
                  "WWW-Authenticate: " + Challenge(*fault, request.method, request.path) + "\r\n");
  }
  if (fault && fault->kind == FaultKind::kStall) std::this_thread::sleep_for(fault->stall);
  if (fault && fault->kind == FaultKind::kDeclineMount) {
    const size_t query = request.path.find('?');
    const size_t at = request.head.find(request.path);
    if (query != std::string::npos && at != std::string::npos) {
      request.head.erase(at + query, request.path.size() - query);
    }
  }
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
  std::string response_head;  // until its end is seen: a 401 teaches the challenge
  bool head_done = false;
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
      if (!head_done) {
        response_head.append(buf, static_cast<size_t>(n));
        size_t head_end = response_head.find("\r\n\r\n");
        if (head_end != std::string::npos || response_head.size() > kMaxHead) {
          head_done = true;
          LearnChallenge(response_head.substr(0, head_end));
        }
      }
      if (!SendAll(client_fd, buf, static_cast<size_t>(n))) break;
    }
  }
  ::close(up);
  ::shutdown(client_fd, SHUT_WR);
  ::close(client_fd);
}

void FaultProxy::Answer(int client_fd, int status, const std::string& extra_headers) {
  std::string code = status == 429   ? "TOOMANYREQUESTS"
                     : status == 401 ? "UNAUTHORIZED"
                                     : "UNAVAILABLE";
  std::string body = "{\"errors\":[{\"code\":\"" + code +
                     "\",\"message\":\"fault injected by the test proxy\",\"detail\":null}]}";
  std::string response =
      "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
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
