// Fuzzes SanitizeEntryPath and ResolveLinkTarget. The input is split at its
// first '\n' into an entry name and a link target (no '\n': the whole input
// is both). Asserts that every accepted path is in clean relative form.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "archive/tar/safe_path.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Relative, no empty, "." or ".." components, no trailing '/'.
bool IsCleanRelative(std::string_view path) {
  if (path.empty()) return true;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  std::string_view entry = input.substr(0, newline);
  std::string_view target = newline == std::string_view::npos ? input : input.substr(newline + 1);

  for (std::string_view name : {input, entry, target}) {
    ppa::Result<std::string> clean = ppa::SanitizeEntryPath(name);
    if (!clean.ok()) continue;
    PPA_FUZZ_CHECK(IsCleanRelative(*clean));
    PPA_FUZZ_CHECK(clean->size() <= name.size());
    PPA_FUZZ_CHECK(clean->find('\0') == std::string::npos);
    ppa::Result<std::string> again = ppa::SanitizeEntryPath(*clean);
    PPA_FUZZ_CHECK(again.ok() && *again == *clean);
    PPA_FUZZ_CHECK(ppa::ParentPath(*clean).size() <= clean->size());
    PPA_FUZZ_CHECK(ppa::BaseName(*clean).size() <= clean->size());
  }

  ppa::Result<std::string> resolved = ppa::ResolveLinkTarget(entry, target);
  if (resolved.ok()) PPA_FUZZ_CHECK(IsCleanRelative(*resolved));
  // Links are resolved from sanitized entry names in practice.
  ppa::Result<std::string> clean_entry = ppa::SanitizeEntryPath(entry);
  if (clean_entry.ok()) {
    ppa::Result<std::string> from_clean = ppa::ResolveLinkTarget(*clean_entry, target);
    if (from_clean.ok()) PPA_FUZZ_CHECK(IsCleanRelative(*from_clean));
  }
  return 0;
}
