#include "docker_io/sign/policy.h"

#include <nlohmann/json.hpp>
#include <set>

#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"

namespace ppa {
namespace {

using Json = nlohmann::json;

Result<PolicyRequirement> ParseRequirement(const Json& r, const std::string& where) {
  if (!r.is_object() || !r.value("type", Json()).is_string()) {
    return InvalidInput(where + ": a requirement without a type");
  }
  const std::string type = r["type"];
  PolicyRequirement req;
  if (type == "insecureAcceptAnything") {
    req.type = PolicyRequirement::Type::kAccept;
    return req;
  }
  if (type == "reject") return req;
  if (type != "signedBy" && type != "sigstoreSigned") {
    return Unsupported(where + ": requirement type '" + type + "' is not read by ppa-import",
                       "verify with signedBy, sigstoreSigned, insecureAcceptAnything or reject");
  }
  req.type = type == "signedBy" ? PolicyRequirement::Type::kSignedBy
                                : PolicyRequirement::Type::kSigstoreSigned;
  if (req.type == PolicyRequirement::Type::kSignedBy && r.value("keyType", "") != "GPGKeys") {
    return Unsupported(where + ": signedBy keyType '" + r.value("keyType", "") +
                       "' is not read by ppa-import (GPGKeys is)");
  }
  // Every field is one this reader enforces: one it does not know (Rekor,
  // Fulcio, PKI, a field of a later version) would make the policy weaker.
  const std::set<std::string> known =
      req.type == PolicyRequirement::Type::kSignedBy
          ? std::set<std::string>{"type", "keyType", "keyPath", "keyPaths", "keyData",
                                  "signedIdentity"}
          : std::set<std::string>{"type", "keyPath", "keyData", "signedIdentity"};
  for (const auto& [key, value] : r.items()) {
    if (known.count(key) == 0) {
      return Unsupported(where + ": " + type + " field '" + key + "' is not read by ppa-import",
                         type == "signedBy"
                             ? "ppa-import reads keyType GPGKeys with keyPath, keyPaths or "
                               "keyData, and signedIdentity"
                             : "ppa-import reads keyPath or keyData, and signedIdentity");
    }
  }
  const int sources = r.contains("keyPath") + r.contains("keyPaths") + r.contains("keyData");
  if (sources > 1) {
    return InvalidInput(where + ": " + type + " names its keys in more than one way",
                        "give exactly one of keyPath, keyPaths or keyData, as containers/image "
                        "requires");
  }
  if (r.contains("keyPath")) {
    if (!r["keyPath"].is_string()) return InvalidInput(where + ": keyPath is not a string");
    req.key_paths.push_back(r["keyPath"]);
  }
  if (r.contains("keyPaths")) {
    if (!r["keyPaths"].is_array()) return InvalidInput(where + ": keyPaths is not a list");
    for (const auto& p : r["keyPaths"]) {
      if (!p.is_string()) return InvalidInput(where + ": keyPaths holds a non-string");
      req.key_paths.push_back(p);
    }
  }
  if (r.contains("keyData")) {
    auto data = r["keyData"].is_string() ? Base64Decode(r["keyData"].get<std::string>())
                                         : std::nullopt;
    if (!data) return InvalidInput(where + ": keyData is not base64");
    req.key_data.push_back(std::move(*data));
  }
  if (req.key_paths.empty() && req.key_data.empty()) {
    return InvalidInput(where + ": " + type + " names no key (keyPath, keyPaths or keyData)");
  }
  if (r.contains("signedIdentity")) {
    const Json& id = r["signedIdentity"];
    const std::string id_type = id.is_object() ? id.value("type", "") : "";
    if (id_type == "matchRepoDigestOrExact") {
      req.identity = PolicyRequirement::Identity::kRepoDigestOrExact;
    } else if (id_type == "matchExact") {
      req.identity = PolicyRequirement::Identity::kExact;
    } else if (id_type == "matchRepository") {
      req.identity = PolicyRequirement::Identity::kRepository;
    } else if (id_type == "exactReference" && id.value("dockerReference", Json()).is_string()) {
      req.identity = PolicyRequirement::Identity::kExactReference;
      req.identity_value = id["dockerReference"];
    } else if (id_type == "exactRepository" && id.value("dockerRepository", Json()).is_string()) {
      req.identity = PolicyRequirement::Identity::kExactRepository;
      req.identity_value = id["dockerRepository"];
    } else if (id_type == "remapIdentity" && id.value("prefix", Json()).is_string() &&
               id.value("signedPrefix", Json()).is_string()) {
      // A mirror: images under `prefix` were signed under `signedPrefix`.
      req.identity = PolicyRequirement::Identity::kRemap;
      req.identity_value = id["prefix"];
      req.identity_signed_prefix = id["signedPrefix"];
    } else {
      return Unsupported(where + ": signedIdentity '" + id_type + "' is not read by ppa-import");
    }
  }
  return req;
}

Result<std::vector<PolicyRequirement>> ParseList(const Json& list, const std::string& where) {
  if (!list.is_array() || list.empty()) {
    return InvalidInput(where + " is not a non-empty list of requirements");
  }
  std::vector<PolicyRequirement> out;
  for (const auto& r : list) {
    PPA_ASSIGN_OR_RETURN(PolicyRequirement req, ParseRequirement(r, where));
    out.push_back(std::move(req));
  }
  return out;
}

}  // namespace

Result<SignaturePolicy> ParseSignaturePolicy(std::string_view text) {
  try {
    Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return InvalidInput("the policy is not a JSON object");
    if (!doc.contains("default")) return InvalidInput("the policy has no \"default\"");
    SignaturePolicy policy;
    PPA_ASSIGN_OR_RETURN(policy.default_requirements, ParseList(doc["default"], "default"));
    const Json& transports = doc.value("transports", Json::object());
    if (!transports.is_object()) return InvalidInput("the policy's transports is not an object");
    const Json& docker = transports.value("docker", Json::object());
    if (!docker.is_object()) return InvalidInput("transports.docker is not an object");
    for (const auto& [scope, list] : docker.items()) {
      if (scope.find('*') != std::string::npos) {
        return Unsupported("transports.docker scope '" + scope +
                           "': wildcard scopes are not read by ppa-import");
      }
      PPA_ASSIGN_OR_RETURN(policy.docker[scope], ParseList(list, "transports.docker." + scope));
    }
    return policy;
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("the policy is malformed") + std::string(": ") + e.what());
  }
}

