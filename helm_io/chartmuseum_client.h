// ChartMuseum upload client (README, Usage), from ChartMuseum's documented
// API: `POST <context>/api[/<repo>]/charts` (multipart `chart` + `prov`),
// `GET <context>/api[/<repo>]/charts/<name>/<version>`, `GET
// <uri>/index.yaml` (serverInfo.contextPath).
//
// The repository URI is what `helm repo add` takes:
// `http[s]://host[:port][/<context path>][/<repo path>]`. The context path
// comes from ChartMuseumConfig::context_path or, when that is unset, from
// the server's index.yaml; the rest of the URI path is the (multitenant)
// repository. Credentials go into the Authorization header only and never
// into a message or log line.
//
// Sends through an HttpTransport (TLS options are the transport's). One
// client per upload target; Upload is thread-compatible after Discover.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "base/status.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/retry.h"

namespace ppa {

struct ChartMuseumConfig {
  std::string uri;                          // "http://host:8080/org/repo"
  std::optional<std::string> context_path;  // "/charts"; nullopt: discover
  std::string username;                     // basic auth with `password`
  std::string password;                     // secret
  std::string token;                        // bearer auth; secret
  bool force = false;                       // ?force: replace an existing version
  // Refused connections (a restarting server), resets, 429 and 5xx answers
  // are sent again as the registry client does.
  RetryPolicy retry;
  std::shared_ptr<RetryClock> clock;  // null: the system clock
};

struct ChartUpload {
  std::string file_name;                  // "mychart-1.0.0.tgz"
  std::string chart_name;                 // Chart.yaml name
  std::string version;                    // Chart.yaml version
  std::string bytes;                      // the .tgz
  std::optional<std::string> provenance;  // the .prov, when one travels with the chart
};

enum class UploadOutcome {
  kSaved,           // 201
  kAlreadyPresent,  // 409, and the stored chart has our digest
};

// Where the API lives, after Discover: "<scheme>://<host><context>/api<repo>".
struct ChartMuseumRoutes {
  std::string base;      // "http://host:8080"
  std::string context;   // "" or "/ctx"
  std::string repo;      // "" or "/org/repo"
  std::string ApiBase() const { return base + context + "/api" + repo; }
};

// Splits `uri` given a context path ("" when none). kInvalidInput for a URI
// without http:// or https://, or with a query, fragment or user info.
Result<ChartMuseumRoutes> SplitChartMuseumUri(std::string_view uri, std::string_view context);

// The serverInfo.contextPath of a ChartMuseum index.yaml ("" when absent).
Result<std::string> ContextPathFromIndex(std::string_view index_yaml);

// A multipart/form-data body with field `chart` (and `prov`); `boundary`
// must not occur in the parts.
std::string BuildMultipartBody(const ChartUpload& chart, const std::string& boundary);

// A transport failure (kNetwork) on the way to the ChartMuseum at `uri`,
// said as one failure naming ChartMuseum: "ChartMuseum at '<uri>' is
// unreachable: connection refused", with a hint about --chartmuseum-uri
// (not about the registry). Other errors come back unchanged.
Status ChartMuseumUnreachable(std::string_view uri, const Status& error);

// Thread-compatible.
class ChartMuseumClient {
 public:
  ChartMuseumClient(ChartMuseumConfig config, std::shared_ptr<HttpTransport> transport);

  // Resolves the routes: the configured context path, else the one in
  // `<uri>/index.yaml` (no context path when the index cannot be read).
  Status Discover();

  // Uploads one chart. A 409 is looked into: when the stored version has our
  // digest the outcome is kAlreadyPresent, else an error (pass `force`).
  // 401/403, 404 (API disabled), 413 (size limit) and 400 become one line
  // and a hint. Discover must have been called.
  Result<UploadOutcome> Upload(const ChartUpload& chart);

  // GETs `url` (a chart or .prov file of this server, as its index.yaml
  // lists them), under the retry policy, with the credentials; at most
  // `max_bytes`. nullopt for a 404 (and for a 403 with `forbidden_is_missing`:
  // object stores answer so for a file they lack); 401/403 and other
  // answers are errors. Needs no Discover.
  Result<std::optional<std::string>> Download(const std::string& url, size_t max_bytes,
                                              bool forbidden_is_missing = false);

  const ChartMuseumRoutes& routes() const { return routes_; }

 private:
  HttpRequest NewRequest(std::string method, std::string url) const;
  // Sends under config_.retry. An answer still retryable when the retries
  // are used up is worded by `error_for` when given, else returned. Errors
  // start with `what`.
  Result<HttpResponse> Send(const HttpRequest& request, const std::string& what,
                            const std::function<Status(const HttpResponse&)>& error_for = {});
  // GET the stored version and compare its digest with ours.
  Result<UploadOutcome> ExamineConflict(const ChartUpload& chart, const std::string& sha256_hex);
  Status ErrorFor(const HttpResponse& response, const ChartUpload& chart) const;

  ChartMuseumConfig config_;
  std::shared_ptr<HttpTransport> transport_;
  ChartMuseumRoutes routes_;
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace ppa
