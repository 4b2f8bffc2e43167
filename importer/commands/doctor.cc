#include "importer/commands/doctor.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "docker_io/registry/auth_challenge.h"
#include "docker_io/registry/registry_client.h"
#include "docker_io/registry/registry_errors.h"
#include "docker_io/registry/retry.h"
#include "importer/cli/cli.h"
#include "importer/cli/connection_flags.h"
#include "importer/report/display_text.h"
#include "importer/load/pipeline.h"
#include "importer/load/sign_images.h"
#include "docker_io/sign/cosign.h"
#include "docker_io/sign/openpgp.h"
#include "docker_io/sign/registries_d.h"

namespace ppa {
namespace {

constexpr std::chrono::seconds kMaxClockSkew{60};
constexpr const char* kProbeRepository = "ppa-import-doctor";

bool Contains(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

template <typename... Needles>
bool ContainsAny(std::string_view text, Needles... needles) {
  return (Contains(text, needles) || ...);
}

// The hint of `status`, or `fallback` when it has none.
std::string HintOr(const Status& status, std::string fallback) {
  return status.hint().empty() ? std::move(fallback) : status.hint();
}

std::string StatusText(long status) { return "HTTP " + std::to_string(status); }

// "basic" or "token" from a /v2/ challenge; "" when there is none.
std::string AuthScheme(const HttpResponse& anonymous) {
  Result<AuthChallenge> challenge = ParseWwwAuthenticate(anonymous.Header("www-authenticate"));
  if (!challenge.ok()) return "";
  return challenge->scheme == AuthChallenge::Scheme::kBearer ? "token" : "basic";
}

std::string DescribeSeconds(std::chrono::seconds s) {
  long long n = s.count();
  if (n < 120) return std::to_string(n) + " s";
  if (n < 7200) return std::to_string(n / 60) + " min";
  return std::to_string(n / 3600) + " h";
}

// --- Probes ------------------------------------------------------------------

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const noexcept { freeaddrinfo(info); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

struct SocketCloser {
  int fd = -1;
  ~SocketCloser() {
    if (fd >= 0) close(fd);
  }
};

std::string AddressText(const addrinfo& ai) {
  char text[INET6_ADDRSTRLEN] = {};
  const void* where =
      ai.ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(ai.ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(ai.ai_addr)->sin_addr);
  return inet_ntop(ai.ai_family, where, text, sizeof text) ? text : "?";
}

// getaddrinfo for a TCP connection to `target`; the error code in `*error`.
AddrInfoList Resolve(const HostPort& target, int* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  *error = getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &found);
  return AddrInfoList(*error == 0 ? found : nullptr);
}

std::string JoinAddresses(const addrinfo* list) {
  std::string out;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    std::string one = AddressText(*ai);
    if (out.find(one) != std::string::npos) continue;
    out += (out.empty() ? "" : ", ") + one;
  }
  return out;
}

// A non-blocking connect bounded by `timeout_ms`: 0 or an errno value.
int ConnectOnce(const addrinfo& ai, int timeout_ms) {
  SocketCloser sock{
      socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol)};
  if (sock.fd < 0) return errno;
  if (connect(sock.fd, ai.ai_addr, ai.ai_addrlen) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd waiting{sock.fd, POLLOUT, 0};
  int ready;
  do {
    ready = poll(&waiting, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) return ETIMEDOUT;
  if (ready < 0) return errno;
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

// Tries every address in turn; 0 on the first success, else the last error.
int ConnectAny(const addrinfo* list, int timeout_seconds) {
  int error = EADDRNOTAVAIL;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    error = ConnectOnce(*ai, timeout_seconds * 1000);
    if (error == 0) return 0;
  }
  return error;
}

// Remembers the last answer that went through it (the ChartMuseum client
// keeps its requests and responses to itself).
class LastAnswerTransport : public HttpTransport {
 public:
  explicit LastAnswerTransport(std::shared_ptr<HttpTransport> inner) : inner_(std::move(inner)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    last_.emplace(inner_->Send(request));
    return *last_;
  }
  const std::optional<Result<HttpResponse>>& last() const { return last_; }

 private:
  std::shared_ptr<HttpTransport> inner_;
  std::optional<Result<HttpResponse>> last_;
};

// The checks in order; each prints its line(s) as it completes.
class Doctor {
 public:
  Doctor(const DoctorOptions& options, RegistryAddress address, HostPort target,
         Result<ResolvedCredentials> credentials, std::ostream& out)
      : options_(options),
        address_(std::move(address)),
        target_(std::move(target)),
        out_(out),
        found_(std::move(credentials)) {
    TransportOptions transport = options.transport;
    transport.timeout_seconds = options.timeout_seconds;
    transport_ = MakeCurlTransport(transport);
  }

  int Run() {
    out_ << "Checking registry '" << address_.endpoint.BaseUrl() << "'"
         << (options_.target_namespace.empty()
                 ? std::string()
                 : " for namespace '" + options_.target_namespace + "'")
         << "...\n";
    bool reachable = CheckNetwork();
    std::optional<Result<HttpResponse>> v2;
    if (reachable) v2.emplace(GetV2());
    bool registry = CheckTls(v2) ? CheckRegistry(*v2) : Report("registry api", Blocked());
    bool accepted = CheckCredentials(registry ? &**v2 : nullptr);
    CheckClock(v2);
    bool ns_ok =
        Report("namespace", ClassifyNamespace(options_.target_namespace, options_.namespace_rules));
    CheckPush(accepted, ns_ok);
    CheckPull(accepted, ns_ok);
    CheckChartMuseum();
    bool key = CheckSigningKey();
    CheckSignatureStorage(v2, key);
    out_ << (failed_ == 0 ? "All checks passed.\n"
                          : std::to_string(failed_) + " check(s) failed.\n");
    return failed_ == 0 ? kExitOk : kExitItemFailed;
  }

 private:
  // Prints `result`; true when it passed. The first failure blocks the
  // checks that depend on it.
  bool Report(std::string_view name, const CheckResult& result) {
    out_ << FormatCheck(name, result) << std::flush;
    if (result.outcome == CheckOutcome::kFail) {
      ++failed_;
      if (blocker_.empty()) blocker_ = name;
    }
    return result.outcome == CheckOutcome::kPass;
  }
  CheckResult Blocked() const { return Skip("needs the '" + blocker_ + "' check to pass"); }

  bool CheckNetwork() {
    int gai_error = 0;
    AddrInfoList addresses = Resolve(target_, &gai_error);
    if (!Report("name resolution",
                ClassifyResolve(gai_error, target_.host, JoinAddresses(addresses.get())))) {
      return Report("tcp connect", Blocked());
    }
    int error = ConnectAny(addresses.get(), options_.timeout_seconds);
    return Report("tcp connect", ClassifyConnect(error, target_, options_.timeout_seconds));
  }

  Result<HttpResponse> GetV2() {
    HttpRequest request;
    request.url = address_.endpoint.BaseUrl() + "/v2/";
    return transport_->Send(request);
  }

  bool CheckTls(const std::optional<Result<HttpResponse>>& v2) {
    if (address_.endpoint.plain_http) {
      Report("tls", Skip("plain HTTP (--plain-http): no TLS"));
      return v2.has_value();
    }
    if (!v2) return Report("tls", Blocked());
    return Report("tls", ClassifyTls(*v2, target_, options_.transport.insecure));
  }

  bool CheckRegistry(const Result<HttpResponse>& v2) {
    return Report("registry api", ClassifyRegistryAnswer(v2, address_.endpoint.BaseUrl() + "/v2/"));
  }

  // The credentials found (flags, environment, docker config) and whether
  // the registry accepts them. `anonymous`: the /v2/ answer, null when the
  // registry could not be reached.
  bool CheckCredentials(const HttpResponse* anonymous) {
    const Result<ResolvedCredentials>& found = found_;
    if (!found.ok()) {  // an auth file or a credential helper failed
      return Report("credentials",
                    Fail(found.status().message(), HintOr(found.status(),
                                                          "fix or remove the auth file, or "
                                                          "pass --creds USER")));
    }
    credentials_ = *found;
    if (anonymous == nullptr) return Report("credentials", Blocked());
    Status ping = Status::Ok();
    if (anonymous->status == 401 && !credentials_.credentials.empty()) ping = Client().Ping();
    return Report("credentials",
                  ClassifyCredentials(*anonymous, credentials_, ping, address_.endpoint.host));
  }

  void CheckClock(const std::optional<Result<HttpResponse>>& v2) {
    if (!v2 || !v2->ok()) {
      Report("clock", blocker_.empty() ? Skip("no answer from the registry") : Blocked());
      return;
    }
    Report("clock", ClassifyClockSkew((*v2)->Header("date"), std::chrono::system_clock::now()));
  }

  void CheckPush(bool accepted, bool ns_ok) {
    if (options_.target_namespace.empty()) {
      Report("push permission", Skip("no --namespace given"));
      return;
    }
    if (!accepted || !ns_ok) {
      Report("push permission", Blocked());
      return;
    }
    std::string repo = options_.target_namespace + "/" + kProbeRepository;
    if (!address_.prefix.empty()) repo = address_.prefix + "/" + repo;
    Report("push permission", ClassifyPushProbe(Client().ProbeBlobUpload(repo), repo));
  }

  // What `skopeo inspect` needs: reading a manifest in the namespace with
  // pull scope (the probe repository's "latest"; none is expected there).
  void CheckPull(bool accepted, bool ns_ok) {
    if (options_.target_namespace.empty()) {
      Report("pull permission", Skip("no --namespace given"));
      return;
    }
    if (!accepted || !ns_ok) {
      Report("pull permission", Blocked());
      return;
    }
    std::string repo = options_.target_namespace + "/" + kProbeRepository;
    if (!address_.prefix.empty()) repo = address_.prefix + "/" + repo;
    Report("pull permission", ClassifyPullProbe(Client().HeadManifest(repo, "latest"), repo));
  }

  void CheckChartMuseum() {
    if (options_.chartmuseum.uri.empty()) {
      Report("chartmuseum", Skip("no --chartmuseum-uri given"));
      return;
    }
    ChartMuseumConfig config = options_.chartmuseum;
    config.context_path.reset();  // so that Discover reads <uri>/index.yaml
    auto recorder = std::make_shared<LastAnswerTransport>(transport_);
    ChartMuseumClient client(config, recorder);
    Status discovered = client.Discover();
    bool has_auth = !config.username.empty() || !config.password.empty() || !config.token.empty();
    if (!recorder->last()) {
      Report("chartmuseum",
             Fail(discovered.message(), HintOr(discovered, "check --chartmuseum-uri")));
      return;
    }
    Report("chartmuseum", ClassifyChartMuseum(*recorder->last(), config.uri, has_auth));
  }

  // The signing keys open (and the OpenPGP one signs) with the passphrase
  // given (nothing is stored): what `load --sign-by` / `--sign-key` does
  // before it pushes anything.
  bool CheckSigningKey() {
    const SignOptions& sign = options_.sign;
    if (!sign.enabled()) return Report("signing key", Skip("no --sign-by or --sign-key given"));
    std::string found;
    if (!sign.sign_by.empty()) {
      auto key = OpenSigningKey(sign);
      if (!key.ok()) {
        return Report("signing key",
                      Fail(key.status().message(), HintOr(key.status(), "check --sign-by")));
      }
      found = "OpenPGP key " + (*key)->fingerprint() + " signs";
    }
    if (!sign.sign_key.empty()) {
      auto key = OpenCosignKey(sign);
      if (!key.ok()) {
        return Report("signing key",
                      Fail(key.status().message(), HintOr(key.status(), "check --sign-key")));
      }
      found += (found.empty() ? "" : "; ") + std::string("cosign key ") + (*key)->KeyId() +
               " reads";
    }
    return Report("signing key",
                  Pass(found + (sign.passphrase_file.empty() ? "" : " (the passphrase is right)")));
  }

  // Where `load --sign-by` would store this namespace's signatures, and
  // whether it can: the registry's API extension, or a lookaside directory
  // this user can write.
  void CheckSignatureStorage(const std::optional<Result<HttpResponse>>& v2, bool key) {
    const char* name = "signature storage";
    if (options_.sign.sign_by.empty()) {
      // cosign signatures go into the registry, as the images: the push
      // permission check covers them.
      Report(name, Skip(options_.sign.enabled() ? "cosign signatures go with the images"
                                                : "no --sign-by given"));
      return;
    }
    if (!key) {
      Report(name, Skip("needs the 'signing key' check to pass"));
      return;
    }
    if (v2 && v2->ok() && (*v2)->Header("x-registry-supports-signatures") == "1") {
      Report(name, Pass("the registry stores them (X-Registry-Supports-Signatures)"));
      return;
    }
    const std::string dir_of_config = RegistriesDDirectory(options_.sign.registries_d);
    auto config = LoadRegistriesD(dir_of_config);
    if (!config.ok()) {
      Report(name, Fail(config.status().message(), HintOr(config.status(), "fix registries.d")));
      return;
    }
    std::string reference = address_.endpoint.host + "/" +
                            (address_.prefix.empty() ? "" : address_.prefix + "/") +
                            (options_.target_namespace.empty() ? "ns" : options_.target_namespace) +
                            "/" + kProbeRepository + ":latest";
    auto dir = LookasideDirFor(*config, reference, DefaultLookasideDirectory());
    if (!dir.ok()) {
      Report(name, Fail(dir.status().message(), HintOr(dir.status(), "fix registries.d")));
      return;
    }
    if (Status writable = CheckLookasideWritable(*dir, dir_of_config); !writable.ok()) {
      Report(name, Fail(writable.message(), writable.hint()));
      return;
    }
    Report(name, Pass("lookaside " + *dir + " (registries.d: " + dir_of_config + ")"));
  }

  RegistryClient& Client() {
    if (!client_) {
      RegistryClientOptions client_options;
      client_options.retry.max_attempts = 1;  // a diagnosis, not a transfer
      client_options.retry.max_connect_attempts = 1;
      client_ = std::make_unique<RegistryClient>(address_.endpoint, credentials_.credentials,
                                                 transport_, client_options);
    }
    return *client_;
  }

  const DoctorOptions& options_;
  RegistryAddress address_;
  HostPort target_;
  std::ostream& out_;
  std::shared_ptr<HttpTransport> transport_;
  Result<ResolvedCredentials> found_;  // the resolution (RunDoctor)
  ResolvedCredentials credentials_;
  std::unique_ptr<RegistryClient> client_;
  int failed_ = 0;
  std::string blocker_;  // name of the first failed check
};

}  // namespace

CheckResult Pass(std::string detail) { return {CheckOutcome::kPass, std::move(detail), {}}; }
CheckResult Fail(std::string cause, std::string fix) {
  return {CheckOutcome::kFail, std::move(cause), std::move(fix)};
}
CheckResult Skip(std::string why) { return {CheckOutcome::kSkip, std::move(why), {}}; }

std::string FormatCheck(std::string_view name, const CheckResult& result) {
  static constexpr const char* kLabels[] = {"PASS", "FAIL", "SKIP"};
  std::string line = std::string(kLabels[static_cast<int>(result.outcome)]) + "  " +
                     std::string(name) + ": " + DisplayLine(result.detail) + "\n";
  if (result.outcome == CheckOutcome::kFail && !result.fix.empty()) {
    line += "      fix: " + DisplayLine(result.fix) + "\n";
  }
  return line;
}

std::string HostPort::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> SplitHostPort(std::string_view authority, bool plain_http) {
  HostPort out;
  out.port = plain_http ? 80 : 443;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidInput("invalid registry host '" + std::string(authority) + "'");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return InvalidInput("invalid registry host '" + std::string(authority) + "'");
    }
    if (!rest.empty()) port_text = rest.substr(1);
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return InvalidInput("no host in registry '" + std::string(authority) + "'");
  if (port_text.empty()) return out;
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) {
      return InvalidInput("invalid port in registry '" + std::string(authority) + "'");
    }
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) {
    return InvalidInput("invalid port in registry '" + std::string(authority) + "'");
  }
  out.port = port;
  return out;
}

