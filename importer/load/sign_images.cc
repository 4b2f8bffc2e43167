#include "importer/load/sign_images.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "base/mutex.h"
#include "base/secret.h"
#include "base/thread_annotations.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/image/media_types.h"
#include "docker_io/sign/cosign.h"
#include "docker_io/sign/openpgp.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/signature_store.h"
#include "docker_io/sign/simple_signing.h"
#include "importer/load/warm_import.h"

namespace ppa {

std::string ReferencePath(const std::string& reference) {
  std::string name = ReferenceRepository(reference);
  size_t slash = name.find('/');
  return slash == std::string::npos ? "" : name.substr(slash + 1);
}

std::vector<SignTask> PlanSignatures(const std::vector<ItemResult>& items,
                                     const std::string& location, const std::string& prefix,
                                     const std::string& identity) {
  std::vector<SignTask> tasks;
  std::set<std::string> image_digests;
  std::set<std::string> list_children;  // signed under their list's reference
  for (const auto& item : items) {
    if (item.kind == ItemResult::Kind::kImage && item.status.ok()) {
      image_digests.insert(item.digest);
    }
    if (item.kind == ItemResult::Kind::kManifestList && item.status.ok()) {
      list_children.insert(item.children.begin(), item.children.end());
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const ItemResult& item = items[i];
    if (item.kind == ItemResult::Kind::kChart || !item.status.ok() || item.digest.empty() ||
        IsCosignAttachment(item.target)) {
      continue;
    }
    auto split = SplitWarmTarget(item.target, location);
    if (!split) continue;
    const auto& [repo, ref] = *split;
    // A platform image pushed by digest is signed as its list's child.
    if (ref.rfind("sha256:", 0) == 0 && list_children.count(item.digest)) continue;
    std::string name;
    if (identity.empty()) {
      name = location + repo;
    } else {
      std::string below = repo;
      if (!prefix.empty() && below.rfind(prefix + "/", 0) == 0) below.erase(0, prefix.size() + 1);
      name = identity + "/" + below;
    }
    // By digest only: the signature names the repository.
    const std::string reference = ref.rfind("sha256:", 0) == 0 ? name : name + ":" + ref;
    tasks.push_back({.reference = reference, .digest = item.digest, .repository = repo, .item = i});
    if (item.kind != ItemResult::Kind::kManifestList) continue;
    for (const std::string& child : item.children) {
      if (image_digests.count(child) == 0) continue;  // an attestation
      tasks.push_back({.reference = reference, .digest = child, .repository = repo, .item = i});
    }
  }
  return tasks;
}

namespace {

// The passphrase of --sign-passphrase-file; else, when `env` names one that
// is set, that variable's value (cosign's COSIGN_PASSWORD). `*given` says
// whether one was (an empty one is a passphrase too).
Result<Secret> SigningPassphrase(const SignOptions& options, const char* env, bool* given) {
  *given = true;
  if (!options.passphrase_file.empty()) {
    auto read = ReadSecretFile(options.passphrase_file);
    if (!read.ok()) {
      return read.status().WithContext("--sign-passphrase-file").WithHint(
          "give a readable file whose first line is the key's passphrase");
    }
    return read;
  }
  const char* value = env != nullptr ? std::getenv(env) : nullptr;
  *given = value != nullptr;
  return value != nullptr ? Secret(std::string(value)) : Secret();
}

}  // namespace

Result<std::unique_ptr<SigstoreKey>> OpenCosignKey(const SignOptions& options) {
  bool given = false;
  PPA_ASSIGN_OR_RETURN(Secret passphrase, SigningPassphrase(options, "COSIGN_PASSWORD", &given));
  return SigstoreKey::Load(options.sign_key, passphrase, given);
}

Result<std::unique_ptr<OpenPgpKey>> OpenSigningKey(const SignOptions& options) {
  bool given = false;
  PPA_ASSIGN_OR_RETURN(Secret passphrase, SigningPassphrase(options, nullptr, &given));
  PPA_ASSIGN_OR_RETURN(auto key, OpenPgpKey::Open(options.sign_by, std::move(passphrase)));
  PPA_RETURN_IF_ERROR(key->CheckPassphrase());
  return key;
}

Result<std::string> LookasideDirFor(const RegistriesD& config, const std::string& reference,
                                    const std::string& fallback) {
  auto url = LookasideForWriting(config, reference);
  if (!url) return fallback;
  return LookasideDirectory(*url);
}

SignatureDestinations::SignatureDestinations(const Target& target, RegistriesD config)
    : config_(std::move(config)),
      default_lookaside_(target.is_registry() ? DefaultLookasideDirectory()
                                              : target.layout_dir() + ".sigstore") {
  if (target.is_registry() && target.registry() && target.registry()->supports_signatures()) {
    registry_ = MakeRegistrySignatureStore(target.registry());
  }
}

SignatureDestinations::~SignatureDestinations() = default;

Result<std::string> SignatureDestinations::LookasideFor(const std::string& reference) const {
  return LookasideDirFor(config_, reference, default_lookaside_);
}

Result<SignatureStore*> SignatureDestinations::For(const std::string& reference) {
  if (registry_) return registry_.get();
  PPA_ASSIGN_OR_RETURN(std::string dir, LookasideFor(reference));
  MutexLock lock(&mu_);
  auto& store = lookasides_[dir];
  if (!store) store = MakeLookasideStore(dir);
  return store.get();
}

std::string SignatureDestinations::RepositoryFor(const std::string& repository,
                                                 const std::string& reference) const {
  return registry_ ? repository : ReferencePath(reference);
}

Status CheckLookasideWritable(const std::string& dir, const std::string& registries_d) {
  std::string existing = dir;
  while (existing.size() > 1 && access(existing.c_str(), F_OK) != 0) {
    existing = existing.substr(0, std::max<size_t>(1, existing.rfind('/')));
  }
  if (access(existing.c_str(), W_OK) != 0) {
    return IoError("lookaside '" + dir + "' is not writable ('" + existing +
                       "': " + std::strerror(errno) + ")",
                   "make it writable for this user, or set lookaside-staging: file:///DIR for "
                   "the registry in " + registries_d + " (--registries.d)");
  }
  return Status::Ok();
}

struct ImageSigner::State {
  std::unique_ptr<OpenPgpKey> key;        // --sign-by; may be null
  std::unique_ptr<SigstoreKey> cosign;    // --sign-key; may be null
  // Looking for an equal signature and adding one are one step: archives
  // imported at once that hold the same image must not both add theirs.
  // (Signing itself is serial anyway: gpg signs one message at a time.)
  Mutex cosign_mu;  // one append to a signature manifest at a time
  Mutex simple_mu;  // one look-then-add of a simple signature at a time
  const Target* target = nullptr;
  SignOptions options;
  bool dry_run = false;
  std::unique_ptr<SignatureDestinations> destinations;

  // The repository a store files the signature of `task` under.
  std::string StoredRepository(const SignTask& task) const {
    return destinations->RepositoryFor(task.repository, task.reference);
  }

  // The signature by this key over the same claim among `stored`, if any.
  std::optional<std::string> FindOurs(const std::vector<StoredSignature>& stored,
                                      const SignedClaim& claim) {
    for (const auto& sig : stored) {
      auto read = key->Verify(sig.bytes);
      if (!read.ok() || !read->valid || !key->Owns(read->fingerprint)) continue;
      auto found = ParseAtomicSignaturePayload(read->payload);
      if (found.ok() && found->reference == claim.reference && found->digest == claim.digest) {
        return sig.location;
      }
    }
    return std::nullopt;
  }

  // A cosign signature of `task`, appended to the manifest tagged
  // sha256-<hex>.sig in the image's repository (made when there is none).
  // The payload has no timestamp, so the same claim is the same payload:
  // a layer with its digest whose signature this key verifies is ours.
  Result<SignatureResult> SignCosign(const SignTask& task) {
    const std::string repository = ReferenceRepository(task.reference);
    const std::string tag = CosignSignatureTag(task.digest);
    BlobSink& sink = target->sink();
    SignatureResult result{.scheme = "cosign",
                           .reference = repository,
                           .digest = task.digest,
                           .key = cosign->KeyId(),
                           .stored = sink.Locate(task.repository) + ":" + tag};
    if (dry_run) return result;
    const std::string payload = CosignPayload({.reference = repository, .digest = task.digest});
    const std::string payload_digest = Sha256Digest(payload);
    MutexLock lock(&cosign_mu);
    PPA_ASSIGN_OR_RETURN(auto existing, sink.ManifestBytes(task.repository, tag));
    std::vector<CosignManifestLayer> layers;
    if (existing) {
      PPA_ASSIGN_OR_RETURN(layers, ParseCosignManifest(*existing));
    }
    for (const auto& layer : layers) {
      auto signature = Base64Decode(layer.signature);
      if (layer.digest == payload_digest && signature && cosign->Verify(payload, *signature)) {
        result.added = false;
        return result;
      }
    }
    PPA_ASSIGN_OR_RETURN(std::string signature, cosign->Sign(payload));
    PPA_RETURN_IF_ERROR(sink.PutBlobBytes(task.repository, payload_digest, payload));
    PPA_ASSIGN_OR_RETURN(CosignDocuments docs,
                         AppendCosignLayer(existing ? *existing : std::string(),
                                           {.digest = payload_digest,
                                            .size = payload.size(),
                                            .signature = Base64Encode(signature)}));
    PPA_RETURN_IF_ERROR(sink.PutBlobBytes(task.repository, Sha256Digest(docs.config), docs.config));
    PPA_RETURN_IF_ERROR(sink.PutManifest(task.repository, tag,
                                         std::string(media_types::kOciManifest), docs.manifest)
                            .status());
    return result;
  }

  Result<SignatureResult> Sign(const SignTask& task) {
    SignatureResult result{.scheme = "simple-signing",
                           .reference = task.reference,
                           .digest = task.digest,
                           .key = key->fingerprint()};
    PPA_ASSIGN_OR_RETURN(SignatureStore * store, destinations->For(task.reference));
    const std::string repository = StoredRepository(task);
    if (dry_run) {
      result.stored = store->Describe();
      return result;
    }
    const SignedClaim claim{.reference = task.reference, .digest = task.digest};
    MutexLock lock(&simple_mu);
    PPA_ASSIGN_OR_RETURN(auto stored, store->List(repository, task.digest));
    if (auto found = FindOurs(stored, claim)) {
      result.stored = *found;
      result.added = false;
      return result;
    }
    const std::string payload = AtomicSignaturePayload(
        claim, std::string("ppa-import ") + PPA_IMPORT_VERSION, static_cast<int64_t>(time(nullptr)));
    PPA_ASSIGN_OR_RETURN(std::string signature, key->Sign(payload));
    PPA_ASSIGN_OR_RETURN(result.stored, store->Add(repository, task.digest, signature));
    return result;
  }
};

ImageSigner::ImageSigner(std::unique_ptr<State> state) : state_(std::move(state)) {}
ImageSigner::~ImageSigner() = default;

Result<std::unique_ptr<ImageSigner>> ImageSigner::Open(const SignOptions& options,
                                                       const Target& target,
                                                       const std::string& options_namespace,
                                                       bool dry_run) {
  auto state = std::make_unique<State>();
  state->target = &target;
  state->options = options;
  state->dry_run = dry_run;
  if (!target.is_registry() && options.identity.empty()) {
    return InvalidInput("signing into an OCI image layout needs --sign-identity",
                        "pass --sign-identity REGISTRY[/PREFIX]: where clusters will pull the "
                        "images from once the layout is copied there");
  }
  if (!options.sign_by.empty()) {
    PPA_ASSIGN_OR_RETURN(state->key, OpenSigningKey(options));
  }
  if (!options.sign_key.empty()) {
    PPA_ASSIGN_OR_RETURN(state->cosign, OpenCosignKey(options));
  }
  const std::string dir = RegistriesDDirectory(options.registries_d);
  auto config = LoadRegistriesD(dir);
  if (!config.ok()) {
    return config.status().WithContext("registries.d").WithHint(
        "fix the file, or point --registries.d at another directory");
  }
  state->destinations = std::make_unique<SignatureDestinations>(target, std::move(*config));
  // Where this namespace's simple signatures go must take them: found now,
  // not after the images are pushed (a web-only lookaside, a folder this
  // user cannot write).
  if (state->key && !state->destinations->in_registry() && !dry_run) {
    const std::string probe =
        (options.identity.empty() ? target.sink().Locate("") : options.identity + "/") +
        (options.identity.empty() && !target.prefix().empty() ? target.prefix() + "/" : "") +
        options_namespace + "/ppa-import:probe";
    PPA_ASSIGN_OR_RETURN(std::string lookaside, state->destinations->LookasideFor(probe));
    PPA_RETURN_IF_ERROR(CheckLookasideWritable(lookaside, dir));
  }
  return std::unique_ptr<ImageSigner>(new ImageSigner(std::move(state)));
}

std::string ImageSigner::DescribeKey() const {
  std::string keys;
  if (state_->key) keys = "OpenPGP key " + state_->key->fingerprint();
  if (state_->cosign) {
    keys += (keys.empty() ? "" : " and ") + std::string("cosign key ") + state_->cosign->KeyId();
  }
  return keys;
}

void ImageSigner::SignItems(std::vector<ItemResult>& items, Reporter& reporter) {
  const Target& target = *state_->target;
  std::vector<SignTask> tasks = PlanSignatures(items, target.sink().Locate(""), target.prefix(),
                                               state_->options.identity);
  std::set<size_t> changed;
  for (const SignTask& task : tasks) {
    ItemResult& item = items[task.item];
    if (!item.status.ok()) continue;  // an earlier signature of it failed
    changed.insert(task.item);
    for (bool cosign : {false, true}) {
      if (!item.status.ok() || !(cosign ? state_->cosign != nullptr : state_->key != nullptr)) {
        continue;
      }
      auto signed_ = cosign ? state_->SignCosign(task) : state_->Sign(task);
      if (!signed_.ok()) {
        item.status = signed_.status().WithContext("signing '" + task.reference + "' (" +
                                                   task.digest + ")");
        reporter.Failure(item.status.WithContext("'" + item.name + "'"));
        continue;
      }
      const SignatureResult& sig = *signed_;
      reporter.Result(reporter.Verb(sig.added ? "Signed " : "Already signed ", "Would sign ") +
                      sig.reference + "@" + task.digest + " (" + sig.scheme + ")" +
                      (reporter.dry_run() ? " into " : ": ") + sig.stored);
      item.signatures.push_back(sig);
    }
  }
  for (size_t i : changed) reporter.Amend(items[i]);
}

}  // namespace ppa
