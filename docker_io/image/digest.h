// SHA-256 digests in the OCI form "sha256:<64 lowercase hex>".
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// Incremental SHA-256 (OpenSSL EVP). Not thread-safe; one per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // "sha256:<hex>". The object must not be updated afterwards.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// RFC 4648 base64 with padding (OpenSSL's encoder).
std::string Base64Encode(std::string_view bytes);
// The bytes of standard base64 text with its padding; nullopt when `text`
// is not exactly that (a wrong length, a byte outside the alphabet,
// misplaced padding).
std::optional<std::string> Base64Decode(std::string_view text);

// "sha256:<hex>" of `data`.
std::string Sha256Digest(std::string_view data);

// True for "sha256:" followed by 64 lowercase hex digits.
bool IsValidSha256Digest(std::string_view digest);

// The 64 hex digits of a valid digest ("" when not valid).
std::string_view DigestHex(std::string_view digest);

}  // namespace ppa
