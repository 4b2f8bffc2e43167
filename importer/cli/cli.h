// The command line: subcommands, flags, environment, exit codes (docs/cli.md).
#pragma once

namespace ppa {

// Exit codes (README, Usage).
inline constexpr int kExitOk = 0;
inline constexpr int kExitItemFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBadArchive = 3;

// Parses argv, configures logging and runs the chosen subcommand.
int RunCli(int argc, char** argv);

}  // namespace ppa
