#include "docker_io/registry_client.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "docker_io/auth_challenge.h"
#include "docker_io/digest.h"
#include "docker_io/registry_errors.h"

namespace ppa {
namespace {

using Clock = std::chrono::steady_clock;

// Basic credentials are cached this long (they do not expire by themselves).
constexpr std::chrono::seconds kBasicLifetime{24 * 3600};
// A token is refreshed this long before the server says it expires.
constexpr std::chrono::seconds kTokenMargin{10};

std::string UrlEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// "scheme://host:port" in lower case with the default port spelled out, so
// that "https://Reg" and "https://reg:443/v2/" compare equal. "" if not absolute.
std::string Origin(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string scheme(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  std::string host(rest.substr(0, rest.find_first_of("/?#")));
  size_t at = host.rfind('@');
  if (at != std::string::npos) host.erase(0, at + 1);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  std::transform(host.begin(), host.end(), host.begin(), ::tolower);
  size_t bracket = host.rfind(']');
  size_t colon = host.rfind(':');
  bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
  if (!has_port) host += scheme == "http" ? ":80" : ":443";
  return scheme + "://" + host;
}

// Resolves a Location header against the registry base URL and the URL of
// the request that returned it.
std::string ResolveLocation(const std::string& base_url, const std::string& request_url,
                            const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  if (location.rfind("//", 0) == 0) return base_url.substr(0, base_url.find("//")) + location;
  if (location.rfind('/', 0) == 0) return base_url + location;
  std::string dir = request_url.substr(0, request_url.find_first_of("?#"));
  return dir.substr(0, dir.rfind('/') + 1) + location;
}

std::string AppendQuery(const std::string& url, std::string_view key, std::string_view value) {
  std::string out = url;
  size_t fragment = out.find('#');
  if (fragment != std::string::npos) out.resize(fragment);
  char sep = '?';
  size_t query = out.find('?');
  if (query != std::string::npos) sep = query + 1 == out.size() || out.back() == '&' ? '\0' : '&';
  if (sep != '\0') out.push_back(sep);
  return out + std::string(key) + "=" + UrlEncode(value);
}

std::string ShortDigest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) : digest;  // "sha256:" + 12 hex
}

void RemoveHeader(HttpHeaders* headers, std::string_view name) {
  std::erase_if(*headers, [name](const auto& h) {
    return h.first.size() == name.size() &&
           strncasecmp(h.first.c_str(), name.data(), name.size()) == 0;
  });
}

bool IsSuccess(long status) { return status >= 200 && status < 300; }

}  // namespace

std::string RegistryEndpoint::BaseUrl() const {
  return (plain_http ? "http://" : "https://") + host;
}

std::string PushScope(const std::string& repo) { return "repository:" + repo + ":pull,push"; }

RegistryClient::RegistryClient(RegistryEndpoint endpoint, Credentials credentials,
                               std::shared_ptr<HttpTransport> transport)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      transport_(std::move(transport)) {}

std::string RegistryClient::CachedAuthorization(const std::string& scope) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = auth_by_scope_.find(scope);
  if (it == auth_by_scope_.end()) return {};
  if (Clock::now() >= it->second.expires) {
    auth_by_scope_.erase(it);
    return {};
  }
  return it->second.value;
}

void RegistryClient::CacheAuthorization(const std::string& scope, std::string value,
                                        std::chrono::seconds lifetime) {
  std::lock_guard<std::mutex> lock(mu_);
  auth_by_scope_[scope] = CachedAuth{std::move(value), Clock::now() + lifetime};
}

Status RegistryClient::ErrorFor(const HttpResponse& response, const std::string& what) const {
  Status status =
      MapRegistryError(response.status, response.body, response.Header("content-type"), what);
  if (response.status == 401 && credentials_.empty()) {
    return status.WithHint(
        "the registry requires a login and no credentials were given: pass "
        "--username and --password (or PPA_IMPORT_USERNAME / "
        "PPA_IMPORT_PASSWORD, IBMCLOUD_API_KEY, ~/.docker/config.json)");
  }
  return status;
}

Result<std::string> RegistryClient::FetchToken(const std::string& challenge,
                                               const std::string& scope) {
  PPA_ASSIGN_OR_RETURN(AuthChallenge parsed, ParseWwwAuthenticate(challenge));
  if (parsed.scheme != AuthChallenge::Scheme::kBearer) {
    return InvalidInput("token requested for a non-Bearer challenge");
  }
  HttpRequest request;
  request.method = "GET";
  request.url = parsed.realm;
  if (!parsed.service.empty()) request.url = AppendQuery(request.url, "service", parsed.service);
  std::string wanted = scope.empty() ? parsed.scope : scope;
  if (!wanted.empty()) request.url = AppendQuery(request.url, "scope", wanted);
  if (!credentials_.empty()) {
    request.headers.emplace_back(
        "Authorization", "Basic " + Base64(credentials_.username + ":" + credentials_.password));
  }
  Result<HttpResponse> response = transport_->Send(request);
  if (!response.ok()) return response.status().WithContext("token request");
  spdlog::debug("GET {} -> {}", request.url, response->status);
  std::string what = "token request to " + Origin(parsed.realm);
  if (response->status != 200) return ErrorFor(*response, what);
  Result<TokenResponse> token = ParseTokenResponse(response->body);
  if (!token.ok()) return token.status().WithContext(what);
  std::chrono::seconds lifetime{token->expires_in};
  lifetime = lifetime > 2 * kTokenMargin ? lifetime - kTokenMargin : lifetime / 2;
  std::string value = "Bearer " + token->token;
  CacheAuthorization(scope, value, lifetime);
  return value;
}

