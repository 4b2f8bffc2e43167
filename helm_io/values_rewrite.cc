#include "helm_io/values_rewrite.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "archive/manifest/bounded_yaml.h"

namespace ppa {
namespace {

constexpr char kValuesYaml[] = "values.yaml";

// One planned edit: insert the prefix at `offset` of the original text.
struct Insertion {
  size_t offset = 0;
  std::string key;
  std::string expected;  // the value after the rewrite
};

std::vector<std::string> SplitKey(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

// The node at dotted `key`, or an invalid node. Never throws for a missing key.
std::optional<YAML::Node> FindKey(const YAML::Node& root, const std::string& key) {
  if (key.empty()) return std::nullopt;
  YAML::Node node = root;
  for (const std::string& part : SplitKey(key)) {
    if (part.empty() || !node.IsMap()) return std::nullopt;
    YAML::Node child = node[part];
    if (!child.IsDefined()) return std::nullopt;
    node.reset(child);
  }
  return node;
}

// The byte offset of (line, column) in `text`; npos when out of range.
size_t OffsetOf(std::string_view text, int line, int column) {
  size_t offset = 0;
  for (int i = 0; i < line; ++i) {
    offset = text.find('\n', offset);
    if (offset == std::string_view::npos) return std::string_view::npos;
    ++offset;
  }
  offset += static_cast<size_t>(column);
  return offset <= text.size() ? offset : std::string_view::npos;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Skips a tag ("!!str ") and an anchor ("&a ") in front of a scalar.
size_t SkipProperties(std::string_view text, size_t pos) {
  while (pos < text.size() && (text[pos] == '!' || text[pos] == '&')) {
    while (pos < text.size() && !IsBlank(text[pos]) && text[pos] != '\n') ++pos;
    while (pos < text.size() && IsBlank(text[pos])) ++pos;
  }
  return pos;
}

// Where the prefix goes for the scalar starting at `pos`: after an opening
// quote, or at the first character of a plain scalar. An error message for
// values that cannot be edited in place.
Result<size_t> InsertionPoint(std::string_view text, size_t pos, const std::string& value) {
  pos = SkipProperties(text, pos);
  if (pos >= text.size()) return InvalidInput("value not found in the text");
  const char c = text[pos];
  if (c == '"' || c == '\'') return pos + 1;
  if (c == '|' || c == '>') return InvalidInput("is a block scalar");
  if (c == '*') return InvalidInput("is an alias");
  if (text.substr(pos, value.size()) != value) {
    return InvalidInput("spans several lines");
  }
  return pos;
}

std::string Warn(const std::string& key, const std::string& why) {
  return "values.yaml key '" + key + "' " + why + "; left unchanged";
}

// Plans the edit for one key; adds a warning instead when it cannot be made.
void PlanKey(std::string_view text, const YAML::Node& root, const std::string& key,
             std::string_view prefix, const RefuseValue& refuse, std::vector<Insertion>& edits,
             ValuesRewrite& out) {
  std::optional<YAML::Node> node = FindKey(root, key);
  if (!node) return out.warnings.push_back(Warn(key, "does not exist"));
  if (!node->IsScalar() || node->Scalar().empty()) {
    return out.warnings.push_back(Warn(key, "is not a text value"));
  }
  const std::string value = node->Scalar();
  if (value.starts_with(prefix)) return;  // already rewritten
  if (refuse) {
    if (std::string why = refuse(value); !why.empty()) {
      return out.warnings.push_back(Warn(key, "names '" + value + "', " + why));
    }
  }
  const YAML::Mark mark = node->Mark();
  const size_t start = OffsetOf(text, mark.line, mark.column);
  if (mark.is_null() || start == std::string_view::npos) {
    return out.warnings.push_back(Warn(key, "has no position in the file"));
  }
  Result<size_t> at = InsertionPoint(text, start, value);
  if (!at.ok()) return out.warnings.push_back(Warn(key, at.status().message()));
  for (const Insertion& e : edits) {
    if (e.offset == *at) return;  // the same scalar listed twice (or an alias of it)
  }
  edits.push_back({*at, key, std::string(prefix) + value});
}

// Re-reads the result: every edited key must hold exactly the expected value.
Status Verify(const std::string& text, const std::vector<Insertion>& edits) {
  Result<YAML::Node> reread = LoadBoundedYaml(text, kValuesYaml);
  if (!reread.ok()) {
    return reread.status().WithContext("values.yaml is no longer valid YAML after the rewrite");
  }
  const YAML::Node& root = *reread;
  for (const Insertion& e : edits) {
    std::optional<YAML::Node> node = FindKey(root, e.key);
    if (!node || !node->IsScalar() || node->Scalar() != e.expected) {
      return InvalidInput("values.yaml key '" + e.key + "' did not read back as '" + e.expected +
                          "' after the rewrite");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<ValuesRewrite> RewriteValuesRepositories(std::string_view values_yaml,
                                                const std::vector<std::string>& keys,
                                                std::string_view prefix,
                                                const RefuseValue& refuse) {
  if (prefix.empty()) return InvalidInput("empty image repository prefix");
  ValuesRewrite out;
  if (keys.empty()) {
    out.text = std::string(values_yaml);
    return out;
  }
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(values_yaml, kValuesYaml));
  std::vector<Insertion> edits;
  try {
    for (const std::string& key : keys) PlanKey(values_yaml, root, key, prefix, refuse, edits, out);
  } catch (const YAML::Exception& e) {
    return InvalidInput("values.yaml: " + e.msg);
  }
  // From the end backwards, so earlier offsets stay valid.
  std::sort(edits.begin(), edits.end(),
            [](const Insertion& a, const Insertion& b) { return a.offset > b.offset; });
  out.text = std::string(values_yaml);
  for (const Insertion& e : edits) out.text.insert(e.offset, prefix);
  PPA_RETURN_IF_ERROR(Verify(out.text, edits));
  out.rewritten = static_cast<int>(edits.size());
  return out;
}

std::string ImageRepositoryPrefix(std::string_view registry_host, std::string_view path_prefix,
                                  std::string_view target_namespace) {
  std::string out(registry_host);
  if (!path_prefix.empty()) out += "/" + std::string(path_prefix);
  out += "/" + std::string(target_namespace) + "/";
  return out;
}

}  // namespace ppa
