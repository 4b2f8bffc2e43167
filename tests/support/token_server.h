// A Docker token server for integration tests (the protocol of
// Distribution's "Token Authentication Specification"), on 127.0.0.1 with a
// free port: a minimal HTTP/1.1 server on a plain socket (one request per
// connection; Debian's cpp-httplib is a compiled library the test targets do
// not link).
//
// GET /token?service=...&scope=...(repeatable) with HTTP basic credentials
// answers {"token", "access_token", "expires_in"}: an RS256 JWT whose header
// carries the signing certificate in `x5c` (Distribution 2.8 verifies that
// chain against its rootcertbundle) and whose claims grant every requested
// scope. The key and self-signed certificate are made at Start with the
// `openssl` CLI, which also signs each token. Wrong credentials get 401.
// Thread-safe; the destructor stops the server.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/status.h"
#include "tests/support/process.h"

namespace ppa::test {

struct TokenServerOptions {
  std::string username = "user";
  std::string password = "pass";
  std::string service = "ppa-test-registry";
  std::string issuer = "ppa-test-issuer";
  int expires_in = 2;  // seconds
  // Set: POST /token with the OAuth2 refresh-token grant
  // (grant_type=refresh_token, refresh_token=<this>, client_id, service,
  // one space-separated scope) is answered {"access_token", "expires_in"}.
  std::string refresh_token;
};

class TokenServer {
 public:
  static Result<std::unique_ptr<TokenServer>> Start(const TokenServerOptions& options = {});
  ~TokenServer();
  TokenServer(const TokenServer&) = delete;
  TokenServer& operator=(const TokenServer&) = delete;

  std::string realm() const { return "http://127.0.0.1:" + std::to_string(port_) + "/token"; }
  const TokenServerOptions& options() const { return options_; }
  // PEM certificate for the registry's rootcertbundle.
  std::string cert_path() const { return dir_.Join("token.crt"); }
  // Tokens issued so far.
  int tokens_issued() const { return issued_.load(); }
  // Requests refused for bad credentials.
  int refused() const { return refused_.load(); }
  // Tokens issued for the refresh-token grant (POST).
  int refresh_grants() const { return refresh_grants_.load(); }

 private:
  explicit TokenServer(TokenServerOptions options);
  Status MakeKeyAndCertificate();
  Result<std::string> IssueToken(const std::vector<std::string>& scopes, const std::string& sub);

  TokenServerOptions options_;
  TempDir dir_;
  std::string x5c_;  // base64 DER of the certificate
  // "HTTP/1.1 ..." answer to one request (line + headers, body ignored).
  std::string Handle(const std::string& request);
  void Serve();

  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> issued_{0};
  std::atomic<int> refused_{0};
  std::atomic<int> refresh_grants_{0};
  // The refresh-token grant: the answer to a POST with `form` as its body.
  std::string HandleRefreshGrant(const std::string& form);
};

}  // namespace ppa::test
