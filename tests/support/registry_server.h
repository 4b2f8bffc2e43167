// A real OCI registry for integration tests: Debian's `docker-registry`
// (CNCF Distribution 2.8) on 127.0.0.1 with a free port, a temporary storage
// folder and, optionally, htpasswd basic auth.
//
// Every request is written to an access log (tests count blob uploads from
// it). The destructor stops the server (SIGTERM, then SIGKILL) and removes
// the temporary folder, so a failing test leaks neither. Not thread-safe;
// the server itself serves concurrent clients.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/file_util.h"
#include "base/status.h"
#include "tests/support/process.h"

namespace ppa::test {

// Distribution's `auth: token:` set-up: bearer tokens from an external
// token server (see token_server.h), verified against `rootcertbundle`.
struct TokenAuthOptions {
  std::string realm;           // token server URL
  std::string service;         // expected "aud"
  std::string issuer;          // expected "iss"
  std::string rootcertbundle;  // PEM file with the certificate tokens chain to
};

struct RegistryOptions {
  // Both set: require basic auth with these credentials (htpasswd, bcrypt).
  std::string username;
  std::string password;
  // Set (and no username): require bearer tokens.
  std::optional<TokenAuthOptions> token;
  // Both set: serve HTTPS with this PEM certificate and key (url() is then
  // still "http://..."; use host()).
  std::string tls_certificate;
  std::string tls_key;
};

class RegistryServer {
 public:
  // Starts the server and waits until `GET /v2/` answers 200 or 401.
  // Retries with another port when the chosen one was taken meanwhile.
  static Result<std::unique_ptr<RegistryServer>> Start(const RegistryOptions& options = {});
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // "127.0.0.1:<port>".
  std::string host() const;
  int port() const { return port_; }
  // "http://127.0.0.1:<port>".
  std::string url() const { return "http://" + host(); }
  bool auth_enabled() const { return !options_.username.empty(); }
  // "user:password" for `skopeo --creds` ("" without auth).
  std::string creds() const;

  // Where the blobs and manifests are stored, and the registry's log file.
  std::string storage_dir() const { return dir_.Join("storage"); }
  std::string log_path() const { return dir_.Join("registry.log"); }
  // The whole log so far.
  std::string ReadLog() const;
  // Number of log lines containing `needle`, e.g. "\"PUT /v2/" (each access
  // log line quotes "METHOD PATH HTTP/1.1").
  int CountLogLines(std::string_view needle) const;
  // Access-log lines of blob upload requests (POST/PATCH/PUT to
  // /v2/<name>/blobs/uploads/).
  int CountBlobUploadRequests() const;

  // The HTTP status of `GET <path>` (e.g. "/v2/"), or -1 when no answer.
  int HttpGetStatus(const std::string& path) const;

  // Stops the server now (the destructor does it too).
  void Stop();

 private:
  explicit RegistryServer(RegistryOptions options);
  Status Launch();

  RegistryOptions options_;
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// Picks a free TCP port on 127.0.0.1 (bind port 0, read it, close). Another process may
// take it before the caller does: use it for a server about to start, never to mean "closed".
Result<int> PickFreePort();

// A port on 127.0.0.1 that refuses connections for as long as this object lives: it holds a
// bound socket that never listens, so no server of a concurrent test can take the port.
class RefusingPort {
 public:
  static Result<RefusingPort> Open();
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  RefusingPort(UniqueFd fd, int port) : fd_(std::move(fd)), port_(port) {}
  UniqueFd fd_;
  int port_;
};

// Minimal HTTP/1.1 GET over a plain socket; returns the status code or -1.
int SimpleHttpGetStatus(const std::string& host, int port, const std::string& path,
                        int timeout_ms = 2000);

}  // namespace ppa::test
