// OpenPgpKey: the seam to GnuPG (through GPGME, the library skopeo and podman
// sign with). Signs simple-signing payloads as opaque OpenPGP messages, as
// containers-signature(5) requires, and reads such messages back.
//
// Keys come from the keyring of GNUPGHOME (default ~/.gnupg), as for gpg.
// The passphrase is handed to gpg-agent through GPGME's loopback mode, so
// no pinentry ever prompts (a batch job has no terminal) and nothing is
// written to disk; a protected key without a passphrase fails at once.
//
// Thread-safety: every method may be called from any thread; calls are
// serialised (one GPGME context per key).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/secret.h"
#include "base/status.h"

namespace ppa {

// A message read back by Verify.
struct VerifiedMessage {
  std::string payload;      // the signed bytes
  std::string fingerprint;  // of the (sub)key that made the signature
  bool valid = false;       // a good signature by a key of the keyring
};

class OpenPgpKey {
 public:
  // Finds the secret key `key_id` (a fingerprint, or what gpg accepts) in
  // the keyring and checks it can sign: not expired, revoked or disabled.
  // The passphrase may be empty (an unprotected key). Nothing is signed yet
  // (CheckPassphrase does that).
  static Result<std::unique_ptr<OpenPgpKey>> Open(const std::string& key_id, Secret passphrase);
  ~OpenPgpKey();
  OpenPgpKey(const OpenPgpKey&) = delete;
  OpenPgpKey& operator=(const OpenPgpKey&) = delete;

  // The primary key's fingerprint (upper-case hex).
  const std::string& fingerprint() const;
  // True when `fingerprint` is this key's primary key or one of its subkeys.
  bool Owns(std::string_view fingerprint) const;

  // Signs `payload`: an opaque (not detached, not armored) OpenPGP message.
  Result<std::string> Sign(std::string_view payload);
  // Signs a throwaway payload: proves the key and passphrase work, before
  // anything is pushed (doctor, and the start of a signing run).
  Status CheckPassphrase();
  // Reads a signed message: its payload and who signed it. A message that
  // is no OpenPGP signed message is kInvalidInput; a bad or unknown
  // signature comes back with valid = false.
  Result<VerifiedMessage> Verify(std::string_view message);

 private:
  struct State;
  explicit OpenPgpKey(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// OpenPgpKeyring: public keys to verify simple signatures with, kept in a
// private GnuPG home of its own (a temporary folder, removed with it), so
// verifying never reads or changes the user's keyring, as skopeo's
// `signedBy` keyPath works.
// Thread-safety: calls are serialised.
class OpenPgpKeyring {
 public:
  // An empty keyring in a new temporary folder.
  static Result<std::unique_ptr<OpenPgpKeyring>> Create();
  ~OpenPgpKeyring();
  OpenPgpKeyring(const OpenPgpKeyring&) = delete;
  OpenPgpKeyring& operator=(const OpenPgpKeyring&) = delete;

  // Imports the public key(s) of `key_data` (binary or armored), as
  // `gpg --export` writes them; returns how many were imported.
  Result<int> Import(std::string_view key_data);
  // Reads a signed message (as OpenPgpKey::Verify); valid only when signed
  // by a key of this keyring.
  Result<VerifiedMessage> Verify(std::string_view message);

 private:
  struct State;
  explicit OpenPgpKeyring(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace ppa
