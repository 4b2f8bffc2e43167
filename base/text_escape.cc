#include "base/text_escape.h"

#include <cstdint>

namespace ppa {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

uint8_t Byte(std::string_view text, size_t i) { return static_cast<uint8_t>(text[i]); }

bool InRange(std::string_view text, size_t i, uint8_t lo, uint8_t hi) {
  return i < text.size() && Byte(text, i) >= lo && Byte(text, i) <= hi;
}

// Length of the well-formed UTF-8 sequence starting at `i` (1 to 4), or 0
// when the bytes there are not one (Unicode table 3-7).
size_t SequenceLength(std::string_view text, size_t i) {
  const uint8_t b = Byte(text, i);
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return InRange(text, i + 1, 0x80, 0xBF) ? 2 : 0;
  uint8_t lo = 0x80, hi = 0xBF;
  size_t length = 0;
  if (b == 0xE0) {
    lo = 0xA0, length = 3;
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    length = 3;
  } else if (b == 0xED) {
    hi = 0x9F, length = 3;  // no surrogates
  } else if (b == 0xF0) {
    lo = 0x90, length = 4;
  } else if (b >= 0xF1 && b <= 0xF3) {
    length = 4;
  } else if (b == 0xF4) {
    hi = 0x8F, length = 4;  // nothing above U+10FFFF
  } else {
    return 0;  // 0x80-0xC1, 0xF5-0xFF
  }
  if (!InRange(text, i + 1, lo, hi)) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (!InRange(text, i + k, 0x80, 0xBF)) return 0;
  }
  return length;
}

void AppendHexEscape(std::string& out, uint8_t b) {
  out += "\\x";
  out += kHex[b >> 4];
  out += kHex[b & 0xF];
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string EscapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const uint8_t b = Byte(text, i);
    const size_t n = SequenceLength(text, i);
    if (b == '\t' || b == '\n' || b == '\r') {
      out += b == '\t' ? "\\t" : b == '\n' ? "\\n" : "\\r";
      ++i;
    } else if (n == 0 || b < 0x20 || b == 0x7F) {
      AppendHexEscape(out, b);  // C0, DEL, or a byte of invalid UTF-8
      ++i;
    } else if (n == 2 && b == 0xC2 && Byte(text, i + 1) < 0xA0) {
      AppendHexEscape(out, b);  // C1 control U+0080-U+009F
      AppendHexEscape(out, Byte(text, i + 1));
      i += 2;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace ppa
