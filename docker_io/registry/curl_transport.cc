// The libcurl HttpTransport. CURL types stay in this file.
//
// Easy handles are kept in a small pool (guarded by a mutex) and reset
// between requests, so connections and TLS sessions are reused.
//
// Every request goes through Send, the one place that enforces the rules
// of transport_policy.h: credentials never go over plain HTTP the user did
// not ask for (checked before anything is sent; redirects of an https
// request stay on https), and every request runs under RequestLimits: a
// connect timeout, a silence limit (no byte moving either way) and an
// overall deadline, watched from the progress callback, plus a cap on the
// answer held in memory. A blob upload's deadline grows with its size at a
// floor rate (128 KiB/s), so a large layer is not cut for being large;
// a stalled one is cut by the silence limit.
#include <curl/curl.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "base/file_util.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "docker_io/registry/cert_dirs.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/transport_policy.h"

namespace ppa {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

constexpr size_t kMaxPooledHandles = 8;
constexpr long kMaxRedirects = 10;
// Response headers held at most (curl 7.88 bounds each header line, not
// their total): an endless header section fails the request.
constexpr size_t kMaxHeaderBytes = 256 * 1024;
// curl's own overall timeout, a backstop behind the progress callback's.
constexpr std::chrono::milliseconds kBackstopSlack{5000};

using SteadyClock = std::chrono::steady_clock;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The one place a curl_easy_setopt result becomes a Status.
template <typename T>
Status SetOpt(CURL* handle, CURLoption option, T value) {
  CURLcode rc = curl_easy_setopt(handle, option, value);
  if (rc != CURLE_OK) {
    return NetworkError(std::string("curl option ") + std::to_string(static_cast<int>(option)) +
                        " rejected: " + curl_easy_strerror(rc));
  }
  return Status::Ok();
}

// Which limit of RequestLimits ended a transfer.
enum class TimeLimit { kNone, kSilence, kDeadline };

// State shared with the callbacks of one transfer. Callbacks never throw:
// they record what went wrong and abort the transfer.
struct Transfer {
  const HttpRequest* request = nullptr;
  std::string server;  // "host:port" of the request, for messages
  RequestLimits limits;
  // Upload source: an in-memory body or a file region read with pread.
  int fd = -1;
  uint64_t file_offset = 0;
  uint64_t upload_size = 0;
  uint64_t uploaded = 0;
  bool until_eof = false;  // size unknown: read the file to its end
  bool has_body = false;   // a request body is sent
  bool body_sent = false;  // ... and all of it has gone out
  // Response.
  HttpResponse response;
  size_t header_bytes = 0;
  bool answer_started = false;  // a byte of the answer (headers or body) arrived
  long status_seen = 0;  // the status line of the answer being received
  // Time limits, checked by ProgressCallback.
  SteadyClock::time_point start;
  SteadyClock::time_point last_activity;  // the last byte moved either way
  curl_off_t last_dlnow = 0;
  curl_off_t last_ulnow = 0;
  TimeLimit timed_out = TimeLimit::kNone;
  std::chrono::milliseconds idle_at_timeout{0};  // since the last byte moved
  // A failure inside a callback (local I/O, a throwing progress callback,
  // an answer over its size limit).
  Status callback_error;
};

// Blob bodies are read and sent in pieces of this size (curl's default is
// 64 KiB; 2 MiB is the most it takes).
constexpr long kUploadBufferBytes = 2L * 1024 * 1024;

size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t want = size * nitems;
  if (!t->until_eof) {
    uint64_t left = t->upload_size - t->uploaded;
    if (want > left) want = static_cast<size_t>(left);
  }
  if (want == 0) {
    t->body_sent = true;  // all of it handed to curl
    return 0;
  }
  if (t->fd >= 0) {
    ssize_t n;
    do {
      n = pread(t->fd, buffer, want, static_cast<off_t>(t->file_offset + t->uploaded));
    } while (n < 0 && errno == EINTR);
    if (n == 0 && t->until_eof) {  // end of the streamed body
      t->body_sent = true;
      return 0;
    }
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      t->callback_error =
          IoError("reading upload body from '" + t->request->file_body->path +
                  "' failed: " + (err ? std::strerror(err) : "unexpected end of file"));
      return CURL_READFUNC_ABORT;
    }
    t->uploaded += static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }
  std::memcpy(buffer, t->request->body.data() + t->uploaded, want);
  t->uploaded += want;
  return want;
}

