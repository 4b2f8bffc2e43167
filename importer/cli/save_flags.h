// Registers and runs the `save` subcommand (importer/save/save.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "importer/cli/credentials.h"
#include "importer/save/save.h"

namespace ppa {

// What the `save` flags set; must outlive parsing.
struct SaveFlags {
  SaveOptions options;
  std::string username;         // --username
  bool password_stdin = false;  // --password-stdin
  CredentialFlags credential_flags;
};

void AddSaveCommand(CLI::App& app, SaveFlags& flags);

// After parsing: resolves the credentials of each source registry as `load`
// resolves its target's, then saves. Returns the exit status.
int RunSaveCommand(SaveFlags& flags);

}  // namespace ppa
