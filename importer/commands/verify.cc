#include "importer/commands/verify.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "archive/tar/tar_index.h"
#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/sign/cosign.h"
#include "docker_io/sign/openpgp.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/signature_store.h"
#include "docker_io/sign/simple_signing.h"
#include "importer/cli/cli.h"
#include "importer/load/load_target.h"
#include "importer/load/sign_images.h"
#include "importer/load/warm_import.h"
#include "importer/report/display_text.h"

namespace ppa {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxPayloadBytes = 1 << 20;
// The signatures of one signature manifest verify reads, at most.
constexpr size_t kMaxCosignLayers = 64;

// The keys and policy of a run of verify, read once.
struct Verifier {
  const Target& target;
  std::unique_ptr<OpenPgpKeyring> gpg;  // --gpg-key, or a policy's signedBy keys
  std::vector<std::string> cosign_pems;  // --key
  std::optional<SignaturePolicy> policy;
  // A policy's keys: a keyring per signedBy requirement, PEMs per
  // sigstoreSigned one, in the policy's order (by address).
  std::map<const PolicyRequirement*, std::unique_ptr<OpenPgpKeyring>> policy_keyrings;
  std::map<const PolicyRequirement*, std::vector<std::string>> policy_pems;
  RegistriesD registries_d;

  // The simple signatures stored for `reference`'s manifest `digest`.
  Result<std::vector<StoredSignature>> SimpleSignatures(const std::string& repo,
                                                        const std::string& reference,
                                                        const std::string& digest) {
    auto client = target.registry();
    if (client && client->supports_signatures()) {
      return MakeRegistrySignatureStore(client)->List(repo, digest);
    }
    std::string url = "file://" + DefaultLookasideDirectory();
    if (auto configured = LookasideForReading(registries_d, reference)) url = *configured;
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
      return MakeHttpLookasideReader(target.transport(), url)->List(ReferencePath(reference),
                                                                    digest);
    }
    PPA_ASSIGN_OR_RETURN(std::string dir, LookasideDirectory(url));
    return MakeLookasideStore(dir)->List(ReferencePath(reference), digest);
  }

  // The fingerprint of a simple signature `keyring` verifies for the image
  // (reference, digest) under `rule`; "" when none does.
  Result<std::string> FindSimple(OpenPgpKeyring& keyring, const PolicyRequirement& rule,
                                 const std::string& repo, const std::string& reference,
                                 const std::string& digest) {
    PPA_ASSIGN_OR_RETURN(auto stored, SimpleSignatures(repo, reference, digest));
    for (const auto& sig : stored) {
      auto read = keyring.Verify(sig.bytes);
      if (!read.ok() || !read->valid) continue;
      auto claim = ParseAtomicSignaturePayload(read->payload);
      if (claim.ok() && claim->digest == digest &&
          IdentityMatches(rule, reference, claim->reference)) {
        return read->fingerprint;
      }
    }
    return std::string();
  }

  // The key digest of a cosign signature one of `pems` verifies for the
  // image (its repository and digest; `rule` for a policy); "" when none.
  // Layers are read one at a time, at most kMaxCosignLayers of them, each
  // payload at most kMaxPayloadBytes: a hostile signature manifest cannot
  // make verify hold more than one payload.
  Result<std::string> FindCosign(const std::vector<std::string>& pems,
                                 const PolicyRequirement* rule, const std::string& repo,
                                 const std::string& reference, const std::string& digest) {
    PPA_ASSIGN_OR_RETURN(auto manifest,
                         target.sink().ManifestBytes(repo, CosignSignatureTag(digest)));
    if (!manifest) return std::string();
    PPA_ASSIGN_OR_RETURN(auto layers, ParseCosignManifest(*manifest));
    auto client = target.registry();
    if (!client) return std::string();
    if (layers.size() > kMaxCosignLayers) layers.resize(kMaxCosignLayers);
    for (const auto& layer : layers) {
      auto signature = Base64Decode(layer.signature);
      if (!signature || layer.size > kMaxPayloadBytes) continue;
      std::string payload;
      Status got = client->GetBlob(repo, layer.digest, layer.size, [&](std::string_view data) {
        payload.append(data);
        return Status::Ok();
      });
      if (!got.ok()) continue;  // a missing or altered payload proves nothing
      auto claim = ParseCosignPayload(payload);
      if (!claim.ok() || claim->digest != digest) continue;
      bool identity = rule ? IdentityMatches(*rule, reference, claim->reference)
                           : claim->reference == ReferenceRepository(reference);
      if (!identity) continue;
      for (const auto& pem : pems) {
        auto ok = VerifyWithPublicKey(pem, payload, *signature);
        if (ok.ok() && *ok) {
          auto id = PublicKeyId(pem);
          return id.ok() ? *id : std::string("(unnamed key)");
        }
      }
    }
    return std::string();
  }

