// SignatureStore: where the simple-signing signatures of a target's images
// are kept, the one seam every signature write goes through. Two stores,
// chosen as containers/image chooses (docker_io/sign/registries_d.h):
//  - the registry itself, when it advertises the signature API extension
//    (RegistryClient::supports_signatures);
//  - else a lookaside directory, laid out as skopeo lays it out:
//      <dir>/<repository>@sha256=<hex>/signature-1, signature-2, ...
//    (the repository without the registry host), ready to be served over
//    HTTP as the `lookaside` URL verifiers read.
// Thread-safe: several images may be signed at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "docker_io/registry/registry_client.h"

namespace ppa {

// A signature as stored, and where.
struct StoredSignature {
  std::string bytes;
  std::string location;  // a file, or the registry's URL of it
};

class SignatureStore {
 public:
  virtual ~SignatureStore() = default;
  // The signatures stored for manifest `digest` of `repository` (without
  // the registry host), in order.
  virtual Result<std::vector<StoredSignature>> List(const std::string& repository,
                                                    const std::string& digest) = 0;
  // Adds `signature`; returns where it went ("/srv/sigs/ns/app@sha256=.../signature-2").
  virtual Result<std::string> Add(const std::string& repository, const std::string& digest,
                                  const std::string& signature) = 0;
  // Where this store keeps signatures, for messages: "lookaside /srv/sigs".
  virtual std::string Describe() const = 0;
};

// A lookaside directory (an absolute path). Directories are made as needed
// (0755) and signatures written 0644 (they are public); a signature file is
// never replaced: a new one takes the next free number.
std::unique_ptr<SignatureStore> MakeLookasideStore(std::string dir);

// The registry's signature API extension, through `client`.
std::unique_ptr<SignatureStore> MakeRegistrySignatureStore(std::shared_ptr<RegistryClient> client);

// A lookaside served over HTTP(S) (registries.d `lookaside: https://...`),
// for reading only: List fetches signature-1, signature-2, ... until a 404.
// Add is kUnsupported.
std::unique_ptr<SignatureStore> MakeHttpLookasideReader(std::shared_ptr<HttpTransport> transport,
                                                        std::string base_url);

// The path of signature `index` (1-based) of `digest` below `dir`. Pure.
std::string LookasidePath(const std::string& dir, const std::string& repository,
                          const std::string& digest, int index);

}  // namespace ppa
