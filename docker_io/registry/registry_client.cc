#include "docker_io/registry/registry_client.h"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "base/url_userinfo.h"
#include "docker_io/registry/auth_challenge.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/image/media_types.h"
#include "docker_io/registry/registry_errors.h"
#include "docker_io/registry/transport_policy.h"
#include "docker_io/registry/upload_headers.h"

namespace ppa {
namespace {

// The pauses before each resend of a manifest refused by the registry's
// blob-link race (RegistryClient::PutManifest).
constexpr std::chrono::milliseconds kManifestRaceRetries[] = {
    std::chrono::milliseconds(250), std::chrono::milliseconds(500),
    std::chrono::milliseconds(1000)};

bool IsManifestVerificationRace(const HttpResponse& response) {
  if (response.status != 400) return false;
  const std::string code = RegistryErrorCode(response.body);
  return code == "DIGEST_INVALID" || code == "MANIFEST_BLOB_UNKNOWN" || code == "BLOB_UNKNOWN";
}

using Millis = std::chrono::milliseconds;

// Basic credentials are cached this long (they do not expire by themselves).
constexpr std::chrono::seconds kBasicLifetime{24 * 3600};
// A token is refreshed this long before the server says it expires.
constexpr std::chrono::seconds kTokenMargin{10};
// 416 answers tolerated in one chunked upload before giving up.
constexpr int kMaxResyncs = 5;
// Chunk size after a proxy refused a whole blob with 413 (nginx's default
// client_max_body_size is 1 MiB).
constexpr uint64_t kProxyChunk = 512 * 1024;

// "<base>/v2/<repo>/<rest>". No URL is ever built from a name outside the
// distribution grammar (image_reference.h): kInvalidInput instead, and no
// request is sent.
Result<std::string> RepositoryUrl(const std::string& base, const std::string& repo,
                                  std::string_view rest) {
  PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
  return base + "/v2/" + repo + "/" + std::string(rest);
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

std::string AppendQuery(const std::string& url, std::string_view key, std::string_view value) {
  std::string out = url;
  size_t fragment = out.find('#');
  if (fragment != std::string::npos) out.resize(fragment);
  char sep = '?';
  size_t query = out.find('?');
  if (query != std::string::npos) sep = query + 1 == out.size() || out.back() == '&' ? '\0' : '&';
  if (sep != '\0') out.push_back(sep);
  return out + std::string(key) + "=" + PercentEncode(value);
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

// 202 is the answer the OCI spec gives; some registries send 201 or 204.
bool IsPatchAccepted(long status) { return status == 202 || status == 201 || status == 204; }

// Registries that refuse a monolithic PUT with a body answer one of these;
// the upload is then retried in chunks.
bool RefusesMonolithic(long status) { return status == 413 || status == 405 || status == 501; }

std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// Splits a space-separated scope list ("repository:a:pull,push repository:b:pull").
std::vector<std::string> SplitScopes(const std::string& scope) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < scope.size()) {
    size_t end = scope.find(' ', start);
    if (end == std::string::npos) end = scope.size();
    if (end > start) out.push_back(scope.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The URL an upload continues at, from the Location of a response to
// `request_url`; an unusable Location is the registry's protocol error.
Result<std::string> ResolveSessionUrl(const std::string& request_url, const std::string& location,
                                      const std::string& what) {
  Result<std::string> url = ResolveUploadLocation(request_url, location);
  if (url.ok()) return url;
  return HttpError(what + " failed: " + url.status().message(),
                   "the registry or a proxy in front of it does not follow the OCI "
                   "distribution API");
}

// The media type of a Content-Type value: parameters and blanks dropped.
std::string MediaTypeOf(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  while (!content_type.empty() && content_type.front() == ' ') content_type.remove_prefix(1);
  return std::string(content_type);
}

// The "mediaType" a manifest body names, "" when none (or not JSON).
std::string BodyMediaType(std::string_view body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return "";
  auto it = doc.find("mediaType");
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IsSha256Reference(const std::string& reference) {
  return reference.rfind("sha256:", 0) == 0;
}

// Checks a 2xx manifest answer and turns it into what GetManifest returns.
Result<PulledManifest> ManifestFromAnswer(const HttpResponse& response,
                                          const std::string& reference,
                                          const std::string& what) {
  if (response.body.size() > kMaxManifestBytes) {
    return InvalidInput(what + " failed: the manifest is larger than " +
                            std::to_string(kMaxManifestBytes >> 20) + " MiB",
                        "no registry serves manifests that large: check the reference");
  }
  PulledManifest out;
  out.body = response.body;
  out.descriptor.size = out.body.size();
  out.descriptor.digest = Sha256Digest(out.body);
  if (IsSha256Reference(reference) && out.descriptor.digest != reference) {
    return InvalidInput(what + " failed: the registry sent a manifest whose digest is " +
                            out.descriptor.digest,
                        "the registry or a proxy altered the manifest; do not use it");
  }
  const std::string reported = response.Header("docker-content-digest");
  if (reported.rfind("sha256:", 0) == 0 && reported != out.descriptor.digest) {
    return InvalidInput(what + " failed: the registry says the manifest is " + reported +
                            " but its bytes are " + out.descriptor.digest,
                        "the registry or a proxy altered the manifest; do not use it");
  }
  out.descriptor.media_type = MediaTypeOf(response.Header("content-type"));
  if (out.descriptor.media_type.empty() ||
      out.descriptor.media_type == "application/octet-stream") {
    out.descriptor.media_type = BodyMediaType(out.body);
  }
  if (out.descriptor.media_type.empty()) {
    return InvalidInput(what + " failed: the registry sent no Content-Type and the manifest "
                               "names no mediaType",
                        "the registry or a proxy in front of it does not follow the OCI "
                        "distribution API");
  }
  return out;
}

// Receives a streamed blob body: bounded by `size`, hashed on the way, and
// resumable: after a cut, a new answer from offset 0 (200) skips what was
// delivered already; one from `delivered` (206) continues.
struct BlobStream {
  std::string digest;
  uint64_t size = 0;
  const std::function<Status(std::string_view)>* sink = nullptr;
  std::string what;
  Sha256 hash;
  uint64_t delivered = 0;  // bytes handed to `sink`
  uint64_t skip = 0;       // bytes of the current answer to drop (a 200 after a cut)

  Status Take(std::string_view data) {
    const uint64_t dropped = std::min<uint64_t>(skip, data.size());
    skip -= dropped;
    data.remove_prefix(static_cast<size_t>(dropped));
    if (data.empty()) return Status::Ok();
    if (data.size() > size - delivered) {
      return InvalidInput(what + " failed: the registry sent more than the " +
                              std::to_string(size) + " bytes the blob has",
                          "the registry or a proxy altered the blob; do not use it");
    }
    hash.Update(data);
    delivered += data.size();
    return (*sink)(data);
  }
};

}  // namespace

const char kManifestAccept[] =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

// What an upload sends: a file region (maybe of unknown size) or bytes.
struct RegistryClient::Payload {
  std::string digest;
  uint64_t size = 0;  // BlobUpload::kUnknownSize when streamed from a file
  std::optional<FileBody> file;
  const std::string* bytes = nullptr;
  std::function<void(uint64_t)> on_progress;  // bytes of the blob sent so far

  bool size_known() const { return size != BlobUpload::kUnknownSize; }
  // Puts bytes [offset, offset + length) into `request`.
  void FillRange(HttpRequest* request, uint64_t offset, uint64_t length) const {
    if (on_progress) {
      request->on_upload_progress = [cb = on_progress, offset](uint64_t n) { cb(offset + n); };
    }
    if (file) {
      request->file_body = FileBody{file->path, file->offset + offset, length, false};
    } else {
      request->body = bytes->substr(offset, length);
    }
  }
  // Puts everything into `request` (a file of unknown size: to its end).
  void FillAll(HttpRequest* request) const {
    if (!size_known()) {
      request->file_body = FileBody{file->path, file->offset, 0, true};
      request->on_upload_progress = on_progress;
      return;
    }
    FillRange(request, 0, size);
  }
};

// An upload session: the URL of its latest Location.
struct RegistryClient::Session {
  std::string url;
  uint64_t min_chunk = 0;  // OCI-Chunk-Min-Length, 0 when not given
  uint64_t max_chunk = 0;  // after a 413: stay under a proxy's body limit
};

std::string RegistryEndpoint::BaseUrl() const {
  return (plain_http ? "http://" : "https://") + host;
}

std::string PullScope(const std::string& repo) { return "repository:" + repo + ":pull"; }

std::string PushScope(const std::string& repo) { return "repository:" + repo + ":pull,push"; }

std::string MountScope(const std::string& repo, const std::string& from) {
  return PushScope(repo) + " repository:" + from + ":pull";
}

RegistryClient::RegistryClient(RegistryEndpoint endpoint, Credentials credentials,
                               std::shared_ptr<HttpTransport> transport)
    : RegistryClient(std::move(endpoint), std::move(credentials), std::move(transport),
                     RegistryClientOptions{}) {}

RegistryClient::RegistryClient(RegistryEndpoint endpoint, Credentials credentials,
                               std::shared_ptr<HttpTransport> transport,
                               RegistryClientOptions options)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      transport_(std::move(transport)),
      options_(std::move(options)),
      jitter_(std::random_device{}()) {
  if (!options_.clock) options_.clock = SystemRetryClock();
  if (options_.retry.max_attempts < 1) options_.retry.max_attempts = 1;
  if (options_.chunk_size == 0) options_.chunk_size = 1;
}

// ---------------------------------------------------------------------------
// Authentication

std::string RegistryClient::BasicAuthorization() const {
  return "Basic " + Base64Encode(credentials_.username + ":" + credentials_.password);
}

std::string RegistryClient::CachedAuthorization(const std::string& scope) {
  MutexLock lock(&mu_);
  auto it = auth_by_scope_.find(scope);
  if (it == auth_by_scope_.end()) return {};
  if (options_.clock->Now() >= it->second.expires) {
    auth_by_scope_.erase(it);
    return {};
  }
  return it->second.value;
}

void RegistryClient::CacheAuthorization(const std::string& scope, std::string value,
                                        std::chrono::seconds lifetime) {
  MutexLock lock(&mu_);
  auth_by_scope_[scope] = CachedAuth{std::move(value), options_.clock->Now() + lifetime};
}

Status RegistryClient::ErrorFor(const HttpResponse& response, const std::string& what) const {
  Status status =
      MapRegistryError(response.status, response.body, response.Header("content-type"), what);
  if (response.status != 401 && response.status != 403) return status;
  // Every refusal says where the credentials came from (never what they are).
  const std::string& source = credentials_.source;
  if (credentials_.empty()) {
    return Status(status.code(),
                  status.message() + "; no credentials were found" +
                      (source.empty() ? std::string() : " (" + source + ")"),
                  "log in with `podman login " + endpoint_.host + "` or `docker login " +
                      endpoint_.host +
                      "`, or pass --creds USER, or --username USER with --password-stdin "
                      "(or PPA_IMPORT_USERNAME and PPA_IMPORT_PASSWORD)");
  }
  if (source.empty()) return status;
  if (response.status == 401) {
    return Status(status.code(), status.message() + "; the credentials from " + source +
                                     " were refused",
                  "check the user name and password (or token) there: it may be wrong, "
                  "expired or revoked; log in again or pass other credentials (--creds, "
                  "--username, --authfile)");
  }
  return Status(status.code(),
                status.message() + " for the credentials from " + source, status.hint());
}

HttpRequest RegistryClient::TokenRequest(const AuthChallenge& challenge,
                                         const std::string& scope) const {
  std::string wanted = scope.empty() ? challenge.scope : scope;
  HttpRequest request;
  request.url = challenge.realm;
  // Credentials go over plain HTTP only to the host the user chose plain
  // HTTP for (--plain-http); the transport refuses any other http:// realm.
  request.plain_http_allowed =
      endpoint_.plain_http && UrlHostName(challenge.realm) == UrlHostName(endpoint_.BaseUrl());
  request.carries_secret = !credentials_.identity_token.empty();
  if (!credentials_.identity_token.empty()) {
    // OAuth2 refresh-token grant, as `docker login` stores for some registries.
    request.method = "POST";
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    // One space-separated `scope` (RFC 6749 section 3.3), as Docker's
    // client sends it; the service is left out when the challenge has none.
    request.body = "grant_type=refresh_token&client_id=ppa-import";
    if (!challenge.service.empty()) request.body += "&service=" + PercentEncode(challenge.service);
    std::string scopes;
    for (const auto& s : SplitScopes(wanted)) scopes += (scopes.empty() ? "" : " ") + s;
    if (!scopes.empty()) request.body += "&scope=" + PercentEncode(scopes);
    request.body += "&refresh_token=" + PercentEncode(credentials_.identity_token);
    return request;
  }
  request.method = "GET";
  if (!challenge.service.empty()) {
    request.url = AppendQuery(request.url, "service", challenge.service);
  }
  for (const auto& s : SplitScopes(wanted)) request.url = AppendQuery(request.url, "scope", s);
  if (!credentials_.empty()) request.headers.emplace_back("Authorization", BasicAuthorization());
  return request;
}

Result<std::string> RegistryClient::FetchToken(const std::string& challenge,
                                               const std::string& scope) {
  PPA_ASSIGN_OR_RETURN(AuthChallenge parsed, ParseWwwAuthenticate(challenge));
  if (parsed.scheme != AuthChallenge::Scheme::kBearer) {
    return InvalidInput("token requested for a non-Bearer challenge");
  }
  {
    MutexLock lock(&mu_);
    bearer_challenge_ = challenge;
  }
  HttpRequest request = TokenRequest(parsed, scope);
  std::string what = "token request to " + Origin(parsed.realm);
  auto attempt = [&]() { return transport_->Send(request); };
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Retrying(what, attempt));
  spdlog::debug("{} {} -> {}", request.method, Origin(parsed.realm), response.status);
  if (response.status != 200) return ErrorFor(response, what);
  Result<TokenResponse> token = ParseTokenResponse(response.body);
  if (!token.ok()) return token.status().WithContext(what);
  std::chrono::seconds lifetime{token->expires_in};
  lifetime = lifetime > 2 * kTokenMargin ? lifetime - kTokenMargin : lifetime / 2;
  std::string value = "Bearer " + token->token;
  CacheAuthorization(scope, value, lifetime);
  return value;
}

Result<std::string> RegistryClient::AuthorizationFor(const std::string& scope) {
  std::string cached = CachedAuthorization(scope);
  if (!cached.empty()) return cached;
  std::string bearer;
  bool basic = false;
  {
    MutexLock lock(&mu_);
    bearer = bearer_challenge_;
    basic = basic_challenged_;
  }
  // A token for a new scope, or one about to expire, is fetched before the
  // request goes out: no 401 round trip, no body sent in vain.
  if (!bearer.empty()) return FetchToken(bearer, scope);
  if (basic && !credentials_.empty()) {
    CacheAuthorization(scope, BasicAuthorization(), kBasicLifetime);
    return BasicAuthorization();
  }
  return std::string();
}

Result<std::string> RegistryClient::AnswerChallenge(const HttpResponse& response,
                                                    const std::string& scope) {
  std::string header = response.Header("www-authenticate");
  if (header.empty()) return std::string();
  Result<AuthChallenge> challenge = ParseWwwAuthenticate(header);
  if (!challenge.ok()) return std::string();  // the 401 itself is the error
  if (challenge->scheme == AuthChallenge::Scheme::kBearer) return FetchToken(header, scope);
  if (credentials_.username.empty() && credentials_.password.empty()) return std::string();
  {
    MutexLock lock(&mu_);
    basic_challenged_ = true;
  }
  std::string value = BasicAuthorization();
  CacheAuthorization(scope, value, kBasicLifetime);
  return value;
}

Result<HttpResponse> RegistryClient::SendAuthorized(HttpRequest request, const std::string& scope) {
  // Credentials only go to the registry itself, never to another host (a
  // Location pointing at storage, a CDN).
  const bool same_origin = Origin(request.url) == Origin(endpoint_.BaseUrl());
  // A registry reached over HTTPS is never continued over plain HTTP (an
  // upload Location pointing at http://): nothing is sent there.
  if (!endpoint_.plain_http && IsPlainHttpUrl(request.url)) {
    return PlainHttpDowngradeError(request.method, request.url);
  }
  request.plain_http_allowed = endpoint_.plain_http && same_origin;
  RemoveHeader(&request.headers, "Authorization");
  std::string auth;
  if (same_origin) {
    PPA_ASSIGN_OR_RETURN(auth, AuthorizationFor(scope));
  }
  if (!auth.empty()) request.headers.emplace_back("Authorization", auth);

  Result<HttpResponse> response = transport_->Send(request);
  if (!response.ok()) return response;
  spdlog::debug("{} {} -> {}", request.method, request.url, response->status);
  if (response->status != 401 || !same_origin) return response;

  // A 401 mid-run (token revoked or expired early): fetch once more, retry once.
  PPA_ASSIGN_OR_RETURN(std::string retry_auth, AnswerChallenge(*response, scope));
  if (retry_auth.empty() || retry_auth == auth) return response;
  RemoveHeader(&request.headers, "Authorization");
  request.headers.emplace_back("Authorization", retry_auth);
  response = transport_->Send(request);
  if (response.ok()) spdlog::debug("{} {} -> {}", request.method, request.url, response->status);
  return response;
}

// ---------------------------------------------------------------------------
// Retries

template <typename Attempt>
Result<HttpResponse> RegistryClient::Retrying(const std::string& what, Attempt attempt) {
  auto jitter = [this] {
    MutexLock lock(&mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(jitter_);
  };
  return SendRetrying(options_.retry, *options_.clock, what, attempt, jitter,
                      [&](const HttpResponse& response) { return ErrorFor(response, what); });
}

Result<HttpResponse> RegistryClient::Send(const HttpRequest& request, const std::string& scope,
                                          const std::string& what) {
  return Retrying(what, [&]() { return SendAuthorized(request, scope); });
}

// ---------------------------------------------------------------------------
// Simple requests

Status RegistryClient::Ping() {
  HttpRequest request;
  request.method = "GET";
  request.url = endpoint_.BaseUrl() + "/v2/";
  const std::string what = "registry check of " + endpoint_.host;
  Result<HttpResponse> response = Send(request, "", what);
  if (!response.ok()) {
    // Keep the transport's own message for network failures (it names the host).
    return response.status();
  }
  if (IsSuccess(response->status)) {
    supports_signatures_ = response->Header("x-registry-supports-signatures") == "1";
    return Status::Ok();
  }
  return ErrorFor(*response, what);
}

Result<bool> RegistryClient::BlobExists(const std::string& repo, const std::string& digest) {
  HttpRequest request;
  request.method = "HEAD";
  if (!IsValidSha256Digest(digest)) return InvalidInput("invalid digest '" + digest + "'");
  PPA_ASSIGN_OR_RETURN(request.url, RepositoryUrl(endpoint_.BaseUrl(), repo, "blobs/" + digest));
  request.follow_redirects = true;
  const std::string what = "blob check of " + ShortDigest(digest) + " in '" + repo + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Send(request, PushScope(repo), what));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return ErrorFor(response, what);
}

Result<std::string> RegistryClient::PutManifest(const std::string& repo,
                                                const std::string& reference,
                                                const std::string& media_type,
                                                const std::string& body) {
  HttpRequest request;
  request.method = "PUT";
  PPA_RETURN_IF_ERROR(CheckManifestReference(reference));
  PPA_ASSIGN_OR_RETURN(request.url,
                       RepositoryUrl(endpoint_.BaseUrl(), repo, "manifests/" + reference));
  request.headers.emplace_back("Content-Type", media_type);
  request.body = body;
  const std::string what = "push of manifest '" + repo + ":" + reference + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Send(request, PushScope(repo), what));
  // A registry built on CNCF Distribution checks every blob a manifest
  // references through the repository's link file, which each upload or
  // mount of that blob rewrites in place: a manifest arriving while another
  // push of the same blob commits (two archives sharing layers, another
  // client) reads it empty and is refused with 400 DIGEST_INVALID or
  // MANIFEST_BLOB_UNKNOWN. A manifest PUT is idempotent, so it is sent
  // again, a few times over about two seconds; a manifest that really
  // references a missing or different blob is refused every time and
  // reported as such.
  for (auto pause : kManifestRaceRetries) {
    if (!IsManifestVerificationRace(response)) break;
    options_.clock->Sleep(pause);
    PPA_ASSIGN_OR_RETURN(response, Send(request, PushScope(repo), what));
  }
  if (!IsSuccess(response.status)) return ErrorFor(response, what);
  std::string digest = response.Header("docker-content-digest");
  return IsValidSha256Digest(digest) ? digest : Sha256Digest(body);
}

// ---------------------------------------------------------------------------
// Signatures (the X-Registry-Supports-Signatures API extension)

namespace {

constexpr size_t kMaxSignatureListBytes = 4 << 20;

Result<std::string> SignaturesUrl(const std::string& base, const std::string& repo,
                                  const std::string& digest) {
  PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
  if (!IsValidSha256Digest(digest)) return InvalidInput("invalid digest '" + digest + "'");
  return base + "/extensions/v2/" + repo + "/signatures/" + digest;
}

}  // namespace

Result<std::vector<std::string>> RegistryClient::GetSignatures(const std::string& repo,
                                                               const std::string& digest) {
  HttpRequest request;
  request.method = "GET";
  PPA_ASSIGN_OR_RETURN(request.url, SignaturesUrl(endpoint_.BaseUrl(), repo, digest));
  request.headers.emplace_back("Accept", "application/json");
  request.max_response_body = kMaxSignatureListBytes;
  const std::string what = "read of the signatures of '" + repo + "@" + digest + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Send(request, PullScope(repo), what));
  if (response.status == 404) return std::vector<std::string>();
  if (response.status != 200) return ErrorFor(response, what);
  auto doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidInput(what + ": the registry's answer is not a JSON object");
  }
  std::vector<std::string> out;
  auto list = doc.find("signatures");
  if (list == doc.end() || list->is_null()) return out;
  if (!list->is_array()) return InvalidInput(what + ": 'signatures' is not a list");
  for (const auto& sig : *list) {
    // Fields of another type than expected make another kind of signature.
    auto field = [&](const char* key) {
      return sig.is_object() && sig.contains(key) ? sig[key] : nlohmann::json();
    };
    if (field("schemaVersion") != 2 || field("type") != "atomic" ||
        !field("content").is_string()) {
      continue;  // another kind of signature: not ours to read
    }
    auto content = Base64Decode(sig["content"].get<std::string>());
    if (!content) return InvalidInput(what + ": a signature's content is not base64");
    out.push_back(std::move(*content));
  }
  return out;
}

Status RegistryClient::PutSignature(const std::string& repo, const std::string& digest,
                                    const std::string& name, const std::string& content) {
  HttpRequest request;
  request.method = "PUT";
  PPA_ASSIGN_OR_RETURN(request.url, SignaturesUrl(endpoint_.BaseUrl(), repo, digest));
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = nlohmann::json{{"schemaVersion", 2},
                                {"name", name},
                                {"type", "atomic"},
                                {"content", Base64Encode(content)}}
                     .dump();
  const std::string what = "push of a signature of '" + repo + "@" + digest + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Send(request, PushScope(repo), what));
  if (!IsSuccess(response.status)) return ErrorFor(response, what);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Pull

Result<PulledManifest> RegistryClient::GetManifest(const std::string& repo,
                                                   const std::string& reference) {
  HttpRequest request;
  request.method = "GET";
  PPA_RETURN_IF_ERROR(CheckManifestReference(reference));
  PPA_ASSIGN_OR_RETURN(request.url,
                       RepositoryUrl(endpoint_.BaseUrl(), repo, "manifests/" + reference));
  request.headers.emplace_back("Accept", kManifestAccept);
  request.max_response_body = kMaxManifestBytes;
  const std::string what = "read of manifest '" + repo +
                           (IsSha256Reference(reference) ? "@" : ":") + reference + "'";
  Result<HttpResponse> response = Send(request, PullScope(repo), what);
  if (!response.ok()) {
    if (IsResponseTooLarge(response.status())) {
      return InvalidInput(what + " failed: the manifest is larger than " +
                              std::to_string(kMaxManifestBytes >> 20) + " MiB",
                          "no registry serves manifests that large: check the reference");
    }
    return response.status();
  }
  if (response->status == 404) {
    Status error = ErrorFor(*response, what);
    return Status(StatusCode::kNotFound, error.message(), error.hint());
  }
  if (response->status != 200) return ErrorFor(*response, what);
  return ManifestFromAnswer(*response, reference, what);
}

Result<std::optional<ManifestDescriptor>> RegistryClient::HeadManifest(
    const std::string& repo, const std::string& reference) {
  HttpRequest request;
  request.method = "HEAD";
  PPA_RETURN_IF_ERROR(CheckManifestReference(reference));
  PPA_ASSIGN_OR_RETURN(request.url,
                       RepositoryUrl(endpoint_.BaseUrl(), repo, "manifests/" + reference));
  request.headers.emplace_back("Accept", kManifestAccept);
  const std::string what = "check of manifest '" + repo +
                           (IsSha256Reference(reference) ? "@" : ":") + reference + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Send(request, PullScope(repo), what));
  if (response.status == 404) return std::optional<ManifestDescriptor>();
  if (response.status != 200) return ErrorFor(response, what);
  ManifestDescriptor found;
  found.digest = response.Header("docker-content-digest");
  found.media_type = MediaTypeOf(response.Header("content-type"));
  found.size = ParseUnsigned(response.Header("content-length")).value_or(0);
  if (!IsValidSha256Digest(found.digest) || found.media_type.empty()) {
    // The registry does not say: the body does.
    PPA_ASSIGN_OR_RETURN(PulledManifest pulled, GetManifest(repo, reference));
    return std::optional<ManifestDescriptor>(pulled.descriptor);
  }
  if (IsSha256Reference(reference) && found.digest != reference) {
    return InvalidInput(what + " failed: the registry answered for " + found.digest,
                        "the registry or a proxy in front of it does not follow the OCI "
                        "distribution API");
  }
  return std::optional<ManifestDescriptor>(found);
}

