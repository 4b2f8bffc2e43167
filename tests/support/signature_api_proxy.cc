#include "tests/support/signature_api_proxy.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/loopback_http.h"

namespace ppa::test {

SignatureApiProxy::SignatureApiProxy(int registry_port)
    : registry_port_(registry_port), server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<SignatureApiProxy>> SignatureApiProxy::Start(int registry_port) {
  std::unique_ptr<SignatureApiProxy> p(new SignatureApiProxy(registry_port));
  auto handler = [raw = p.get()](const httplib::Request& req, httplib::Response& res) {
    raw->Route(req, res);
  };
  p->server_->Get(".*", handler);
  p->server_->Post(".*", handler);
  p->server_->Put(".*", handler);
  p->server_->Patch(".*", handler);
  p->server_->Delete(".*", handler);
  p->server_->set_payload_max_length(256 << 20);
  PPA_ASSIGN_OR_RETURN(p->port_, ServeOnLoopback(*p->server_, p->thread_, "signature API proxy"));
  return p;
}

SignatureApiProxy::~SignatureApiProxy() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> SignatureApiProxy::Signatures(const std::string& repo,
                                                       const std::string& digest) const {
  MutexLock lock(&mu_);
  auto found = signatures_.find(repo + "@" + digest);
  return found == signatures_.end() ? std::vector<std::string>() : found->second;
}

size_t SignatureApiProxy::SignatureCount() const {
  MutexLock lock(&mu_);
  size_t n = 0;
  for (const auto& [key, list] : signatures_) n += list.size();
  return n;
}

void SignatureApiProxy::SetSignatures(const std::string& repo, const std::string& digest,
                                      std::vector<std::string> objects) {
  MutexLock lock(&mu_);
  signatures_[repo + "@" + digest] = std::move(objects);
}

void SignatureApiProxy::Route(const httplib::Request& req, httplib::Response& res) {
  static const std::regex kSignatures("^/extensions/v2/(.+)/signatures/(sha256:[0-9a-f]{64})$");
  std::smatch m;
  if (!std::regex_match(req.path, m, kSignatures)) return Forward(req, res);
  const std::string key = m[1].str() + "@" + m[2].str();
  if (req.method == "GET") {
    nlohmann::json list = nlohmann::json::array();
    {
      MutexLock lock(&mu_);
      for (const auto& text : signatures_[key]) list.push_back(nlohmann::json::parse(text));
    }
    res.set_content(nlohmann::json{{"signatures", list}}.dump(), "application/json");
    return;
  }
  if (req.method != "PUT") {
    res.status = 405;
    return;
  }
  if (refuse_.load()) {
    res.status = 403;
    res.set_content(R"({"errors":[{"code":"DENIED","message":"signatures may not be written"}]})",
                    "application/json");
    return;
  }
  auto sig = nlohmann::json::parse(req.body, nullptr, false);
  bool valid = sig.is_object() && sig.value("schemaVersion", 0) == 2 &&
               sig.value("type", "") == "atomic" &&
               sig.value("name", "").rfind(m[2].str() + "@", 0) == 0 &&
               sig.contains("content") && sig["content"].is_string();
  if (!valid) {
    res.status = 400;
    res.set_content(R"({"errors":[{"code":"INVALID","message":"bad signature"}]})",
                    "application/json");
    return;
  }
  {
    MutexLock lock(&mu_);
    signatures_[key].push_back(sig.dump());
  }
  res.status = 201;
}

void SignatureApiProxy::Forward(const httplib::Request& req, httplib::Response& res) {
  httplib::Client client("127.0.0.1", registry_port_);
  httplib::Request out;
  out.method = req.method;
  out.path = req.target;  // path and query as sent
  for (const auto& [name, value] : req.headers) {
    if (name == "Host" || name == "Content-Length" || name == "REMOTE_ADDR" ||
        name == "REMOTE_PORT" || name == "LOCAL_ADDR" || name == "LOCAL_PORT") {
      continue;
    }
    out.headers.emplace(name, value);
  }
  out.body = req.body;
  auto answer = client.send(out);
  if (!answer) {
    res.status = 502;
    return;
  }
  res.status = answer->status;
  for (const auto& [name, value] : answer->headers) {
    if (name == "Content-Length" || name == "Transfer-Encoding" || name == "Content-Type") {
      continue;
    }
    res.headers.emplace(name, value);
  }
  res.set_content(answer->body, answer->get_header_value("Content-Type"));
  if (req.method == "GET" && req.path == "/v2/") {
    res.set_header("X-Registry-Supports-Signatures", "1");
  }
}

}  // namespace ppa::test
