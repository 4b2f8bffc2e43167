#include "importer/doctor_flags.h"

#include <spdlog/spdlog.h>

#include <istream>
#include <ostream>

#include "importer/charts_stage.h"
#include "importer/cli.h"
#include "importer/credentials.h"

namespace ppa {

void AddDoctorCommand(CLI::App& app, DoctorFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Check the way to a registry: DNS, TCP, TLS, /v2/, credentials, clock, "
      "namespace, push permission, ChartMuseum; each failure with its cause and fix");
  DoctorOptions& o = f.options;
  cmd->add_option("--registry", o.registry,
                  "Registry HOST[:PORT][/PREFIX] to check (env PPA_IMPORT_REGISTRY)");
  cmd->add_option("--namespace", o.target_namespace,
                  "Namespace to check the name of and the push permission in");
  cmd->add_option("--namespace-rules", o.namespace_rules,
                  "Namespace name rules: ibm (IBM Cloud Container Registry) or none")
      ->check(CLI::IsMember({"ibm", "none"}));
  cmd->add_flag("--plain-http", o.plain_http, "Talk plain HTTP to the registry");
  cmd->add_flag("--insecure", o.transport.insecure, "Skip TLS certificate verification");
  cmd->add_option("--ca-file", o.transport.ca_file, "Extra CA bundle for TLS")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cert-file", o.transport.cert_file, "Client certificate (mutual TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--key-file", o.transport.key_file, "Client key (mutual TLS)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--username", f.username,
                  "Registry user (env PPA_IMPORT_USERNAME; IBMCLOUD_API_KEY means iamapikey)");
  cmd->add_flag("--password-stdin", f.password_stdin,
                "Read the registry password from standard input (env PPA_IMPORT_PASSWORD)");
  cmd->add_option("--chartmuseum-uri", f.chartmuseum_uri,
                  "ChartMuseum repository URI to check (as `helm repo add` takes it)");
  cmd->add_option("--chartmuseum-user", f.chartmuseum_user,
                  "ChartMuseum user (password from PPA_IMPORT_CHARTMUSEUM_PASSWORD)");
  cmd->add_option("--timeout", o.timeout_seconds,
                  "Seconds to wait for each connection and answer (default 10)")
      ->check(CLI::Range(1, 600));
}

int RunDoctorCommand(DoctorFlags& f, std::istream& in, std::ostream& out, std::ostream& err) {
  DoctorOptions& o = f.options;
  if (o.registry.empty()) o.registry = ProcessEnv("PPA_IMPORT_REGISTRY");
  Result<ResolvedCredentials> credentials =
      ResolveRegistryCredentials(Credentials(f.username, ""), f.password_stdin, in, ProcessEnv);
  if (!credentials.ok()) {
    err << "Error: " << credentials.status().message() << "\n";
    if (!credentials.status().hint().empty())
      err << "Hint: " << credentials.status().hint() << "\n";
    return kExitUsage;
  }
  o.credentials = std::move(credentials).value();
  ChartOptions charts;
  charts.chartmuseum_uri = f.chartmuseum_uri;
  charts.chartmuseum_user = f.chartmuseum_user;
  o.chartmuseum = ResolveChartMuseumConfig(charts, ProcessEnv);
  if (o.transport.insecure) {
    spdlog::warn("--insecure: TLS certificates are NOT verified");
  }
  return RunDoctor(o, out, err);
}

}  // namespace ppa
