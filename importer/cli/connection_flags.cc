#include "importer/cli/connection_flags.h"

#include <CLI/CLI.hpp>
#include <cstdint>

#include "base/url_userinfo.h"
#include "importer/report/display_text.h"
#include "importer/cli/usage_cli.h"

namespace ppa {

void AddConnectionFlags(CLI::App* cmd, const ConnectionFlags& f) {
  if (f.registry != nullptr) {
    cmd->add_option("--registry", *f.registry,
                    "Registry HOST[:PORT][/PREFIX] (env PPA_IMPORT_REGISTRY)");
  }
  if (f.namespace_rules != nullptr) {
    cmd->add_option("--namespace-rules", *f.namespace_rules,
                    "Namespace name rules: ibm (IBM Cloud Container Registry) or none")
        ->check(CLI::IsMember({"ibm", "none"}));
  }
  cmd->add_flag("--plain-http", *f.plain_http, "Talk plain HTTP to the registry (local registries)");
  cmd->add_flag("--insecure", f.transport->insecure, "Skip TLS certificate verification");
  TransportOptions* transport = f.transport;
  // skopeo's spelling: --tls-verify=false is --insecure; --tls-verify and
  // --tls-verify=true are the default.
  cmd->add_flag_function(
      "--tls-verify",
      [transport](std::int64_t verify) {
        if (verify <= 0) transport->insecure = true;
      },
      "Verify TLS certificates (default true); --tls-verify=false is --insecure, in skopeo's spelling");
  cmd->add_option("--ca-file", f.transport->ca_file,
                  "Extra CA bundle for TLS, trusted besides the system CAs")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cert-file", f.transport->cert_file, "Client certificate (mutual TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--key-file", f.transport->key_file, "Client key (mutual TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cert-dir", f.transport->cert_dir,
                  "Folder of *.crt CAs and a *.cert/*.key client pair, read instead of "
                  "/etc/containers/certs.d/HOST:PORT and /etc/docker/certs.d/HOST:PORT")
      ->check(CLI::ExistingDirectory);
  CLI::Option* username = cmd->add_option(
      "--username", *f.username,
      "Registry user (env PPA_IMPORT_USERNAME); the password from --password-stdin, "
      "PPA_IMPORT_PASSWORD or a prompt on a terminal");
  cmd->add_flag("--password-stdin", *f.password_stdin,
                "Read the registry password from standard input (env PPA_IMPORT_PASSWORD)");
  if (f.credentials == nullptr) return;
  cmd->add_option("--creds", f.credentials->creds,
                  "USER[:PASSWORD] for the registry (skopeo's spelling; without :PASSWORD it "
                  "is asked for); a password here is visible in the process list")
      ->excludes(username);
  cmd->add_option("--authfile", f.credentials->authfile,
                  "Auth file to read instead of the default ones (env REGISTRY_AUTH_FILE; "
                  "format of ~/.docker/config.json)");
}

bool CredsPasswordOnCommandLine(const CLI::App& cmd, const CredentialFlags& flags) {
  return flags.creds.find(':') != std::string::npos && GivenOnCommandLine(cmd, "--creds");
}

std::vector<std::string> SecretsOnCommandLineWarnings(const CLI::App& cmd,
                                                      const std::string& registry,
                                                      const std::string& chartmuseum_uri,
                                                      const CredentialFlags& flags) {
  std::vector<std::string> warnings;
  auto in_url = [&](const char* flag, const std::string& value) {
    const bool layout = value.rfind("oci:", 0) == 0 && value.rfind("oci://", 0) != 0;
    return GivenOnCommandLine(cmd, flag) && !layout && SplitUserInfo(value).present;
  };
  if (in_url("--registry", registry) || in_url("--chartmuseum-uri", chartmuseum_uri)) {
    warnings.push_back(kUrlCredentialsWarning);
  }
  if (CredsPasswordOnCommandLine(cmd, flags)) {
    warnings.push_back(
        "--creds USER:PASSWORD is visible to every user of this machine in the process list; "
        "pass --creds USER with --password-stdin or PPA_IMPORT_PASSWORD instead");
  }
  return warnings;
}

ConnectionFlags TargetConnectionFlags(TargetOptions& target, bool* password_stdin,
                                      CredentialFlags* credentials) {
  return {.registry = &target.registry,
          .namespace_rules = &target.namespace_rules,
          .plain_http = &target.plain_http,
          .transport = &target.transport,
          .username = &target.credentials.username,
          .password_stdin = password_stdin,
          .credentials = credentials};
}

}  // namespace ppa