const std::vector<PolicyRequirement>& RequirementsFor(const SignaturePolicy& policy,
                                                      std::string_view reference) {
  for (const auto& scope : ReferenceScopes(reference)) {
    auto found = policy.docker.find(scope);
    if (found != policy.docker.end()) return found->second;
  }
  return policy.default_requirements;
}

bool IdentityMatches(const PolicyRequirement& requirement, std::string_view reference,
                     std::string_view signed_reference) {
  using Identity = PolicyRequirement::Identity;
  const bool by_digest = reference.find('@') != std::string_view::npos;
  switch (requirement.identity) {
    case Identity::kExact:
      return !by_digest && reference == signed_reference;
    case Identity::kRepoDigestOrExact:
      return by_digest ? ReferenceRepository(reference) == ReferenceRepository(signed_reference)
                       : reference == signed_reference;
    case Identity::kRepository:
      return ReferenceRepository(reference) == ReferenceRepository(signed_reference);
    case Identity::kExactReference:
      return signed_reference == requirement.identity_value;
    case Identity::kExactRepository:
      return ReferenceRepository(signed_reference) == requirement.identity_value;
    case Identity::kRemap: {
      // The prefix must end at a boundary of `reference`: after its host or
      // a path component ('/'), or a whole repository (then ':' or '@'; a
      // host's ':' starts its port, no boundary).
      const std::string& prefix = requirement.identity_value;
      const bool is_repository = prefix.find('/') != std::string::npos;
      const std::string_view boundaries = is_repository ? "/:@" : "/";
      std::string remapped(reference);
      if (reference.size() > prefix.size() && reference.substr(0, prefix.size()) == prefix &&
          boundaries.find(reference[prefix.size()]) != std::string_view::npos) {
        remapped = requirement.identity_signed_prefix + std::string(reference.substr(prefix.size()));
      }
      return by_digest ? ReferenceRepository(remapped) == ReferenceRepository(signed_reference)
                       : remapped == signed_reference;
    }
  }
  return false;
}

}  // namespace ppa
