#include "importer/cli/config_file.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "archive/manifest/bounded_yaml.h"
#include "importer/cli/usage_errors.h"

namespace ppa {
namespace {

bool IsSecretKey(const std::string& key) {
  return key.find("password") != std::string::npos || key.find("token") != std::string::npos ||
         key.find("api-key") != std::string::npos || key.find("secret") != std::string::npos ||
         key == "creds";  // USER:PASSWORD
}

Result<std::vector<std::string>> Values(const std::string& key, const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) return InvalidInput("config key '" + key + "' must list plain values");
      out.push_back(item.Scalar());
    }
  } else if (!node.IsNull()) {
    return InvalidInput("config key '" + key + "' must be a value or a list of values");
  }
  return out;
}

class YamlConfigReader : public CLI::Config {
 public:
  explicit YamlConfigReader(ConfigKeys keys) : keys_(std::move(keys)) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override { return {}; }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::stringstream text;
    text << input.rdbuf();
    auto entries = ParseConfigYaml(text.str());
    if (!entries.ok()) throw ConfigFileError(entries.status());
    if (Status known = CheckConfigKeys(*entries, keys_.known); !known.ok()) {
      throw ConfigFileError(known);
    }
    std::vector<CLI::ConfigItem> items;
    for (auto& entry : *entries) {
      if (std::find(keys_.applied.begin(), keys_.applied.end(), entry.key) == keys_.applied.end()) {
        continue;  // a key of `load` this subcommand does not have
      }
      const char* env = std::getenv(ConfigEnvName(entry.key).c_str());
      if (env && *env) continue;  // the environment wins over the file
      CLI::ConfigItem item;
      item.parents = {keys_.subcommand};
      item.name = entry.key;
      item.inputs = entry.values;
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  ConfigKeys keys_;
};

}  // namespace

Result<ConfigEntries> ParseConfigYaml(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, "config file"));
  ConfigEntries out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) return InvalidInput("config file must be a mapping of flag names to values");
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return InvalidInput("config file keys must be flag names");
    std::string key = kv.first.Scalar();
    while (!key.empty() && key.front() == '-') key.erase(key.begin());
    if (IsSecretKey(key)) {
      return InvalidInput("config key '" + key + "' holds a secret",
                          "put secrets in the environment (PPA_IMPORT_PASSWORD, "
                          "PPA_IMPORT_CHARTMUSEUM_PASSWORD) or pass them on stdin");
    }
    PPA_ASSIGN_OR_RETURN(auto values, Values(key, kv.second));
    out.push_back(
        ConfigEntry{.key = key, .values = std::move(values), .line = kv.first.Mark().line + 1});
  }
  return out;
}

Status CheckConfigKeys(const ConfigEntries& entries, const std::vector<std::string>& known_keys) {
  for (const auto& entry : entries) {
    if (std::find(known_keys.begin(), known_keys.end(), entry.key) != known_keys.end()) continue;
    return InvalidInput("line " + std::to_string(entry.line) + ": unknown key '" + entry.key + "'" +
                            DidYouMean(ClosestNames(entry.key, known_keys)),
                        "the keys are the long flags of `ppa-import load` without their dashes "
                        "(`ppa-import help load` lists them)");
  }
  return Status::Ok();
}

std::string ConfigEnvName(std::string_view key) {
  std::string out = "PPA_IMPORT_";
  for (char c : key) {
    out += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string DefaultConfigPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/ppa-import/config.yaml";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.config/ppa-import/config.yaml";
  }
  return "";
}

std::shared_ptr<CLI::Config> MakeYamlConfigReader(ConfigKeys keys) {
  return std::make_shared<YamlConfigReader>(std::move(keys));
}

}  // namespace ppa
