// Registry credentials for `load` and `doctor` (README, Usage): flags,
// then the environment, then Docker's client configuration. One resolution,
// shared by both commands, that also says where the credentials came from
// (for `doctor`; the description never holds a secret).
//
// Thread-compatible: reads `in` and the environment through `getenv`.
#pragma once

#include <functional>
#include <istream>
#include <string>

#include "archive/status.h"
#include "docker_io/registry_client.h"

namespace ppa {

// Reads an environment variable; "" when unset.
using GetEnvFn = std::function<std::string(const char*)>;

// The process environment, for GetEnvFn parameters.
std::string ProcessEnv(const char* name);

struct ResolvedCredentials {
  Credentials credentials;  // secret fields never printed
  // Where they came from, e.g. "user 'bob' from --username, password from
  // PPA_IMPORT_PASSWORD"; "" when no credentials were found. No secret.
  std::string source;
};

// Fills credentials from the flags, then the environment:
//  - `given` holds what flags set (--username; a password only from a
//    source that is not the command line);
//  - `password_stdin` (--password-stdin): one line of `in` is the password;
//  - PPA_IMPORT_USERNAME / PPA_IMPORT_PASSWORD fill what is still empty;
//  - IBMCLOUD_API_KEY, when nothing else was given, means user "iamapikey"
//    with that key.
// kInvalidInput for --password-stdin with empty input, and for a password
// without a user name. Docker's configuration is not read here (see
// WithDockerConfigCredentials): `load` reads it once it knows the registry.
Result<ResolvedCredentials> ResolveRegistryCredentials(const Credentials& given,
                                                       bool password_stdin, std::istream& in,
                                                       const GetEnvFn& getenv);

// `resolved` unchanged when it holds credentials; else what Docker's client
// configuration (~/.docker/config.json or $DOCKER_CONFIG) holds for `host`,
// with the source set to "docker config". Errors are LoadDockerCredentials'.
Result<ResolvedCredentials> WithDockerConfigCredentials(ResolvedCredentials resolved,
                                                        const std::string& host);

}  // namespace ppa
