#include "tests/support/chartmuseum_server.h"

#include <httplib.h>
#include <yaml-cpp/yaml.h>
#include <zlib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "docker_io/image/digest.h"
#include "tests/support/loopback_http.h"

namespace ppa::test {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, size_t from, size_t count) {
  std::string out;
  for (size_t i = from; i < from + count && i < parts.size(); ++i) {
    if (!out.empty()) out += "/";
    out += parts[i];
  }
  return out;
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = -6;
  for (unsigned char c : in) {
    value = (value << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += kAlphabet[(value >> bits) & 0x3f];
      bits -= 6;
    }
  }
  if (bits > -6) out += kAlphabet[((value << 8) >> (bits + 8)) & 0x3f];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

void JsonError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

Result<std::string> Gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return InvalidInput("inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buffer[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof(buffer);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return InvalidInput("not a gzip stream");
    }
    out.append(buffer, sizeof(buffer) - zs.avail_out);
    if (out.size() > (200u << 20)) {
      inflateEnd(&zs);
      return InvalidInput("chart too large");
    }
    if (rc != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return InvalidInput("truncated gzip stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

uint64_t OctalField(const char* field, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size && field[i] != '\0' && field[i] != ' '; ++i) {
    if (field[i] < '0' || field[i] > '7') break;
    value = value * 8 + static_cast<uint64_t>(field[i] - '0');
  }
  return value;
}

// Finds "<top>/Chart.yaml" in a ustar/GNU/pax tar stream.
Result<std::string> FindChartYaml(const std::string& tar) {
  size_t pos = 0;
  std::string long_name;
  while (pos + 512 <= tar.size()) {
    const char* h = tar.data() + pos;
    if (h[0] == '\0') break;
    std::string name(h, strnlen(h, 100));
    const std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty() && std::string(h + 257, 5) == "ustar") name = prefix + "/" + name;
    if (!long_name.empty()) {
      name = long_name;
      long_name.clear();
    }
    const uint64_t size = OctalField(h + 124, 12);
    const char type = h[156];
    const size_t data = pos + 512;
    if (data + size > tar.size()) return InvalidInput("truncated tar");
    if (type == 'L') {
      long_name.assign(tar.data() + data, strnlen(tar.data() + data, size));
    } else if (type == '0' || type == '\0') {
      const std::vector<std::string> parts = SplitPath(name);
      if (parts.size() == 2 && parts[1] == "Chart.yaml") return tar.substr(data, size);
    }
    pos = data + (size + 511) / 512 * 512;
  }
  return InvalidInput("chart has no Chart.yaml");
}

}  // namespace

Result<std::pair<std::string, std::string>> ChartNameAndVersion(const std::string& tgz) {
  PPA_ASSIGN_OR_RETURN(const std::string tar, Gunzip(tgz));
  PPA_ASSIGN_OR_RETURN(const std::string chart_yaml, FindChartYaml(tar));
  try {
    const YAML::Node root = YAML::Load(chart_yaml);
    const std::string name = root["name"] ? root["name"].as<std::string>() : "";
    const std::string version = root["version"] ? root["version"].as<std::string>() : "";
    if (name.empty() || version.empty()) return InvalidInput("chart needs a name and a version");
    return std::make_pair(name, version);
  } catch (const YAML::Exception& e) {
    return InvalidInput("Chart.yaml: " + e.msg);
  }
}