Status RegistryClient::GetBlob(const std::string& repo, const std::string& digest,
                               uint64_t size,
                               const std::function<Status(std::string_view)>& sink) {
  if (!IsValidSha256Digest(digest)) return InvalidInput("invalid digest '" + digest + "'");
  HttpRequest request;
  request.method = "GET";
  PPA_ASSIGN_OR_RETURN(request.url, RepositoryUrl(endpoint_.BaseUrl(), repo, "blobs/" + digest));
  request.follow_redirects = true;  // storage behind the registry; no credentials go there
  request.expected_response_bytes = size;
  BlobStream stream{.digest = digest,
                    .size = size,
                    .sink = &sink,
                    .what = "read of blob " + ShortDigest(digest) + " from '" + repo + "'"};
  const std::string scope = PullScope(repo);
  auto attempt = [&]() -> Result<HttpResponse> {
    HttpRequest sent = request;
    const uint64_t resume_at = stream.delivered;
    if (resume_at > 0) {
      // Resume after a cut: ask for the rest. A registry that ignores Range
      // sends all of it again (200): what was delivered is skipped.
      sent.headers.emplace_back("Range", "bytes=" + std::to_string(resume_at) + "-");
    }
    sent.on_response_body = [&stream, resume_at, started = false](
                                long status, std::string_view data) mutable {
      if (!started) stream.skip = status == 206 ? 0 : resume_at;
      started = true;
      return stream.Take(data);
    };
    return SendAuthorized(std::move(sent), scope);
  };
  PPA_ASSIGN_OR_RETURN(HttpResponse response, Retrying(stream.what, attempt));
  if (response.status != 200 && response.status != 206) return ErrorFor(response, stream.what);
  // A transport that does not stream (a test fake) returns the body whole.
  if (!response.body.empty()) {
    stream.skip = response.status == 206 ? 0 : stream.delivered;
    PPA_RETURN_IF_ERROR(stream.Take(response.body));
  }
  if (stream.delivered != size) {
    return InvalidInput(stream.what + " failed: the registry sent " +
                            std::to_string(stream.delivered) + " of the blob's " +
                            std::to_string(size) + " bytes",
                        "the registry or a proxy cut the blob short; retry");
  }
  const std::string got = stream.hash.Finish();
  if (got != digest) {
    return InvalidInput(stream.what + " failed: the bytes received are " + got,
                        "the registry or a proxy altered the blob; do not use it");
  }
  return Status::Ok();
}

