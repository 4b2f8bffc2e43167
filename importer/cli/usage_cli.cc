#include "importer/cli/usage_cli.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "importer/cli/usage_errors.h"

namespace ppa {
namespace {

// "TEXT:{ibm,none}" (IsMember) or "{gzip->0,zstd->1}" (CheckedTransformer):
// "ibm|none", "gzip|zstd": the values a user types, not CLI11's maps.
// "TEXT:PATH(existing)", "TEXT:FILE" (a validator after the type): "PATH",
// "FILE"; "INT:INT in [1 - 64]": "INT in [1 - 64]".
std::string PlainTypeName(const std::string& type) {
  size_t open = type.find('{');
  size_t close = type.find('}', open);
  if (open == std::string::npos || close == std::string::npos) {
    const size_t colon = type.find(':');
    if (colon == std::string::npos) return type;
    const std::string checked = type.substr(colon + 1);
    return checked == "PATH(existing)" ? "PATH" : checked;
  }
  std::string out;
  std::stringstream items(type.substr(open + 1, close - open - 1));
  for (std::string item; std::getline(items, item, ',');) {
    out += (out.empty() ? "" : "|") + item.substr(0, item.find("->"));
  }
  return out;
}

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override {
    std::stringstream out;
    if (!opt->get_option_text().empty()) {
      out << " " << opt->get_option_text();
    } else if (opt->get_type_size() != 0) {
      if (!opt->get_type_name().empty()) out << " " << PlainTypeName(opt->get_type_name());
      if (!opt->get_default_str().empty() && !opt->check_lname("config")) {
        out << "=" << opt->get_default_str();
      }
      if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out << " ...";
      if (opt->get_required()) out << " " << get_label("REQUIRED");
    }
    if (!opt->get_excludes().empty()) {
      out << " " << get_label("Excludes") << ":";
      for (const CLI::Option* other : opt->get_excludes()) out << " " << other->get_name();
    }
    return out.str();
  }
};

void AddUnique(std::vector<std::string>& to, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (std::find(to.begin(), to.end(), n) == to.end()) to.push_back(n);
  }
}

const CLI::App* Subcommand(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == name) return sub;
  }
  return nullptr;
}

const CLI::Option* OptionOf(const CLI::App& cmd, const std::string& flag) {
  return cmd.get_option_no_throw(flag);
}

std::string HelpHint(const CLI::App& app, const std::string& invoked) {
  bool known = Subcommand(app, invoked) != nullptr;
  return known && invoked != "help" ? "'ppa-import help " + invoked + "' lists the options of " + invoked
                                    : "'ppa-import help' lists the commands";
}

}  // namespace

std::shared_ptr<CLI::Formatter> MakeHelpFormatter() { return std::make_shared<HelpFormatter>(); }

std::vector<std::string> LongFlagNames(const CLI::App& cmd) {
  std::vector<std::string> out;
  for (const CLI::Option* opt : cmd.get_options()) {
    for (const auto& name : opt->get_lnames()) {
      if (name != "help") out.push_back(name);
    }
  }
  return out;
}

std::vector<std::string> SubcommandNames(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    out.push_back(sub->get_name());
  }
  return out;
}

std::string CommandsHint(const CLI::App& app) {
  const std::vector<std::string> names = SubcommandNames(app);
  std::string list;
  for (size_t i = 0; i < names.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  }
  return "the commands are " + list;
}

std::vector<std::string> FlagEnvironmentNames(const CLI::App& app) {
  std::vector<std::string> out;
  for (const auto& name : SubcommandNames(app)) {
    const CLI::App* sub = Subcommand(app, name);
    if (!sub) continue;
    for (const CLI::Option* opt : sub->get_options()) {
      if (!opt->get_envname().empty()) AddUnique(out, {opt->get_envname()});
    }
  }
  return out;
}

ConfigKeys ConfigKeysFor(const CLI::App& app, const std::string& invoked) {
  ConfigKeys keys;
  if (invoked != "load" && invoked != "doctor" && invoked != "inspect" && invoked != "verify" &&
      invoked != "save") {
    return keys;
  }
  keys.subcommand = invoked;
  for (const char* name : {"load", "doctor", "inspect"}) {
    if (const CLI::App* sub = Subcommand(app, name)) AddUnique(keys.known, LongFlagNames(*sub));
  }
  if (const CLI::App* sub = Subcommand(app, invoked)) keys.applied = LongFlagNames(*sub);
  // Keys the command has with another meaning than load's: skipped. `save`
  // takes the connection settings only.
  std::vector<std::string> other_meaning;
  if (invoked == "inspect") other_meaning = {"json"};
  if (invoked == "save") other_meaning = {"output", "images-from", "dry-run", "architectures", "platform"};
  for (const std::string& key : other_meaning) {
    keys.applied.erase(std::remove(keys.applied.begin(), keys.applied.end(), key),
                       keys.applied.end());
  }
  return keys;
}

Status LeftoverArgumentError(const CLI::App& app, const std::string& invoked) {
  const std::vector<std::string> left = app.remaining(true);
  if (left.empty()) return Status::Ok();
  const CLI::App* sub = Subcommand(app, invoked);
  std::vector<std::string> flags = LongFlagNames(app);
  if (sub) AddUnique(flags, LongFlagNames(*sub));
  for (const auto& arg : left) {
    std::string option = OptionNameOf(arg);
    if (!option.empty()) return UnknownOptionError(option, flags, sub ? invoked : "");
  }
  if (!sub) {
    return InvalidInput("unknown command '" + left.front() + "'" +
                            DidYouMean(ClosestNames(left.front(), SubcommandNames(app))),
                        CommandsHint(app));
  }
  return InvalidInput("unexpected argument '" + left.front() + "' for " + invoked,
                      HelpHint(app, invoked));
}

Status ParseErrorStatus(const CLI::App& app, const CLI::ParseError& error,
                        const std::string& invoked) {
  if (Status left = LeftoverArgumentError(app, invoked); !left.ok()) return left;
  if (const auto* config = dynamic_cast<const ConfigFileError*>(&error)) {
    const CLI::Option* path = app.get_config_ptr();
    std::string file = path && path->count() > 0 ? path->results().back()
                       : path                    ? path->get_default_str()
                                                 : "";
    return config->status().WithContext("config file '" + file + "'");
  }
  if (const auto* usage = dynamic_cast<const UsageStatusError*>(&error)) return usage->status();
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && !Subcommand(app, invoked)) {
    return InvalidInput("no command given", CommandsHint(app) + " ('ppa-import help')");
  }
  return InvalidInput(error.what(), HelpHint(app, invoked));
}

bool GivenOnCommandLine(const CLI::App& cmd, const std::string& flag) {
  const CLI::Option* opt = OptionOf(cmd, flag);
  const auto& parsed = cmd.parse_order();  // filled from the command line only
  return opt != nullptr && std::find(parsed.begin(), parsed.end(), opt) != parsed.end();
}

std::string LastValueOf(const CLI::App& cmd, const std::string& flag) {
  const CLI::Option* opt = OptionOf(cmd, flag);
  if (opt == nullptr) return "";
  if (!opt->results().empty()) return opt->results().back();
  if (!opt->get_envname().empty()) {
    if (const char* env = std::getenv(opt->get_envname().c_str())) return env;
  }
  return "";
}

}  // namespace ppa
