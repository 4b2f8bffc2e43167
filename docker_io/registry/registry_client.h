// RegistryClient: the OCI Distribution API (v1.1) as ppa-import uses it.
//
// Pushes blobs and manifests to one registry, handling
//  - authentication: anonymous, basic, bearer tokens from the
//    WWW-Authenticate challenge (scopes per repository, plus pull on the
//    source of a mount; tokens refreshed before they expire and re-fetched
//    once on a 401 mid-run). Credentials only ever go to the registry's own
//    origin, never to another host a Location or redirect points at;
//  - uploads: cross-repository mount, monolithic POST + PUT when the size is
//    known, streamed PATCH when it is not, chunked PATCH with Content-Range
//    when the registry asks for it (OCI-Chunk-Min-Length) or refuses a
//    monolithic PUT, resuming from the Range the registry reports (416 ->
//    GET the upload status and resync);
//  - retries with exponential backoff and jitter (retry.h) for 408, 429
//    (Retry-After honoured), 500, 502, 503, 504 and transient network
//    failures, bounded in count and time; and, within a smaller budget of
//    their own (~10 s), for connections refused while a registry restarts;
//  - Location and Range headers of upload sessions parsed strictly
//    (upload_headers.h): an unusable Location fails the upload;
//  - errors: every failure is a Status with one line and a hint
//    (docs/registry.md, "Registry errors"); no Status or log line ever holds a password, token or
//    Authorization header.
// Thread-safe: one client may be shared by upload workers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/retry.h"

namespace ppa {

struct AuthChallenge;

struct RegistryEndpoint {
  std::string host;         // "reg.example:5000" (host[:port])
  bool plain_http = false;  // http:// instead of https://
  std::string BaseUrl() const;  // "https://reg.example:5000"
};

struct Credentials {
  Credentials() = default;
  Credentials(std::string user, std::string pass, std::string identity = {})
      : username(std::move(user)),
        password(std::move(pass)),
        identity_token(std::move(identity)) {}

  std::string username;
  std::string password;        // never logged
  std::string identity_token;  // OAuth2 refresh token (docker config); never logged
  // Where they came from, for messages (no secret), e.g. "~/.docker/config.json
  // (auths 'reg:5000')"; when empty(): where none were found ("looked in: ...").
  // Every 401/403 names it (RegistryClient::ErrorFor).
  std::string source;
  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

struct BlobUpload {
  // `size` value meaning "not known": the blob is the file from
  // `file.offset` to its end and is sent as a streamed PATCH.
  static constexpr uint64_t kUnknownSize = UINT64_MAX;
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
  FileBody file;       // where the exact blob bytes are
  // Called from the uploading thread with the bytes of this blob sent so
  // far (for progress display); may be empty.
  std::function<void(uint64_t)> on_progress;
};

// A manifest as the registry describes it (HEAD or GET).
struct ManifestDescriptor {
  std::string media_type;  // e.g. application/vnd.oci.image.manifest.v1+json
  std::string digest;      // "sha256:<hex>"
  uint64_t size = 0;       // bytes of the body
};

struct PulledManifest {
  ManifestDescriptor descriptor;
  std::string body;  // the exact bytes (digest computed over them)
};

// The largest manifest body accepted (containerd's limit): 4 MiB.
inline constexpr size_t kMaxManifestBytes = 4 << 20;

// The Accept header of manifest requests: the four manifest media types.
extern const char kManifestAccept[];

enum class UploadStrategy {
  kAuto,        // monolithic when the size is known (chunked if the registry needs it)
  kMonolithic,  // POST + PUT ?digest= with the whole body
  kStreamed,    // POST, one PATCH with chunked transfer encoding, PUT ?digest=
  kChunked,     // POST, PATCHes with Content-Range, PUT ?digest=
};

struct RegistryClientOptions {
  RetryPolicy retry;
  std::shared_ptr<RetryClock> clock;  // null: SystemRetryClock()
  UploadStrategy strategy = UploadStrategy::kAuto;
  uint64_t chunk_size = 32ull << 20;  // chunked uploads (raised to OCI-Chunk-Min-Length)
};

class RegistryClient {
 public:
  RegistryClient(RegistryEndpoint endpoint, Credentials credentials,
                 std::shared_ptr<HttpTransport> transport);
  RegistryClient(RegistryEndpoint endpoint, Credentials credentials,
                 std::shared_ptr<HttpTransport> transport, RegistryClientOptions options);