CheckResult ClassifyResolve(int gai_error, std::string_view host, std::string_view addresses) {
  std::string name(host);
  if (gai_error == 0) return Pass(name + " resolves to " + std::string(addresses));
  std::string cause = "cannot resolve '" + name + "': " + gai_strerror(gai_error);
  if (gai_error == EAI_AGAIN) {
    return Fail(cause,
                "the DNS server did not answer: check the network, /etc/resolv.conf and "
                "any VPN, then retry");
  }
  return Fail(cause,
              "check the registry name in --registry / PPA_IMPORT_REGISTRY for typos; if "
              "it is right, check DNS (/etc/resolv.conf, a VPN, a proxy) or /etc/hosts");
}

CheckResult ClassifyConnect(int error, const HostPort& target, int timeout_seconds) {
  const std::string where = target.ToString();
  const std::string port = std::to_string(target.port);
  switch (error) {
    case 0:
      return Pass("connected to " + where);
    case ECONNREFUSED:
      return Fail("connection to " + where +
                      " refused: the host answered but nothing listens "
                      "on port " +
                      port,
                  "check the port in --registry and that the registry is running on " + where);
    case ETIMEDOUT:
      return Fail("no answer from " + where + " within " + std::to_string(timeout_seconds) +
                      " s: the network or a firewall drops the traffic",
                  "open TCP port " + port + " to " + target.host +
                      " from this machine (firewall, security group, proxy), or raise "
                      "--timeout on a slow link");
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Fail("no route to " + where + ": " + std::strerror(error),
                  "check the network connection, VPN and routes to " + target.host);
    default:
      return Fail("connecting to " + where + " failed: " + std::strerror(error),
                  "check the network and any firewall between this machine and TCP port " + port +
                      " of " + target.host);
  }
}

