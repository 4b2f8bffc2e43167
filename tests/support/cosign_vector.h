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

// The test's check of one cosign signature: the openssl CLI verifies the raw
// `signature` over the bytes of `data_file` with the PEM public key file `pub`.
bool OpensslVerifies(const std::string& pub, const std::string& signature,
                     const std::string& data_file);

// Cosign signatures, checked the way `cosign verify --key` checks them,
// written from cosign's signature specification with independent tools:
// skopeo copies the manifest `sig_ref` ("docker://host/repo:sha256-<hex>.sig")
// out, checking every blob's digest, and the openssl CLI checks each
// signature over its payload with the PEM public key `pub`. Returns how many
// layers verify, are of cosign's type, and name `reference` (a repository)
// and `digest`.
int CountCosignSignatures(const std::string& sig_ref, const std::string& pub,
                          const std::string& reference, const std::string& digest);

}  // namespace ppa::test