// Lets curl rewind the upload (a redirect or an auth retry inside curl).
int SeekCallback(void* userdata, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(userdata);
  if (origin != SEEK_SET || offset < 0 ||
      (!t->until_eof && static_cast<uint64_t>(offset) > t->upload_size)) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->uploaded = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// An answer longer than its cap fails the request at once: an endless body
// is neither held in memory nor read forever.
size_t WriteCallback(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nmemb;
  t->answer_started = true;
  t->last_activity = SteadyClock::now();
  try {
    if (t->request->on_response_body && t->status_seen >= 200 && t->status_seen < 300) {
      t->callback_error = t->request->on_response_body(t->status_seen, std::string_view(data, n));
      return t->callback_error.ok() ? n : 0;  // 0 aborts the transfer
    }
    if (n > t->limits.max_response_body - std::min(t->limits.max_response_body,
                                                   t->response.body.size())) {
      t->callback_error =
          ResponseTooLargeError(t->request->method, t->server, t->limits.max_response_body);
      return 0;  // aborts the transfer
    }
    t->response.body.append(data, n);
  } catch (...) {
    t->callback_error = IoError("out of memory while receiving a response");
    return 0;  // aborts the transfer
  }
  return n;
}

size_t HeaderCallback(char* data, size_t size, size_t nitems, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  size_t n = size * nitems;
  t->answer_started = true;
  t->last_activity = SteadyClock::now();
  t->header_bytes += n;
  if (t->header_bytes > kMaxHeaderBytes) {
    t->callback_error = NetworkError(
        t->request->method + " " + t->server + ": the answer's headers are longer than " +
            DescribeBytes(kMaxHeaderBytes),
        "check that " + t->server + " is the server meant (not a proxy or portal page)");
    return 0;
  }
  try {
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    if (line.rfind("HTTP/", 0) == 0) {
      t->response.headers.clear();  // a new response (redirect, 100): keep only the last
      size_t space = line.find(' ');
      t->status_seen = space == std::string_view::npos
                           ? 0
                           : std::atol(std::string(line.substr(space + 1, 3)).c_str());
      return n;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name = AsciiLower(line.substr(0, colon));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    t->response.headers.emplace_back(std::move(name), std::string(value));
  } catch (...) {
    t->callback_error = IoError("out of memory while receiving response headers");
    return 0;
  }
  return n;
}

// Called by curl about once a second even when nothing moves: the
// request's time limits are enforced here (non-zero aborts the transfer).
int ProgressCallback(void* userdata, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(userdata);
  const SteadyClock::time_point now = SteadyClock::now();
  if (dlnow != t->last_dlnow || ulnow != t->last_ulnow) {
    t->last_activity = now;
    t->last_dlnow = dlnow;
    t->last_ulnow = ulnow;
  }
  if (!t->until_eof && static_cast<uint64_t>(ulnow) >= t->upload_size) t->body_sent = true;
  if (t->request->on_upload_progress) {
    try {
      t->request->on_upload_progress(static_cast<uint64_t>(ulnow));
    } catch (...) {
      t->callback_error = IoError("upload progress callback failed");
      return 1;
    }
  }
  // Once the whole body is out, a registry may take a while to check it.
  const bool awaiting_answer = t->has_body && t->body_sent && !t->answer_started;
  if (now - t->last_activity > (awaiting_answer ? t->limits.after_body : t->limits.silence)) {
    t->timed_out = TimeLimit::kSilence;
  } else if (now - t->start > t->limits.deadline) {
    t->timed_out = TimeLimit::kDeadline;
  } else {
    return 0;
  }
  t->idle_at_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - t->last_activity);
  return 1;
}

long WholeSeconds(std::chrono::milliseconds d) {
  return static_cast<long>((d.count() + 999) / 1000);
}

// What ran out, for the timeout message: the server's behaviour, then the
// limit that ended the request.
std::string DescribeTimeout(const Transfer& t, bool connected) {
  if (!connected) {
    return "no connection within " + std::to_string(WholeSeconds(t.limits.connect)) + " s";
  }
  const bool awaiting_answer = t.has_body && t.body_sent && !t.answer_started;
  const std::chrono::milliseconds limit =
      t.timed_out == TimeLimit::kDeadline || t.timed_out == TimeLimit::kNone
          ? t.limits.deadline
          : (awaiting_answer ? t.limits.after_body : t.limits.silence);
  const std::string within = std::to_string(WholeSeconds(limit)) + " s";
  const long idle = static_cast<long>((t.idle_at_timeout.count() + 500) / 1000);
  if (t.has_body && !t.body_sent && !t.answer_started) {
    return "the server stopped taking the request body: nothing sent for " +
           std::to_string(idle) + " s";
  }
  if (!t.answer_started) {
    return "no answer within " + within + " (the connection is open, the server sends nothing)";
  }
  if (idle >= 1) return "the answer stalled: nothing received for " + std::to_string(idle) + " s";
  return "no complete answer within " + within + " (the server answers too slowly)";
}

// "host:port" of `url` for hints ("the registry" when it cannot be parsed).
std::string HostPort(const std::string& url) {
  CurlUrl u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "the registry";
  }
  char* host = nullptr;
  char* port = nullptr;
  std::string out = "the registry";
  if (curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    out = std::string(host) + ":" + port;
  }
  curl_free(host);
  curl_free(port);
  return out;
}

