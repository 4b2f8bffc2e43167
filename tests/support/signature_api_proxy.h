// A loopback proxy in front of a real registry that adds the signature API
// extension OpenShift's registry offers (X-Registry-Supports-Signatures),
// so ppa-import's and skopeo's use of it can be tested against
// docker-registry, which has none:
//   GET  /v2/                                   forwarded, answer gets
//                                               "X-Registry-Supports-Signatures: 1"
//   GET  /extensions/v2/<repo>/signatures/<d>   {"signatures":[...]} from memory
//   PUT  /extensions/v2/<repo>/signatures/<d>   one signature {"schemaVersion":2,
//                                               "name","type","content"}: 201;
//                                               400 for anything else
//   anything else                               forwarded to the registry as is
// cpp-httplib in a background thread on 127.0.0.1 with a free port.
// Thread-safe; the destructor stops it.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace ppa::test {

class SignatureApiProxy {
 public:
  static Result<std::unique_ptr<SignatureApiProxy>> Start(int registry_port);
  ~SignatureApiProxy();

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // The stored signature objects (JSON text) of "<repo>@<digest>".
  std::vector<std::string> Signatures(const std::string& repo, const std::string& digest) const
      EXCLUDES(mu_);
  // Every stored signature, of every image.
  size_t SignatureCount() const EXCLUDES(mu_);
  // From now on every signature PUT is refused with 403 (a registry whose
  // signature store refuses this user).
  void RefuseSignatures() { refuse_.store(true); }
  // Replaces what is stored for "<repo>@<digest>" (a test's tampering).
  void SetSignatures(const std::string& repo, const std::string& digest,
                     std::vector<std::string> objects) EXCLUDES(mu_);

 private:
  explicit SignatureApiProxy(int registry_port);
  void Route(const httplib::Request& req, httplib::Response& res);
  void Forward(const httplib::Request& req, httplib::Response& res);

  int registry_port_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> refuse_{false};
  mutable Mutex mu_;
  std::map<std::string, std::vector<std::string>> signatures_ GUARDED_BY(mu_);
};

}  // namespace ppa::test
