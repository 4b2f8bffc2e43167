// Registry credentials from Docker's client configuration
// (~/.docker/config.json, or $DOCKER_CONFIG/config.json): `auths` entries
// (`auth` = base64 "user:password", or `username`/`password`,
// `identitytoken`), per-registry `credHelpers` and the default `credsStore`,
// run through the `docker-credential-<name> get` protocol.
//
// The parse and lookup functions are pure and thread-safe. The loaders read
// files and start processes; they are thread-compatible. No function logs or
// returns a secret in a Status.
#pragma once

#include <string>
#include <string_view>

#include "archive/status.h"
#include "docker_io/registry_client.h"

namespace ppa {

// What the configuration says for one registry.
struct DockerConfigEntry {
  enum class Kind { kNone, kInline, kHelper };
  Kind kind = Kind::kNone;
  Credentials credentials;  // kInline
  std::string helper;       // kHelper: "<name>" of docker-credential-<name>
};

// "https://Reg.example:5000/v1/" -> "reg.example:5000"; Docker Hub's
// aliases (docker.io, index.docker.io, registry-1.docker.io) -> "docker.io".
std::string NormalizeRegistryHost(std::string_view server);

// Looks `host` up in the text of a config.json: credHelpers first, then an
// `auths` entry with credentials, then credsStore. kInvalidInput for JSON
// that is not a config or an undecodable `auth`.
Result<DockerConfigEntry> LookupDockerConfig(std::string_view json, std::string_view host);

// Parses the JSON a credential helper prints for `get`:
// {"ServerURL":..., "Username":..., "Secret":...}. A Username of "<token>"
// means Secret is an identity token.
Result<Credentials> ParseCredentialHelperOutput(std::string_view json);

// Runs `docker-credential-<helper> get` (found in PATH, no shell) with
// `server` on stdin. An empty Credentials when the helper knows no
// credentials for it.
Result<Credentials> RunCredentialHelper(const std::string& helper, const std::string& server);

// The credentials Docker's configuration holds for `host` (host[:port]),
// or empty ones when there is no configuration or no entry.
Result<Credentials> LoadDockerCredentials(const std::string& host);

}  // namespace ppa
