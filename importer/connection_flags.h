// The flags that say how to reach a registry, shared by `load` and `doctor`
// so both spell and explain them the same way.
#pragma once

#include <string>

#include "docker_io/http_transport.h"

namespace CLI {
class App;
}

namespace ppa {

// Where the parsed values go (all required, not owned).
struct ConnectionFlags {
  std::string* registry;
  std::string* namespace_rules;
  bool* plain_http;
  TransportOptions* transport;
  std::string* username;
  bool* password_stdin;
};

// Registers --registry, --namespace-rules, --plain-http, --insecure,
// --ca-file, --cert-file, --key-file, --username and --password-stdin.
void AddConnectionFlags(CLI::App* cmd, const ConnectionFlags& flags);

}  // namespace ppa
