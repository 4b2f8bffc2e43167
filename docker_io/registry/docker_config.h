// Registry credentials from auth files: Docker's client configuration
// (~/.docker/config.json, or $DOCKER_CONFIG/config.json) and the containers
// auth.json of podman and skopeo (same format): `auths` entries
// (`auth` = base64 "user:password", or `username`/`password`,
// `identitytoken`), per-registry `credHelpers` and the default `credsStore`,
// run through the `docker-credential-<name> get` protocol.
//
// The parse and lookup functions are pure and thread-safe. The loaders read
// files and start processes; they are thread-compatible. No function logs or
// returns a secret in a Status.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "docker_io/registry/registry_client.h"

namespace ppa {

// What an auth file says for one repository.
struct DockerConfigEntry {
  enum class Kind { kNone, kInline, kHelper };
  Kind kind = Kind::kNone;
  Credentials credentials;  // kInline
  std::string helper;       // kHelper: "<name>" of docker-credential-<name>
  // Where in the file: "auths 'reg:5000'", "credHelpers 'reg:5000'" or
  // "credsStore" (for messages; no secret).
  std::string matched;
};

// "https://Reg.example:5000/v1/" -> "reg.example:5000"; Docker Hub's
// aliases (docker.io, index.docker.io, registry-1.docker.io) -> "docker.io".
std::string NormalizeRegistryHost(std::string_view server);

// An `auths` key as containers/image compares it: a key with a scheme
// ("https://reg:5000/v1/") is its host; a key without one is
// "host[:port][/path]" with the host normalized and no trailing '/'.
std::string NormalizeAuthKey(std::string_view key);

// The keys an entry for `repository` ("host[:port][/ns/...]") may have,
// most specific first: "reg/a/b", "reg/a", "reg" (host normalized).
std::vector<std::string> AuthKeysFor(std::string_view repository);

// Looks `repository` ("host[:port][/path]", a bare host too) up in the text
// of a docker config.json or a containers auth.json (same format):
// credHelpers for the host first, then the most specific `auths` key with
// credentials (repository-scoped keys as podman writes them, then the
// host), then credsStore. kInvalidInput for JSON that is not such a file
// or an undecodable `auth`.
Result<DockerConfigEntry> LookupAuthConfig(std::string_view json, std::string_view repository);

// LookupAuthConfig for a registry host.
Result<DockerConfigEntry> LookupDockerConfig(std::string_view json, std::string_view host);

// Parses the JSON a credential helper prints for `get`:
// {"ServerURL":..., "Username":..., "Secret":...}. A Username of "<token>"
// means Secret is an identity token.
Result<Credentials> ParseCredentialHelperOutput(std::string_view json);

// Runs `docker-credential-<helper> get` (found in PATH, no shell) with
// `server` on stdin. An empty Credentials when the helper knows no
// credentials for it. Every failure (not installed, a non-zero exit other
// than "not found", output that is not the protocol's JSON) is a Status
// whose message starts with "credential helper docker-credential-<helper>".
Result<Credentials> RunCredentialHelper(const std::string& helper, const std::string& server);

// Runs a credential helper (RunCredentialHelper, or a fake in tests).
using CredentialHelperFn =
    std::function<Result<Credentials>(const std::string& helper, const std::string& server)>;

// The server name a helper is asked for `host` (as `docker login` stored
// it; Docker Hub's is the historical index URL).
std::string HelperServerName(std::string_view host);

// Reads the auth file at `path` and resolves `repository` in it (helpers
// run through `run_helper`). nullopt when the file does not exist or has no
// entry; errors name the file (and the helper).
Result<std::optional<DockerConfigEntry>> LoadAuthFile(const std::string& path,
                                                      std::string_view repository,
                                                      const CredentialHelperFn& run_helper);

// The credentials Docker's configuration ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json) holds for `host`, or empty ones.
Result<Credentials> LoadDockerCredentials(const std::string& host);

}  // namespace ppa
