// RegistryClient: the OCI Distribution API (v1.1) as ppa-import uses it.
//
// Pushes blobs and manifests to one registry, handling authentication
// (anonymous, basic, bearer token from the WWW-Authenticate challenge) and
// turning registry error bodies into one line plus a hint (SPEC section 6).
// Thread-safe: one client may be shared by upload workers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <map>
#include <string>
#include <string_view>

#include "archive/status.h"
#include "docker_io/http_transport.h"

namespace ppa {

struct RegistryEndpoint {
  std::string host;         // "reg.example:5000" (host[:port])
  bool plain_http = false;  // http:// instead of https://
  std::string BaseUrl() const;  // "https://reg.example:5000"
};

struct Credentials {
  std::string username;
  std::string password;  // never logged
  bool empty() const { return username.empty() && password.empty(); }
};

struct BlobUpload {
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
  FileBody file;       // where the exact blob bytes are
};

class RegistryClient {
 public:
  RegistryClient(RegistryEndpoint endpoint, Credentials credentials,
                 std::shared_ptr<HttpTransport> transport);

  // GET /v2/: checks that a registry answers and that the credentials work.
  Status Ping();

  // HEAD /v2/<repo>/blobs/<digest>: true when the registry has it.
  Result<bool> BlobExists(const std::string& repo, const std::string& digest);

  // POST /v2/<repo>/blobs/uploads/ then PUT <location>?digest=... with the
  // whole body (monolithic upload). The Location header may be relative or
  // absolute and may carry a query string already.
  Status UploadBlob(const std::string& repo, const BlobUpload& blob);

  // Same, from memory (config blobs).
  Status UploadBlobBytes(const std::string& repo, const std::string& digest,
                         const std::string& bytes);

  // PUT /v2/<repo>/manifests/<reference> with Content-Type `media_type`.
  // Returns the digest the registry reports (Docker-Content-Digest), or the
  // sha256 of `body` when it reports none.
  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& body);

  const RegistryEndpoint& endpoint() const { return endpoint_; }

 private:
  // Sends `request` with the Authorization this client holds for `scope`;
  // on 401 reads the challenge, obtains credentials (basic, or a bearer token
  // from the realm) and retries once.
  Result<HttpResponse> SendAuthorized(HttpRequest request, const std::string& scope);
  // Gets a bearer token for `scope` from the realm of `challenge` (a
  // WWW-Authenticate value) and caches "Bearer <token>" until it expires.
  Result<std::string> FetchToken(const std::string& challenge, const std::string& scope);

  // The cached Authorization value for `scope` ("" if none or expired).
  std::string CachedAuthorization(const std::string& scope);
  void CacheAuthorization(const std::string& scope, std::string value,
                          std::chrono::seconds lifetime);
  // Answers a 401: Authorization value to retry with, or the error.
  Result<std::string> AnswerChallenge(const HttpResponse& response, const std::string& scope);
  // POST + PUT ?digest=; `put` carries the body and headers.
  Status UploadMonolithic(const std::string& repo, const std::string& digest, HttpRequest put);
  // MapRegistryError, with a login hint when no credentials were given.
  Status ErrorFor(const HttpResponse& response, const std::string& what) const;

  RegistryEndpoint endpoint_;
  Credentials credentials_;
  std::shared_ptr<HttpTransport> transport_;

  std::mutex mu_;
  struct CachedAuth {
    std::string value;  // Authorization header value (secret)
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedAuth> auth_by_scope_;  // guarded by mu_
};

// "repository:<repo>:pull,push"
std::string PushScope(const std::string& repo);

}  // namespace ppa
