// Secret: bytes that must never outlive their use (a passphrase, a
// decrypted private key). Move-only; the bytes are wiped (explicit_bzero,
// which the compiler may not drop) when it is destroyed or replaced, and
// it never prints itself. What reads a secret into memory reads it into
// one of these; copies into other buffers are wiped by their owners too.
#pragma once

#include <string.h>

#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace ppa {

// Wipes a plain buffer that held secret bytes.
inline void WipeString(std::string& s) {
  if (s.capacity() > 0) explicit_bzero(s.data(), s.capacity());
  s.clear();
}

class Secret {
 public:
  Secret() = default;
  // Takes `bytes` and wipes what the source string still holds (a short
  // string's bytes stay in it after a move).
  explicit Secret(std::string&& bytes) : bytes_(std::move(bytes)) { WipeString(bytes); }
  ~Secret() { Wipe(); }
  Secret(Secret&& o) noexcept : bytes_(std::move(o.bytes_)) { o.Wipe(); }
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      Wipe();
      bytes_ = std::move(o.bytes_);
      o.Wipe();
    }
    return *this;
  }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  std::string_view view() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  // The bytes, for an API that takes a C string (kept until this is wiped).
  const char* c_str() const { return bytes_.c_str(); }

  // Wipes the whole buffer, spare capacity included, then empties it.
  void Wipe() {
    if (bytes_.capacity() > 0) explicit_bzero(bytes_.data(), bytes_.capacity());
    bytes_.clear();
  }

  // The buffer itself, for reading into it in place (reserve first, so it
  // never moves and leaves a copy behind).
  std::string& buffer() { return bytes_; }

 private:
  std::string bytes_;
};

// Reads a passphrase from the file `path` as skopeo does: its first line,
// without the line end ("\n" or "\r\n"). The file may be at most 64 KiB;
// its bytes go straight into the Secret's buffer, and what follows the
// first line is wiped.
Result<Secret> ReadSecretFile(const std::string& path);

}  // namespace ppa
