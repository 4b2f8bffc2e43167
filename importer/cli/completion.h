// Shell completion scripts (`ppa-import completion bash|zsh`), generated from
// the CLI11 App itself so that they list every subcommand and flag the
// program has, and nothing it does not.
//
// Two steps: DescribeForCompletion reads a CLI::App into a CompletionSpec
// (plain data: names, what each value is), and BashCompletionScript /
// ZshCompletionScript turn a spec into a script's text. Both are pure.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

// What the word after an option (or a positional argument) is.
enum class CompletionValue {
  kNone,       // a flag: no value follows
  kText,       // a free value (a namespace, a number, a URI): nothing is offered
  kFile,       // a path: file names (directories too, to walk into)
  kDirectory,  // a directory path: directory names only
  kChoice,     // one of `choices`
};

struct ValueCompletion {
  CompletionValue kind = CompletionValue::kNone;
  std::vector<std::string> choices;  // kChoice only
};

struct CompletionOption {
  std::vector<std::string> names;  // with their dashes: "-q", "--quiet"
  std::string description;         // one line
  ValueCompletion value;
  bool repeatable = false;  // may be given more than once (--archive A --archive B)
};

struct CompletionCommand {
  std::string name;
  std::string description;  // one line
  std::vector<CompletionOption> options;
  std::string positional_name;  // "ARCHIVE"; "" when the command takes none
  ValueCompletion positional;
  bool positional_repeats = false;
};

struct CompletionSpec {
  std::string program;                    // "ppa-import"
  std::vector<CompletionOption> options;  // the program's own (--config, --version, --help)
  std::vector<CompletionCommand> commands;
};

// What an option's value is, from CLI11's full type name (Option::get_type_name:
// the type name, then ":" and each validator's description):
//   "TEXT:FILE", "TEXT:PATH(existing)", "FILE", "PATH"  -> kFile
//   "TEXT:DIR", "DIR"                                   -> kDirectory
//   "docker|oci", "TEXT:{ibm,none}"                     -> kChoice
//   anything else                                       -> kText
ValueCompletion ValueFromTypeName(std::string_view full_type_name);

// Path-valued options whose CLI11 option says nothing about paths (no
// ExistingFile validator, no FILE type name), keyed by long name ("--json").
using CompletionHints = std::map<std::string, CompletionValue>;

// The completion spec of `app` and its subcommands. Hidden options (empty
// group) are left out. A positional named COMMAND completes the names of
// `app`'s subcommands. The program's own options that may follow a
// subcommand (`app` falls through: --config, --help) are listed in every
// subcommand too. `hints` applies to options whose type name gives kText.
CompletionSpec DescribeForCompletion(const CLI::App& app, const CompletionHints& hints);

// The bash script: a function registered with `complete -F` for
// spec.program. It uses bash-completion's _init_completion and _filedir
// when they are loaded (as they are on Debian) and plain compgen otherwise.
std::string BashCompletionScript(const CompletionSpec& spec);

// The zsh script: `#compdef PROGRAM`, for a directory of $fpath (autoloaded
// by compinit) or `source <(ppa-import completion zsh)` after compinit.
std::string ZshCompletionScript(const CompletionSpec& spec);

// The script for `shell` ("bash" or "zsh"); InvalidInput for another shell.
Result<std::string> CompletionScript(const CompletionSpec& spec, std::string_view shell);

}  // namespace ppa
