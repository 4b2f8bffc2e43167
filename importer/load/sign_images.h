// The Signing stage: once an archive's images are in the target (pushed, or
// found there by a warm re-import), each stored image and manifest list,
// and each platform image of a list, gets a simple-signing signature
// (docker_io/sign/) naming its reference and digest. README, "Signing".
//
//  - What is signed: "host/repo:tag" (or "host/repo" for an image stored by
//    digest only) with the manifest digest the target holds; a list's
//    platform images are signed under the list's reference too.
//  - Where: the registry, when it advertises the signature API extension;
//    else the lookaside directory registries.d gives for the reference
//    (lookaside-staging, then lookaside), else containers/image's default.
//  - Never twice: a signature by the same key over the same reference and
//    digest already there is reported, not added again.
//  - A signing failure fails its item (exit 1): an image is never left
//    "OK" and unsigned when signing was asked for.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/target/target.h"
#include "importer/load/load_options.h"
#include "importer/report/report.h"

namespace ppa {

// A signature to make: what it names, and the repository it is stored for.
struct SignTask {
  std::string reference;   // docker-reference: "host[:port]/repo[:tag]"
  std::string digest;      // the manifest digest
  std::string repository;  // the target's repository (for the registry's API)
  size_t item = 0;         // index of the item it belongs to
};

// The signatures `items` need, in order: each stored image and list, then
// a list's platform images (its `children` that are images of `items`;
// attestations are not signed). `location` is the target's Locate("")
// ("host:port/" or "oci:DIR:"); when `identity` is not empty it replaces
// the host and the target's path `prefix` in every reference. Items that
// failed or are charts get none. Pure.
std::vector<SignTask> PlanSignatures(const std::vector<ItemResult>& items,
                                     const std::string& location, const std::string& prefix,
                                     const std::string& identity);

// The repository path of a reference, as a lookaside stores it: without
// the host, the tag or the digest ("host:5000/ns/app:1" -> "ns/app"). Pure.
std::string ReferencePath(const std::string& reference);

class OpenPgpKey;
class SigstoreKey;
struct RegistriesD;

// Opens the key of --sign-by with the passphrase of --sign-passphrase-file
// and signs a throwaway payload with it: a missing key or a wrong or
// missing passphrase fails here (kInvalidInput, kNotFound, kUnsupported),
// with a hint. Shared by `load` and `doctor`.
Result<std::unique_ptr<OpenPgpKey>> OpenSigningKey(const SignOptions& options);

// Reads the key of --sign-key, decrypted with --sign-passphrase-file or
// COSIGN_PASSWORD (an empty one is a passphrase too). Shared by `load` and
// `doctor`.
Result<std::unique_ptr<SigstoreKey>> OpenCosignKey(const SignOptions& options);

// The lookaside directory signatures of `reference` are written to: the
// file:// URL registries.d gives for it, else `fallback`.
Result<std::string> LookasideDirFor(const RegistriesD& config, const std::string& reference,
                                    const std::string& fallback);

// Whether signatures can be written below `dir`: the deepest folder of it
// that exists must be writable by this user (the rest is made). IoError
// naming the folder and why, with a hint, otherwise.
Status CheckLookasideWritable(const std::string& dir, const std::string& registries_d);

class SignatureStore;

// Where a target keeps the simple signatures of its images, as
// containers/image decides: the registry's signature API when it offers
// one, else the lookaside registries.d names for the image (file:// only),
// else containers/image's default folder (an OCI layout: <layout>.sigstore).
// Shared by signing (ImageSigner) and by the signatures a saved archive
// carries (importer/load/carry_signatures.h). Thread-safe.
class SignatureDestinations {
 public:
  SignatureDestinations(const Target& target, RegistriesD config);
  ~SignatureDestinations();
  // The store of `reference`'s signatures.
  Result<SignatureStore*> For(const std::string& reference);
  // The repository a store files them under: `repository` (below the
  // host) for the registry's API, else `reference`'s path.
  std::string RepositoryFor(const std::string& repository, const std::string& reference) const;
  // The lookaside folder of `reference` (none when the registry keeps them).
  Result<std::string> LookasideFor(const std::string& reference) const;
  bool in_registry() const { return registry_ != nullptr; }

 private:
  RegistriesD config_;
  std::string default_lookaside_;
  std::unique_ptr<SignatureStore> registry_;  // the registry's API extension, when offered
  Mutex mu_;
  std::map<std::string, std::unique_ptr<SignatureStore>> lookasides_ GUARDED_BY(mu_);  // by dir
};

class ImageSigner {
 public:
  // Opens the signing key from the keyring and signs a throwaway payload
  // with it, so a missing key or a wrong passphrase stops the run before
  // anything is pushed; reads registries.d. kInvalidInput for a flag
  // problem (exit 2), another code otherwise. The passphrase is read here
  // and kept only in wiped memory. The lookaside simple signatures go to
  // must be writable.
  // `target_namespace`: where the images go below the target (the
  // lookaside of its scope is checked for writing).
  static Result<std::unique_ptr<ImageSigner>> Open(const SignOptions& options,
                                                   const Target& target,
                                                   const std::string& target_namespace,
                                                   bool dry_run);
  ~ImageSigner();
  ImageSigner(const ImageSigner&) = delete;
  ImageSigner& operator=(const ImageSigner&) = delete;

  // Signs what `items` need (PlanSignatures), adding each SignatureResult
  // to its item; a failure becomes the item's status and is reported at
  // once. Each changed item is amended in `reporter`. Thread-safe: archives
  // imported in parallel sign at once.
  void SignItems(std::vector<ItemResult>& items, Reporter& reporter);

  // "OpenPGP key <fingerprint>", for lines and doctor.
  std::string DescribeKey() const;

 private:
  struct State;
  explicit ImageSigner(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ppa
