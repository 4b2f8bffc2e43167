// A signature cosign made, from its own repository (tests/data/cosign/README.md):
// what the tests prove their cosign verifiers against.
#pragma once

#include <string>

namespace ppa::test {

struct CosignVector {
  std::string public_pem;    // the key pair's public half, PEM
  std::string signed_bytes;  // the bytes the signature covers (DSSE's PAE)
  std::string signature;     // raw ASN.1 DER ECDSA signature
  std::string payload;       // the envelope's payload, decoded
  std::string payload_type;
};

// Reads tests/data/cosign/dsse-vector.{json,pub}. Fails the test (and returns
// empty fields) when they cannot be read.
CosignVector LoadCosignVector();

// DSSE's pre-authentication encoding of (type, payload): what is signed.
std::string DssePae(const std::string& payload_type, const std::string& payload);

}  // namespace ppa::test