Result<std::string> RegistryClient::AnswerChallenge(const HttpResponse& response,
                                                    const std::string& scope) {
  std::string header = response.Header("www-authenticate");
  if (header.empty()) return std::string();
  Result<AuthChallenge> challenge = ParseWwwAuthenticate(header);
  if (!challenge.ok()) return std::string();  // the 401 itself is the error
  if (challenge->scheme == AuthChallenge::Scheme::kBearer) return FetchToken(header, scope);
  if (credentials_.empty()) return std::string();
  std::string value = "Basic " + Base64(credentials_.username + ":" + credentials_.password);
  CacheAuthorization(scope, value, kBasicLifetime);
  return value;
}

Result<HttpResponse> RegistryClient::SendAuthorized(HttpRequest request, const std::string& scope) {
  // Credentials only go to the registry itself, never to another host (a
  // Location pointing at storage, a CDN).
  const bool same_origin = Origin(request.url) == Origin(endpoint_.BaseUrl());
  RemoveHeader(&request.headers, "Authorization");
  std::string auth = same_origin ? CachedAuthorization(scope) : std::string();
  if (!auth.empty()) request.headers.emplace_back("Authorization", auth);

  Result<HttpResponse> response = transport_->Send(request);
  if (!response.ok()) return response;
  spdlog::debug("{} {} -> {}", request.method, request.url, response->status);
  if (response->status != 401 || !same_origin) return response;

  PPA_ASSIGN_OR_RETURN(std::string retry_auth, AnswerChallenge(*response, scope));
  if (retry_auth.empty() || retry_auth == auth) return response;
  RemoveHeader(&request.headers, "Authorization");
  request.headers.emplace_back("Authorization", retry_auth);
  response = transport_->Send(request);
  if (response.ok()) spdlog::debug("{} {} -> {}", request.method, request.url, response->status);
  return response;
}

Status RegistryClient::Ping() {
  HttpRequest request;
  request.method = "GET";
  request.url = endpoint_.BaseUrl() + "/v2/";
  PPA_ASSIGN_OR_RETURN(HttpResponse response, SendAuthorized(std::move(request), ""));
  if (IsSuccess(response.status)) return Status::Ok();
  return ErrorFor(response, "registry check of " + endpoint_.host);
}

Result<bool> RegistryClient::BlobExists(const std::string& repo, const std::string& digest) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = endpoint_.BaseUrl() + "/v2/" + repo + "/blobs/" + digest;
  request.follow_redirects = true;
  PPA_ASSIGN_OR_RETURN(HttpResponse response, SendAuthorized(std::move(request), PushScope(repo)));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return ErrorFor(response, "blob check of " + ShortDigest(digest) + " in '" + repo + "'");
}

Status RegistryClient::UploadMonolithic(const std::string& repo, const std::string& digest,
                                        HttpRequest put) {
  const std::string scope = PushScope(repo);
  const std::string what = "push of blob " + ShortDigest(digest) + " to '" + repo + "'";
  HttpRequest start;
  start.method = "POST";
  start.url = endpoint_.BaseUrl() + "/v2/" + repo + "/blobs/uploads/";
  PPA_ASSIGN_OR_RETURN(HttpResponse started, SendAuthorized(start, scope));
  if (started.status != 202) return ErrorFor(started, what);
  std::string location = started.Header("location");
  if (location.empty()) {
    return HttpError(what + " failed: the registry answered 202 without a Location header",
                     "the registry or a proxy in front of it does not follow the OCI "
                     "distribution API");
  }
  put.method = "PUT";
  put.url =
      AppendQuery(ResolveLocation(endpoint_.BaseUrl(), start.url, location), "digest", digest);
  RemoveHeader(&put.headers, "Content-Type");
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  PPA_ASSIGN_OR_RETURN(HttpResponse done, SendAuthorized(std::move(put), scope));
  if (!IsSuccess(done.status)) return ErrorFor(done, what);
  std::string reported = done.Header("docker-content-digest");
  if (!reported.empty() && reported != digest) {
    return InvalidInput(what + " failed: the registry stored digest " + reported,
                        "a proxy may have altered the upload");
  }
  return Status::Ok();
}

Status RegistryClient::UploadBlob(const std::string& repo, const BlobUpload& blob) {
  HttpRequest put;
  put.file_body = blob.file;
  put.file_body->size = blob.size;
  return UploadMonolithic(repo, blob.digest, std::move(put));
}

Status RegistryClient::UploadBlobBytes(const std::string& repo, const std::string& digest,
                                       const std::string& bytes) {
  HttpRequest put;
  put.body = bytes;
  return UploadMonolithic(repo, digest, std::move(put));
}

Result<std::string> RegistryClient::PutManifest(const std::string& repo,
                                                const std::string& reference,
                                                const std::string& media_type,
                                                const std::string& body) {
  HttpRequest request;
  request.method = "PUT";
  request.url = endpoint_.BaseUrl() + "/v2/" + repo + "/manifests/" + reference;
  request.headers.emplace_back("Content-Type", media_type);
  request.body = body;
  PPA_ASSIGN_OR_RETURN(HttpResponse response, SendAuthorized(std::move(request), PushScope(repo)));
  if (!IsSuccess(response.status)) {
    return ErrorFor(response, "push of manifest '" + repo + ":" + reference + "'");
  }
  std::string digest = response.Header("docker-content-digest");
  return IsValidSha256Digest(digest) ? digest : Sha256Digest(body);
}

}  // namespace ppa