CheckResult ClassifyTls(const Result<HttpResponse>& answer, const HostPort& target, bool insecure) {
  const std::string where = target.ToString();
  if (answer.ok()) {
    return Pass(insecure
                    ? "handshake with " + where + " done; certificate NOT verified (--insecure)"
                    : "handshake with " + where + " done, certificate verified");
  }
  const std::string& m = answer.status().message();
  if (ContainsAny(m, "wrong version number", "packet length too long", "http request")) {
    return Fail(where + " answers plain HTTP, not TLS (" + m + ")",
                "use --plain-http for a registry without TLS");
  }
  if (ContainsAny(m, "has expired", "certificate expired")) {
    return Fail("the certificate of " + where + " has expired (" + m + ")",
                "renew the registry's certificate; if it looks valid, check this machine's "
                "clock");
  }
  if (ContainsAny(m, "not yet valid")) {
    return Fail("the certificate of " + where + " is not yet valid (" + m + ")",
                "check this machine's clock (NTP), or the certificate's start date");
  }
  if (ContainsAny(m, "subject name", "does not match target host", "hostname mismatch")) {
    return Fail(
        "the certificate of " + where + " is not issued for '" + target.host + "' (" + m + ")",
        "use the host name the certificate names (its subject alternative names) in "
        "--registry, or reissue the certificate for '" +
            target.host + "'");
  }
  if (ContainsAny(m, "local issuer", "self-signed", "self signed", "unknown ca",
                  "verify the first certificate", "certificate verify failed")) {
    return Fail("the certificate of " + where +
                    " is signed by a CA this machine does not "
                    "trust (" +
                    m + ")",
                "pass the registry's CA certificate with --ca-file FILE or --cert-dir DIR, "
                "put it in /etc/containers/certs.d/" + where + "/ca.crt (or add it to the "
                "system trust store); --tls-verify=false skips verification (not "
                "recommended)");
  }
  return Fail("TLS with " + where + " failed: " + m,
              HintOr(answer.status(),
                     "check --ca-file, and --cert-file/--key-file or --cert-dir when the "
                     "registry wants a client certificate"));
}