// The whole of a (small, PEM) file; nullopt when it cannot be read.
std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return std::nullopt;
  return text.str();
}

// Host and port of `url` (the port defaulted from the scheme); false when
// the URL cannot be parsed.
bool SplitUrlHostPort(const std::string& url, std::string* host, int* port) {
  CurlUrl u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* h = nullptr;
  char* p = nullptr;
  bool ok = curl_url_get(u.get(), CURLUPART_HOST, &h, 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) {
    *host = h;
    if (host->size() > 2 && host->front() == '[') *host = host->substr(1, host->size() - 2);
    *port = std::atoi(p);
  }
  curl_free(h);
  curl_free(p);
  return ok;
}

bool Mentions(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

}  // namespace

bool IsHttpToHttpsAnswer(long status, std::string_view body) {
  return status == 400 && (Mentions(body, "HTTP request to an HTTPS server") ||
                           Mentions(body, "plain HTTP request was sent to HTTPS port"));
}

std::string TlsFailureHint(std::string_view detail, const std::string& where) {
  if (Mentions(detail, "wrong version number") || Mentions(detail, "packet length too long")) {
    return where + " answers plain HTTP to an HTTPS request: use --plain-http for a registry "
                   "without TLS";
  }
  if (Mentions(detail, "has expired") || Mentions(detail, "certificate expired")) {
    return "the certificate of " + where +
           " has expired: renew it on the server; if it should still be valid, check this "
           "machine's clock (date, NTP)";
  }
  if (Mentions(detail, "not yet valid")) {
    return "the certificate of " + where +
           " is not valid yet: check this machine's clock (date, NTP) or the certificate's "
           "start date";
  }
  if (Mentions(detail, "subject name") || Mentions(detail, "does not match target host") ||
      Mentions(detail, "hostname mismatch") || Mentions(detail, "no alternative certificate")) {
    return "the certificate of " + where +
           " is issued for another name: use the host name it names in --registry, or "
           "reissue it";
  }
  if (Mentions(detail, "alert") && (Mentions(detail, "certificate required") ||
                                    Mentions(detail, "handshake failure") ||
                                    Mentions(detail, "bad certificate"))) {
    return where + " refused the TLS handshake; if it wants a client certificate, pass "
                   "--cert-file/--key-file, --cert-dir DIR, or put client.cert and client.key "
                   "in /etc/containers/certs.d/" + where + "/";
  }
  return "the certificate of " + where +
         " is not signed by a CA this machine trusts: pass the CA with --ca-file FILE or "
         "--cert-dir DIR, or put it in /etc/containers/certs.d/" + where +
         "/ca.crt; --tls-verify=false skips verification (not recommended)";
}

