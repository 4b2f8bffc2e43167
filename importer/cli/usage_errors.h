// Usage errors of the command line (exit status 2) that name what was
// mistyped and what was probably meant: unknown flags, unknown config keys,
// PPA_IMPORT_* variables that name no flag, and the values checked before
// any work starts (report path, shard, format and compression).
//
// Pure functions unless stated; thread-safe.
#pragma once

#include <CLI/Error.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

// The variables read with getenv by the code itself rather than as the
// environment form of a flag (README, Usage). The one list of them: every
// other PPA_IMPORT_* variable must name a flag.
inline constexpr const char* kEnvironmentReadDirectly[] = {
    "PPA_IMPORT_USERNAME",         "PPA_IMPORT_PASSWORD",
    "PPA_IMPORT_REGISTRY",         "PPA_IMPORT_CHARTMUSEUM_USER",
    "PPA_IMPORT_CHARTMUSEUM_PASSWORD", "PPA_IMPORT_CHARTMUSEUM_TOKEN",
};

// The edit distance of `a` and `b`: insertions, deletions, substitutions
// of one byte and swaps of two adjacent bytes each count 1 (optimal string
// alignment).
size_t EditDistance(std::string_view a, std::string_view b);

// The names among `candidates` that `word` probably meant, best first, at
// most three: those `word` begins (e.g. "password" -> "password-stdin"),
// then those within an edit distance of max(1, |word| / 3). Empty when
// none is close.
std::vector<std::string> ClosestNames(std::string_view word,
                                      const std::vector<std::string>& candidates);

// "; did you mean X?" or "; did you mean X, Y or Z?" ("" for no names).
std::string DidYouMean(const std::vector<std::string>& names);

// The option an unknown command-line argument names: "--password=x" ->
// "--password", "-nfoo" -> "-n"; "" when `arg` is no option ("x", "-",
// "--").
std::string OptionNameOf(std::string_view arg);

// kInvalidInput "unknown option --password; did you mean --password-stdin?"
// for `option` (as OptionNameOf returns it) among the long flag names
// `long_names` (without dashes) of `command` ("load"; "" for the program
// itself). A short option "-n" is matched against the long names that
// begin with its letter.
Status UnknownOptionError(std::string_view option, const std::vector<std::string>& long_names,
                          std::string_view command);

// kInvalidInput naming the first variable of `set_names` (PPA_IMPORT_*
// names present in the environment) that is neither in `flag_variables`
// (the environment forms of flags) nor in kEnvironmentReadDirectly, with a
// did-you-mean; OK when all are known.
Status CheckEnvironmentNames(const std::vector<std::string>& set_names,
                             const std::vector<std::string>& flag_variables);

// The PPA_IMPORT_* names set in this process's environment (reads environ).
std::vector<std::string> PpaImportVariablesSet();

// kInvalidInput when a JSON report cannot be written to `path` ("" and "-"
// are fine): a directory, a missing or non-directory parent, a parent in
// which no file can be created (tried with a temporary file, removed at
// once). Touches the file system.
Status CheckReportPathWritable(const std::string& path);

// A CLI11 parse error that carries an Error/Hint status (exit status 2);
// thrown from inside CLI11 callbacks (the config reader) and caught where
// the command line is parsed.
class UsageStatusError : public CLI::ParseError {
 public:
  explicit UsageStatusError(Status status)
      : CLI::ParseError("UsageStatusError", status.message(), 2), status_(std::move(status)) {}
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// A UsageStatusError of the config file (malformed, an unknown key); the
// caller adds the file's path.
class ConfigFileError : public UsageStatusError {
 public:
  using UsageStatusError::UsageStatusError;
};

}  // namespace ppa