CheckResult ClassifyRegistryAnswer(const Result<HttpResponse>& answer, const std::string& url) {
  if (!answer.ok()) {
    return Fail(answer.status().message(),
                HintOr(answer.status(), "check that the registry runs at " + url));
  }
  const HttpResponse& r = *answer;
  const std::string api = r.Header("docker-distribution-api-version");
  const bool challenge = !r.Header("www-authenticate").empty();
  if ((r.status == 200 || r.status == 401) && (!api.empty() || challenge)) {
    std::string what = r.status == 200 ? "no login needed" : "login required";
    return Pass(url + " answers as a registry (" + StatusText(r.status) + ", " + what +
                (api.empty() ? "" : ", " + api) + ")");
  }
  if (r.status == 400 && Contains(r.body, "HTTPS")) {
    return Fail(url + " answered " + StatusText(r.status) + ": the server speaks HTTPS",
                "drop --plain-http (and the http:// scheme)");
  }
  if (r.status >= 500) {
    return Fail(url + " answered " + StatusText(r.status) +
                    ": the registry (or a proxy in "
                    "front of it) is failing",
                "check the registry's health and logs, then retry");
  }
  const bool html = Contains(r.Header("content-type"), "html") || Contains(r.body, "<html");
  return Fail(url + " answered " + StatusText(r.status) + (html ? " with an HTML page" : "") +
                  " and no Docker-Distribution-API-Version header: not a registry, or the "
                  "wrong host, port or path",
              "check the host and port in --registry: it must serve the OCI distribution API "
              "at /v2/ (a path after the host is a repository prefix, not a URL path)");
}

