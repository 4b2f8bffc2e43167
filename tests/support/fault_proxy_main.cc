// ppa-fault-proxy: the integration tests' fault-injecting proxy
// (fault_proxy.h) as a standalone program, for long manual runs such as
// tests/stress/large_fault_import.sh. Not installed.
//
//   ppa-fault-proxy --upstream-port N [--listen-port N] [--stats-every S]
//                   [FAULT]...
//
// Prints "127.0.0.1:<port>" as the first line of stdout, serves until
// SIGINT or SIGTERM, then prints the faults injected, one line per rule and
// a total line, and exits 0. Exit status 2 for a usage error, 1 when it
// cannot listen.
//
// FAULT flags, each adding one rule (the first rule that fires decides a
// request's fate, in command-line order); OPTS are ':'-separated key=value:
//   --status CODE[:OPTS]   answer CODE itself (retry-after=V adds Retry-After)
//   --reset-body [OPTS]    cut a request body (after=BYTES forwarded at most)
//   --refuse [OPTS]        accept a connection, then reset it
//   --stall [OPTS]         wait ms=N before forwarding
//   --expire-token [OPTS]  401 with the registry's Bearer challenge
//                          (realm=URL, service=NAME; default: learned)
// Common OPTS: every=N (every Nth matching request), limit=N (at most N
// times), method=M, path=SUBSTRING.
//   e.g. --status 503:every=7 --status 429:every=11:retry-after=1
//        --reset-body every=13:after=1048576 --refuse every=29
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "tests/support/fault_proxy.h"

