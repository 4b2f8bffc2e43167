#include "importer/connection_flags.h"

#include <CLI/CLI.hpp>

namespace ppa {

void AddConnectionFlags(CLI::App* cmd, const ConnectionFlags& f) {
  cmd->add_option("--registry", *f.registry,
                  "Registry HOST[:PORT][/PREFIX] (env PPA_IMPORT_REGISTRY)");
  cmd->add_option("--namespace-rules", *f.namespace_rules,
                  "Namespace name rules: ibm (IBM Cloud Container Registry) or none")
      ->check(CLI::IsMember({"ibm", "none"}));
  cmd->add_flag("--plain-http", *f.plain_http, "Talk plain HTTP to the registry (local registries)");
  cmd->add_flag("--insecure", f.transport->insecure, "Skip TLS certificate verification");
  cmd->add_option("--ca-file", f.transport->ca_file, "Extra CA bundle for TLS")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cert-file", f.transport->cert_file, "Client certificate (mutual TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--key-file", f.transport->key_file, "Client key (mutual TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--username", *f.username,
                  "Registry user (env PPA_IMPORT_USERNAME; IBMCLOUD_API_KEY means iamapikey)");
  cmd->add_flag("--password-stdin", *f.password_stdin,
                "Read the registry password from standard input (env PPA_IMPORT_PASSWORD)");
}

}  // namespace ppa