  // GET /v2/: checks that a registry answers and that the credentials work.
  Status Ping();

  // Push-permission probe (`ppa-import doctor`): POST
  // /v2/<repo>/blobs/uploads/ with push scope and, when the registry starts
  // a session (202 with a Location), cancels it at once with DELETE, so
  // nothing is stored. Returns the POST's response (202: pushing is allowed;
  // 401/403: denied), or a Status when no response came (network, token).
  Result<HttpResponse> ProbeBlobUpload(const std::string& repo);

  // HEAD /v2/<repo>/blobs/<digest>: true when the registry has it.
  Result<bool> BlobExists(const std::string& repo, const std::string& digest);

  // Uploads a blob (strategy per RegistryClientOptions). Every Location the
  // registry returns is used as given: relative or absolute, maybe on
  // another host, maybe with a query string already.
  Status UploadBlob(const std::string& repo, const BlobUpload& blob);

  // Same, from memory (config blobs).
  Status UploadBlobBytes(const std::string& repo, const std::string& digest,
                         const std::string& bytes);

  // POST /v2/<repo>/blobs/uploads/?mount=<digest>&from=<from>: true when the
  // registry mounted the blob (201). False when it started an ordinary
  // upload session instead (202); that session is cancelled.
  Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                         const std::string& from);

  // Tries a mount from `from` first; when the registry answers 202, uploads
  // through the session it started. True when mounted (no bytes sent).
  Result<bool> MountOrUploadBlob(const std::string& repo, const BlobUpload& blob,
                                 const std::string& from);
  Result<bool> MountOrUploadBlobBytes(const std::string& repo, const std::string& digest,
                                      const std::string& bytes, const std::string& from);

  // PUT /v2/<repo>/manifests/<reference> with Content-Type `media_type`.
  // Returns the digest the registry reports (Docker-Content-Digest), or the
  // sha256 of `body` when it reports none.
  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& body);

  // --- Pull (same auth, retry and deadline rules; scope PullScope(repo)) ---

  // GET /v2/<repo>/manifests/<reference> (a tag or "sha256:..."), accepting
  // OCI manifests and indexes and Docker v2 schema 2 manifests and lists.
  // The media type is the Content-Type (parameters dropped), or, when the
  // registry sends none, the body's "mediaType". Checked: the body is at most
  // kMaxManifestBytes; by digest, its sha256 is the reference; a
  // Docker-Content-Digest (sha256) equals the body's sha256. 404 is kNotFound.
  Result<PulledManifest> GetManifest(const std::string& repo, const std::string& reference);

  // HEAD of the same: digest, media type and size without the body; nullopt
  // when the registry answers 404. When the registry sends no
  // Docker-Content-Digest the manifest is fetched (GetManifest) to learn it.
  Result<std::optional<ManifestDescriptor>> HeadManifest(const std::string& repo,
                                                         const std::string& reference);

  // GET /v2/<repo>/blobs/<digest>, streamed: the body goes to `sink` in
  // pieces as it arrives (never held whole). Redirects to storage are
  // followed (without credentials). The body must be exactly `size` bytes
  // (more is cut off at once) with sha256 `digest`, checked while
  // streaming; a mismatch is kInvalidInput, after the bytes went to `sink`
  // (the caller discards them). A connection cut mid-body is resumed
  // (Range) by the retry loop, so `sink` sees each byte once, in order. A
  // non-OK Status from `sink` stops the transfer and is returned.
  Status GetBlob(const std::string& repo, const std::string& digest, uint64_t size,
                 const std::function<Status(std::string_view)>& sink);
  // Same, written to `fd` at its current position.
  Status GetBlobToFd(const std::string& repo, const std::string& digest, uint64_t size, int fd);

  // --- Signatures (the X-Registry-Supports-Signatures API extension) ---

  // Whether the registry's /v2/ answer (Ping) carried
  // "X-Registry-Supports-Signatures: 1", as OpenShift's registry does:
  // simple-signing signatures are then stored in the registry, through the
  // two calls below, instead of a lookaside directory. False before Ping.
  bool supports_signatures() const { return supports_signatures_.load(); }
  // GET /extensions/v2/<repo>/signatures/<digest>: the contents of the
  // atomic signatures (schemaVersion 2) stored for manifest `digest`; none
  // when the registry has none (404 too).
  Result<std::vector<std::string>> GetSignatures(const std::string& repo,
                                                 const std::string& digest);
  // PUT of the same path: stores one signature under the new name `name`
  // ("<digest>@<32 hex digits>", as containers/image names them).
  Status PutSignature(const std::string& repo, const std::string& digest, const std::string& name,
                      const std::string& content);

