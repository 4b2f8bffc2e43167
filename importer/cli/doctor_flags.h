// Registers and runs the `doctor` subcommand (importer/commands/doctor.h).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

#include "importer/commands/doctor.h"

namespace ppa {

// What the `doctor` flags set; must outlive parsing.
struct DoctorFlags {
  DoctorOptions options;
  std::string username;          // --username
  bool password_stdin = false;   // --password-stdin
  std::string chartmuseum_uri;   // --chartmuseum-uri
  std::string chartmuseum_user;  // --chartmuseum-user
  CLI::App* command = nullptr;   // the subcommand, set by AddDoctorCommand
};

// Adds the `doctor` subcommand and its flags to `app`.
void AddDoctorCommand(CLI::App& app, DoctorFlags& flags);

// After parsing: fills what the flags left open from the environment
// (PPA_IMPORT_REGISTRY; credentials exactly as `load` resolves them, reading
// `in` for --password-stdin; PPA_IMPORT_CHARTMUSEUM_*), then runs the checks.
// Returns the exit status (0 all passed, 1 a check failed, 2 usage error).
int RunDoctorCommand(DoctorFlags& flags, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace ppa
