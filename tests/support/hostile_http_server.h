// A misbehaving HTTP or HTTPS server for integration tests of hostile
// servers (README, "Security": credentials sent to plain HTTP, requests without an
// overall deadline). It listens on 127.0.0.1 with a free port; with `tls`
// it serves HTTPS with a self-signed certificate made by the `openssl` CLI
// at Start (subjectAltName IP:127.0.0.1 and DNS:localhost; pass
// cert_path() as --ca-file).
//
// Each request is matched against the routes in order (method, path
// prefix); the first match decides what the server does, from a plain
// reply (a redirect, a 401 challenge, an upload Location) to never
// answering or streaming forever. Every request is recorded, with its
// Authorization header and body, so tests can assert what reached it.
//
// Bounded: it stops by itself after `lifetime` and answers 503 after
// `max_requests`; every behaviour that waits or streams ends when the
// server stops or the client goes away. The destructor stops it and joins
// its threads. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "tests/support/process.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace ppa::test {

enum class HostileBehavior {
  kReply,              // `status`, `headers`, `body`
  kSilent,             // read the request, never answer
  kStallAfterHeaders,  // status line and headers (Content-Length: 1 MiB), then nothing
  kTrickle,            // headers, then one body byte every `interval`, forever (chunked)
  kEndlessChunked,     // headers, then 64 KiB chunks as fast as they are taken, forever
};

struct HostileRoute {
  std::string method;       // "" matches any (HEAD is its own method)
  std::string path_prefix;  // "" matches any
  HostileBehavior behavior = HostileBehavior::kReply;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds interval{300};  // kTrickle
  // Set: a request without an Authorization header gets 401 with this
  // WWW-Authenticate value instead (a registry asking for credentials).
  std::string challenge;
};

struct HostileServerOptions {
  bool tls = false;
  std::chrono::seconds lifetime{240};
  int max_requests = 500;
};

// One request as the server saw it.
struct SeenRequest {
  std::string method;
  std::string path;           // with the query
  std::string authorization;  // "" when absent
  std::string body;
};

class HostileHttpServer {
 public:
  static Result<std::unique_ptr<HostileHttpServer>> Start(const HostileServerOptions& options = {});
  ~HostileHttpServer();
  HostileHttpServer(const HostileHttpServer&) = delete;
  HostileHttpServer& operator=(const HostileHttpServer&) = delete;

  // Replaces the routes (may be called while serving).
  void SetRoutes(std::vector<HostileRoute> routes);

  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // "http://127.0.0.1:<port>" or "https://...".
  std::string url() const { return (options_.tls ? "https://" : "http://") + host(); }
  // The PEM certificate (with `tls`).
  std::string cert_path() const { return dir_.Join("cert.pem"); }

  std::vector<SeenRequest> Requests() const;
  // Requests that carried an Authorization header or a body.
  int RequestsWithCredentialsOrBody() const;

  // Stops serving (idempotent); waiting and streaming behaviours end.
  void Stop();

 private:
  explicit HostileHttpServer(HostileServerOptions options);
  Status Launch();
  void Dispatch(const httplib::Request& request, httplib::Response& response);
  // Sleeps until the server stops; false then.
  bool WaitWhileRunning(std::chrono::milliseconds duration);

  HostileServerOptions options_;
  TempDir dir_{"ppa-hostile"};
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread listener_;
  std::thread watchdog_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable stopped_cv_;
  std::vector<HostileRoute> routes_;  // guarded by mu_
  std::vector<SeenRequest> seen_;     // guarded by mu_
  bool stop_requested_ = false;       // guarded by mu_
};

}  // namespace ppa::test
