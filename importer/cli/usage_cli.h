// The CLI11 side of usage errors: unknown options and commands named with a
// did-you-mean, every parse error as one Error/Hint status, the help text
// without internal noise, the config keys and PPA_IMPORT_* names each
// subcommand takes, and where a value came from.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "importer/cli/config_file.h"

namespace ppa {

// The help formatter: like CLI11's, without "(Env:...)" after each option
// (the environment is described once, in the footer) and without the
// default value of --config (a path of this machine).
std::shared_ptr<CLI::Formatter> MakeHelpFormatter();

// The long flag names of `cmd` (without dashes, aliases included, --help
// excluded).
std::vector<std::string> LongFlagNames(const CLI::App& cmd);

// The names of `app`'s subcommands, in the order they were added, and the
// hint that lists them ("the commands are load, inspect, ... and help").
std::vector<std::string> SubcommandNames(const CLI::App& app);
std::string CommandsHint(const CLI::App& app);

// The PPA_IMPORT_* names the flags of `app`'s subcommands read.
std::vector<std::string> FlagEnvironmentNames(const CLI::App& app);

// The config keys for a run of `invoked` ("load", "doctor", "inspect"; any
// other: no key is read or checked): every long flag of load, doctor and
// inspect is known; those of `invoked` are applied, but for `inspect`'s
// --json, a flag there and a path in `load`.
ConfigKeys ConfigKeysFor(const CLI::App& app, const std::string& invoked);

// The first argument CLI11 left over after a parse (also after a failed
// one), as a usage error: "unknown option --x; did you mean --y?", "unknown
// command 'lod'; did you mean load?" or "unexpected argument 'x'". OK when
// nothing is left over.
Status LeftoverArgumentError(const CLI::App& app, const std::string& invoked);

// A CLI11 parse error as an Error/Hint status (the file's path added to a
// config file error); naming the leftover argument first when there is one,
// since that is what made the rest fail ("--password x" makes "x" an
// archive).
Status ParseErrorStatus(const CLI::App& app, const CLI::ParseError& error,
                        const std::string& invoked);

// True when `flag` ("--registry") of `cmd` was given on the command line
// itself, not by the environment or the config file.
bool GivenOnCommandLine(const CLI::App& cmd, const std::string& flag);

// The last value `flag` of `cmd` received, from any source, even after a
// failed parse; else the environment form of the flag; "" when none.
std::string LastValueOf(const CLI::App& cmd, const std::string& flag);

}  // namespace ppa
