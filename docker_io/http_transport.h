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
#include <utility>
#include <vector>

#include "archive/status.h"

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
  bool follow_redirects = false;      // credentials are never sent to another host
  // Called with bytes sent so far, for progress; may be empty.
  std::function<void(uint64_t)> on_upload_progress;
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;     // names lower-cased, in arrival order (last response only)
  std::string body;        // capped (see TransportOptions::max_response_body)
  std::string effective_url;

  // First header value with this (case-insensitive) name, or "".
  std::string Header(std::string_view name) const;
};

struct TransportOptions {
  bool insecure = false;    // skip TLS verification
  std::string ca_file;      // extra CA bundle
  std::string cert_file;    // client certificate (mutual TLS)
  std::string key_file;
  long connect_timeout_seconds = 30;
  long low_speed_seconds = 120;  // abort when under 1 byte/s for this long
  size_t max_response_body = 16 << 20;
  std::string user_agent = "ppa-import/" PPA_IMPORT_VERSION;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request. A non-OK Status means no HTTP response arrived
  // (kNetwork: DNS, connect, TLS, reset, timeout), with a hint. Any HTTP
  // status, 4xx and 5xx included, is an OK Result. Thread-safe: concurrent
  // calls are allowed.
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

std::unique_ptr<HttpTransport> MakeCurlTransport(const TransportOptions& options);

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