CheckResult ClassifyCredentials(const HttpResponse& anonymous,
                                const ResolvedCredentials& credentials, const Status& ping,
                                const std::string& host) {
  const std::string& source = credentials.source;
  if (anonymous.status != 401) {
    return Pass("the registry needs no login for /v2/" +
                (credentials.credentials.empty() ? std::string("; no credentials found")
                                                 : "; found " + source));
  }
  const std::string login_help =
      "log in again: `podman login " + host + "` or `docker login " + host +
      "`, or --creds USER (asked for on a terminal), or --username USER --password-stdin, or "
      "`export PPA_IMPORT_USERNAME=USER; read -rs PPA_IMPORT_PASSWORD; export "
      "PPA_IMPORT_PASSWORD`; IBM Cloud Container Registry: IBMCLOUD_API_KEY (user "
      "'iamapikey')";
  if (credentials.credentials.empty()) {
    return Fail("the registry requires a login and no credentials were found (" +
                    (source.empty() ? std::string("looked in: flags, environment, auth files")
                                    : source) +
                    ")",
                login_help);
  }
  std::string scheme = AuthScheme(anonymous);
  if (ping.ok()) {
    return Pass(source + ": accepted" + (scheme.empty() ? "" : " (" + scheme + " auth)"));
  }
  if (ping.code() == StatusCode::kNetwork) {
    return Fail(ping.message() + " (" + source + ")",
                HintOr(ping, "check the network path to the token server"));
  }
  return Fail("the credentials from " + source + " were refused: " + ping.message(),
              "the registry refused these credentials: check the user name and the password or "
              "API key there, and that it has not expired or been revoked; " +
                  login_help);
}

