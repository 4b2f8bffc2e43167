// A private GnuPG keyring for signing tests: a fresh GNUPGHOME in a
// temporary folder, keys made by the real `gpg` (ed25519, signing only,
// optionally passphrase-protected), their public halves exported for
// verifiers (skopeo's `signedBy` keyPath). The destructor stops the
// keyring's gpg-agent and removes the folder. Not thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tests/support/process.h"

namespace ppa::test {

class TestKeyring {
 public:
  TestKeyring();
  ~TestKeyring();
  TestKeyring(const TestKeyring&) = delete;
  TestKeyring& operator=(const TestKeyring&) = delete;

  // Makes a signing key for `email`; returns its fingerprint. An empty
  // passphrase makes an unprotected key.
  Result<std::string> AddKey(const std::string& email, const std::string& passphrase);
  // Writes the public key `fingerprint` (binary) to `path`.
  Status ExportPublic(const std::string& fingerprint, const std::string& path);
  // GNUPGHOME, for the programs the test runs.
  const std::string& home() const { return home_; }
  std::map<std::string, std::string> env() const { return {{"GNUPGHOME", home_}}; }
  // Runs gpg with this keyring (--batch added).
  ProcessResult Gpg(const std::vector<std::string>& args,
                    const std::optional<std::string>& stdin_data = std::nullopt) const;

 private:
  TempDir dir_{"ppa-gnupg"};
  std::string home_;
};

// skopeo copy `ref` (docker://...) to a `dir:` folder under the signature
// policy `policy_json` (the file's text) and the registries.d folder
// `registries_d` ("" for none): OK when skopeo accepted the image's
// signatures, else the error skopeo printed.
Status SkopeoCopyWithPolicy(const std::string& ref, const std::string& policy_json,
                            const std::string& registries_d, bool all = false);

// A policy.json that requires, for every image read, a simple-signing
// signature by the key in `key_path` (GPGKeys), with the default identity
// rule (matchRepoDigestOrExact).
std::string SignedByPolicy(const std::string& key_path);

}  // namespace ppa::test