namespace {

using ppa::test::FaultKind;
using ppa::test::FaultProxy;
using ppa::test::FaultRule;

constexpr char kUsage[] =
    "usage: ppa-fault-proxy --upstream-port N [--listen-port N] [--stats-every S]\n"
    "                       [--status CODE[:OPTS]] [--reset-body [OPTS]] [--refuse [OPTS]]\n"
    "                       [--stall [OPTS]] [--expire-token [OPTS]]...\n"
    "OPTS: ':'-separated every=N, limit=N, method=M, path=S, and per kind\n"
    "      retry-after=V (status), after=BYTES (reset-body), ms=N (stall),\n"
    "      realm=URL, service=NAME (expire-token)\n";

bool ParseInt(const std::string& text, long min, long max, long* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = static_cast<long>(v);
  return true;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = text.find(sep, start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

// Parses one FAULT flag's value into `rule`; "" on success, else the error.
std::string ParseRule(FaultKind kind, const std::string& value, FaultRule* rule) {
  rule->kind = kind;
  std::vector<std::string> parts = value.empty() ? std::vector<std::string>{} : Split(value, ':');
  size_t first = 0;
  if (kind == FaultKind::kStatus) {
    long code = 0;
    if (parts.empty() || !ParseInt(parts[0], 100, 599, &code)) {
      return "--status needs an HTTP status code first, e.g. 503:every=7";
    }
    rule->status = static_cast<int>(code);
    first = 1;
  }
  for (size_t i = first; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    size_t eq = part.find('=');
    if (eq == std::string::npos) return "expected key=value, got '" + part + "'";
    std::string key = part.substr(0, eq);
    std::string v = part.substr(eq + 1);
    long n = 0;
    if (key == "every") {
      if (!ParseInt(v, 1, 1000000000, &n)) return "every= needs a number >= 1";
      rule->every = static_cast<int>(n);
    } else if (key == "limit") {
      if (!ParseInt(v, -1, 1000000000, &n)) return "limit= needs a number >= -1";
      rule->limit = static_cast<int>(n);
    } else if (key == "method") {
      rule->method = v;
    } else if (key == "path") {
      rule->path_contains = v;
    } else if (key == "retry-after" && kind == FaultKind::kStatus) {
      rule->retry_after = v;
    } else if (key == "after" && kind == FaultKind::kResetBody) {
      if (!ParseInt(v, 0, 1L << 62, &n)) return "after= needs a byte count";
      rule->reset_after_bytes = static_cast<uint64_t>(n);
    } else if (key == "ms" && kind == FaultKind::kStall) {
      if (!ParseInt(v, 0, 3600000, &n)) return "ms= needs milliseconds";
      rule->stall = std::chrono::milliseconds(n);
    } else if (key == "realm" && kind == FaultKind::kExpireToken) {
      rule->realm = v;
    } else if (key == "service" && kind == FaultKind::kExpireToken) {
      rule->service = v;
    } else {
      return "unknown option '" + key + "' for --" + ppa::test::FaultKindName(kind);
    }
  }
  return {};
}

std::string Describe(const FaultRule& r) {
  std::string out = ppa::test::FaultKindName(r.kind);
  if (r.kind == FaultKind::kStatus) out += " " + std::to_string(r.status);
  out += " every=" + std::to_string(r.every);
  if (r.limit >= 0) out += " limit=" + std::to_string(r.limit);
  if (!r.method.empty()) out += " method=" + r.method;
  if (!r.path_contains.empty()) out += " path=" + r.path_contains;
  return out;
}

void PrintCounts(const FaultProxy& proxy, const std::vector<FaultRule>& rules, FILE* out) {
  std::vector<int> fired = proxy.RuleFired();
  int total = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    int n = i < fired.size() ? fired[i] : 0;
    total += n;
    std::fprintf(out, "injected %-40s %d\n", Describe(rules[i]).c_str(), n);
  }
  int expired = proxy.Injected(FaultKind::kExpireToken);
  std::fprintf(out, "injected total %d (expire-token 401s incl. repeats: %d) in %d requests\n",
               total, expired, proxy.Requests());
  std::fflush(out);
}

}  // namespace

int main(int argc, char** argv) {
  long upstream_port = 0;
  long listen_port = 0;
  long stats_every = 0;
  std::vector<FaultRule> rules;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    // The next argument is this flag's value unless it is another flag.
    auto take_value = [&](bool optional) -> bool {
      if (has_value) return true;
      if (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) {
        value = argv[++i];
        return true;
      }
      return optional;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--upstream-port" || arg == "--listen-port" || arg == "--stats-every") {
      long* target = arg == "--upstream-port" ? &upstream_port
                     : arg == "--listen-port" ? &listen_port
                                              : &stats_every;
      long min = arg == "--upstream-port" ? 1 : 0;
      long max = arg == "--stats-every" ? 86400 : 65535;
      if (!take_value(false) || !ParseInt(value, min, max, target)) {
        std::fprintf(stderr, "ppa-fault-proxy: %s needs a number from %ld to %ld\n%s", arg.c_str(),
                     min, max, kUsage);
        return 2;
      }
      continue;
    }
    FaultKind kind;
    if (arg == "--status") {
      kind = FaultKind::kStatus;
    } else if (arg == "--reset-body") {
      kind = FaultKind::kResetBody;
    } else if (arg == "--refuse") {
      kind = FaultKind::kRefuse;
    } else if (arg == "--stall") {
      kind = FaultKind::kStall;
    } else if (arg == "--expire-token") {
      kind = FaultKind::kExpireToken;
    } else {
      std::fprintf(stderr, "ppa-fault-proxy: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
    take_value(true);
    FaultRule rule;
    std::string error = ParseRule(kind, value, &rule);
    if (!error.empty()) {
      std::fprintf(stderr, "ppa-fault-proxy: %s: %s\n", arg.c_str(), error.c_str());
      return 2;
    }
    rules.push_back(rule);
  }
  if (upstream_port == 0) {
    std::fprintf(stderr, "ppa-fault-proxy: --upstream-port is required\n%s", kUsage);
    return 2;
  }

  // Signals are taken by sigwait below; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto proxy = FaultProxy::Start(static_cast<int>(upstream_port), static_cast<int>(listen_port));
  if (!proxy.ok()) {
    std::fprintf(stderr, "ppa-fault-proxy: %s\n", proxy.status().ToString().c_str());
    return 1;
  }
  (*proxy)->SetRules(rules);
  std::printf("%s\n", (*proxy)->host().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "ppa-fault-proxy: %s -> 127.0.0.1:%ld, %zu rule(s)\n",
               (*proxy)->host().c_str(), upstream_port, rules.size());

  int received = 0;
  while (true) {
    if (stats_every > 0) {
      timespec timeout{static_cast<time_t>(stats_every), 0};
      received = sigtimedwait(&signals, nullptr, &timeout);
      if (received < 0) {
        if (errno == EAGAIN) PrintCounts(**proxy, rules, stderr);
        continue;
      }
    } else if (sigwait(&signals, &received) != 0) {
      continue;
    }
    break;
  }
  std::fprintf(stderr, "ppa-fault-proxy: signal %d, stopping\n", received);
  PrintCounts(**proxy, rules, stdout);
  proxy->reset();
  return 0;
}