  const RegistryEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Payload;
  struct Session;

  // One request with the retries of the policy. A retryable status that is
  // still there when the retries are used up, and a network failure, come
  // back as a one-line error naming `what`; any other status comes back as
  // the response.
  Result<HttpResponse> Send(const HttpRequest& request, const std::string& scope,
                            const std::string& what);
  // Runs `attempt` (a whole exchange) until it succeeds or fails for good.
  template <typename Attempt>
  Result<HttpResponse> Retrying(const std::string& what, Attempt attempt);
  // Sends `request` with the Authorization this client holds for `scope`;
  // on 401 reads the challenge, obtains credentials (basic, or a bearer token
  // from the realm) and retries once.
  Result<HttpResponse> SendAuthorized(HttpRequest request, const std::string& scope);
  // Gets a bearer token for `scope` from the realm of `challenge` and caches
  // "Bearer <token>" until shortly before it expires.
  Result<std::string> FetchToken(const std::string& challenge, const std::string& scope);
  HttpRequest TokenRequest(const AuthChallenge& challenge, const std::string& scope) const;
  // The Authorization value to send for `scope` now: cached, freshly
  // fetched when a token expired and the realm is known, or "".
  Result<std::string> AuthorizationFor(const std::string& scope);
  std::string CachedAuthorization(const std::string& scope);
  void CacheAuthorization(const std::string& scope, std::string value,
                          std::chrono::seconds lifetime);
  // Answers a 401: Authorization value to retry with, or the error.
  Result<std::string> AnswerChallenge(const HttpResponse& response, const std::string& scope);
  std::string BasicAuthorization() const;

  // Upload steps.
  Result<bool> MountOrUpload(const std::string& repo, const Payload& payload,
                             const std::string& from);
  Status Upload(const std::string& repo, const Payload& payload, std::optional<Session> session);
  Result<Session> StartSession(const std::string& repo, const std::string& scope,
                               const std::string& what);
  Result<Session> SessionFrom(const HttpResponse& started, const std::string& request_url,
                              const std::string& what) const;
  // Monolithic POST + PUT (with retries). Returns no session when the blob
  // is stored, or the session to continue in chunks when the registry asks
  // for chunks (OCI-Chunk-Min-Length) or refuses the body in one piece.
  Result<std::optional<Session>> UploadMonolithic(const std::string& repo,
                                                  const Payload& payload,
                                                  std::optional<Session> session,
                                                  const std::string& scope,
                                                  const std::string& what);
  Result<HttpResponse> PutWhole(const Session& session, const Payload& payload,
                                const std::string& scope);
  Status PatchStreamed(Session* session, const Payload& payload, const std::string& scope,
                       const std::string& what);
  Status PatchChunks(Session* session, const Payload& payload, const std::string& scope,
                     const std::string& what);
  Result<uint64_t> QueryUploadOffset(Session* session, const std::string& scope,
                                     const std::string& what);
  Status FinishUpload(const Session& session, const Payload& payload, const std::string& scope,
                      const std::string& what);
  Status CheckStored(const HttpResponse& done, const Payload& payload,
                     const std::string& what) const;
  void CancelSession(const Session& session, const std::string& scope);

  // MapRegistryError, with a login hint when no credentials were given.
  Status ErrorFor(const HttpResponse& response, const std::string& what) const;

  RegistryEndpoint endpoint_;
  Credentials credentials_;
  std::shared_ptr<HttpTransport> transport_;
  RegistryClientOptions options_;

  Mutex mu_;
  struct CachedAuth {
    std::string value;  // Authorization header value (secret)
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedAuth> auth_by_scope_ GUARDED_BY(mu_);
  std::string bearer_challenge_ GUARDED_BY(mu_);  // last Bearer WWW-Authenticate seen
  bool basic_challenged_ GUARDED_BY(mu_) = false;  // the registry asked for Basic
  std::minstd_rand jitter_ GUARDED_BY(mu_);
  std::atomic<bool> supports_signatures_{false};  // set by Ping
};

// "repository:<repo>:pull"
std::string PullScope(const std::string& repo);
// "repository:<repo>:pull,push"
std::string PushScope(const std::string& repo);
// "repository:<repo>:pull,push repository:<from>:pull"
std::string MountScope(const std::string& repo, const std::string& from);

}  // namespace ppa
