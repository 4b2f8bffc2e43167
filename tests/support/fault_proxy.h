// A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for integration tests: it
// sits in front of a registry (clients talk to the proxy as if it were the
// registry; it forwards every request to 127.0.0.1:<upstream_port>) and,
// following a schedule of rules, breaks some requests on purpose:
//
//  - kRefuse:     accept the connection, read the first bytes of the
//                 request, then reset it (a middlebox dropping the
//                 connection; resetting before the client has sent anything
//                 races with curl's connect check and reads as "connection
//                 refused", which the client does not retry by design);
//  - kResetBody:  forward the request head and half of its body (at most
//                 `reset_after_bytes`), then reset both connections;
//  - kStatus:     answer `status` (500, 502, 503, 429, ...) itself with a
//                 registry-style error body and, when set, `Retry-After`;
//  - kStall:      wait `stall` before forwarding the request.
//
// Every forwarded request is sent with `Connection: close` and the client's
// Host header unchanged, so one client connection carries one request and
// the registry's absolute Location URLs point back at the proxy.
//
// Thread-safe: rules may be replaced and counters read while clients are
// connected. The destructor stops the listener and joins every connection
// thread (each gives up within a second of being asked to).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "archive/status.h"

namespace ppa::test {

enum class FaultKind { kRefuse, kResetBody, kStatus, kStall };

struct FaultRule {
  FaultKind kind = FaultKind::kStatus;
  std::string method;                     // "" matches any method
  std::string path_contains;              // "" matches any path (ignored for kRefuse)
  int status = 503;                       // kStatus
  std::string retry_after;                // kStatus: Retry-After value, "" for none
  std::chrono::milliseconds stall{1000};  // kStall
  uint64_t reset_after_bytes = 1 << 20;   // kResetBody: body bytes forwarded at most
  int every = 1;                          // fire on every Nth matching request (1: each one)
  int limit = -1;                         // fire at most this many times (-1: forever)
};

class FaultProxy {
 public:
  // Listens on a free port of 127.0.0.1 and forwards to 127.0.0.1:upstream_port.
  static Result<std::unique_ptr<FaultProxy>> Start(int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // "127.0.0.1:<port>" (what the client passes as --registry).
  std::string host() const;
  int port() const { return port_; }

  // Replaces the schedule (counters of the old rules are dropped). The first
  // rule that matches a request and fires decides its fate; a request no
  // rule fires for is forwarded untouched.
  void SetRules(std::vector<FaultRule> rules);
  // Number of faults of `kind` injected so far.
  int Injected(FaultKind kind) const;
  // Requests seen (faulted or not; refused connections excluded).
  int Requests() const { return requests_.load(); }

 private:
  struct RuleState {
    FaultRule rule;
    int matched = 0;
    int fired = 0;
  };
  struct Request;

  FaultProxy(int listen_fd, int port, int upstream_port);
  void AcceptLoop();
  void Serve(int client_fd);
  // Reads what the client sends first, then resets the connection.
  void RefuseAfterFirstBytes(int client_fd);
  // The rule that fires for this request (nullopt: forward untouched).
  std::optional<FaultRule> Decide(bool connection_level, const std::string& method,
                                  const std::string& path, bool has_body);
  void Forward(int client_fd, const Request& request, uint64_t body_budget);
  void Answer(int client_fd, const FaultRule& rule);

  int listen_fd_;
  int port_;
  int upstream_port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<RuleState> rules_;          // guarded by mu_
  std::map<FaultKind, int> injected_;     // guarded by mu_
  std::vector<std::thread> connections_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace ppa::test
