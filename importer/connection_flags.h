// The flags that say how to reach a registry, shared by `load` and `doctor`
// so both spell and explain them the same way (README, Usage): ppa-import's
// own names and the skopeo/podman spellings people already type (--creds,
// --authfile, --tls-verify, --cert-dir).
#pragma once

#include <string>

#include "docker_io/http_transport.h"
#include "importer/credentials.h"

namespace CLI {
class App;
}

namespace ppa {

// Where the parsed values go (not owned). `credentials` may be null: then
// --creds and --authfile are not registered.
struct ConnectionFlags {
  std::string* registry;
  std::string* namespace_rules;
  bool* plain_http;
  TransportOptions* transport;
  std::string* username;
  bool* password_stdin;
  CredentialFlags* credentials = nullptr;
};

// Registers --registry, --namespace-rules, --plain-http, --insecure,
// --tls-verify[=BOOL], --ca-file, --cert-file, --key-file, --cert-dir,
// --username, --password-stdin, --creds USER[:PASS] (not with --username)
// and --authfile FILE.
void AddConnectionFlags(CLI::App* cmd, const ConnectionFlags& flags);

// True when --creds holds a password that did not come from
// PPA_IMPORT_CREDS: on the command line it is visible in the process list,
// and the caller warns once. (A password in the config file warns too:
// CLI11 does not say where a value came from.)
bool CredsPasswordOnCommandLine(const CredentialFlags& flags);

}  // namespace ppa
