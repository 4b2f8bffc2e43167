// Serializing the JSON documents we write (manifests, indexes, configs).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ppa {

// JSON (compact, or indented by `indent`) that cannot throw on text that is
// not UTF-8 (nlohmann's dump() does): each invalid byte becomes U+FFFD.
// Names are validated before they reach a document; this keeps a missed one
// from aborting the run.
template <typename Json>
std::string DumpJsonDocument(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ppa
