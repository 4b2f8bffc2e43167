// Strings from archives (entry names, image names, the archive's own file
// name, messages that quote them) in the JSON reports of `load --json` and
// `inspect --json`, losslessly: JSON strings must be UTF-8, these may not be.
//
// The scheme (README "JSON report"): a string field `F` always holds valid
// UTF-8. When the original bytes were not valid UTF-8, `F` holds them with
// each invalid byte replaced by U+FFFD, and a sibling field `F_base64`
// holds the exact original bytes in base64 (RFC 4648). A list field `F`
// gets a sibling `F_base64` of the same length when any element needed
// repair: the base64 of each such element, null for the others. A field
// without `F_base64` is exactly its original bytes.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ppa {

using OrderedJson = nlohmann::ordered_json;

// j[key] = text, or its repaired form plus j[key + "_base64"].
void SetJsonText(OrderedJson& j, const std::string& key, std::string_view text);

// j[key] = the list, with j[key + "_base64"] as the header says when needed.
void SetJsonTextList(OrderedJson& j, const std::string& key, const std::vector<std::string>& texts);

// The original bytes of j[key] (decoding j[key + "_base64"] when present);
// "" when j has no string under `key`.
std::string JsonTextOf(const OrderedJson& j, const std::string& key);
// The original bytes of element `index` of the list j[key].
std::string JsonTextAt(const OrderedJson& j, const std::string& key, size_t index);

// j.dump(indent) that cannot throw on invalid UTF-8: a string that did not
// go through SetJsonText is repaired (U+FFFD) rather than aborting the run.
std::string DumpJson(const OrderedJson& j, int indent = -1);

}  // namespace ppa
