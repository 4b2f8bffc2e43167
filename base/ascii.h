// ASCII case folding for protocol text: header names, schemes, host names,
// library error messages. Bytes outside A-Z pass unchanged (no locale).
// Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ppa {

// "Content-Type" -> "content-type".
inline std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace ppa