  // "" when the image passes; else why it fails. `proof`: what verified.
  Result<std::string> Check(const std::string& repo, const std::string& reference,
                            const std::string& digest, std::string& proof) {
    auto add = [&](const std::string& what) { proof += (proof.empty() ? "" : ", ") + what; };
    if (!policy) {
      static const PolicyRequirement kDefault{.type = PolicyRequirement::Type::kSignedBy};
      if (!cosign_pems.empty()) {
        PPA_ASSIGN_OR_RETURN(std::string key, FindCosign(cosign_pems, nullptr, repo, reference,
                                                         digest));
        if (key.empty()) return std::string("no cosign signature by the --key key(s) names it");
        add("cosign " + key);
      }
      if (gpg) {
        PPA_ASSIGN_OR_RETURN(std::string fpr, FindSimple(*gpg, kDefault, repo, reference, digest));
        if (fpr.empty()) return std::string("no simple signature by the --gpg-key key(s) names it");
        add("simple-signing " + fpr);
      }
      return std::string();
    }
    for (const PolicyRequirement& rule : RequirementsFor(*policy, reference)) {
      switch (rule.type) {
        case PolicyRequirement::Type::kAccept:
          add("accepted without a signature (insecureAcceptAnything)");
          break;
        case PolicyRequirement::Type::kReject:
          return std::string("the policy rejects it");
        case PolicyRequirement::Type::kSignedBy: {
          PPA_ASSIGN_OR_RETURN(std::string fpr, FindSimple(*policy_keyrings.at(&rule), rule, repo,
                                                           reference, digest));
          if (fpr.empty()) return std::string("no simple signature the policy's signedBy accepts");
          add("simple-signing " + fpr);
          break;
        }
        case PolicyRequirement::Type::kSigstoreSigned: {
          PPA_ASSIGN_OR_RETURN(std::string key, FindCosign(policy_pems.at(&rule), &rule, repo,
                                                           reference, digest));
          if (key.empty()) {
            return std::string("no cosign signature the policy's sigstoreSigned accepts");
          }
          add("cosign " + key);
          break;
        }
      }
    }
    return std::string();
  }
};

Result<std::string> ReadKeyFile(const std::string& path, const std::string& flag) {
  auto text = ReadSmallFile(path, 1 << 20);
  if (!text.ok()) return text.status().WithContext(flag);
  return text;
}

// Keys and policy, read before anything is connected: a bad file is exit 2.
Status LoadKeys(const VerifyOptions& options, Verifier& v) {
  for (const auto& path : options.cosign_keys) {
    PPA_ASSIGN_OR_RETURN(std::string pem, ReadKeyFile(path, "--key"));
    auto usable = VerifyWithPublicKey(pem, "", "");
    if (!usable.ok()) {
      return InvalidInput("--key '" + path + "' is no PEM public key",
                          "give the public half, as `cosign public-key` prints it");
    }
    v.cosign_pems.push_back(std::move(pem));
  }
  if (!options.gpg_keys.empty()) {
    PPA_ASSIGN_OR_RETURN(v.gpg, OpenPgpKeyring::Create());
    for (const auto& path : options.gpg_keys) {
      PPA_ASSIGN_OR_RETURN(std::string data, ReadKeyFile(path, "--gpg-key"));
      auto imported = v.gpg->Import(data);
      if (!imported.ok()) {
        return InvalidInput("--gpg-key '" + path + "': " + imported.status().message(),
                            "export it with: gpg --export FINGERPRINT > FILE");
      }
    }
  }
  if (!options.policy.empty()) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadKeyFile(options.policy, "--policy"));
    auto policy = ParseSignaturePolicy(text);
    if (!policy.ok()) return policy.status().WithContext("--policy '" + options.policy + "'");
    v.policy = std::move(*policy);
    std::vector<const std::vector<PolicyRequirement>*> lists = {&v.policy->default_requirements};
    for (const auto& [scope, list] : v.policy->docker) lists.push_back(&list);
    for (const auto* list : lists) {
      for (const PolicyRequirement& rule : *list) {
        std::vector<std::string> keys = rule.key_data;
        for (const auto& path : rule.key_paths) {
          PPA_ASSIGN_OR_RETURN(std::string data, ReadKeyFile(path, "--policy key"));
          keys.push_back(std::move(data));
        }
        if (rule.type == PolicyRequirement::Type::kSignedBy) {
          PPA_ASSIGN_OR_RETURN(auto keyring, OpenPgpKeyring::Create());
          for (const auto& k : keys) {
            auto imported = keyring->Import(k);
            if (!imported.ok()) return imported.status().WithContext("--policy signedBy key");
          }
          v.policy_keyrings[&rule] = std::move(keyring);
        } else if (rule.type == PolicyRequirement::Type::kSigstoreSigned) {
          for (const auto& k : keys) {
            if (!VerifyWithPublicKey(k, "", "").ok()) {
              return InvalidInput("--policy: a sigstoreSigned key is no PEM public key",
                                  "give the public key as `cosign public-key` prints it");
            }
          }
          v.policy_pems[&rule] = keys;
        }
      }
    }
  }
  return Status::Ok();
}

