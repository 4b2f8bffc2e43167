// A fault-injecting HTTP/1.1 proxy on 127.0.0.1 for integration tests: it
// sits in front of a registry (clients talk to the proxy as if it were the
// registry; it forwards every request to 127.0.0.1:<upstream_port>) and,
// following a schedule of rules, breaks some requests on purpose:
//
//  - kRefuse:      accept the connection, read the first bytes of the
//                  request, then reset it (a middlebox dropping the
//                  connection: the client sees a reset, a transient failure
//                  it retries). Resetting before the client has sent
//                  anything would race with curl's connect check; for a
//                  real "connection refused" use SetRefusing(true), which
//                  closes the listening socket;
//  - kResetBody:   forward the request head and half of its body (at most
//                  `reset_after_bytes`), then reset both connections;
//  - kStatus:      answer `status` (500, 502, 503, 429, ...) itself with a
//                  registry-style error body and, when set, `Retry-After`;
//  - kStall:       wait `stall` before forwarding the request;
//  - kExpireToken: answer a request that carries `Authorization: Bearer
//                  <token>` with 401 and the challenge the registry itself
//                  would send (`WWW-Authenticate: Bearer realm=...,
//                  service=...,scope="repository:<name>:<actions>",
//                  error="invalid_token"`), as if the token had expired
//                  early. Realm and service come from the rule or, when it
//                  leaves them empty, from the last Bearer challenge the
//                  upstream sent through the proxy (no fault before one was
//                  seen). A token is only expired once it has been used on
//                  an earlier request, so the fresh token a client fetches
//                  after the 401 gets through; an expired token stays
//                  expired (every later request with it gets the 401 too,
//                  counted as injected).
//  - kDeclineMount: forward the request without its query, so a
//                  cross-repository mount (`POST .../blobs/uploads/?mount=
//                  ...&from=...`) reaches the registry as a plain upload
//                  start: a registry that declines every mount (202 and a
//                  new upload session, as registries without mount support
//                  answer).
//
// Every forwarded request is sent with `Connection: close` and the client's
// Host header unchanged, so one client connection carries one request and
// the registry's absolute Location URLs point back at the proxy.
//
// Thread-safe: rules may be replaced and counters read while clients are
// connected. Finished connection threads are joined as the proxy goes, so
// a long run does not pile them up. The destructor stops the listener and
// joins every connection thread (each gives up within a second of being
// asked to).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace ppa::test {

enum class FaultKind { kRefuse, kResetBody, kStatus, kStall, kExpireToken, kDeclineMount };

// "refuse", "reset-body", "status", "stall", "expire-token", "decline-mount".
const char* FaultKindName(FaultKind kind);

struct FaultRule {
  FaultKind kind = FaultKind::kStatus;
  std::string method;                     // "" matches any method
  std::string path_contains;              // "" matches any path (ignored for kRefuse)
  int status = 503;                       // kStatus
  std::string retry_after;                // kStatus: Retry-After value, "" for none
  std::chrono::milliseconds stall{1000};  // kStall
  uint64_t reset_after_bytes = 1 << 20;   // kResetBody: body bytes forwarded at most
  std::string realm;                      // kExpireToken: "" = learned from the upstream
  std::string service;                    // kExpireToken: "" = learned from the upstream
  int every = 1;                          // fire on every Nth matching request (1: each one)
  int limit = -1;                         // fire at most this many times (-1: forever)
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1:listen_port (0: a free port) and forwards to
  // 127.0.0.1:upstream_port.
  static Result<std::unique_ptr<FaultProxy>> Start(int upstream_port, int listen_port = 0);
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
  // How often each rule of the current schedule fired, in SetRules order
  // (an expired token's repeated 401s are counted under kind only).
  std::vector<int> RuleFired() const;
  // Requests seen (faulted or not; refused connections excluded).
  int Requests() const { return requests_.load(); }
  // Every distinct bearer token seen in a request's Authorization header
  // (tests check that none of them leaks into the client's output).
  std::vector<std::string> BearerTokensSeen() const;

  // true: closes the listening socket, so new connections are refused by
  // the kernel (ECONNREFUSED, what a client sees while a registry
  // restarts); connections already accepted carry on. false: listens on
  // the same port again. Returns once the change is in effect (a false
  // return: the port could not be bound again within 10 s).
  bool SetRefusing(bool refusing);

 private:
  struct RuleState {
    FaultRule rule;
    int matched = 0;
    int fired = 0;
  };
  struct Request;

  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  FaultProxy(int listen_fd, int port, int upstream_port);
  void AcceptLoop();
  // Opens or closes the listening socket as SetRefusing asked (acceptor thread).
  void ApplyListening();
  // Joins the connection threads that have finished.
  void ReapConnections();
  void Serve(int client_fd);
  // Reads what the client sends first, then resets the connection.
  void RefuseAfterFirstBytes(int client_fd);
  // The rule that fires for this request (nullopt: forward untouched).
  // `bearer` is the request's bearer token ("" when none).
  std::optional<FaultRule> Decide(bool connection_level, const std::string& method,
                                  const std::string& path, bool has_body,
                                  const std::string& bearer);
  // The 401 challenge for `path` and `method` ("" when no realm is known).
  std::string Challenge(const FaultRule& rule, const std::string& method,
                        const std::string& path) const;
  // Remembers realm and service of an upstream response's Bearer challenge.
  void LearnChallenge(const std::string& response_head);
  void Forward(int client_fd, const Request& request, uint64_t body_budget);
  // Answers the request itself: a registry-style JSON error.
  void Answer(int client_fd, int status, const std::string& extra_headers);

  int listen_fd_;  // -1 while refusing; only the acceptor thread touches it after Start
  int port_;
  int upstream_port_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> want_refusing_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<RuleState> rules_;          // guarded by mu_
  std::map<FaultKind, int> injected_;     // guarded by mu_
  std::vector<Connection> connections_;   // guarded by mu_
  std::set<std::string> tokens_seen_;     // guarded by mu_
  std::set<std::string> tokens_expired_;  // guarded by mu_
  std::string learned_realm_;             // guarded by mu_
  std::string learned_service_;           // guarded by mu_
  std::thread acceptor_;
};

}  // namespace ppa::test
