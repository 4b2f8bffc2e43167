// The payload of a "simple signing" signature (containers-signature(5)), the
// scheme Red Hat and IBM sign their images with and skopeo, podman and CRI-O
// verify: a JSON document, signed as a whole as an OpenPGP message, that
// claims "the manifest with this digest is the image this reference names".
//
//   {"critical": {"type": "atomic container signature",
//                 "image": {"docker-manifest-digest": "sha256:..."},
//                 "identity": {"docker-reference": "host/repo:tag"}},
//    "optional": {"creator": "ppa-import 0.1.0", "timestamp": 1733500000}}
//
// Pure functions: building and reading the JSON, no signing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

inline constexpr char kAtomicSignatureType[] = "atomic container signature";

// What a signature's payload claims (its "critical" section).
struct SignedClaim {
  std::string reference;  // docker-reference: "host[:port]/repo[:tag]"
  std::string digest;     // docker-manifest-digest: "sha256:<hex>"
};

// The payload for `claim`, with `creator` and `timestamp` (seconds since the
// epoch) in its optional section.
std::string AtomicSignaturePayload(const SignedClaim& claim, const std::string& creator,
                                   int64_t timestamp);

// Reads a payload the way containers-signature(5) verifiers do: a JSON
// object whose "critical" holds exactly "type" (kAtomicSignatureType),
// "image" (exactly "docker-manifest-digest") and "identity" (exactly
// "docker-reference"), all strings; "optional" may hold anything. Anything
// else is kInvalidInput naming what is wrong.
Result<SignedClaim> ParseAtomicSignaturePayload(std::string_view json);

}  // namespace ppa