// The images an import of `options.archive` stores: a dry run of it, its
// report read back.
Result<std::vector<ExpectedImage>> ExpectedImagesOfArchive(const VerifyOptions& options,
                                                           std::ostream& err) {
  // The dry run's report goes to a private temporary folder.
  std::string tmpl = (std::filesystem::temp_directory_path() / "ppa-import-verify-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoError("cannot create", tmpl, errno);
  struct Remove {
    std::string dir;
    ~Remove() { (void)RemoveTree(dir); }
  } remove{tmpl};
  LoadOptions load;
  load.selection.archives = {options.archive};
  load.target = options.target;
  load.images = options.images;
  load.work.workdir = options.workdir;
  load.report.json_reports = {tmpl + "/report.json"};
  load.report.quiet = true;
  load.dry_run = true;
  std::ostream discard(nullptr);
  int code = RunLoad(load, discard, err);
  auto text = ReadSmallFile(tmpl + "/report.json", 64 << 20);
  if (!text.ok()) return text.status();
  if (code != kExitOk) {
    return InvalidInput("a dry run of '" + options.archive + "' failed (exit " +
                            std::to_string(code) + ", above): its images cannot be known",
                        "run `ppa-import load --dry-run` on it to see why, or verify the JSON "
                        "report of the import with --report");
  }
  return ExpectedImagesOfReport(*text);
}

}  // namespace

Result<std::vector<ExpectedImage>> ExpectedImagesOfReport(std::string_view text) {
  try {
    Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || !doc.value("archives", Json()).is_array()) {
      return InvalidInput("not a ppa-import JSON report (no 'archives' list)",
                          "give the file `ppa-import load --json FILE` wrote");
    }
    std::vector<ExpectedImage> out;
    for (const auto& archive : doc["archives"]) {
      if (!archive.is_object() || !archive.value("images", Json()).is_array()) continue;
      for (const auto& image : archive["images"]) {
        if (!image.is_object()) continue;
        const Json target = image.value("target", Json());
        const Json digest = image.value("manifest_digest", Json());
        const Json name = image.value("name", Json());
        const std::string shown = target.is_string() && !target.get<std::string>().empty()
                                      ? target.get<std::string>()
                                  : name.is_string() ? name.get<std::string>()
                                                     : std::string("(unnamed)");
        if (image.value("status", Json()) != "ok" || !digest.is_string() ||
            !target.is_string()) {
          // What the import did not store cannot pass.
          const Json error = image.value("error", Json());
          out.push_back({.target = shown,
                         .failure = "the import failed it" +
                                    (error.is_string() ? ": " + error.get<std::string>()
                                                       : std::string())});
          continue;
        }
        out.push_back({.target = shown, .digest = digest});
      }
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return InvalidInput(std::string("not a ppa-import JSON report") + std::string(": ") + e.what());
  }
}

