// The flags that say how to reach a registry, shared by `load` and `doctor`
// so both spell and explain them the same way (README, Usage): ppa-import's
// own names and the skopeo/podman spellings people already type (--creds,
// --authfile, --tls-verify, --cert-dir).
#pragma once

#include "importer/load/load_options.h"

#include <string>
#include <vector>

#include "docker_io/registry/http_transport.h"
#include "importer/cli/credentials.h"

namespace CLI {
class App;
}

namespace ppa {

// Where the parsed values go (not owned). `credentials` may be null: then
// --creds and --authfile are not registered; `registry` and
// `namespace_rules` too (`save` reads from the registries its references
// name).
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

// The ConnectionFlags that write into `target` (load, verify).
ConnectionFlags TargetConnectionFlags(TargetOptions& target, bool* password_stdin,
                                      CredentialFlags* credentials);

// True when --creds USER:PASSWORD was given on the command line of `cmd`
// itself (not PPA_IMPORT_CREDS): visible to every user in the process list.
bool CredsPasswordOnCommandLine(const CLI::App& cmd, const CredentialFlags& flags);

// The process-list warnings for `cmd` (load, doctor), one line each, only
// for a secret on the command line itself: user info in --registry or
// --chartmuseum-uri, a password in --creds. Not for the same values from
// the environment or the config file.
std::vector<std::string> SecretsOnCommandLineWarnings(const CLI::App& cmd,
                                                      const std::string& registry,
                                                      const std::string& chartmuseum_uri,
                                                      const CredentialFlags& flags);

}  // namespace ppa
