#include "importer/cli/usage_errors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <tuple>

#include "base/file_util.h"

extern char** environ;

namespace ppa {
namespace {

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::vector<std::string> Dashed(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) out.push_back("--" + n);
  return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: three rows of the dynamic programme.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), row(b.size() + 1);
  std::iota(previous.begin(), previous.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      row[j] = std::min({previous[j] + 1, row[j - 1] + 1,
                         previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
    }
    before.swap(previous);
    previous.swap(row);
  }
  return previous[b.size()];
}

std::vector<std::string> ClosestNames(std::string_view word,
                                      const std::vector<std::string>& candidates) {
  if (word.empty()) return {};
  // (rank, distance, name): names `word` begins come first, shortest first.
  std::vector<std::tuple<int, size_t, std::string>> scored;
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  for (const auto& c : candidates) {
    if (c == word) continue;
    if (StartsWith(c, word)) {
      scored.emplace_back(0, c.size() - word.size(), c);
    } else if (size_t d = EditDistance(word, c); d <= limit) {
      scored.emplace_back(1, d, c);
    }
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& s : scored) {
    if (out.size() == 3) break;
    if (std::find(out.begin(), out.end(), std::get<2>(s)) == out.end()) {
      out.push_back(std::get<2>(s));
    }
  }
  return out;
}

std::string DidYouMean(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out = "; did you mean " + names[0];
  for (size_t i = 1; i < names.size(); ++i) {
    out += (i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out + "?";
}

std::string OptionNameOf(std::string_view arg) {
  if (arg.size() < 2 || arg.front() != '-' || arg == "--") return "";
  if (StartsWith(arg, "--")) return std::string(arg.substr(0, arg.find('=')));
  return std::string(arg.substr(0, 2));
}

Status UnknownOptionError(std::string_view option, const std::vector<std::string>& long_names,
                          std::string_view command) {
  std::vector<std::string> suggestions;
  if (StartsWith(option, "--")) {
    suggestions = Dashed(ClosestNames(option.substr(2), long_names));
  } else if (option.size() == 2) {
    std::vector<std::string> same_letter;
    for (const auto& n : long_names) {
      if (!n.empty() && n.front() == option[1]) same_letter.push_back(n);
    }
    std::stable_sort(same_letter.begin(), same_letter.end(),
              [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
    if (same_letter.size() > 3) same_letter.resize(3);
    suggestions = Dashed(same_letter);
  }
  const std::string help = command.empty() ? "ppa-import help" : "ppa-import help " + std::string(command);
  return InvalidInput("unknown option " + std::string(option) + DidYouMean(suggestions),
                      "'" + help + "' lists the options" +
                          (command.empty() ? std::string() : " of " + std::string(command)));
}

Status CheckEnvironmentNames(const std::vector<std::string>& set_names,
                             const std::vector<std::string>& flag_variables) {
  std::vector<std::string> known = flag_variables;
  known.insert(known.end(), std::begin(kEnvironmentReadDirectly), std::end(kEnvironmentReadDirectly));
  for (const auto& name : set_names) {
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    // Compared without the common prefix, which would make every name close.
    const std::string prefix = "PPA_IMPORT_";
    std::vector<std::string> suffixes;
    for (const auto& k : known) {
      if (StartsWith(k, prefix)) suffixes.push_back(k.substr(prefix.size()));
    }
    std::vector<std::string> meant;
    for (const auto& m : ClosestNames(StartsWith(name, prefix) ? name.substr(prefix.size()) : name, suffixes)) {
      meant.push_back(prefix + m);
    }
    return InvalidInput("environment variable " + name + " names no option" + DidYouMean(meant),
                        "PPA_IMPORT_<FLAG> sets --<flag> (e.g. PPA_IMPORT_NAMESPACE for "
                        "--namespace); unset or rename it");
  }
  return Status::Ok();
}

std::vector<std::string> PpaImportVariablesSet() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (!StartsWith(entry, "PPA_IMPORT_")) continue;
    out.emplace_back(entry.substr(0, entry.find('=')));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status CheckReportPathWritable(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty() || path == "-") return Status::Ok();
  const std::string hint = "name a file in an existing, writable directory, or '-' for stdout";
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return InvalidInput("--json " + path + ": is a directory", hint);
  }
  // What the report will be written through (WriteUserNamedFile): an
  // existing FIFO, terminal or /dev/stdout in place, else a new file in
  // the folder of the link's target.
  struct stat st {};
  auto resolved = ResolveOutputPath(path);
  if (!resolved.ok()) return InvalidInput("--json " + path + ": " + resolved.status().message(), hint);
  if (::stat(path.c_str(), &st) == 0 && (!S_ISREG(st.st_mode) || resolved->through_special)) {
    if (::access(path.c_str(), W_OK) != 0) {
      return InvalidInput("--json " + path + ": cannot write to it: " + std::strerror(errno), hint);
    }
    return Status::Ok();
  }
  fs::path parent = fs::path(resolved->real).parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::exists(parent, ec)) {
    return InvalidInput("--json " + path + ": directory '" + parent.string() + "' does not exist",
                        hint);
  }
  if (!fs::is_directory(parent, ec)) {
    return InvalidInput("--json " + path + ": '" + parent.string() + "' is not a directory", hint);
  }
  std::string probe = (parent / ".ppa-import-json-XXXXXX").string();
  int fd = ::mkstemp(probe.data());
  if (fd < 0) {
    return InvalidInput("--json " + path + ": cannot create a file in '" + parent.string() +
                            "': " + std::strerror(errno),
                        hint);
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::Ok();
}

}  // namespace ppa