ChartMuseumServer::ChartMuseumServer(ChartMuseumServerOptions options)
    : options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<ChartMuseumServer>> ChartMuseumServer::Start(
    ChartMuseumServerOptions options) {
  std::unique_ptr<ChartMuseumServer> s(new ChartMuseumServer(std::move(options)));
  s->server_->set_payload_max_length(s->options_.max_upload_bytes);
  auto handler = [raw = s.get()](const httplib::Request& req, httplib::Response& res) {
    raw->Route(req, res);
  };
  s->server_->Get(".*", handler);
  s->server_->Post(".*", handler);
  s->server_->Put(".*", handler);
  s->server_->Delete(".*", handler);
  s->server_->set_logger([raw = s.get()](const httplib::Request& req, const httplib::Response& res) {
    std::lock_guard lock(raw->mu_);
    raw->log_.push_back(req.method + " " + req.path + " -> " + std::to_string(res.status));
  });
  PPA_ASSIGN_OR_RETURN(s->port_,
                       ServeOnLoopback(*s->server_, s->thread_, "ChartMuseum test server"));
  return s;
}

ChartMuseumServer::~ChartMuseumServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ChartMuseumServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + options_.context_path;
}

std::optional<ChartMuseumServer::StoredChart> ChartMuseumServer::Find(
    const std::string& repo, const std::string& name, const std::string& version) const {
  std::lock_guard lock(mu_);
  auto r = charts_.find(repo);
  if (r == charts_.end()) return std::nullopt;
  auto c = r->second.find(name + "-" + version);
  if (c == r->second.end()) return std::nullopt;
  return c->second;
}

size_t ChartMuseumServer::ChartCount(const std::string& repo) const {
  std::lock_guard lock(mu_);
  auto r = charts_.find(repo);
  return r == charts_.end() ? 0 : r->second.size();
}

std::vector<std::string> ChartMuseumServer::Log() const {
  std::lock_guard lock(mu_);
  return log_;
}

int ChartMuseumServer::UploadRequests() const {
  std::lock_guard lock(mu_);
  return uploads_;
}

bool ChartMuseumServer::Authorized(const httplib::Request& req, httplib::Response& res) const {
  const std::string auth = req.get_header_value("Authorization");
  if (!options_.token.empty()) {
    if (auth == "Bearer " + options_.token) return true;
    res.set_header("WWW-Authenticate", "Bearer realm=\"" + url() +
                                           "/oauth/token\",service=\"chartmuseum\",scope=\"" +
                                           "artifact-repository:repo:push\"");
    JsonError(res, 401, "unauthorized");
    return false;
  }
  if (!options_.username.empty()) {
    const std::string basic =
        "Basic " + Base64(options_.username + ":" + options_.password);
    if (auth == basic) return true;
    res.set_header("WWW-Authenticate", "Basic realm=\"ChartMuseum\"");
    JsonError(res, 401, "unauthorized");
    return false;
  }
  return true;
}

void ChartMuseumServer::Route(const httplib::Request& req, httplib::Response& res) {
  std::string path = req.path;
  if (path == "/health" && req.method == "GET") {
    res.set_content("{\"healthy\":true}", "application/json");
    return;
  }
  const std::string& ctx = options_.context_path;
  if (!ctx.empty()) {
    if (path != ctx && !path.starts_with(ctx + "/")) return JsonError(res, 404, "not found");
    path = path.substr(ctx.size());
  }
  if (!Authorized(req, res)) return;
  const std::vector<std::string> parts = SplitPath(path);
  const size_t depth = static_cast<size_t>(options_.depth);
  // /<repo>/index.yaml
  if (req.method == "GET" && parts.size() == depth + 1 && parts.back() == "index.yaml") {
    return HandleIndex(Join(parts, 0, depth), res);
  }
  // /<repo>/charts/<name>-<version>.tgz[.prov]: the files index.yaml lists
  if (req.method == "GET" && parts.size() == depth + 2 && parts[depth] == "charts") {
    return HandleDownload(Join(parts, 0, depth), parts.back(), res);
  }
  if (parts.empty() || parts[0] != "api" || options_.disable_api) {
    return JsonError(res, 404, "not found");
  }
  if (parts.size() < depth + 2 || parts[depth + 1] != "charts") {
    return JsonError(res, 404, "not found");
  }
  const std::string repo = Join(parts, 1, depth);
  if (req.method == "POST" && parts.size() == depth + 2) return HandleUpload(repo, req, res);
  if (req.method == "GET" && parts.size() == depth + 4) {
    return HandleGetVersion(repo, parts[depth + 2], parts[depth + 3], res);
  }
  JsonError(res, 404, "not found");
}

