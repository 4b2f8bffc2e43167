#include "helm_io/chartmuseum_client.h"

#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "base/ascii.h"
#include "archive/manifest/bounded_yaml.h"
#include "base/url_userinfo.h"
#include "docker_io/image/digest.h"
#include "docker_io/registry/transport_policy.h"

namespace ppa {
namespace {

constexpr char kAuthHint[] =
    "check --chartmuseum-user with --chartmuseum-password-stdin / "
    "PPA_IMPORT_CHARTMUSEUM_PASSWORD, or --chartmuseum-token / PPA_IMPORT_CHARTMUSEUM_TOKEN";

std::string TrimSlashes(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (path.starts_with("//")) path.remove_prefix(1);
  return std::string(path);
}

// "/x/y" for "x/y", "/x/y/", "/x/y"; "" for "", "/".
std::string NormalizePath(std::string_view path) {
  std::string p = TrimSlashes(path);
  if (p.empty() || p == "/") return "";
  if (p[0] != '/') p.insert(p.begin(), '/');
  return p;
}

// The `error` field of a ChartMuseum JSON error body, or "".
std::string ServerError(const HttpResponse& response) {
  try {
    const nlohmann::json body = nlohmann::json::parse(response.body);
    if (body.is_object() && body.contains("error") && body["error"].is_string()) {
      std::string message = body["error"].get<std::string>();
      if (message.size() > 300) message.resize(300);
      return message;
    }
  } catch (const nlohmann::json::exception&) {
  }
  return "";
}

std::string RandomBoundary() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "ppa-import-";
  for (int i = 0; i < 32; ++i) out += kHex[gen() % 16];
  return out;
}

// A file name from the archive as a quoted header parameter: a quote, a
// backslash or a control byte could end the parameter or the header line.
std::string QuotableFileName(std::string name) {
  for (char& c : name) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  }
  return name;
}

void AppendPart(std::string& body, const std::string& boundary, const char* field,
                const std::string& file_name, const std::string& content) {
  body += "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"" + std::string(field) + "\"; filename=\"" +
          QuotableFileName(file_name) + "\"\r\n";
  body += "Content-Type: application/octet-stream\r\n\r\n";
  body += content;
  body += "\r\n";
}

}  // namespace

Result<ChartMuseumRoutes> SplitChartMuseumUri(std::string_view uri, std::string_view context) {
  ChartMuseumRoutes routes;
  size_t scheme_end = 0;
  if (uri.starts_with("http://")) {
    scheme_end = 7;
  } else if (uri.starts_with("https://")) {
    scheme_end = 8;
  } else {
    return InvalidInput("ChartMuseum URI '" + RedactUserInfo(uri) +
                        "' must start with http:// or https://");
  }
  if (uri.find_first_of("?#@ ") != std::string_view::npos) {
    return InvalidInput("ChartMuseum URI must not hold a query, a fragment, spaces or credentials",
                        "pass credentials with --chartmuseum-user and "
                        "--chartmuseum-password-stdin");
  }
  const size_t slash = uri.find('/', scheme_end);
  routes.base = std::string(uri.substr(0, slash));
  if (routes.base.size() == scheme_end) {
    return InvalidInput("ChartMuseum URI '" + RedactUserInfo(uri) + "' has no host");
  }
  std::string path =
      slash == std::string_view::npos ? std::string() : NormalizePath(uri.substr(slash));
  routes.context = NormalizePath(context);
  if (!routes.context.empty() &&
      (path == routes.context || path.starts_with(routes.context + "/"))) {
    path = path.substr(routes.context.size());
  }
  routes.repo = path;
  return routes;
}

Result<std::string> ContextPathFromIndex(std::string_view index_yaml) {
  try {
    PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(index_yaml, "index.yaml"));
    if (!root.IsMap()) return InvalidInput("index.yaml is not a YAML mapping");
    const YAML::Node info = root["serverInfo"];
    if (!info.IsDefined() || !info.IsMap()) return std::string();
    const YAML::Node context = info["contextPath"];
    if (!context.IsDefined() || !context.IsScalar()) return std::string();
    return context.Scalar();
  } catch (const YAML::Exception& e) {
    return InvalidInput("index.yaml: " + e.msg);
  }
}

std::string BuildMultipartBody(const ChartUpload& chart, const std::string& boundary) {
  std::string body;
  body.reserve(chart.bytes.size() + (chart.provenance ? chart.provenance->size() : 0) + 1024);
  AppendPart(body, boundary, "chart", chart.file_name, chart.bytes);
  if (chart.provenance) AppendPart(body, boundary, "prov", chart.file_name + ".prov", *chart.provenance);
  body += "--" + boundary + "--\r\n";
  return body;
}