namespace {

Status MapCurlError(CURLcode rc, const char* error_buffer, const HttpRequest& request) {
  std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
  std::string message = request.method + " " + HostPort(request.url) + ": " + detail;
  std::string where = HostPort(request.url);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return NetworkError(
          message, "cannot resolve " + where + ": check the host name, DNS and proxy settings");
    case CURLE_COULDNT_CONNECT:
      // Refused or unreachable: retried briefly (a registry restarting).
      return ConnectNetworkError(message,
                                 "cannot reach " + where +
                                     ": check the network, a firewall or proxy, and that the "
                                     "registry listens on that port");
    case CURLE_OPERATION_TIMEDOUT:
      return TransientNetworkError(message, "cannot reach " + where +
                                                ": the connection timed out; check the network, "
                                                "a firewall or proxy");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ISSUER_ERROR:
      return NetworkError(message, TlsFailureHint(detail, where));
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CRL_BADFILE:
      return NetworkError(message, "a CA or client certificate file for " + where +
                                       " cannot be used: check --ca-file, --cert-file, "
                                       "--key-file, --cert-dir and the certs.d folder");
    case CURLE_SSL_CIPHER:
    case CURLE_USE_SSL_FAILED:
      return NetworkError(message, "TLS with " + where +
                                       " failed: check the server's TLS set-up");
    case CURLE_UNSUPPORTED_PROTOCOL:
      if (!IsPlainHttpUrl(request.url)) {
        // The URL itself is https: only a redirect can lead elsewhere.
        return NetworkError(request.method + " " + where +
                                ": redirected from HTTPS to another protocol, not followed",
                            where +
                                " redirects to plain HTTP: ppa-import does not leave HTTPS; have "
                                "the server (or the proxy in front of it) redirect to https://");
      }
      [[fallthrough]];
    case CURLE_WEIRD_SERVER_REPLY:
      return NetworkError(message, where +
                                       " did not answer HTTP as expected: if it only speaks "
                                       "HTTPS, drop --plain-http");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return TransientNetworkError(
          message, "the connection to " + where +
                       " was cut: check proxies and load balancers, then retry");
    case CURLE_TOO_MANY_REDIRECTS:
      return NetworkError(message, "the registry redirects in a loop: check its URL");
    default:
      return NetworkError(message);
  }
}

bool HasHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.c_str(), name.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
}

class CurlTransport : public HttpTransport {
  // The TLS set-up of one server (docker_io/registry/cert_dirs.h), made once.
  struct ServerTls {
    std::string ca_bundle;  // the system bundle plus the extra CAs (PEM); "" when none extra
    std::string cert_file;
    std::string key_file;
  };

