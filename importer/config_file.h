// The YAML config file of `ppa-import` (--config FILE, default
// $XDG_CONFIG_HOME/ppa-import/config.yaml or ~/.config/ppa-import/config.yaml):
// a flat mapping whose keys are the long flag names of `load`, e.g.
//
//   registry: us.icr.io
//   namespace: portal_prod
//   architectures: [amd64, ppc64le]
//   chartmuseum-uri: https://charts.example
//
// Precedence: command line, then environment (PPA_IMPORT_<KEY>), then file.
// Secrets are refused here: they belong in the environment or on stdin.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archive/status.h"

namespace CLI {
class Config;
}

namespace ppa {

using ConfigEntries = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Parses the file's text (pure). kInvalidInput for malformed YAML, a top
// level that is not a mapping, nested mappings, or a secret key.
Result<ConfigEntries> ParseConfigYaml(std::string_view text);

// "chartmuseum-uri" -> "PPA_IMPORT_CHARTMUSEUM_URI".
std::string ConfigEnvName(std::string_view key);

// The default config path ("" when no home directory is known).
std::string DefaultConfigPath();

// A CLI11 config reader for this format. Entries whose environment override
// is set are dropped, so the environment wins over the file. Entries are
// applied to the subcommand `subcommand`.
std::shared_ptr<CLI::Config> MakeYamlConfigReader(std::string subcommand);

}  // namespace ppa
