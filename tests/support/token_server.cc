#include "tests/support/token_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <strings.h>
#include <nlohmann/json.hpp>

namespace ppa::test {
namespace {

std::string Base64(std::string_view data, bool url) {
  static const char* kStd = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static const char* kUrl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* alphabet = url ? kUrl : kStd;
  std::string out;
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(data[i]) << 16) |
                 (static_cast<unsigned char>(data[i + 1]) << 8) |
                 static_cast<unsigned char>(data[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(alphabet[(v >> shift) & 63]);
  }
  size_t rest = data.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(data[i + 1]) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
    if (!url) out.append(rest == 1 ? "==" : "=");
  }
  return out;
}

// "repository:ns/app:pull,push" -> {"type","name","actions"}.
nlohmann::json Access(const std::string& scope) {
  size_t first = scope.find(':');
  size_t last = scope.rfind(':');
  if (first == std::string::npos || first == last) return nullptr;
  nlohmann::json actions = nlohmann::json::array();
  std::string list = scope.substr(last + 1);
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma > start) actions.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return {{"type", scope.substr(0, first)},
          {"name", scope.substr(first + 1, last - first - 1)},
          {"actions", actions}};
}

std::string UrlDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

std::string Reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Error") +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TokenServer::TokenServer(TokenServerOptions options)
    : options_(std::move(options)), dir_("ppa-token-server") {}

TokenServer::~TokenServer() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

std::string TokenServer::Handle(const std::string& request) {
  std::istringstream in(request);
  std::string method, target, authorization;
  in >> method >> target;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (strncasecmp(line.c_str(), "authorization:", 14) == 0) {
      authorization = line.substr(14);
      authorization.erase(0, authorization.find_first_not_of(' '));
    }
  }
  if (method == "POST" && target.rfind("/token", 0) == 0) {
    size_t body = request.find("\r\n\r\n");
    return HandleRefreshGrant(body == std::string::npos ? "" : request.substr(body + 4));
  }
  std::string service;
  std::vector<std::string> scopes;
  size_t q = target.find('?');
  std::string query = q == std::string::npos ? "" : target.substr(q + 1);
  for (size_t start = 0; start < query.size();) {
    size_t amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    std::string pair = query.substr(start, amp - start);
    size_t eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1));
    if (key == "service") service = value;
    if (key == "scope") scopes.push_back(value);
    start = amp + 1;
  }
  const std::string expected =
      "Basic " + Base64(options_.username + ":" + options_.password, /*url=*/false);
  if (method != "GET" || target.rfind("/token", 0) != 0 || authorization != expected ||
      service != options_.service) {
    refused_++;
    return Reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]})");
  }
  Result<std::string> token = IssueToken(scopes, options_.username);
  if (!token.ok()) return Reply(500, nlohmann::json(token.status().ToString()).dump());
  issued_++;
  nlohmann::json body = {
      {"token", *token}, {"access_token", *token}, {"expires_in", options_.expires_in}};
  return Reply(200, body.dump());
}

std::string TokenServer::HandleRefreshGrant(const std::string& form) {
  std::map<std::string, std::string> fields;
  for (size_t start = 0; start < form.size();) {
    size_t amp = form.find('&', start);
    if (amp == std::string::npos) amp = form.size();
    std::string pair = form.substr(start, amp - start);
    size_t eq = pair.find('=');
    std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
    for (char& c : value) c = c == '+' ? ' ' : c;
    fields[pair.substr(0, eq)] = UrlDecode(value);
    start = amp + 1;
  }
  if (options_.refresh_token.empty() || fields["grant_type"] != "refresh_token" ||
      fields["refresh_token"] != options_.refresh_token || fields["client_id"].empty() ||
      fields["service"] != options_.service) {
    refused_++;
    return Reply(401, R"({"error":"invalid_grant"})");
  }
  std::vector<std::string> scopes;
  std::istringstream words(fields["scope"]);
  for (std::string scope; words >> scope;) scopes.push_back(scope);
  Result<std::string> token = IssueToken(scopes, options_.username);
  if (!token.ok()) return Reply(500, nlohmann::json(token.status().ToString()).dump());
  issued_++;
  refresh_grants_++;
  nlohmann::json body = {{"access_token", *token}, {"expires_in", options_.expires_in}};
  return Reply(200, body.dump());
}

void TokenServer::Serve() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) != 1) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string request;
    char buffer[4096];
    // The headers, then a body of Content-Length bytes (a POST's form).
    auto complete = [&request] {
      size_t end = request.find("\r\n\r\n");
      if (end == std::string::npos) return false;
      std::string lower = request.substr(0, end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t at = lower.find("content-length:");
      size_t length = at == std::string::npos ? 0 : std::strtoul(lower.c_str() + at + 15, nullptr, 10);
      return request.size() >= end + 4 + length;
    };
    while (!complete() && request.size() < 65536) {
      pollfd r{fd, POLLIN, 0};
      if (poll(&r, 1, 5000) != 1) break;
      ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    std::string reply = Handle(request);
    for (size_t sent = 0; sent < reply.size();) {
      ssize_t n = send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    close(fd);
  }
}

Status TokenServer::MakeKeyAndCertificate() {
  ProcessResult made = RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                   "-keyout", dir_.Join("token.key"), "-out", cert_path(),
                                   "-days", "2", "-subj", "/CN=ppa-test-token-signer"});
  if (made.exit_code != 0) return IoError("openssl req failed: " + made.stderr_text);
  ProcessResult der =
      RunProcess({"openssl", "x509", "-in", cert_path(), "-outform", "DER"});
  if (der.exit_code != 0) return IoError("openssl x509 failed: " + der.stderr_text);
  x5c_ = Base64(der.stdout_text, /*url=*/false);
  return Status::Ok();
}

Result<std::string> TokenServer::IssueToken(const std::vector<std::string>& scopes,
                                            const std::string& sub) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  nlohmann::json access = nlohmann::json::array();
  for (const auto& s : scopes) {
    nlohmann::json a = Access(s);
    if (!a.is_null()) access.push_back(a);
  }
  nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {x5c_}}};
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", sub},
                           {"aud", options_.service},
                           {"exp", now + options_.expires_in},
                           {"nbf", now - 1},
                           {"iat", now},
                           {"jti", std::to_string(now) + "-" + std::to_string(issued_.load())},
                           {"access", access}};
  std::string signing_input =
      Base64(header.dump(), true) + "." + Base64(claims.dump(), true);
  ProcessResult sig = RunProcess({"openssl", "dgst", "-sha256", "-sign", dir_.Join("token.key")},
                                 signing_input);
  if (sig.exit_code != 0) return IoError("openssl dgst failed: " + sig.stderr_text);
  return signing_input + "." + Base64(sig.stdout_text, true);
}

Result<std::unique_ptr<TokenServer>> TokenServer::Start(const TokenServerOptions& options) {
  std::unique_ptr<TokenServer> ts(new TokenServer(options));
  if (ts->dir_.path().empty()) return IoError("cannot create a temporary folder");
  PPA_RETURN_IF_ERROR(ts->MakeKeyAndCertificate());
  ts->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (ts->listen_fd_ < 0 || bind(ts->listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(ts->listen_fd_, 16) != 0 ||
      getsockname(ts->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return IoError("token server: cannot listen on 127.0.0.1");
  }
  ts->port_ = ntohs(addr.sin_port);
  TokenServer* self = ts.get();
  ts->thread_ = std::thread([self] { self->Serve(); });
  return ts;
}

}  // namespace ppa::test
