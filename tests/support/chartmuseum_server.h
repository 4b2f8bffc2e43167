// A ChartMuseum-compatible server for integration tests, written from
// ChartMuseum's documented API and status codes (ChartMuseum itself cannot
// be installed here; this is the one stand-in in the suite). It runs
// cpp-httplib in a background thread on 127.0.0.1 with a free port and
// keeps the charts in memory.
//
// Routes (below the optional context path; <repo> has exactly `depth`
// segments):
//   GET  /health                                 -> 200 {"healthy":true}
//   GET  /<repo>/index.yaml                      -> the index, with
//        serverInfo.contextPath when a context path is set
//   POST /api/<repo>/charts[?force]              -> multipart `chart` (+ `prov`)
//        or the raw package as body: 201 {"saved":true}; 409 when the
//        version exists (unless ?force); 400 {"error":...} for a bad chart;
//        413 above the upload limit
//   GET  /<repo>/charts/<name>-<version>.tgz[.prov] -> the package (provenance)
//   GET  /api/<repo>/charts/<name>/<version>     -> {"name","version","digest",...}
//        (digest: sha256 hex of the .tgz); 404 {"error":...}
// Every route but /health requires the configured basic or bearer
// credentials: 401 with WWW-Authenticate otherwise. With `disable_api` the
// /api routes answer 404.
//
// Thread-safe; the destructor stops the server.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace ppa::test {

struct ChartMuseumServerOptions {
  std::string username;       // basic auth when username and password are set
  std::string password;
  std::string token;          // bearer auth when set
  std::string context_path;   // "" or "/ctx"
  int depth = 0;              // multitenant repository depth
  size_t max_upload_bytes = 20 << 20;
  bool disable_api = false;
  bool disable_force_overwrite = false;
};

class ChartMuseumServer {
 public:
  struct StoredChart {
    std::string name;
    std::string version;
    std::string tgz;
    std::optional<std::string> prov;
    std::string digest;  // sha256 hex of tgz
  };

  static Result<std::unique_ptr<ChartMuseumServer>> Start(ChartMuseumServerOptions options = {});
  ~ChartMuseumServer();
  ChartMuseumServer(const ChartMuseumServer&) = delete;
  ChartMuseumServer& operator=(const ChartMuseumServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><context path>".
  std::string url() const;

  // The chart stored in `repo` ("" or "org/team") under name and version.
  std::optional<StoredChart> Find(const std::string& repo, const std::string& name,
                                  const std::string& version) const;
  // Number of charts stored in `repo`.
  size_t ChartCount(const std::string& repo = "") const;
  // "METHOD path -> status" of every request so far.
  std::vector<std::string> Log() const;
  // Every Authorization header value seen (tests check secrets stay there).
  int UploadRequests() const;

 private:
  explicit ChartMuseumServer(ChartMuseumServerOptions options);
  void Route(const httplib::Request& req, httplib::Response& res);
  bool Authorized(const httplib::Request& req, httplib::Response& res) const;
  void HandleUpload(const std::string& repo, const httplib::Request& req, httplib::Response& res);
  void HandleGetVersion(const std::string& repo, const std::string& name,
                        const std::string& version, httplib::Response& res) const;
  void HandleIndex(const std::string& repo, httplib::Response& res) const;
  void HandleDownload(const std::string& repo, const std::string& file,
                      httplib::Response& res) const;

  ChartMuseumServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  // repo -> "name-version" -> chart; guarded by mu_.
  std::map<std::string, std::map<std::string, StoredChart>> charts_;
  std::vector<std::string> log_;
  int uploads_ = 0;
};

// Reads `name` and `version` from `<top>/Chart.yaml` of a chart package
// (gzip'd tar), independently of helm_io. An error message on failure.
Result<std::pair<std::string, std::string>> ChartNameAndVersion(const std::string& tgz);

}  // namespace ppa::test
