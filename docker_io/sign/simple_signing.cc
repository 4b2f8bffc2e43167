#include "docker_io/sign/simple_signing.h"

#include <nlohmann/json.hpp>

namespace ppa {
namespace {

using Json = nlohmann::json;

// OK when `object` is a JSON object holding exactly `keys`.
Status ExactKeys(const Json& object, std::string_view where,
                 std::initializer_list<std::string_view> keys) {
  if (!object.is_object()) return InvalidInput(std::string(where) + " is not a JSON object");
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view k : keys) known = known || key == k;
    if (!known) return InvalidInput(std::string(where) + " holds an unknown field '" + key + "'");
  }
  for (std::string_view k : keys) {
    if (!object.contains(std::string(k))) {
      return InvalidInput(std::string(where) + " lacks '" + std::string(k) + "'");
    }
  }
  return Status::Ok();
}

Result<std::string> StringAt(const Json& object, const char* key, std::string_view where) {
  const Json& value = object.at(key);
  if (!value.is_string()) {
    return InvalidInput(std::string(where) + "." + key + " is not a string");
  }
  return value.get<std::string>();
}

}  // namespace

std::string AtomicSignaturePayload(const SignedClaim& claim, const std::string& creator,
                                   int64_t timestamp) {
  Json payload = {
      {"critical",
       {{"type", kAtomicSignatureType},
        {"image", {{"docker-manifest-digest", claim.digest}}},
        {"identity", {{"docker-reference", claim.reference}}}}},
      {"optional", {{"creator", creator}, {"timestamp", timestamp}}},
  };
  return payload.dump();
}

Result<SignedClaim> ParseAtomicSignaturePayload(std::string_view text) {
  try {
    Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return InvalidInput("the signature's payload is not JSON");
    if (!doc.is_object() || !doc.contains("critical")) {
      return InvalidInput("the signature's payload has no 'critical' section");
    }
    for (const auto& [key, value] : doc.items()) {
      if (key != "critical" && key != "optional") {
        return InvalidInput("the signature's payload holds an unknown field '" + key + "'");
      }
    }
    const Json& critical = doc["critical"];
    PPA_RETURN_IF_ERROR(ExactKeys(critical, "critical", {"type", "image", "identity"}));
    PPA_ASSIGN_OR_RETURN(std::string type, StringAt(critical, "type", "critical"));
    if (type != kAtomicSignatureType) {
      return InvalidInput("the signature's type is '" + type + "', not '" + kAtomicSignatureType +
                          "'");
    }
    PPA_RETURN_IF_ERROR(ExactKeys(critical["image"], "critical.image", {"docker-manifest-digest"}));
    PPA_RETURN_IF_ERROR(
        ExactKeys(critical["identity"], "critical.identity", {"docker-reference"}));
    SignedClaim claim;
    PPA_ASSIGN_OR_RETURN(claim.digest,
                         StringAt(critical["image"], "docker-manifest-digest", "critical.image"));
    PPA_ASSIGN_OR_RETURN(claim.reference,
                         StringAt(critical["identity"], "docker-reference", "critical.identity"));
    return claim;
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("the signature's payload is malformed") + std::string(": ") + e.what());
  }
}

}  // namespace ppa
