// The chart flags of `ppa-import load` (README, Usage), filled by
// AddChartFlags (importer/cli/chart_flags.h) and the environment.
#pragma once

#include <string>

namespace ppa {

struct ChartOptions {
  bool keep_values = false;  // --keep-chart-values: no repository-keys rewrite
  bool oci = false;          // --charts-oci: push as Helm OCI artifacts
  bool force = false;        // --force-charts: ChartMuseum ?force

  std::string chartmuseum_uri;           // --chartmuseum-uri; "" = no upload
  std::string chartmuseum_user;          // or env PPA_IMPORT_CHARTMUSEUM_USER
  std::string chartmuseum_password;      // secret; or env PPA_IMPORT_CHARTMUSEUM_PASSWORD
  std::string chartmuseum_token;         // secret; or env PPA_IMPORT_CHARTMUSEUM_TOKEN
  std::string chartmuseum_context_path;  // "" = discover from index.yaml
  bool context_path_set = false;         // --chartmuseum-context-path was given
  bool password_on_command_line = false; // --chartmuseum-password was used (warned about)
};

}  // namespace ppa