void ChartMuseumServer::HandleDownload(const std::string& repo, const std::string& file,
                                       httplib::Response& res) const {
  std::lock_guard lock(mu_);
  auto r = charts_.find(repo);
  if (r != charts_.end()) {
    for (const auto& [key, chart] : r->second) {
      if (file == key + ".tgz") return res.set_content(chart.tgz, "application/gzip");
      if (file == key + ".tgz.prov" && chart.prov) {
        return res.set_content(*chart.prov, "application/pgp-signature");
      }
    }
  }
  JsonError(res, 404, "not found");
}

void ChartMuseumServer::HandleUpload(const std::string& repo, const httplib::Request& req,
                                     httplib::Response& res) {
  {
    std::lock_guard lock(mu_);
    ++uploads_;
  }
  std::string tgz;
  std::optional<std::string> prov;
  if (req.is_multipart_form_data()) {
    if (!req.has_file("chart")) return JsonError(res, 400, "no chart in the form (field 'chart')");
    tgz = req.get_file_value("chart").content;
    if (req.has_file("prov")) prov = req.get_file_value("prov").content;
  } else {
    tgz = req.body;
  }
  Result<std::pair<std::string, std::string>> id = ChartNameAndVersion(tgz);
  if (!id.ok()) return JsonError(res, 400, id.status().message());
  const auto& [name, version] = *id;
  const std::string key = name + "-" + version;
  const bool force = req.has_param("force") && !options_.disable_force_overwrite;
  std::lock_guard lock(mu_);
  auto& stored = charts_[repo];
  if (stored.count(key) != 0 && !force) {
    return JsonError(res, 409, "file " + key + ".tgz already exists");
  }
  const std::string digest(DigestHex(Sha256Digest(tgz)));
  stored[key] = StoredChart{name, version, std::move(tgz), std::move(prov), digest};
  res.status = 201;
  res.set_content("{\"saved\":true}", "application/json");
}

void ChartMuseumServer::HandleGetVersion(const std::string& repo, const std::string& name,
                                         const std::string& version,
                                         httplib::Response& res) const {
  std::optional<StoredChart> chart = Find(repo, name, version);
  if (!chart) return JsonError(res, 404, "no chart version found for " + name + "-" + version);
  nlohmann::json body = {{"name", chart->name},
                         {"version", chart->version},
                         {"urls", {"charts/" + name + "-" + version + ".tgz"}},
                         {"created", "2024-01-01T00:00:00Z"},
                         {"digest", chart->digest}};
  res.set_content(body.dump(), "application/json");
}

void ChartMuseumServer::HandleIndex(const std::string& repo, httplib::Response& res) const {
  std::string out = "apiVersion: v1\nentries:\n";
  {
    std::lock_guard lock(mu_);
    auto r = charts_.find(repo);
    if (r != charts_.end()) {
      std::map<std::string, std::string> by_name;  // name -> its version entries
      for (const auto& [key, chart] : r->second) {
        by_name[chart.name] += "  - name: " + chart.name + "\n    version: \"" + chart.version +
                               "\"\n    digest: " + chart.digest + "\n    urls:\n    - charts/" +
                               key + ".tgz\n";
      }
      for (const auto& [name, versions] : by_name) out += "  " + name + ":\n" + versions;
    }
  }
  out += "generated: \"2024-01-01T00:00:00Z\"\n";
  if (!options_.context_path.empty()) {
    out += "serverInfo:\n  contextPath: " + options_.context_path + "\n";
  }
  res.set_content(out, "application/x-yaml");
}

}  // namespace ppa::test
