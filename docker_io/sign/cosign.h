// Sigstore / cosign signatures (the scheme Kyverno and sigstore's
// policy-controller verify), made with a key file as `cosign sign --key`
// makes them:
//  - the payload is the simple-signing JSON of cosign, claiming a manifest
//    digest for a repository (no tag):
//      {"critical":{"identity":{"docker-reference":"host/repo"},
//                   "image":{"docker-manifest-digest":"sha256:..."},
//                   "type":"cosign container image signature"},
//       "optional":null}
//  - the signature is over that payload: ECDSA P-256 (ASN.1 DER) or RSA
//    PKCS#1 v1.5 with SHA-256, or Ed25519;
//  - both are stored as one layer of an OCI manifest tagged
//    "sha256-<hex>.sig" in the image's repository: the payload is the layer
//    blob (media type application/vnd.dev.cosign.simplesigning.v1+json), the
//    base64 signature its annotation "dev.cosignproject.cosign/signature".
//    More signatures are more layers of the same manifest.
// Pure functions for the documents; SigstoreKey is the OpenSSL seam.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret.h"
#include "base/status.h"
#include "docker_io/sign/simple_signing.h"

namespace ppa {

inline constexpr char kCosignSignatureType[] = "cosign container image signature";
inline constexpr char kCosignPayloadMediaType[] =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr char kCosignSignatureAnnotation[] = "dev.cosignproject.cosign/signature";

// The payload for `claim` (its reference: the repository, without a tag).
std::string CosignPayload(const SignedClaim& claim);
// Reads a cosign payload: "critical" with exactly identity, image and type
// (kCosignSignatureType); "optional" anything. Pure.
Result<SignedClaim> ParseCosignPayload(std::string_view json);

// "sha256:<hex>" -> "sha256-<hex>.sig", where cosign keeps the signatures
// of that manifest.
std::string CosignSignatureTag(const std::string& digest);

// Whether `reference` ("host/repo:TAG", or a bare tag) names one of the
// artifacts cosign attaches to an image by tag: sha256-<64 hex>.sig, .att
// or .sbom. Such an artifact is no image to sign or verify itself. Pure.
bool IsCosignAttachment(std::string_view reference);

// The layers of a signature manifest (`body`): each payload blob's digest
// and size and the signature of its annotation. Layers of other media
// types are skipped; kInvalidInput for a manifest that is no OCI image
// manifest. Pure.
struct CosignManifestLayer {
  std::string digest;
  uint64_t size = 0;
  std::string signature;  // base64
};
Result<std::vector<CosignManifestLayer>> ParseCosignManifest(std::string_view body);

// The config and manifest of a signature manifest holding `layers`, as
// cosign writes them. Pure.
struct CosignDocuments {
  std::string config;
  std::string manifest;
};
CosignDocuments BuildCosignManifest(const std::vector<CosignManifestLayer>& layers);

// The signature manifest `existing` (empty: none yet) with `layer` added
// last: every layer already there is kept as it is, whatever its media type
// or annotations (another signer's, a keyless signature's certificate and
// bundle); the config is made again for all of them. Pure.
Result<CosignDocuments> AppendCosignLayer(std::string_view existing,
                                          const CosignManifestLayer& layer);

// A private key for cosign signatures, read from a file: PEM PKCS#8
// ("PRIVATE KEY", or "ENCRYPTED PRIVATE KEY" with the passphrase), the
// traditional "EC PRIVATE KEY" / "RSA PRIVATE KEY", or the encrypted key
// `cosign generate-key-pair` and `skopeo generate-sigstore-key` write
// ("ENCRYPTED SIGSTORE PRIVATE KEY" or "ENCRYPTED COSIGN PRIVATE KEY":
// scrypt, then NaCl secretbox, around PKCS#8 DER). ECDSA P-256, RSA
// (2048 bits or more) and Ed25519. Decrypted key bytes are wiped as soon as
// OpenSSL holds the key. An empty passphrase that is given is a
// passphrase (cosign makes keys with one); `passphrase_given` false means
// none was. Thread-safe after Load.
class SigstoreKey {
 public:
  static Result<std::unique_ptr<SigstoreKey>> Load(const std::string& path,
                                                   const Secret& passphrase,
                                                   bool passphrase_given);
  ~SigstoreKey();
  SigstoreKey(const SigstoreKey&) = delete;
  SigstoreKey& operator=(const SigstoreKey&) = delete;

  // The signature of `payload` (raw bytes: DER for ECDSA).
  Result<std::string> Sign(std::string_view payload) const;
  // Whether `signature` (raw bytes) is this key's over `payload`.
  bool Verify(std::string_view payload, std::string_view signature) const;
  // The public key as PEM ("PUBLIC KEY"), as `cosign public-key` prints it.
  std::string PublicKeyPem() const;
  // "sha256:<hex>" of the public key's DER: how reports name the key.
  const std::string& KeyId() const;

 private:
  struct State;
  explicit SigstoreKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// "sha256:<hex>" of the PEM public key's DER: the name SigstoreKey::KeyId
// gives the same key. kInvalidInput when it cannot be read.
Result<std::string> PublicKeyId(std::string_view public_pem);

// Whether `signature` (raw bytes) over `payload` verifies with the PEM
// public key `public_pem`. kInvalidInput when the key cannot be read.
Result<bool> VerifyWithPublicKey(std::string_view public_pem, std::string_view payload,
                                 std::string_view signature);

}  // namespace ppa