int RunVerify(const VerifyOptions& options, std::ostream& out, std::ostream& err) {
  auto usage = [&](const Status& s) {
    PrintError(err, s);
    return kExitUsage;
  };
  if (options.archive.empty() == options.report.empty()) {
    return usage(InvalidInput("verify needs an ARCHIVE or --report FILE (one of them)",
                              "ppa-import verify ARCHIVE --registry HOST --namespace NS --key "
                              "cosign.pub, or --report last-run.json instead of ARCHIVE"));
  }
  if (options.cosign_keys.empty() && options.gpg_keys.empty() && options.policy.empty()) {
    return usage(InvalidInput("verify needs what to trust: --key, --gpg-key or --policy",
                              "--key FILE (a cosign public key), --gpg-key FILE (gpg --export), "
                              "or --policy /etc/containers/policy.json"));
  }
  if (!options.policy.empty() && !(options.cosign_keys.empty() && options.gpg_keys.empty())) {
    return usage(InvalidInput("--policy and --key/--gpg-key exclude each other",
                              "the policy names its keys; give one or the other"));
  }
  std::vector<ExpectedImage> expected;
  if (!options.report.empty()) {
    auto text = ReadSmallFile(options.report, 64 << 20);
    if (!text.ok()) return usage(text.status().WithContext("--report"));
    auto images = ExpectedImagesOfReport(*text);
    if (!images.ok()) return usage(images.status().WithContext("--report '" + options.report + "'"));
    expected = std::move(*images);
  }
  Reporter quiet(out, err, /*quiet=*/true);
  LoadOptions load;
  load.target = options.target;
  load.work.workdir = options.workdir;
  load.dry_run = true;  // the target is only read
  const std::string& registry = options.target.registry;
  if (registry.empty() || (registry.rfind("oci:", 0) == 0 && registry.rfind("oci://", 0) != 0)) {
    return usage(InvalidInput("verify checks a registry: no --registry HOST is given",
                              "pass --registry HOST[:PORT][/PREFIX] (or PPA_IMPORT_REGISTRY); "
                              "an OCI image layout is not verified"));
  }
  auto target = OpenLoadTarget(load, quiet);
  if (!target.ok()) {
    PrintError(err, target.status());
    return target.status().code() == StatusCode::kInvalidInput ? kExitUsage : kExitItemFailed;
  }
  Verifier v{.target = **target};
  if (Status keys = LoadKeys(options, v); !keys.ok()) return usage(keys);
  auto config = LoadRegistriesD(RegistriesDDirectory(options.registries_d));
  if (!config.ok()) return usage(config.status().WithContext("registries.d"));
  v.registries_d = std::move(*config);
  if (!options.archive.empty()) {
    auto images = ExpectedImagesOfArchive(options, err);
    if (!images.ok()) {
      PrintError(err, images.status());
      return kExitItemFailed;
    }
    expected = std::move(*images);
  }
  // Cosign's artifacts (sha256-<hex>.sig tags), loaded with the images
  // they belong to, are no images to verify.
  std::erase_if(expected, [](const ExpectedImage& e) { return IsCosignAttachment(e.target); });
  const std::string location = (*target)->sink().Locate("");
  out << "Verifying " << expected.size() << " image(s) in " << (*target)->Describe() << "..."
      << std::endl;
  int failed = 0;
  for (const auto& image : expected) {
    auto fail = [&](const std::string& why) {
      ++failed;
      out << "FAILED  " << DisplayLine(image.target) << ": " << DisplayLine(why) << std::endl;
    };
    if (!image.failure.empty()) {
      fail(image.failure);
      continue;
    }
    auto split = SplitWarmTarget(image.target, location);
    if (!split) {
      fail("not in " + (*target)->Describe());
      continue;
    }
    const auto& [repo, ref] = *split;
    auto held = (*target)->sink().TaggedManifest(repo, ref);
    if (!held.ok()) {
      fail(held.status().message());
      continue;
    }
    if (!*held) {
      fail("not in the registry");
      continue;
    }
    if (**held != image.digest) {
      fail("the registry holds " + **held + ", expected " + image.digest);
      continue;
    }
    // The name the signatures give the image: where it is, or with
    // --sign-identity where clusters pull it from (as load signed it).
    std::string name = location + repo;
    if (!options.identity.empty()) {
      const std::string& prefix = (*target)->prefix();
      std::string below = repo;
      if (!prefix.empty() && below.rfind(prefix + "/", 0) == 0) below.erase(0, prefix.size() + 1);
      name = options.identity + "/" + below;
    }
    const std::string reference =
        ref.rfind("sha256:", 0) == 0 ? name + "@" + ref : name + ":" + ref;
    std::string proof;
    auto why = v.Check(repo, reference, image.digest, proof);
    if (!why.ok()) {
      fail(why.status().message());
    } else if (!why->empty()) {
      fail(*why);
    } else {
      out << "OK      " << DisplayLine(image.target) << " " << image.digest << ": " << proof
          << std::endl;
    }
  }
  out << expected.size() - failed << " image(s) verified, " << failed << " failed." << std::endl;
  if (expected.empty()) {
    // Nothing verified is no pass: a gate must not open on an empty list.
    PrintError(err, NotFound("no image to verify: the import stored none",
                             "check the report or the archive; verify only passes images it "
                             "checked"));
    return kExitItemFailed;
  }
  return failed == 0 ? kExitOk : kExitItemFailed;
}

}  // namespace ppa
