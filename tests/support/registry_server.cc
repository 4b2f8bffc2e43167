#include "tests/support/registry_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <sstream>
#include <thread>
#include <utility>

namespace ppa::test {
namespace {

constexpr int kStartAttempts = 5;
constexpr auto kReadyTimeout = std::chrono::seconds(20);

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

bool WaitFd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & (events | POLLHUP)) != 0;
}

std::string RegistryConfig(const std::string& dir, int port, bool auth,
                           const std::optional<TokenAuthOptions>& token,
                           const RegistryOptions& options) {
  std::ostringstream y;
  y << "version: 0.1\n"
       "log:\n"
       "  level: info\n"
       "  accesslog:\n"
       "    disabled: false\n"
       "  fields:\n"
       "    service: registry\n"
       "storage:\n"
       "  filesystem:\n"
       "    rootdirectory: "
    << dir << "/storage\n"
    << "  delete:\n"
       "    enabled: true\n"
       "  maintenance:\n"
       "    uploadpurging:\n"
       "      enabled: false\n"
       "http:\n"
       "  addr: 127.0.0.1:"
    << port << "\n"
    << "  headers:\n"
       "    X-Content-Type-Options: [nosniff]\n";
  if (!options.tls_certificate.empty()) {
    y << "  tls:\n    certificate: " << options.tls_certificate
      << "\n    key: " << options.tls_key << "\n";
  }
  y << "health:\n"
       "  storagedriver:\n"
       "    enabled: false\n";
  if (auth) {
    y << "auth:\n"
         "  htpasswd:\n"
         "    realm: ppa-test-registry\n"
         "    path: "
      << dir << "/htpasswd\n";
  } else if (token) {
    y << "auth:\n"
         "  token:\n"
         "    realm: \""
      << token->realm << "\"\n    service: \"" << token->service << "\"\n    issuer: \""
      << token->issuer << "\"\n    rootcertbundle: " << token->rootcertbundle << "\n";
  }
  return y.str();
}

}  // namespace

namespace {

// A socket bound to a port of 127.0.0.1 chosen by the kernel, and that port.
Result<std::pair<UniqueFd, int>> BindLoopbackPort() {
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.get() < 0) return ErrnoError("socket", "127.0.0.1", errno);
  sockaddr_in addr = Loopback(0);
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError("bind", "127.0.0.1:0", errno);
  }
  socklen_t len = sizeof addr;
  if (getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError("getsockname", "127.0.0.1", errno);
  }
  return std::make_pair(std::move(s), static_cast<int>(ntohs(addr.sin_port)));
}

}  // namespace

Result<int> PickFreePort() {
  PPA_ASSIGN_OR_RETURN(auto bound, BindLoopbackPort());
  return bound.second;
}

Result<RefusingPort> RefusingPort::Open() {
  PPA_ASSIGN_OR_RETURN(auto bound, BindLoopbackPort());
  return RefusingPort(std::move(bound.first), bound.second);
}

int SimpleHttpGetStatus(const std::string& host, int port, const std::string& path,
                        int timeout_ms) {
  FdCloser s{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
  if (s.fd < 0) return -1;
  sockaddr_in addr = Loopback(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return -1;
  if (connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS || !WaitFd(s.fd, POLLOUT, timeout_ms)) return -1;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return -1;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" +
                              std::to_string(port) + "\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFd(s.fd, POLLOUT, timeout_ms)) return -1;
    const ssize_t n = send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[1024];
  while (response.find("\r\n") == std::string::npos && response.size() < 4096) {
    if (!WaitFd(s.fd, POLLIN, timeout_ms)) return -1;
    const ssize_t n = recv(s.fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK"
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return -1;
  try {
    return std::stoi(response.substr(9, 3));
  } catch (...) {
    return -1;
  }
}

RegistryServer::RegistryServer(RegistryOptions options)
    : options_(std::move(options)), dir_("ppa-registry") {}

RegistryServer::~RegistryServer() { Stop(); }

Result<std::unique_ptr<RegistryServer>> RegistryServer::Start(const RegistryOptions& options) {
  std::unique_ptr<RegistryServer> server(new RegistryServer(options));
  if (server->dir_.path().empty()) return IoError("cannot create a temporary folder");
  if (server->auth_enabled()) {
    ProcessResult h =
        RunProcess({"htpasswd", "-Bbn", server->options_.username, server->options_.password});
    if (h.exit_code != 0) return IoError("htpasswd failed: " + h.stderr_text);
    PPA_RETURN_IF_ERROR(WriteStringToFile(server->dir_.Join("htpasswd"), h.stdout_text));
  }
  Status last = IoError("registry did not start");
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last.WithContext("docker-registry (log: " + server->ReadLog() + ")");
}

Status RegistryServer::Launch() {
  Stop();
  PPA_ASSIGN_OR_RETURN(port_, PickFreePort());
  const std::string config_path = dir_.Join("config.yml");
  PPA_RETURN_IF_ERROR(
      WriteStringToFile(config_path,
                        RegistryConfig(dir_.path(), port_, auth_enabled(), options_.token, options_)));
  const std::map<std::string, std::string> env = {
      {"REGISTRY_HTTP_SECRET", "ppa-import-integration-tests"},
      {"OTEL_TRACES_EXPORTER", "none"},
  };
  PPA_ASSIGN_OR_RETURN(
      ChildProcess child,
      ChildProcess::Start({"/usr/bin/docker-registry", "serve", config_path}, env, log_path()));
  process_ = std::make_unique<ChildProcess>(std::move(child));
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->Running()) {
      return IoError("docker-registry exited early on port " + std::to_string(port_));
    }
    const int status = HttpGetStatus("/v2/");
    if (status == 200 || status == 401) return Status::Ok();
    // A TLS registry answers plain HTTP with 400 once it listens.
    if (status == 400 && !options_.tls_certificate.empty()) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Stop();
  return IoError("docker-registry not ready on port " + std::to_string(port_));
}

void RegistryServer::Stop() {
  if (process_) process_->Stop();
  process_.reset();
}

std::string RegistryServer::host() const { return "127.0.0.1:" + std::to_string(port_); }

std::string RegistryServer::creds() const {
  return auth_enabled() ? options_.username + ":" + options_.password : "";
}

std::string RegistryServer::ReadLog() const {
  Result<std::string> log = ReadFileToString(log_path());
  return log.ok() ? *log : "";
}

int RegistryServer::CountLogLines(std::string_view needle) const {
  std::istringstream in(ReadLog());
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

int RegistryServer::CountBlobUploadRequests() const {
  std::istringstream in(ReadLog());
  int count = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("/blobs/uploads/") == std::string::npos) continue;
    if (line.find("\"POST /v2/") != std::string::npos ||
        line.find("\"PATCH /v2/") != std::string::npos ||
        line.find("\"PUT /v2/") != std::string::npos) {
      ++count;
    }
  }
  return count;
}

int RegistryServer::HttpGetStatus(const std::string& path) const {
  return SimpleHttpGetStatus("127.0.0.1", port_, path);
}

}  // namespace ppa::test