CheckResult ClassifyClockSkew(std::string_view date_header,
                              std::chrono::system_clock::time_point now) {
  if (date_header.empty()) return Skip("the registry sent no Date header");
  auto date = ParseHttpDate(date_header);
  if (!date) return Skip("unreadable Date header '" + std::string(date_header) + "'");
  auto skew = std::chrono::duration_cast<std::chrono::seconds>(now - *date);
  auto size = skew < std::chrono::seconds(0) ? -skew : skew;
  // Date has a resolution of one second and the answer took a moment.
  if (size <= kMaxClockSkew) {
    return Pass("local clock within " + DescribeSeconds(std::max(size, std::chrono::seconds(1))) +
                " of the registry's");
  }
  return Fail("the local clock is " + DescribeSeconds(size) +
                  (skew.count() > 0 ? " ahead of" : " behind") +
                  " the registry's (Date: " + std::string(date_header) +
                  "): tokens may be rejected as expired or not yet "
                  "valid",
              "synchronise this machine's clock with NTP (e.g. `timedatectl set-ntp true`, "
              "`chronyc makestep`)");
}

CheckResult ClassifyNamespace(const std::string& ns, const std::string& rules) {
  if (ns.empty()) return Skip("no --namespace given");
  Status valid = ValidateNamespace(ns, rules);
  if (!valid.ok()) return Fail(valid.message(), valid.hint());
  return Pass("'" + ns + "' follows the '" + rules + "' namespace rules");
}

CheckResult ClassifyPushProbe(const Result<HttpResponse>& answer, const std::string& repo) {
  const std::string denied_fix =
      "access denied: the namespace may not exist (create it, e.g. `ibmcloud cr namespace-add "
      "NS`) or the account has no write access to it (ask for push rights, or an API key with "
      "the Writer role)";
  if (!answer.ok()) {
    const Status& s = answer.status();
    return Fail(s.message(), s.code() == StatusCode::kHttp ? denied_fix : HintOr(s, denied_fix));
  }
  const HttpResponse& r = *answer;
  if (r.status == 202) {
    return Pass("may push to '" + repo + "' (an upload was started and cancelled)");
  }
  Status error = MapRegistryError(r.status, r.body, r.Header("content-type"),
                                  "upload check in '" + repo + "'");
  if (r.status == 401 || r.status == 403) return Fail(error.message(), denied_fix);
  if (r.status == 404) {
    return Fail(error.message(), "the registry has no upload endpoint for '" + repo +
                                     "': check the path prefix in --registry and the namespace");
  }
  return Fail(error.message(), HintOr(error, "check the registry's logs"));
}

