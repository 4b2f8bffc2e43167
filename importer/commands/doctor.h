// `ppa-import doctor` (README, Usage): the troubleshooting list as checks,
// run in order, each printed as it completes:
//
//   PASS  <check>: <what was found>
//   FAIL  <check>: <cause>
//         fix: <what to do>
//   SKIP  <check>: <why it was not run>
//
// Checks: name resolution, TCP reachability, TLS, the /v2/ API, credentials
// (found and accepted), clock skew, namespace rules, push permission (an
// upload session started and cancelled), pull permission (a manifest read
// with pull scope) and, when configured, ChartMuseum, the signing key (it
// signs, the passphrase is right) and where signatures would be stored.
// A check whose precondition failed is skipped. Nothing printed ever holds
// a password, API key or token.
//
// The Classify* functions are pure (no I/O, thread-safe): they turn what a
// probe observed into a CheckResult. RunDoctor does the probing.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "base/status.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"
#include "helm_io/chartmuseum_client.h"
#include "importer/cli/credentials.h"
#include "importer/load/load_options.h"

namespace ppa {

enum class CheckOutcome { kPass, kFail, kSkip };

struct CheckResult {
  CheckOutcome outcome = CheckOutcome::kPass;
  std::string detail;  // PASS/SKIP: what was found or why skipped; FAIL: the cause
  std::string fix;     // FAIL: what to do ("" otherwise)
};

CheckResult Pass(std::string detail);
CheckResult Fail(std::string cause, std::string fix);
CheckResult Skip(std::string why);

// The printed lines of one check (with a trailing newline each).
std::string FormatCheck(std::string_view name, const CheckResult& result);

struct DoctorOptions {
  std::string registry;  // HOST[:PORT][/PREFIX]; an http:// or https:// scheme is accepted
  bool plain_http = false;
  TransportOptions transport;    // TLS options (timeouts come from timeout_seconds)
  std::string target_namespace;  // "": the namespace and push checks are skipped
  std::string namespace_rules = "ibm";
  // From the flags and environment (ResolveRegistryCredentials); RunDoctor
  // completes them for the registry (ResolveCredentials: --creds, a prompt,
  // IBMCLOUD_API_KEY, the auth files).
  ResolvedCredentials credentials;
  CredentialFlags credential_flags;  // --creds, --authfile
  ChartMuseumConfig chartmuseum;    // uri "": the ChartMuseum check is skipped
  int timeout_seconds = 10;         // per connection attempt and request
  SignOptions sign;                 // --sign-by ...: the signing checks; none without
};

// Runs every check against the registry, printing to `out`. Returns 0 when
// no check failed, 1 otherwise. An unparsable --registry is a usage error
// (2), reported on `err`.
int RunDoctor(const DoctorOptions& options, std::ostream& out, std::ostream& err);

struct RegistryAddress;

// The credentials doctor checks: options.credentials when they hold a user
// and a password, else ResolveCredentials for `address` with --creds,
// --authfile and the user name given (a prompt on a terminal, the auth
// files...). kInvalidInput is a usage error (exit 2); other errors (a
// failing credential helper) are the credentials check's failure.
Result<ResolvedCredentials> CompleteDoctorCredentials(const DoctorOptions& options,
                                                      const RegistryAddress& address,
                                                      const CredentialIo& io);

// --- Pure parts ------------------------------------------------------------

struct HostPort {
  std::string host;  // a name or an address ("::1" without brackets)
  int port = 0;
  std::string ToString() const;  // "host:port", "[::1]:port"
};

// Splits "host[:port]" / "[v6]:port"; the port defaults to 443 (80 with
// plain HTTP). kInvalidInput for a bad port.
Result<HostPort> SplitHostPort(std::string_view authority, bool plain_http);

// getaddrinfo's result code (0: resolved to `addresses`, e.g. "127.0.0.1").
CheckResult ClassifyResolve(int gai_error, std::string_view host, std::string_view addresses);

// A TCP connect: 0 (connected), or an errno value (ETIMEDOUT when no
// answer came within `timeout_seconds`).
CheckResult ClassifyConnect(int error, const HostPort& target, int timeout_seconds);

// The first HTTPS request: an answer means the handshake and certificate
// checks passed; a transport error is classified from its message (unknown
// CA, expired, host name mismatch, a plain HTTP server).
CheckResult ClassifyTls(const Result<HttpResponse>& answer, const HostPort& target, bool insecure);

// GET /v2/ without credentials: a registry answers 200, or 401 with a
// Docker-Distribution-API-Version header or a WWW-Authenticate challenge.
CheckResult ClassifyRegistryAnswer(const Result<HttpResponse>& answer, const std::string& url);

// The credentials check: `anonymous` is the unauthenticated /v2/ answer,
// `ping` the result of GET /v2/ with `credentials` (RegistryClient::Ping).
CheckResult ClassifyCredentials(const HttpResponse& anonymous,
                                const ResolvedCredentials& credentials, const Status& ping,
                                const std::string& host);

// The registry's Date header against the local clock `now`; more than 60 s
// apart fails (tokens may be rejected as not yet valid or expired).
CheckResult ClassifyClockSkew(std::string_view date_header,
                              std::chrono::system_clock::time_point now);

// The namespace against its rules (ValidateNamespace).
CheckResult ClassifyNamespace(const std::string& ns, const std::string& rules);

// The answer to POST /v2/<repo>/blobs/uploads/ (RegistryClient::ProbeBlobUpload).
CheckResult ClassifyPushProbe(const Result<HttpResponse>& answer, const std::string& repo);

// The answer to HEAD /v2/<repo>/manifests/latest with pull scope
// (RegistryClient::HeadManifest): an answer, 404 included, means reading
// is allowed; 401/403 that it is not.
CheckResult ClassifyPullProbe(const Result<std::optional<ManifestDescriptor>>& answer,
                              const std::string& repo);

// The answer to GET <uri>/index.yaml with the configured ChartMuseum auth.
CheckResult ClassifyChartMuseum(const Result<HttpResponse>& answer, const std::string& uri,
                                bool has_auth);

}  // namespace ppa