ChartMuseumClient::ChartMuseumClient(ChartMuseumConfig config,
                                     std::shared_ptr<HttpTransport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {
  if (!config_.clock) config_.clock = SystemRetryClock();
}

Status ChartMuseumUnreachable(std::string_view uri, const Status& error) {
  if (error.code() != StatusCode::kNetwork) return error;
  const std::string& m = error.message();
  const std::string lower = AsciiLower(m);
  std::string reason = m;
  if (lower.find("refused") != std::string::npos ||
      lower.find("couldn't connect") != std::string::npos ||
      lower.find("failed to connect") != std::string::npos) {
    reason = "connection refused";
  } else if (lower.find("resolve") != std::string::npos) {
    reason = "its host name does not resolve";
  } else if (lower.find("timed out") != std::string::npos ||
             lower.find("timeout") != std::string::npos) {
    reason = "the connection timed out";
  }
  const size_t gave_up = m.rfind(" (gave up after ");
  if (reason != m && gave_up != std::string::npos) reason += m.substr(gave_up);
  std::string base(RedactUserInfo(uri));
  return NetworkError("ChartMuseum at '" + base + "' is unreachable: " + reason,
                      "check --chartmuseum-uri (scheme, host and port) and that ChartMuseum runs "
                      "there; the images were imported, run again to upload the charts");
}

Result<HttpResponse> ChartMuseumClient::Send(
    const HttpRequest& request, const std::string& what,
    const std::function<Status(const HttpResponse&)>& error_for) {
  auto jitter = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(jitter_); };
  Result<HttpResponse> got = SendRetrying(config_.retry, *config_.clock, what,
                                          [&] { return transport_->Send(request); }, jitter,
                                          error_for);
  if (!got.ok() && got.status().code() == StatusCode::kNetwork) {
    return ChartMuseumUnreachable(config_.uri, got.status());
  }
  // Failures after retries already start with `what`; the others get it.
  if (!got.ok() && got.status().message().rfind(what, 0) != 0) {
    return got.status().WithContext(what);
  }
  return got;
}

HttpRequest ChartMuseumClient::NewRequest(std::string method, std::string url) const {
  HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  // Every URL is below the configured URI: credentials go over plain HTTP
  // only when the user gave an http:// URI (the transport checks it).
  request.plain_http_allowed = IsPlainHttpUrl(config_.uri);
  if (!config_.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config_.token);
  } else if (!config_.username.empty() || !config_.password.empty()) {
    request.headers.emplace_back("Authorization",
                                 "Basic " + Base64Encode(config_.username + ":" + config_.password));
  }
  return request;
}

Status ChartMuseumClient::Discover() {
  if (config_.context_path) {
    PPA_ASSIGN_OR_RETURN(routes_, SplitChartMuseumUri(config_.uri, *config_.context_path));
    return Status::Ok();
  }
  PPA_ASSIGN_OR_RETURN(routes_, SplitChartMuseumUri(config_.uri, ""));
  const std::string url = routes_.base + routes_.repo + "/index.yaml";
  Result<HttpResponse> index =
      Send(NewRequest("GET", url), "ChartMuseum '" + RedactUserInfo(config_.uri) + "'");
  if (!index.ok() && IsResponseTooLarge(index.status())) {
    // A large repository's index; only its serverInfo was wanted.
    spdlog::debug("GET {}: {}; assuming no context path", url, index.status().message());
    return Status::Ok();
  }
  if (!index.ok()) return index.status();
  if (index->status != 200) {
    spdlog::debug("GET {}: HTTP {}; assuming no context path", url, index->status);
    return Status::Ok();
  }
  Result<std::string> context = ContextPathFromIndex(index->body);
  if (!context.ok()) {
    spdlog::debug("GET {}: {}; assuming no context path", url, context.status().message());
    return Status::Ok();
  }
  PPA_ASSIGN_OR_RETURN(routes_, SplitChartMuseumUri(config_.uri, *context));
  return Status::Ok();
}