CheckResult ClassifyPullProbe(const Result<std::optional<ManifestDescriptor>>& answer,
                              const std::string& repo) {
  if (!answer.ok()) {
    const Status& s = answer.status();
    return Fail(s.message(), s.code() == StatusCode::kHttp
                                 ? "access denied: the account may not read '" + repo +
                                       "' (ask for pull rights, or an API key with the Reader "
                                       "role)"
                                 : HintOr(s, "check the registry's logs"));
  }
  if (!answer->has_value()) {
    return Pass("may read manifests in '" + repo +
                "' (its tag 'latest' is not there, as expected)");
  }
  return Pass("may read manifests in '" + repo + "' ('latest' is " + (*answer)->digest + ")");
}

CheckResult ClassifyChartMuseum(const Result<HttpResponse>& answer, const std::string& uri,
                                bool has_auth) {
  if (!answer.ok()) {
    return Fail("ChartMuseum '" + uri + "': " + answer.status().message(),
                HintOr(answer.status(), "check --chartmuseum-uri and the network"));
  }
  const long status = answer->status;
  if (status == 200) {
    return Pass(uri + "/index.yaml readable" +
                (has_auth ? " with the configured credentials" : " without credentials"));
  }
  if (status == 401 || status == 403) {
    return Fail("ChartMuseum '" + uri + "' refused " +
                    (has_auth ? "the configured credentials" : "anonymous access") + " (" +
                    StatusText(status) + ")",
                has_auth ? "check --chartmuseum-user and PPA_IMPORT_CHARTMUSEUM_PASSWORD (or "
                           "PPA_IMPORT_CHARTMUSEUM_TOKEN)"
                         : "pass --chartmuseum-user with PPA_IMPORT_CHARTMUSEUM_PASSWORD, or "
                           "PPA_IMPORT_CHARTMUSEUM_TOKEN");
  }
  if (status == 404) {
    return Fail("no index.yaml under '" + uri + "' (HTTP 404): not a chart repository URI",
                "check --chartmuseum-uri: the repository URL `helm repo add` takes");
  }
  return Fail("ChartMuseum '" + uri + "' answered " + StatusText(status),
              "check the ChartMuseum server's health and logs");
}

Result<ResolvedCredentials> CompleteDoctorCredentials(const DoctorOptions& options,
                                                      const RegistryAddress& address,
                                                      const CredentialIo& io) {
  const Credentials& given = options.credentials.credentials;
  // User and password from the flags and environment: complete already.
  if (!given.username.empty() && !given.password.empty()) return options.credentials;
  // --creds gave the user name of `given` (it excludes --username).
  const bool creds = !options.credential_flags.creds.empty();
  CredentialRequest request{.creds = options.credential_flags.creds,
                            .username = creds ? "" : given.username,
                            .authfile = options.credential_flags.authfile,
                            .host = address.endpoint.host,
                            .userinfo = address.userinfo};
  request.repository_path = address.prefix;
  if (!options.target_namespace.empty()) {
    request.repository_path +=
        (request.repository_path.empty() ? "" : "/") + options.target_namespace;
  }
  return ResolveCredentials(request, io);
}

int RunDoctor(const DoctorOptions& options, std::ostream& out, std::ostream& err) {
  if (options.registry.empty()) {
    err << "Error: no registry given\nHint: pass --registry HOST[:PORT] or set "
           "PPA_IMPORT_REGISTRY\n";
    return kExitUsage;
  }
  if (options.registry.rfind("oci:", 0) == 0) {
    err << "Error: '" << DisplayLine(options.registry)
        << "' is an OCI image layout, not a registry\n"
        << "Hint: doctor checks a registry: pass --registry HOST[:PORT]\n";
    return kExitUsage;
  }
  Result<RegistryAddress> address = ParseRegistryAddress(options.registry, options.plain_http);
  Result<HostPort> target =
      address.ok() ? SplitHostPort(address->endpoint.host, address->endpoint.plain_http)
                   : Result<HostPort>(address.status());
  if (!target.ok()) {
    PrintError(err, target.status());
    return kExitUsage;
  }
  Result<ResolvedCredentials> credentials =
      CompleteDoctorCredentials(options, *address, DefaultCredentialIo());
  if (!credentials.ok() && credentials.status().code() == StatusCode::kInvalidInput) {
    PrintError(err, credentials.status());
    return kExitUsage;
  }
  Doctor doctor(options, std::move(address).value(), std::move(target).value(),
                std::move(credentials), out);
  return doctor.Run();
}

}  // namespace ppa
