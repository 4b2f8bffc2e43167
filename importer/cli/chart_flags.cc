#include "importer/cli/chart_flags.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <string>

#include "base/url_userinfo.h"

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
                       "--chartmuseum-password-stdin or PPA_IMPORT_CHARTMUSEUM_PASSWORD");
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

void NoteChartSecretsOnCommandLine(const CLI::App& load, ChartOptions& options) {
  const CLI::Option* password = load.get_option_no_throw("--chartmuseum-password");
  const auto& parsed = load.parse_order();  // the command line only, not env or file
  options.password_on_command_line =
      password != nullptr && std::find(parsed.begin(), parsed.end(), password) != parsed.end();
}

Status ValidateChartMuseumUri(const std::string& uri) {
  if (uri.empty()) return Status::Ok();
  const std::string shown = RedactUserInfo(uri);
  const std::string hint = "give the repository URL as `helm repo add` takes it: "
                           "https://HOST[:PORT][/PATH] (or http://... for plain HTTP)";
  auto bad = [&](const std::string& why) {
    return InvalidInput("invalid --chartmuseum-uri '" + shown + "': " + why, hint);
  };
  if (std::any_of(uri.begin(), uri.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
      })) {
    return bad("it holds white space or control characters");
  }
  const std::string url = SplitUserInfo(uri).url;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return bad("no scheme");
  std::string scheme = url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") return bad("unsupported scheme '" + scheme + "'");
  std::string authority = url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  std::string host = authority, port;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed '[' in the host");
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("unexpected text after the host");
      port = authority.substr(close + 2);
      if (port.empty()) return bad("empty port");
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return bad("empty port");
  }
  if (host.empty()) return bad("no host");
  if (!port.empty() && (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
                          return c >= '0' && c <= '9';
                        }) || std::stoi(port) == 0 || std::stoi(port) > 65535)) {
    return bad("port '" + port + "' is not a number from 1 to 65535");
  }
  return Status::Ok();
}

}  // namespace ppa
