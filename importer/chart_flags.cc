#include "importer/chart_flags.h"

#include <iostream>
#include <string>

namespace ppa {
namespace {

// One line of standard input without its line ending; throws a CLI11
// validation error (exit status 2) when there is none.
std::string ReadPasswordLine() {
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.empty()) {
    throw CLI::ValidationError("--chartmuseum-password-stdin",
                               "given but standard input is empty");
  }
  return line;
}

}  // namespace

void AddChartFlags(CLI::App* load, ChartOptions& options) {
  load->add_flag("--keep-chart-values", options.keep_values,
                 "Do not rewrite image repositories in the charts' values.yaml");
  load->add_flag("--charts-oci", options.oci,
                 "Also push each chart to <registry>/<namespace>/charts/<name>:<version> as a "
                 "Helm OCI artifact");
  load->add_flag("--force-charts", options.force,
                 "Replace chart versions that already exist in ChartMuseum");
  load->add_option("--chartmuseum-uri", options.chartmuseum_uri,
                   "Upload the charts to this ChartMuseum repository URI");
  load->add_option("--chartmuseum-user", options.chartmuseum_user,
                   "ChartMuseum user (env PPA_IMPORT_CHARTMUSEUM_USER)");
  load->add_option("--chartmuseum-password", options.chartmuseum_password,
                       "ChartMuseum password; visible in the process list, prefer "
                       "--chartmuseum-password-stdin or PPA_IMPORT_CHARTMUSEUM_PASSWORD")
      ->each([&options](const std::string&) { options.password_on_command_line = true; });
  CLI::Option* from_stdin =
      load->add_flag_callback(
              "--chartmuseum-password-stdin",
              [&options] { options.chartmuseum_password = ReadPasswordLine(); },
              "Read the ChartMuseum password from standard input");
  if (CLI::Option* registry_stdin = load->get_option_no_throw("--password-stdin")) {
    from_stdin->excludes(registry_stdin);
  }
  load->add_option("--chartmuseum-token", options.chartmuseum_token,
                   "ChartMuseum bearer token (env PPA_IMPORT_CHARTMUSEUM_TOKEN)");
  load->add_option("--chartmuseum-context-path", options.chartmuseum_context_path,
                   "ChartMuseum --context-path (default: read from the server's index.yaml)")
      ->each([&options](const std::string&) { options.context_path_set = true; });
}

}  // namespace ppa
