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
// Secrets are refused here: they belong in the environment or on stdin. A
// key that names no flag of `load` is an error naming the key, its line and
// the flag probably meant; `doctor` and `inspect` skip the keys of `load`
// they do not have.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace CLI {
class Config;
}

namespace ppa {

struct ConfigEntry {
  std::string key;                  // the flag name, leading dashes removed
  std::vector<std::string> values;  // a scalar is one value; null is none
  int line = 0;                     // 1-based line of the key in the file
};
using ConfigEntries = std::vector<ConfigEntry>;

// Parses the file's text (pure). kInvalidInput for malformed YAML, a top
// level that is not a mapping, nested mappings, or a secret key.
Result<ConfigEntries> ParseConfigYaml(std::string_view text);

// kInvalidInput "line N: unknown key 'K'; did you mean L?" for the first
// entry whose key is not in `known_keys` (pure).
Status CheckConfigKeys(const ConfigEntries& entries, const std::vector<std::string>& known_keys);

// Which keys the reader accepts and which it applies.
struct ConfigKeys {
  std::string subcommand;            // the subcommand the entries are applied to
  std::vector<std::string> known;    // every valid key (the long flags of `load`)
  std::vector<std::string> applied;  // the keys `subcommand` takes; others are skipped
};

// "chartmuseum-uri" -> "PPA_IMPORT_CHARTMUSEUM_URI".
std::string ConfigEnvName(std::string_view key);

// The default config path ("" when no home directory is known).
std::string DefaultConfigPath();

// A CLI11 config reader for this format. A malformed file or an unknown key
// throws ConfigFileError (importer/cli/usage_errors.h). Entries whose key is not
// in `keys.applied`, or whose environment override is set (the environment
// wins over the file), are dropped; the others are applied to
// `keys.subcommand`.
std::shared_ptr<CLI::Config> MakeYamlConfigReader(ConfigKeys keys);

}  // namespace ppa
