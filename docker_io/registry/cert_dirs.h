// TLS files per server, found the way podman and docker find them
// (README, TLS): for a server HOST:PORT, the first of the certs.d roots
// (/etc/containers/certs.d, /etc/docker/certs.d) holding a folder named
// "HOST:PORT" ("HOST" too for port 443) gives
//   *.crt             CA certificates, trusted besides the system ones;
//   *.cert + *.key    a client certificate and its key (same base name).
// --cert-dir DIR is read instead of that folder; --ca-file and
// --cert-file/--key-file win over what a folder gives.
//
// Reading a folder touches the file system; everything else is pure.
// Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "docker_io/registry/http_transport.h"

namespace ppa {

// What one folder of certificates holds (sorted by file name).
struct CertDirFiles {
  std::vector<std::string> ca_files;  // *.crt
  std::string cert_file;              // *.cert
  std::string key_file;               // the *.key of the same name
};

// Reads a podman/docker certificate folder. kInvalidInput for a *.cert
// without its *.key or a *.key without its *.cert (named in the message).
Result<CertDirFiles> ReadCertDir(const std::string& dir);

// The folder names a server is looked up under: "host:port", and "host"
// when the port is 443.
std::vector<std::string> CertDirNames(std::string_view host, int port);

// The TLS files for the server `host`:`port` under `options` (the rules
// above). `from` in the result says where they were found ("" when no
// folder applied), for messages.
struct ServerTlsFiles {
  std::vector<std::string> ca_files;
  std::string cert_file;
  std::string key_file;
  std::string from;  // "/etc/containers/certs.d/reg:5000", "--cert-dir DIR" or ""
};
Result<ServerTlsFiles> TlsFilesFor(const TransportOptions& options, std::string_view host,
                                   int port);

// The certs.d roots in use: PPA_TEST_CERTS_D_ROOTS (colon-separated; for
// tests only) when set, else /etc/containers/certs.d and /etc/docker/certs.d.
std::vector<std::string> DefaultCertsDirRoots();

}  // namespace ppa