Status RegistryClient::GetBlobToFd(const std::string& repo, const std::string& digest,
                                   uint64_t size, int fd) {
  return GetBlob(repo, digest, size, [fd](std::string_view data) -> Status {
    while (!data.empty()) {
      ssize_t n = ::write(fd, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return IoError(std::string("writing a pulled blob failed: ") + std::strerror(errno));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  });
}

// ---------------------------------------------------------------------------
// Uploads

Result<RegistryClient::Session> RegistryClient::SessionFrom(const HttpResponse& started,
                                                            const std::string& request_url,
                                                            const std::string& what) const {
  std::string location = started.Header("location");
  if (location.empty()) {
    return HttpError(what + " failed: the registry answered " + std::to_string(started.status) +
                         " without a Location header",
                     "the registry or a proxy in front of it does not follow the OCI "
                     "distribution API");
  }
  Session session;
  PPA_ASSIGN_OR_RETURN(session.url, ResolveSessionUrl(request_url, location, what));
  session.min_chunk = ParseUnsigned(started.Header("oci-chunk-min-length")).value_or(0);
  return session;
}

Result<RegistryClient::Session> RegistryClient::StartSession(const std::string& repo,
                                                             const std::string& scope,
                                                             const std::string& what) {
  HttpRequest start;
  start.method = "POST";
  PPA_ASSIGN_OR_RETURN(start.url, RepositoryUrl(endpoint_.BaseUrl(), repo, "blobs/uploads/"));
  PPA_ASSIGN_OR_RETURN(HttpResponse started, Send(start, scope, what));
  if (started.status != 202) return ErrorFor(started, what);
  return SessionFrom(started, start.url, what);
}

Result<HttpResponse> RegistryClient::ProbeBlobUpload(const std::string& repo) {
  HttpRequest start;
  start.method = "POST";
  PPA_ASSIGN_OR_RETURN(start.url, RepositoryUrl(endpoint_.BaseUrl(), repo, "blobs/uploads/"));
  const std::string what = "upload check in '" + repo + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse started, Send(start, PushScope(repo), what));
  if (started.status != 202) return started;
  Result<Session> session = SessionFrom(started, start.url, what);
  if (session.ok()) CancelSession(*session, PushScope(repo));
  return started;
}

void RegistryClient::CancelSession(const Session& session, const std::string& scope) {
  HttpRequest cancel;
  cancel.method = "DELETE";
  cancel.url = session.url;
  Result<HttpResponse> ignored = SendAuthorized(std::move(cancel), scope);  // best effort
  if (ignored.ok()) spdlog::debug("upload session cancelled: {}", ignored->status);
}

Status RegistryClient::CheckStored(const HttpResponse& done, const Payload& payload,
                                   const std::string& what) const {
  if (!IsSuccess(done.status)) return ErrorFor(done, what);
  std::string reported = done.Header("docker-content-digest");
  if (!reported.empty() && reported != payload.digest) {
    return InvalidInput(what + " failed: the registry stored digest " + reported,
                        "a proxy may have altered the upload");
  }
  return Status::Ok();
}

Result<HttpResponse> RegistryClient::PutWhole(const Session& session, const Payload& payload,
                                              const std::string& scope) {
  HttpRequest put;
  put.method = "PUT";
  put.url = AppendQuery(session.url, "digest", payload.digest);
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  payload.FillAll(&put);
  return SendAuthorized(std::move(put), scope);
}

Status RegistryClient::FinishUpload(const Session& session, const Payload& payload,
                                    const std::string& scope, const std::string& what) {
  HttpRequest put;
  put.method = "PUT";
  put.url = AppendQuery(session.url, "digest", payload.digest);
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  PPA_ASSIGN_OR_RETURN(HttpResponse done, Send(put, scope, what));
  return CheckStored(done, payload, what);
}

Status RegistryClient::PatchStreamed(Session* session, const Payload& payload,
                                     const std::string& scope, const std::string& what) {
  HttpRequest patch;
  patch.method = "PATCH";
  patch.url = session->url;
  patch.headers.emplace_back("Content-Type", "application/octet-stream");
  payload.FillAll(&patch);
  PPA_ASSIGN_OR_RETURN(HttpResponse sent, SendAuthorized(patch, scope));
  if (!IsPatchAccepted(sent.status)) return ErrorFor(sent, what);
  if (!sent.Header("location").empty()) {
    PPA_ASSIGN_OR_RETURN(session->url, ResolveSessionUrl(patch.url, sent.Header("location"), what));
  }
  return Status::Ok();
}

Result<uint64_t> RegistryClient::QueryUploadOffset(Session* session, const std::string& scope,
                                                   const std::string& what) {
  HttpRequest status;
  status.method = "GET";
  status.url = session->url;
  PPA_ASSIGN_OR_RETURN(HttpResponse got, Send(status, scope, what));
  if (got.status != 204 && got.status != 200 && got.status != 202) return ErrorFor(got, what);
  if (!got.Header("location").empty()) {
    PPA_ASSIGN_OR_RETURN(session->url, ResolveSessionUrl(status.url, got.Header("location"), what));
  }
  std::optional<uint64_t> end = ParseUploadRangeEnd(got.Header("range"));
  return end ? *end + 1 : 0;
}

Status RegistryClient::PatchChunks(Session* session, const Payload& payload,
                                   const std::string& scope, const std::string& what) {
  uint64_t chunk = options_.chunk_size;
  if (session->max_chunk > 0) chunk = std::min(chunk, session->max_chunk);
  chunk = std::max(chunk, session->min_chunk);
  uint64_t offset = 0;
  int resyncs = 0;
  while (offset < payload.size) {
    const uint64_t length = std::min(chunk, payload.size - offset);
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = session->url;
    patch.headers.emplace_back("Content-Type", "application/octet-stream");
    patch.headers.emplace_back("Content-Range",
                               std::to_string(offset) + "-" + std::to_string(offset + length - 1));
    payload.FillRange(&patch, offset, length);
    PPA_ASSIGN_OR_RETURN(HttpResponse sent, Send(patch, scope, what));
    if (sent.status == 416) {
      // The registry holds a different amount than we think: ask and resume.
      if (++resyncs > kMaxResyncs) return ErrorFor(sent, what);
      PPA_ASSIGN_OR_RETURN(offset, QueryUploadOffset(session, scope, what));
      if (offset > payload.size) {
        return HttpError(what + " failed: the registry reports more bytes than the blob has",
                         "the upload session is corrupt: rerun the import");
      }
      continue;
    }
    if (!IsPatchAccepted(sent.status)) return ErrorFor(sent, what);
    if (!sent.Header("location").empty()) {
      PPA_ASSIGN_OR_RETURN(session->url,
                           ResolveSessionUrl(patch.url, sent.Header("location"), what));
    }
    std::optional<uint64_t> end = ParseUploadRangeEnd(sent.Header("range"));
    // The Range says how much the registry really holds: resume from there.
    offset = end && *end + 1 <= offset + length ? *end + 1 : offset + length;
  }
  return Status::Ok();
}

Result<std::optional<RegistryClient::Session>> RegistryClient::UploadMonolithic(
    const std::string& repo, const Payload& payload, std::optional<Session> session,
    const std::string& scope, const std::string& what) {
  const bool adaptive = options_.strategy == UploadStrategy::kAuto;
  // The whole POST + PUT is the unit that is retried: a PUT cut half-way
  // leaves its session in an unknown state, so each attempt starts anew.
  auto attempt = [&]() -> Result<HttpResponse> {
    if (!session) {
      PPA_ASSIGN_OR_RETURN(Session fresh, StartSession(repo, scope, what));
      session = std::move(fresh);
    }
    if (adaptive && session->min_chunk > 0) return HttpResponse{};  // 0: chunks wanted
    Result<HttpResponse> put = PutWhole(*session, payload, scope);
    bool refused = adaptive && put.ok() && RefusesMonolithic(put->status);
    if (!refused && (!put.ok() || !IsSuccess(put->status))) {
      CancelSession(*session, scope);
      session.reset();
    }
    return put;
  };
  PPA_ASSIGN_OR_RETURN(HttpResponse done, Retrying(what, attempt));
  if (done.status == 0) return session;
  if (!RefusesMonolithic(done.status) || !adaptive) {
    PPA_RETURN_IF_ERROR(CheckStored(done, payload, what));
    return std::optional<Session>();
  }
  // The body was refused in one piece (e.g. a proxy's size limit): a fresh
  // session, in chunks small enough for such a limit.
  spdlog::debug("{}: monolithic PUT refused with {}; uploading in chunks", what, done.status);
  CancelSession(*session, scope);
  PPA_ASSIGN_OR_RETURN(Session fresh, StartSession(repo, scope, what));
  if (done.status == 413) fresh.max_chunk = kProxyChunk;
  return std::optional<Session>(std::move(fresh));
}

Status RegistryClient::Upload(const std::string& repo, const Payload& payload,
                              std::optional<Session> session) {
  const std::string scope = PushScope(repo);
  const std::string what = "push of blob " + ShortDigest(payload.digest) + " to '" + repo + "'";
  UploadStrategy strategy = options_.strategy;
  if (strategy == UploadStrategy::kAuto) strategy = UploadStrategy::kMonolithic;
  if (!payload.size_known()) strategy = UploadStrategy::kStreamed;

  if (strategy == UploadStrategy::kMonolithic) {
    PPA_ASSIGN_OR_RETURN(session,
                         UploadMonolithic(repo, payload, std::move(session), scope, what));
    if (!session) return Status::Ok();  // stored
    strategy = UploadStrategy::kChunked;
  }
  if (!session) {
    PPA_ASSIGN_OR_RETURN(Session fresh, StartSession(repo, scope, what));
    session = std::move(fresh);
  }
  Status sent = strategy == UploadStrategy::kStreamed
                    ? PatchStreamed(&*session, payload, scope, what)
                    : PatchChunks(&*session, payload, scope, what);
  if (sent.ok()) sent = FinishUpload(*session, payload, scope, what);
  if (!sent.ok()) CancelSession(*session, scope);
  return sent;
}

Status RegistryClient::UploadBlob(const std::string& repo, const BlobUpload& blob) {
  Payload payload{.digest = blob.digest,
                  .size = blob.size,
                  .file = blob.file,
                  .on_progress = blob.on_progress};
  payload.file->size = blob.size == BlobUpload::kUnknownSize ? 0 : blob.size;
  return Upload(repo, payload, std::nullopt);
}

Status RegistryClient::UploadBlobBytes(const std::string& repo, const std::string& digest,
                                       const std::string& bytes) {
  Payload payload{.digest = digest, .size = bytes.size(), .bytes = &bytes};
  return Upload(repo, payload, std::nullopt);
}

Result<bool> RegistryClient::MountBlob(const std::string& repo, const std::string& digest,
                                       const std::string& from) {
  HttpRequest mount;
  mount.method = "POST";
  PPA_RETURN_IF_ERROR(CheckRepositoryName(from));
  PPA_ASSIGN_OR_RETURN(std::string uploads,
                       RepositoryUrl(endpoint_.BaseUrl(), repo, "blobs/uploads/"));
  mount.url = AppendQuery(AppendQuery(uploads, "mount", digest), "from", from);
  const std::string what =
      "mount of blob " + ShortDigest(digest) + " from '" + from + "' to '" + repo + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse answer, Send(mount, MountScope(repo, from), what));
  if (answer.status == 201) return true;
  if (answer.status != 202) return ErrorFor(answer, what);
  Result<Session> session = SessionFrom(answer, mount.url, what);
  if (session.ok()) CancelSession(*session, PushScope(repo));
  return false;
}

