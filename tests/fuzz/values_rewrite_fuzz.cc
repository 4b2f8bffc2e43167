// Fuzzes RewriteValuesRepositories on a values.yaml. The keys rewritten are a
// fixed list plus, when the first line reads "# keys: a.b,c.d", the keys it
// lists (being a comment, that line leaves the document unchanged). Asserts
// the contract: at most one rewrite per key, and a second run over the
// output changes nothing (the rewrite is idempotent).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "helm_io/values_rewrite.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr std::string_view kKeysLine = "# keys: ";
constexpr std::string_view kPrefix = "registry.example:5000/ns/";

std::vector<std::string> KeysFor(std::string_view input) {
  std::vector<std::string> keys = {"image.repository", "global.images.auth.repository",
                                   "sidecar.image.repository", "repository"};
  if (input.substr(0, kKeysLine.size()) != kKeysLine) return keys;
  std::string_view line = input.substr(kKeysLine.size());
  line = line.substr(0, line.find('\n'));
  while (!line.empty() && keys.size() < 16) {
    size_t comma = line.find(',');
    keys.emplace_back(line.substr(0, comma));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> keys = KeysFor(input);

  ppa::Result<ppa::ValuesRewrite> first = ppa::RewriteValuesRepositories(input, keys, kPrefix);
  if (!first.ok()) {
    PPA_FUZZ_CHECK(first.status().code() == ppa::StatusCode::kInvalidInput);
    return 0;
  }
  PPA_FUZZ_CHECK(first->rewritten >= 0 && static_cast<size_t>(first->rewritten) <= keys.size());
  if (first->rewritten == 0) PPA_FUZZ_CHECK(first->text == input);

  ppa::Result<ppa::ValuesRewrite> second =
      ppa::RewriteValuesRepositories(first->text, keys, kPrefix);
  PPA_FUZZ_CHECK(second.ok());
  PPA_FUZZ_CHECK(second->rewritten == 0);
  PPA_FUZZ_CHECK(second->text == first->text);
  return 0;
}