 public:
  explicit CurlTransport(TransportOptions options) : options_(std::move(options)) {
    GlobalInitOnce();
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    PPA_RETURN_IF_ERROR(CheckPlainHttp(request));
    const std::string server = HostPort(request.url);
    if (silent_.GivenUp(server)) {
      return NetworkError(request.method + " " + server + ": not sent: " + server + " timed out " +
                              std::to_string(kTimeoutsBeforeGivingUp) +
                              " times in a row earlier in this run",
                          TimeoutHint(server));
    }
    const ServerTls* tls = nullptr;
    if (!IsPlainHttpUrl(request.url)) {
      Result<const ServerTls*> found = TlsFor(request.url);
      if (!found.ok()) return found.status();
      tls = *found;
    }
    CurlEasy handle = Acquire();
    if (!handle) return NetworkError("curl_easy_init failed");
    Result<HttpResponse> result = Perform(handle.get(), request, tls);
    Release(std::move(handle));
    if (result.ok() && IsPlainHttpUrl(request.url) &&
        IsHttpToHttpsAnswer(result->status, result->body)) {
      return NetworkError(request.method + " " + server +
                              ": the server answered that it speaks HTTPS (HTTP 400 to a plain "
                              "HTTP request)",
                          server + " is a TLS server: drop --plain-http (and an http:// "
                                   "scheme)");
    }
    return result;
  }

 private:
  CurlEasy Acquire() {
    {
      MutexLock lock(&mu_);
      if (!pool_.empty()) {
        CurlEasy handle = std::move(pool_.back());
        pool_.pop_back();
        return handle;
      }
    }
    return CurlEasy(curl_easy_init());
  }

  void Release(CurlEasy handle) {
    curl_easy_reset(handle.get());  // keeps live connections and caches
    MutexLock lock(&mu_);
    if (pool_.size() < kMaxPooledHandles) pool_.push_back(std::move(handle));
  }