Result<bool> RegistryClient::MountOrUpload(const std::string& repo, const Payload& payload,
                                           const std::string& from) {
  if (from.empty() || from == repo) {
    PPA_RETURN_IF_ERROR(Upload(repo, payload, std::nullopt));
    return false;
  }
  HttpRequest mount;
  mount.method = "POST";
  PPA_RETURN_IF_ERROR(CheckRepositoryName(from));
  PPA_ASSIGN_OR_RETURN(std::string uploads,
                       RepositoryUrl(endpoint_.BaseUrl(), repo, "blobs/uploads/"));
  mount.url = AppendQuery(AppendQuery(uploads, "mount", payload.digest), "from", from);
  const std::string what =
      "mount of blob " + ShortDigest(payload.digest) + " from '" + from + "' to '" + repo + "'";
  PPA_ASSIGN_OR_RETURN(HttpResponse answer, Send(mount, MountScope(repo, from), what));
  if (answer.status == 201) {
    spdlog::debug("{}: mounted", what);
    return true;
  }
  if (answer.status != 202) return ErrorFor(answer, what);
  // Not mounted (no access to `from`, or it lacks the blob): the registry
  // started an ordinary upload session; use it rather than leak it.
  PPA_ASSIGN_OR_RETURN(Session session, SessionFrom(answer, mount.url, what));
  PPA_RETURN_IF_ERROR(Upload(repo, payload, session));
  return false;
}

Result<bool> RegistryClient::MountOrUploadBlob(const std::string& repo, const BlobUpload& blob,
                                               const std::string& from) {
  Payload payload{.digest = blob.digest,
                  .size = blob.size,
                  .file = blob.file,
                  .on_progress = blob.on_progress};
  payload.file->size = blob.size == BlobUpload::kUnknownSize ? 0 : blob.size;
  return MountOrUpload(repo, payload, from);
}

Result<bool> RegistryClient::MountOrUploadBlobBytes(const std::string& repo,
                                                    const std::string& digest,
                                                    const std::string& bytes,
                                                    const std::string& from) {
  Payload payload{digest, bytes.size(), std::nullopt, &bytes};
  return MountOrUpload(repo, payload, from);
}

}  // namespace ppa
