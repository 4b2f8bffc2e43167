#include "importer/cli/doctor_flags.h"

#include <spdlog/spdlog.h>

#include <istream>
#include <ostream>

#include "importer/cli/chart_flags.h"
#include "importer/cli/sign_flags.h"
#include "importer/load/charts_stage.h"
#include "importer/cli/cli.h"
#include "importer/cli/connection_flags.h"
#include "importer/cli/credentials.h"
#include "importer/report/display_text.h"

namespace ppa {

void AddDoctorCommand(CLI::App& app, DoctorFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Check the way to a registry: DNS, TCP, TLS, /v2/, credentials, clock, "
      "namespace, push permission, ChartMuseum; each failure with its cause and fix");
  DoctorOptions& o = f.options;
  cmd->add_option("--namespace", o.target_namespace,
                  "Namespace to check the name of and the push permission in");
  AddConnectionFlags(cmd, {.registry = &o.registry,
                           .namespace_rules = &o.namespace_rules,
                           .plain_http = &o.plain_http,
                           .transport = &o.transport,
                           .username = &f.username,
                           .password_stdin = &f.password_stdin,
                           .credentials = &o.credential_flags});
  f.command = cmd;
  cmd->add_option("--chartmuseum-uri", f.chartmuseum_uri,
                  "ChartMuseum repository URI to check (as `helm repo add` takes it)");
  cmd->add_option("--chartmuseum-user", f.chartmuseum_user,
                  "ChartMuseum user (password from PPA_IMPORT_CHARTMUSEUM_PASSWORD)");
  cmd->add_option("--timeout", o.timeout_seconds,
                  "Seconds to wait for each connection and answer (default 10)")
      ->check(CLI::Range(1, 600));
  AddSignFlags(cmd, o.sign);
}

int RunDoctorCommand(DoctorFlags& f, std::istream& in, std::ostream& out, std::ostream& err) {
  DoctorOptions& o = f.options;
  if (o.registry.empty()) o.registry = ProcessEnv("PPA_IMPORT_REGISTRY");
  if (Status uri = ValidateChartMuseumUri(f.chartmuseum_uri); !uri.ok()) {
    PrintError(err, uri);
    return kExitUsage;
  }
  if (Status sign = CheckSignUsage(o.sign); !sign.ok()) {
    PrintError(err, sign);
    return kExitUsage;
  }
  Result<ResolvedCredentials> credentials =
      ResolveRegistryCredentials(Credentials(f.username, ""), f.password_stdin, in, ProcessEnv,
                                 o.credential_flags.creds);
  if (!credentials.ok()) {
    err << "Error: " << credentials.status().message() << "\n";
    if (!credentials.status().hint().empty())
      err << "Hint: " << credentials.status().hint() << "\n";
    return kExitUsage;
  }
  o.credentials = std::move(credentials).value();
  for (const std::string& warning : SecretsOnCommandLineWarnings(
           *f.command, o.registry, f.chartmuseum_uri, o.credential_flags)) {
    err << "Warning: " << warning << "\n";
  }
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
