// Registry credentials for `load`, `doctor` and the charts' Helm OCI push
// (README, Credentials): one resolution, in the order skopeo and podman
// use, that also says where the credentials came from (no secret):
//
//  1. --creds USER[:PASS], or --username USER / PPA_IMPORT_USERNAME; the
//     password from PASS, --password-stdin, PPA_IMPORT_PASSWORD or, on a
//     terminal, a prompt without echo;
//  2. user:password@ written into --registry;
//  3. IBMCLOUD_API_KEY (user "iamapikey"), for IBM Cloud registry hosts only;
//  4. --authfile FILE / REGISTRY_AUTH_FILE (when given, the only file read);
//     else $XDG_RUNTIME_DIR/containers/auth.json,
//     ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json, then
//     $DOCKER_CONFIG/config.json or ~/.docker/config.json.
//
// Thread-compatible: reads the environment through a GetEnvFn, files, and
// runs credential helpers.
#pragma once

#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "base/status.h"
#include "docker_io/registry/docker_config.h"
#include "docker_io/registry/registry_client.h"

namespace ppa {

// Reads an environment variable; "" when unset.
using GetEnvFn = std::function<std::string(const char*)>;

// The process environment, for GetEnvFn parameters.
std::string ProcessEnv(const char* name);

// Shows `prompt` and reads one line without echo; errors when it cannot.
using ReadSecretFn = std::function<Result<std::string>(const std::string& prompt)>;

// The product's ReadSecretFn: the prompt goes to /dev/tty, echo is turned
// off there (termios) while the line is read, then restored.
Result<std::string> ReadSecretFromTerminal(const std::string& prompt);

// What the credential flags set (importer/cli/connection_flags.h).
struct CredentialFlags {
  std::string creds;           // --creds USER[:PASS]
  std::string authfile;        // --authfile FILE (else REGISTRY_AUTH_FILE)
};

// Everything one resolution reads.
struct CredentialRequest {
  std::string creds;           // --creds USER[:PASS]
  std::string username;        // --username
  bool password_stdin = false; // --password-stdin: a line of `in` (prompted on a TTY)
  // A password the caller already has, and its source ("" when none).
  std::string password;
  std::string password_source;
  std::string authfile;        // --authfile
  // The registry: "host[:port]" ("" for an OCI layout target: then only the
  // flags are checked, no file is read, nothing is prompted for).
  std::string host;
  std::string repository_path;  // "prefix/namespace" below the host, for repository-scoped keys
  Credentials userinfo;         // user:password@ written into --registry
};

// The registry part of a request for `registry` (--registry /
// PPA_IMPORT_REGISTRY, any form ParseRegistryAddress takes) and the target
// namespace: host, "prefix/namespace" and the user info. An OCI layout
// target ("", "oci:DIR") or an unparsable address leaves the host empty
// (the address error is reported where the target is connected).
void SetRegistryOfRequest(const std::string& registry, bool plain_http,
                          const std::string& target_namespace, CredentialRequest* request);

// The seams of a resolution (all set by DefaultCredentialIo).
struct CredentialIo {
  GetEnvFn getenv;
  std::istream* in = nullptr;  // standard input (for --password-stdin)
  bool stdin_is_tty = false;
  ReadSecretFn read_secret;
  CredentialHelperFn run_helper;
};

// The process's: ProcessEnv, std::cin, isatty(0), ReadSecretFromTerminal,
// RunCredentialHelper.
CredentialIo DefaultCredentialIo();

struct ResolvedCredentials {
  Credentials credentials;  // secret fields never printed; credentials.source == source
  // Where they came from, e.g. "--username (user 'bob', password from
  // PPA_IMPORT_PASSWORD)" or "~/.docker/config.json (auths 'reg:5000')";
  // when none were found: "looked in: ...". Never a secret.
  std::string source;
};

// The resolution above. kInvalidInput (a usage error, exit 2) for: --creds
// with --username, an empty user, a password without a user, --password-stdin
// with empty input, a user without any password source off a terminal. A
// credential helper that fails, and an unreadable auth file, come back as
// their own error (the helper named: "credential helper docker-credential-X
// failed ...").
Result<ResolvedCredentials> ResolveCredentials(const CredentialRequest& request,
                                               const CredentialIo& io);

// True for IBM Cloud Container Registry hosts: icr.io, *.icr.io and the
// legacy registry[.*].bluemix.net (a port is ignored).
bool IsIbmCloudRegistryHost(std::string_view host);

// The auth files looked in for `authfile` (--authfile, else
// REGISTRY_AUTH_FILE), in order, as they are named in messages ("~/" for
// $HOME) and as paths.
struct AuthFilePath {
  std::string path;
  std::string display;
};
std::vector<AuthFilePath> AuthFileSearchPath(const std::string& authfile, const GetEnvFn& getenv);

// --- Before the registry is known (doctor's flag handling) -------------------

// Step 1 only (--creds `creds`, --username, --password-stdin,
// PPA_IMPORT_USERNAME/PASSWORD), without a registry: no file is read, IBMCLOUD_API_KEY waits for the host,
// a user without a password comes back as such ("no password yet") and only
// --password-stdin on a terminal asks. The caller completes the result with
// ResolveCredentials once the registry is known (CompleteDoctorCredentials).
Result<ResolvedCredentials> ResolveRegistryCredentials(const Credentials& given,
                                                       bool password_stdin, std::istream& in,
                                                       const GetEnvFn& getenv,
                                                       const std::string& creds = "");

}  // namespace ppa
