#include "docker_io/registry/cert_dirs.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace ppa {
namespace {

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<CertDirFiles> ReadCertDir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  if (ec) {
    return IoError("cannot read certificate folder '" + dir + "': " + ec.message(),
                   "check the folder's permissions");
  }
  std::sort(names.begin(), names.end());
  CertDirFiles out;
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    if (EndsWith(name, ".crt")) {
      out.ca_files.push_back(path);
    } else if (EndsWith(name, ".cert")) {
      const std::string key = dir + "/" + name.substr(0, name.size() - 5) + ".key";
      if (!Exists(key)) {
        return InvalidInput("client certificate '" + path + "' has no key '" + key + "'",
                            "put the client key next to it as " +
                                name.substr(0, name.size() - 5) + ".key");
      }
      if (out.cert_file.empty()) {
        out.cert_file = path;
        out.key_file = key;
      }
    } else if (EndsWith(name, ".key")) {
      const std::string cert = dir + "/" + name.substr(0, name.size() - 4) + ".cert";
      if (!Exists(cert)) {
        return InvalidInput("client key '" + path + "' has no certificate '" + cert + "'",
                            "put the client certificate next to it as " +
                                name.substr(0, name.size() - 4) + ".cert");
      }
    }
  }
  return out;
}

std::vector<std::string> CertDirNames(std::string_view host, int port) {
  std::string h(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  std::vector<std::string> out = {h + ":" + std::to_string(port)};
  if (port == 443) out.push_back(h);
  return out;
}

std::vector<std::string> DefaultCertsDirRoots() {
  const char* roots = std::getenv("PPA_TEST_CERTS_D_ROOTS");
  if (roots == nullptr) return {"/etc/containers/certs.d", "/etc/docker/certs.d"};
  std::vector<std::string> out;
  std::string_view rest(roots);
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    if (colon != 0) out.emplace_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return out;
}

Result<ServerTlsFiles> TlsFilesFor(const TransportOptions& options, std::string_view host,
                                   int port) {
  ServerTlsFiles out;
  std::string dir;
  if (!options.cert_dir.empty()) {
    dir = options.cert_dir;
    out.from = "--cert-dir " + dir;
  } else {
    const std::vector<std::string> roots =
        options.certs_d_roots ? *options.certs_d_roots : DefaultCertsDirRoots();
    for (const std::string& root : roots) {
      for (const std::string& name : CertDirNames(host, port)) {
        if (IsDirectory(root + "/" + name)) {
          dir = root + "/" + name;
          break;
        }
      }
      if (!dir.empty()) break;
    }
    out.from = dir;
  }
  CertDirFiles found;
  if (!dir.empty()) {
    Result<CertDirFiles> read = ReadCertDir(dir);
    if (!read.ok()) return read.status();
    found = std::move(read).value();
  }
  // Flags win over a folder, role by role.
  out.ca_files = options.ca_file.empty() ? found.ca_files
                                         : std::vector<std::string>{options.ca_file};
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    out.cert_file = options.cert_file;
    out.key_file = options.key_file;
  } else {
    out.cert_file = found.cert_file;
    out.key_file = found.key_file;
  }
  return out;
}

}  // namespace ppa
