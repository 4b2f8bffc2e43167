#include "importer/load/carry_signatures.h"

#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>

#include "docker_io/image/image_reference.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/signature_store.h"
#include "importer/load/sign_images.h"
#include "importer/load/warm_import.h"
#include "importer/report/report.h"

namespace ppa {
namespace {

// The digests whose signatures go with `item`: its own, and a list's
// platform images' (save files them under the list's repository).
std::vector<std::string> DigestsOf(const ItemResult& item) {
  std::vector<std::string> out = {item.digest};
  if (item.kind == ItemResult::Kind::kManifestList) {
    out.insert(out.end(), item.children.begin(), item.children.end());
  }
  return out;
}

// Adds `signature` for `digest` unless the store has the same bytes.
Result<SignatureResult> Carry(SignatureStore& store, const std::string& repository,
                              const std::string& reference, const std::string& digest,
                              const std::string& signature, bool dry_run) {
  SignatureResult result{.scheme = "simple-signing", .reference = reference, .digest = digest};
  PPA_ASSIGN_OR_RETURN(std::vector<StoredSignature> there, store.List(repository, digest));
  for (const StoredSignature& s : there) {
    if (s.bytes == signature) {
      result.added = false;
      result.stored = s.location;
      return result;
    }
  }
  if (dry_run) {
    result.stored = store.Describe();
    return result;
  }
  PPA_ASSIGN_OR_RETURN(result.stored, store.Add(repository, digest, signature));
  return result;
}

}  // namespace

void CarrySignatures(const std::string& root, std::vector<ItemResult>& items,
                     const Target& target, const std::string& registries_d, bool dry_run,
                     Reporter& reporter) {
  const std::string carried = root + "/signatures";
  struct stat st {};
  if (::lstat(carried.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  Result<RegistriesD> config = LoadRegistriesD(RegistriesDDirectory(registries_d));
  if (!config.ok()) {
    reporter.Failure(config.status().WithContext("registries.d, for the signatures the archive "
                                                 "carries"));
    return;
  }
  std::unique_ptr<SignatureStore> archive = MakeLookasideStore(carried);
  SignatureDestinations destinations(target, std::move(*config));
  const std::string location = target.sink().Locate("");
  for (ItemResult& item : items) {
    if (item.kind == ItemResult::Kind::kChart || !item.status.ok() || item.digest.empty()) {
      continue;
    }
    Result<ImageReference> name = ParseImageReference(item.name);
    auto split = SplitWarmTarget(item.target, location);
    if (!name.ok() || !split) continue;
    const std::string reference = ReferenceRepository(item.target);
    bool changed = false;
    for (const std::string& digest : DigestsOf(item)) {
      Result<std::vector<StoredSignature>> held = archive->List(name->path, digest);
      Result<SignatureStore*> store = destinations.For(item.target);
      Status status = held.ok() ? store.status() : held.status();
      for (size_t i = 0; status.ok() && i < held->size(); ++i) {
        Result<SignatureResult> done =
            Carry(**store, destinations.RepositoryFor(split->first, item.target), reference,
                  digest, (*held)[i].bytes, dry_run);
        if (!done.ok()) {
          status = done.status();
          break;
        }
        reporter.Result(reporter.Verb(done->added ? "Carried " : "Already there: ",
                                      "Would carry ") +
                        "a signature of " + reference + "@" + digest + " to " + done->stored);
        item.signatures.push_back(*done);
        changed = true;
      }
      if (!status.ok()) {
        item.status = status.WithContext("storing the signatures the archive carries of " +
                                         reference + "@" + digest);
        reporter.Failure(item.status.WithContext("'" + item.name + "'"));
        changed = true;
        break;
      }
    }
    if (changed) reporter.Amend(item);
  }
}

}  // namespace ppa
