// Rewrites image repositories in a chart's values.yaml (README, Usage).
//
// The value at each dotted key (PPA manifest `repository-keys`, or the
// per-chart `images` list) gets the target `<registry>/<namespace>/` prefix.
// The original text is edited in place at the positions yaml-cpp reports,
// so every other byte (comments, order, quoting style, indentation, line
// endings) is unchanged. Pure function; thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

struct ValuesRewrite {
  std::string text;                   // the rewritten values.yaml
  int rewritten = 0;                  // scalars that got the prefix
  std::vector<std::string> warnings;  // keys left alone, one line each
};

// Prefixes the scalar at each dotted key of `values_yaml` (e.g.
// "image.repository", "global.images.auth.repository") with `prefix`
// ("host:5000/ns/", ending in "/"). Plain, single- and double-quoted
// scalars are handled, in block and flow mappings. A value that already
// starts with `prefix` is left alone (the rewrite is idempotent). A key that
// does not exist, or whose value is not a non-empty scalar (a map, a list, a
// block scalar, an alias), is a warning, not an error. So is a value that
// `refuse` (when set) gives a reason for: it names a repository the prefix
// must not be put in front of (its images were not imported); the warning
// quotes the value and the reason. Returns kInvalidInput when `values_yaml`
// is not valid YAML or `prefix` is empty.
using RefuseValue = std::function<std::string(const std::string& value)>;  // "" = rewrite it
Result<ValuesRewrite> RewriteValuesRepositories(std::string_view values_yaml,
                                                const std::vector<std::string>& keys,
                                                std::string_view prefix,
                                                const RefuseValue& refuse = nullptr);

// "<host>[/<path prefix>]/<namespace>/": the prefix image repositories get.
std::string ImageRepositoryPrefix(std::string_view registry_host, std::string_view path_prefix,
                                  std::string_view target_namespace);

}  // namespace ppa
