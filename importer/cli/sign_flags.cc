#include "importer/cli/sign_flags.h"

#include "base/url_userinfo.h"
#include "importer/load/pipeline.h"

namespace ppa {

void AddSignFlags(CLI::App* load, SignOptions& options) {
  load->add_option("--sign-by", options.sign_by,
                   "Sign every image and list pushed with this OpenPGP key (simple signing, "
                   "GNUPGHOME's keyring)")
      ->type_name("FINGERPRINT");
  load->add_option("--sign-key", options.sign_key,
                   "Also sign with this private key file as cosign does (a tag sha256-<hex>.sig "
                   "per image; cosign, Kyverno and policy-controller verify it)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
  load->add_option("--sign-passphrase-file", options.passphrase_file,
                   "File whose first line is the signing key's passphrase (--sign-key: else "
                   "COSIGN_PASSWORD)")
      ->type_name("FILE");
  load->add_option("--sign-identity", options.identity,
                   "Registry and path the signatures name instead of --registry's (where "
                   "clusters pull from)")
      ->type_name("REGISTRY[/PREFIX]");
  load->add_option("--registries.d", options.registries_d,
                   "Directory of registries.d files saying where signatures go (default: "
                   "~/.config/containers/registries.d, else /etc/containers/registries.d)")
      ->type_name("DIR");
}

Status CheckSignUsage(const SignOptions& options) {
  if (!options.enabled()) {
    for (const auto& [flag, value] : {std::pair{"--sign-passphrase-file", &options.passphrase_file},
                                      std::pair{"--sign-identity", &options.identity}}) {
      if (!value->empty()) {
        return InvalidInput(std::string(flag) + " is given but no signing key",
                            "add --sign-by FINGERPRINT or --sign-key FILE, or drop " +
                                std::string(flag));
      }
    }
    return Status::Ok();
  }
  if (!options.identity.empty()) {
    auto address = ParseRegistryAddress(options.identity, false);
    if (!address.ok()) {
      return InvalidInput("--sign-identity '" + RedactUserInfo(options.identity) + "': " +
                              address.status().message(),
                          "give the registry and path clusters pull from: REGISTRY[/PREFIX]");
    }
    if (options.identity.find("://") != std::string::npos || !address->userinfo.empty()) {
      return InvalidInput("--sign-identity '" + RedactUserInfo(options.identity) +
                              "' takes no scheme or user info",
                          "give the registry and path clusters pull from: REGISTRY[/PREFIX]");
    }
  }
  return Status::Ok();
}

}  // namespace ppa
