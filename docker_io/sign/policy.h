// The part of containers-policy.json(5) that says which images of a
// registry must be signed, and by whom: what `ppa-import verify --policy`
// enforces, as podman, CRI-O and skopeo would on a pull.
//
// Read: "default" and transports."docker" scopes (a reference with tag,
// a repository, a namespace or a host; the most specific one that exists
// applies, else "default"); requirements insecureAcceptAnything, reject,
// signedBy (keyType GPGKeys; keyPath, keyPaths or keyData) and
// sigstoreSigned (keyPath or keyData: a cosign public key); signedIdentity
// matchRepoDigestOrExact (the default), matchExact, matchRepository,
// exactReference and exactRepository. What it does not read (remapIdentity,
// other key types, Fulcio or Rekor settings) is kUnsupported, never
// ignored: a policy is never judged weaker than it is. Pure.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ppa {

struct PolicyRequirement {
  enum class Type { kAccept, kReject, kSignedBy, kSigstoreSigned };
  enum class Identity { kRepoDigestOrExact, kExact, kRepository, kExactReference,
                        kExactRepository, kRemap };
  Type type = Type::kReject;
  std::vector<std::string> key_paths;  // files holding the keys
  std::vector<std::string> key_data;   // the keys themselves (keyData, decoded)
  Identity identity = Identity::kRepoDigestOrExact;
  std::string identity_value;          // exactReference / exactRepository's; remapIdentity's prefix
  std::string identity_signed_prefix;  // remapIdentity's signedPrefix
};

struct SignaturePolicy {
  std::vector<PolicyRequirement> default_requirements;
  std::map<std::string, std::vector<PolicyRequirement>> docker;  // scope -> requirements
};

Result<SignaturePolicy> ParseSignaturePolicy(std::string_view json);

// The requirements for `reference` ("host/repo:tag" or "host/repo@digest").
const std::vector<PolicyRequirement>& RequirementsFor(const SignaturePolicy& policy,
                                                      std::string_view reference);

// Whether a signature naming `signed_reference` identifies the image pulled
// as `reference` under `requirement`'s signedIdentity.
bool IdentityMatches(const PolicyRequirement& requirement, std::string_view reference,
                     std::string_view signed_reference);

}  // namespace ppa
