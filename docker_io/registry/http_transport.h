// HttpTransport: the one seam between ppa-import and the network.
//
// The curl implementation (MakeCurlTransport) is used by the product; tests
// use a recording fake. A transport only moves bytes: it returns whatever
// status the server sent. Deciding what a status means is the job of one
// mapping function per protocol (registry_errors.h, the ChartMuseum client).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ppa {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// A request body read from a file region, never held in memory whole.
struct FileBody {
  std::string path;
  uint64_t offset = 0;
  uint64_t size = 0;
  // Size unknown: read from `offset` to the end of the file (`size` is
  // ignored); the body is sent with chunked transfer encoding.
  bool until_eof = false;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;             // absolute
  HttpHeaders headers;         // sent as given ("Authorization" among them)
  std::string body;            // in-memory body (manifests, small blobs)
  std::optional<FileBody> file_body;  // when set, replaces `body`
  // Credentials are never sent to another host; an https:// request is
  // redirected to https:// only (a redirect to http:// fails the request).
  bool follow_redirects = false;
  // Plain HTTP is the user's choice, host by host. A request carries
  // credentials when it has an Authorization header or `carries_secret`
  // (a secret in the body: an OAuth2 refresh token). Every transport
  // refuses to send such a request to an http:// URL unless
  // `plain_http_allowed`, which the client sets only when the user asked
  // for plain HTTP to that host (--plain-http, an http:// registry or
  // ChartMuseum URI). See CheckPlainHttp (transport_policy.h).
  bool carries_secret = false;
  bool plain_http_allowed = false;
  // The most response body bytes this request accepts; a longer answer
  // fails the request (IsResponseTooLarge). 0: TransportOptions::max_response_body.
  size_t max_response_body = 0;
  // Called with bytes sent so far, for progress; may be empty.
  std::function<void(uint64_t)> on_upload_progress;
  // A streamed answer (blob downloads): when set, the body of a 2xx answer
  // goes to this callback (with the answer's status: 200, or 206 for a
  // Range request) in pieces as it arrives, not into
  // HttpResponse::body, and `max_response_body` does not bound it (the
  // callback does). A non-OK Status from it aborts the transfer and is what
  // Send returns. Bodies of other answers (error documents) are held in
  // `body` as usual. A transport may also return a 2xx body whole in `body`
  // (a test fake): callers hand it over themselves then.
  std::function<Status(long status, std::string_view data)> on_response_body;
  // The bytes a streamed answer is expected to hold: its deadline grows
  // with them as with a request body's (RequestLimitsFor).
  uint64_t expected_response_bytes = 0;
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;     // names lower-cased, in arrival order (last response only)
  std::string body;        // at most the request's max_response_body bytes
  std::string effective_url;

  // First header value with this (case-insensitive) name, or "".
  std::string Header(std::string_view name) const;
};

struct TransportOptions {
  bool insecure = false;    // skip TLS verification (--insecure, --tls-verify=false)
  // TLS files (docker_io/registry/cert_dirs.h): per server, the certs.d folder
  // HOST:PORT (or `cert_dir`) gives CAs (*.crt) and a client pair
  // (*.cert/*.key); the flags below win over it. Extra CAs are trusted
  // besides the system bundle (SSL_CERT_FILE when set).
  std::string ca_file;      // --ca-file: extra CA bundle
  std::string cert_file;    // --cert-file: client certificate (mutual TLS)
  std::string key_file;     // --key-file
  std::string cert_dir;     // --cert-dir: read instead of the certs.d folders
  // The certs.d roots; nullopt: DefaultCertsDirRoots() (/etc/containers/certs.d,
  // /etc/docker/certs.d, or PPA_TEST_CERTS_D_ROOTS in tests).
  std::optional<std::vector<std::string>> certs_d_roots;
  // `--timeout`: how long a server may keep a request waiting, in seconds:
  // to connect, with no byte moving either way, and for the whole of a
  // request without a large body. Requests with a large body get more time
  // in proportion to its size. RequestLimitsFor (transport_policy.h) turns
  // this into the limits of one request; a server that times out twice in
  // a row is given up on for the rest of the run.
  long timeout_seconds = 20;
  // Response bodies are held in memory: the most bytes of one (the
  // distribution spec's manifest limit). A longer answer fails the request.
  size_t max_response_body = 4 << 20;
  std::string user_agent = "ppa-import/" PPA_IMPORT_VERSION;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request. A non-OK Status means no HTTP response arrived
  // (kNetwork: DNS, connect, TLS, reset, timeout, an answer over its size
  // limit, credentials refused over plain HTTP), with a hint. Any HTTP
  // status, 4xx and 5xx included, is an OK Result. Thread-safe: concurrent
  // calls are allowed.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpTransport> MakeCurlTransport(const TransportOptions& options);

// The hint for a failed TLS handshake with `where` ("host:port") from the
// TLS library's message: plain HTTP answering (use --plain-http), an expired
// or not yet valid certificate (renew it, check the clock), a name mismatch,
// a client certificate wanted, else an unknown CA (--ca-file, --cert-dir,
// certs.d). Pure.
std::string TlsFailureHint(std::string_view detail, const std::string& where);

// A 400 that a TLS server sends to plain HTTP ("Client sent an HTTP request
// to an HTTPS server", nginx's "The plain HTTP request was sent to HTTPS
// port"). Pure.
bool IsHttpToHttpsAnswer(long status, std::string_view body);

// A kNetwork Status for a failure that may not happen again when the same
// request is sent again: connection reset or cut, timeout, empty reply.
// Transports build these; the registry client's retry loop tests for them.
// (DNS and TLS failures are neither transient nor connect failures.)
Status TransientNetworkError(std::string message, std::string hint = {});
bool IsTransientNetworkError(const Status& status);

// A kNetwork Status for a connection that could not be opened at all
// (refused: nothing listens on the port; no route to the host). The server
// may be restarting: the registry client retries these within a small time
// budget of their own (RetryPolicy::max_connect_wait).
Status ConnectNetworkError(std::string message, std::string hint = {});
bool IsConnectNetworkError(const Status& status);

}  // namespace ppa
