#include "tests/support/hostile_http_server.h"

#include <httplib.h>
#include <strings.h>

#include <algorithm>

namespace ppa::test {
namespace {

constexpr std::chrono::milliseconds kPoll{50};
constexpr size_t kStalledLength = 1 << 20;
constexpr size_t kEndlessChunk = 64 * 1024;

bool Matches(const HostileRoute& route, const httplib::Request& request) {
  return (route.method.empty() || route.method == request.method) &&
         request.path.rfind(route.path_prefix, 0) == 0;
}

// The route's Content-Type, or JSON.
std::string ContentType(const HostileRoute& route) {
  for (const auto& [name, value] : route.headers) {
    if (strcasecmp(name.c_str(), "content-type") == 0) return value;
  }
  return "application/json";
}

void SetHeaders(const HostileRoute& route, httplib::Response& response) {
  for (const auto& [name, value] : route.headers) {
    if (strcasecmp(name.c_str(), "content-type") != 0) response.set_header(name, value);
  }
}

}  // namespace

HostileHttpServer::HostileHttpServer(HostileServerOptions options)
    : options_(std::move(options)) {}

Result<std::unique_ptr<HostileHttpServer>> HostileHttpServer::Start(
    const HostileServerOptions& options) {
  std::unique_ptr<HostileHttpServer> server(new HostileHttpServer(options));
  PPA_RETURN_IF_ERROR(server->Launch());
  return server;
}

Status HostileHttpServer::Launch() {
  if (options_.tls) {
    ProcessResult made = RunProcess(
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
         dir_.Join("key.pem"), "-out", cert_path()});
    if (made.exit_code != 0) return IoError("openssl req failed: " + made.stderr_text);
    server_ = std::make_unique<httplib::SSLServer>(cert_path().c_str(),
                                                   dir_.Join("key.pem").c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  if (!server_->is_valid()) return IoError("the test HTTP server could not be set up");
  // Waiting behaviours hold a thread each: room for many of them.
  server_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  server_->set_keep_alive_timeout(1);
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    Dispatch(request, response);
  };
  server_->Get(".*", handler);  // and HEAD
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return IoError("the test HTTP server could not bind a port");
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  watchdog_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    stopped_cv_.wait_for(lock, options_.lifetime, [this] { return stop_requested_; });
    lock.unlock();
    stopping_ = true;
    server_->stop();
  });
  return Status::Ok();
}

HostileHttpServer::~HostileHttpServer() {
  Stop();
  if (watchdog_.joinable()) watchdog_.join();
  if (listener_.joinable()) listener_.join();
}

void HostileHttpServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
  }
  stopping_ = true;
  stopped_cv_.notify_all();
}

void HostileHttpServer::SetRoutes(std::vector<HostileRoute> routes) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_ = std::move(routes);
}

std::vector<SeenRequest> HostileHttpServer::Requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

int HostileHttpServer::RequestsWithCredentialsOrBody() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(std::count_if(seen_.begin(), seen_.end(), [](const SeenRequest& r) {
    return !r.authorization.empty() || !r.body.empty();
  }));
}

bool HostileHttpServer::WaitWhileRunning(std::chrono::milliseconds duration) {
  auto until = std::chrono::steady_clock::now() + duration;
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(kPoll, until - now));
  }
  return false;
}

void HostileHttpServer::Dispatch(const httplib::Request& request, httplib::Response& response) {
  HostileRoute route;
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.push_back(SeenRequest{request.method, request.target,
                                request.get_header_value("Authorization"), request.body});
    if (static_cast<int>(seen_.size()) > options_.max_requests || stopping_) {
      response.status = 503;
      return;
    }
    for (const HostileRoute& r : routes_) {
      if (Matches(r, request)) {
        route = r;
        found = true;
        break;
      }
    }
  }
  if (!found) {
    response.status = 404;
    response.set_content("{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}", "application/json");
    return;
  }
  if (!route.challenge.empty() && !request.has_header("Authorization")) {
    response.status = 401;
    response.set_header("WWW-Authenticate", route.challenge);
    response.set_content("{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}", "application/json");
    return;
  }
  response.status = route.status;
  SetHeaders(route, response);
  switch (route.behavior) {
    case HostileBehavior::kReply:
      response.set_content(route.body, ContentType(route));
      return;
    case HostileBehavior::kSilent:
      while (WaitWhileRunning(std::chrono::seconds(1))) {
      }
      response.status = 503;  // never reaches the client: it is long gone
      return;
    case HostileBehavior::kStallAfterHeaders:
      response.set_content_provider(
          kStalledLength, ContentType(route),
          [this](size_t, size_t, httplib::DataSink& sink) {
            while (sink.is_writable() && WaitWhileRunning(kPoll)) {
            }
            return false;
          });
      return;
    case HostileBehavior::kTrickle:
      response.set_chunked_content_provider(
          ContentType(route), [this, interval = route.interval](size_t, httplib::DataSink& sink) {
            return sink.write(" ", 1) && WaitWhileRunning(interval);
          });
      return;
    case HostileBehavior::kEndlessChunked:
      response.set_chunked_content_provider(
          ContentType(route), [this](size_t, httplib::DataSink& sink) {
            static const std::string kChunk(kEndlessChunk, ' ');
            return sink.write(kChunk.data(), kChunk.size()) && !stopping_;
          });
      return;
  }
}

}  // namespace ppa::test