Result<UploadOutcome> ChartMuseumClient::Upload(const ChartUpload& chart) {
  std::string url = routes_.ApiBase() + "/charts";
  if (config_.force) url += "?force";
  HttpRequest post = NewRequest("POST", url);
  const std::string boundary = RandomBoundary();
  post.headers.emplace_back("Content-Type", "multipart/form-data; boundary=" + boundary);
  post.body = BuildMultipartBody(chart, boundary);
  Result<HttpResponse> answer =
      Send(post, "upload of chart '" + chart.file_name + "'",
           [&](const HttpResponse& response) { return ErrorFor(response, chart); });
  if (!answer.ok()) return answer.status();
  if (answer->status == 201 || answer->status == 200) return UploadOutcome::kSaved;
  if (answer->status == 409) {
    const std::string hex(DigestHex(Sha256Digest(chart.bytes)));
    return ExamineConflict(chart, hex);
  }
  return ErrorFor(*answer, chart);
}

Result<std::optional<std::string>> ChartMuseumClient::Download(const std::string& url,
                                                              size_t max_bytes,
                                                              bool forbidden_is_missing) {
  HttpRequest get = NewRequest("GET", url);
  get.max_response_body = max_bytes;
  get.follow_redirects = true;  // never with credentials to another host (HttpRequest)
  const std::string what = "GET " + RedactUserInfo(url);
  Result<HttpResponse> answer = Send(get, what);
  if (!answer.ok() && IsResponseTooLarge(answer.status())) {
    return InvalidInput(what + ": the answer is over " + std::to_string(max_bytes >> 20) +
                        " MiB, more than a chart may be");
  }
  if (!answer.ok()) return answer.status();
  if (answer->status == 200) return std::optional<std::string>(std::move(answer->body));
  if (answer->status == 404 || (answer->status == 403 && forbidden_is_missing)) {
    return std::optional<std::string>();
  }
  if (answer->status == 401 || answer->status == 403) {
    return HttpError(what + ": HTTP " + std::to_string(answer->status),
                     "log in to the server (the auth file's entry for its host, or --creds)");
  }
  return HttpError(what + ": HTTP " + std::to_string(answer->status));
}

Result<UploadOutcome> ChartMuseumClient::ExamineConflict(const ChartUpload& chart,
                                                         const std::string& sha256_hex) {
  const std::string what = "chart '" + chart.chart_name + "' version " + chart.version;
  // Both come from the chart's Chart.yaml: one path segment each, never a
  // dot segment, a query or a fragment.
  if (chart.chart_name == "." || chart.chart_name == ".." || chart.version == "." ||
      chart.version == "..") {
    return InvalidInput("invalid chart name or version in " + what);
  }
  const std::string url = routes_.ApiBase() + "/charts/" + PercentEncode(chart.chart_name) + "/" +
                          PercentEncode(chart.version);
  Result<HttpResponse> stored = Send(NewRequest("GET", url), what);
  if (!stored.ok()) return stored.status();
  std::string digest;
  if (stored->status == 200) {
    try {
      const nlohmann::json body = nlohmann::json::parse(stored->body);
      if (body.is_object() && body.contains("digest") && body["digest"].is_string()) {
        digest = body["digest"].get<std::string>();
      }
    } catch (const nlohmann::json::exception&) {
    }
  }
  if (!digest.empty() && (digest == sha256_hex || digest == "sha256:" + sha256_hex)) {
    return UploadOutcome::kAlreadyPresent;
  }
  const std::string hint =
      config_.force
          ? "the server refuses to overwrite charts (ChartMuseum runs with "
            "--disable-force-overwrite); publish a new chart version instead"
          : "pass --force-charts to replace it, or publish a new chart version";
  return HttpError(what + " already exists in ChartMuseum with different content", hint);
}

Status ChartMuseumClient::ErrorFor(const HttpResponse& response, const ChartUpload& chart) const {
  const std::string server = ServerError(response);
  std::string message = "upload of chart '" + chart.file_name + "' to ChartMuseum failed: HTTP " +
                        std::to_string(response.status) + (server.empty() ? "" : ": " + server);
  switch (response.status) {
    case 400:
      return InvalidInput(message, "ChartMuseum refused the chart package");
    case 401:
    case 403:
      return HttpError(message, kAuthHint);
    case 404:
    case 405:
      return HttpError(message,
                       "the server has no chart upload API at '" + routes_.ApiBase() +
                           "/charts': ChartMuseum may run with --disable-api, or the URI, "
                           "repository depth or --chartmuseum-context-path is wrong");
    case 413:
      return HttpError(message,
                       "the chart is larger than the server accepts; raise ChartMuseum's "
                       "--max-upload-size (or the proxy's body size limit)");
    default:
      return HttpError(message);
  }
}

}  // namespace ppa