  Status SetCommonOptions(CURL* h, Transfer* t, char* error_buffer, const ServerTls* tls) {
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_URL, t->request->url.c_str()));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1)));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_NOSIGNAL, 1L));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_ERRORBUFFER, error_buffer));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_USERAGENT, options_.user_agent.c_str()));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_CONNECTTIMEOUT_MS,
                               static_cast<long>(t->limits.connect.count())));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_TIMEOUT_MS,
                               static_cast<long>((t->limits.deadline + kBackstopSlack).count())));
    // Silence and the deadline (ProgressCallback), and upload progress.
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_XFERINFOFUNCTION, &ProgressCallback));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_XFERINFODATA, t));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_NOPROGRESS, 0L));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_WRITEFUNCTION, &WriteCallback));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_WRITEDATA, t));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_HEADERFUNCTION, &HeaderCallback));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_HEADERDATA, t));
    // Redirects: curl (>= 7.58, verified with 7.88.1) drops a custom
    // Authorization header when the redirect goes to another host or port;
    // UNRESTRICTED_AUTH=0 keeps that behaviour explicit.
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_FOLLOWLOCATION, t->request->follow_redirects ? 1L : 0L));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_UNRESTRICTED_AUTH, 0L));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_MAXREDIRS, kMaxRedirects));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_PROTOCOLS_STR, "http,https"));
    // An https request never continues over plain HTTP.
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                               IsPlainHttpUrl(t->request->url) ? "http,https" : "https"));
    return SetTlsOptions(h, tls);
  }

  // The system CA bundle: SSL_CERT_FILE, else libcurl's built-in default.
  std::string SystemCaBundlePath() {
    const char* env = std::getenv("SSL_CERT_FILE");
    if (env != nullptr && *env != '\0') return env;
    CurlEasy probe(curl_easy_init());
    char* path = nullptr;
    if (probe && curl_easy_getinfo(probe.get(), CURLINFO_CAINFO, &path) == CURLE_OK && path) {
      return path;
    }
    return {};
  }

  Result<ServerTls> MakeServerTls(const std::string& host, int port) {
    PPA_ASSIGN_OR_RETURN(ServerTlsFiles files, TlsFilesFor(options_, host, port));
    ServerTls tls;
    tls.cert_file = files.cert_file;
    tls.key_file = files.key_file;
    if (files.ca_files.empty()) return tls;
    std::string system = SystemCaBundlePath();
    if (!system.empty()) {
      if (std::optional<std::string> text = ReadSmallFile(system)) tls.ca_bundle = *text + "\n";
    }
    for (const std::string& file : files.ca_files) {
      std::optional<std::string> text = ReadSmallFile(file);
      if (!text) {
        return NetworkError("cannot read CA certificate '" + file + "' for " + host + ":" +
                                std::to_string(port),
                            "check --ca-file / --cert-dir and the certs.d folder");
      }
      tls.ca_bundle += *text + "\n";
    }
    return tls;
  }

  Result<const ServerTls*> TlsFor(const std::string& url) {
    std::string host;
    int port = 443;
    if (!SplitUrlHostPort(url, &host, &port)) return static_cast<const ServerTls*>(nullptr);
    const std::string key = host + ":" + std::to_string(port);
    MutexLock lock(&tls_mu_);
    auto it = tls_by_server_.find(key);
    if (it == tls_by_server_.end()) {
      Result<ServerTls> made = MakeServerTls(host, port);
      if (!made.ok()) return made.status();
      it = tls_by_server_.emplace(key, std::move(made).value()).first;
    }
    return &it->second;
  }

  Status SetTlsOptions(CURL* h, const ServerTls* tls) {
    if (options_.insecure) {
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_SSL_VERIFYPEER, 0L));
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_SSL_VERIFYHOST, 0L));
    }
    if (tls == nullptr) return Status::Ok();
    const char* env = std::getenv("SSL_CERT_FILE");
    if (!tls->ca_bundle.empty()) {
      // CAINFO_BLOB replaces the bundle file: it holds the system CAs too.
      curl_blob blob{const_cast<char*>(tls->ca_bundle.data()), tls->ca_bundle.size(),
                     CURL_BLOB_NOCOPY};
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_CAINFO_BLOB, &blob));
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L));
    } else if (env != nullptr && *env != '\0') {
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_CAINFO, env));
    }
    if (!tls->cert_file.empty()) {
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_SSLCERT, tls->cert_file.c_str()));
    }
    if (!tls->key_file.empty()) {
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_SSLKEY, tls->key_file.c_str()));
    }
    return Status::Ok();
  }

  // Method and body. `has_body` is set when a request body is sent.
  Status SetMethodOptions(CURL* h, Transfer* t, bool* has_body) {
    const HttpRequest& r = *t->request;
    *has_body = r.file_body.has_value() || !r.body.empty();
    if (r.method == "HEAD") return SetOpt(h, CURLOPT_NOBODY, 1L);
    if (r.method == "GET") return SetOpt(h, CURLOPT_HTTPGET, 1L);
    bool body_method = r.method == "PUT" || r.method == "POST" || r.method == "PATCH";
    if (body_method) *has_body = true;  // an empty body still sends Content-Length: 0
    if (!*has_body) return SetOpt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    t->upload_size = r.file_body ? r.file_body->size : r.body.size();
    t->until_eof = r.file_body && r.file_body->until_eof;
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_UPLOAD, 1L));
    // An unknown size (-1) makes curl send "Transfer-Encoding: chunked".
    curl_off_t size = t->until_eof ? -1 : static_cast<curl_off_t>(t->upload_size);
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_INFILESIZE_LARGE, size));
    if (r.file_body) {
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferBytes));
    }
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_READFUNCTION, &ReadCallback));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_READDATA, t));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_SEEKFUNCTION, &SeekCallback));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_SEEKDATA, t));
    if (r.method != "PUT") {
      PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str()));
    }
    return Status::Ok();
  }

  Result<CurlSlist> BuildHeaders(const HttpRequest& r, bool has_body) {
    CurlSlist list;
    auto add = [&list](const std::string& line) {
      curl_slist* next = curl_slist_append(list.get(), line.c_str());
      if (next == nullptr) return false;
      list.release();
      list.reset(next);
      return true;
    };
    bool ok = add("Expect:");  // no 100-continue round trip
    if (has_body && !HasHeader(r.headers, "Content-Type")) {
      ok = ok && add("Content-Type: application/octet-stream");
    }
    for (const auto& [name, value] : r.headers) {
      ok = ok && add(value.empty() ? name + ";" : name + ": " + value);
    }
    if (!ok) return NetworkError("out of memory building request headers");
    return list;
  }

  static std::string TimeoutHint(const std::string& server) {
    return server +
           " does not answer in time: check that server and any proxy or firewall on the way; "
           "--timeout SECONDS sets how long ppa-import waits";
  }

  // A request that ran out of time: transient (sent again by the retry
  // loops) until its server has timed out kTimeoutsBeforeGivingUp times in
  // a row; then the run gives up on that server.
  Status TimeoutError(CURL* h, const Transfer& t) {
    // Set once a connection (new or reused) was ready for the request.
    curl_off_t pretransfer_us = 0;
    bool connected =
        curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us) == CURLE_OK &&
        pretransfer_us > 0;
    std::string message = t.request->method + " " + t.server + ": " + DescribeTimeout(t, connected);
    std::string hint = TimeoutHint(t.server) + " (now " + std::to_string(options_.timeout_seconds) +
                       " s)";
    if (silent_.TimedOut(t.server)) {
      return NetworkError(message + "; gave up on " + t.server + " after " +
                              std::to_string(kTimeoutsBeforeGivingUp) + " timeouts in a row",
                          hint);
    }
    return TransientNetworkError(message, hint);
  }

  // Bytes of the request body (a streamed file: from its offset to its end now).
  static uint64_t BodyBytes(const HttpRequest& request, int fd) {
    if (!request.file_body) return request.body.size();
    if (!request.file_body->until_eof) return request.file_body->size;
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0) return 0;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    return size > request.file_body->offset ? size - request.file_body->offset : 0;
  }

  Result<HttpResponse> Perform(CURL* h, const HttpRequest& request, const ServerTls* tls) {
    Transfer t;
    t.request = &request;
    t.server = HostPort(request.url);
    FdCloser file;
    if (request.file_body) {
      // An image file of the archive: opened beneath the work directory
      // like every other read of it (base/confined.h).
      auto opened = OpenForRead(request.file_body->path);
      if (!opened.ok()) return opened.status().WithContext("upload body");
      file.fd = opened->release();
      t.fd = file.fd;
      t.file_offset = request.file_body->offset;
    }
    t.limits = RequestLimitsFor(options_,
                                BodyBytes(request, file.fd) + request.expected_response_bytes,
                                request.max_response_body);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    PPA_RETURN_IF_ERROR(SetCommonOptions(h, &t, error_buffer, tls));
    bool has_body = false;
    PPA_RETURN_IF_ERROR(SetMethodOptions(h, &t, &has_body));
    t.has_body = has_body;
    PPA_ASSIGN_OR_RETURN(CurlSlist headers, BuildHeaders(request, has_body));
    PPA_RETURN_IF_ERROR(SetOpt(h, CURLOPT_HTTPHEADER, headers.get()));

    t.start = t.last_activity = SteadyClock::now();
    CURLcode rc = curl_easy_perform(h);
    // The handle goes back to the pool: it must not point at our stack.
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    if (t.timed_out != TimeLimit::kNone || rc == CURLE_OPERATION_TIMEDOUT) {
      return TimeoutError(h, t);
    }
    if (!t.callback_error.ok()) return t.callback_error;
    if (rc != CURLE_OK) return MapCurlError(rc, error_buffer, request);
    silent_.Answered(t.server);

    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &t.response.status);
    char* effective = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
      t.response.effective_url = effective;
    }
    return std::move(t.response);
  }

  const TransportOptions options_;
  SilentServers silent_;
  Mutex mu_;
  std::vector<CurlEasy> pool_ GUARDED_BY(mu_);
  Mutex tls_mu_;
  // Entries are never removed: pointers to them stay valid.
  std::map<std::string, ServerTls> tls_by_server_ GUARDED_BY(tls_mu_);
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport(const TransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace ppa
