// Fuzzes ParseUploadRangeEnd with the input as a `Range` header value.
// Asserts the contract of docker_io/registry/upload_headers.h against an
// independent, string-based reading of the same grammar: "[bytes=]0-<end>"
// with a start of zeros only, an end of decimal digits below 2^63 - 1, and
// nothing else but surrounding spaces and tabs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "docker_io/registry/upload_headers.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr uint64_t kMaxEnd = 9223372036854775806ull;  // 2^63 - 2
constexpr std::string_view kMaxEndText = "9223372036854775806";

bool AllOf(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsZero(char c) { return c == '0'; }
bool IsOws(char c) { return c == ' ' || c == '\t'; }

// The decimal digits without leading zeros ("" for zero).
std::string_view StripZeros(std::string_view digits) {
  while (!digits.empty() && digits.front() == '0') digits.remove_prefix(1);
  return digits;
}

// Does the decimal `digits` (no leading zeros) stay within kMaxEnd?
bool FitsMaxEnd(std::string_view digits) {
  if (digits.size() != kMaxEndText.size()) return digits.size() < kMaxEndText.size();
  return digits <= kMaxEndText;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<uint64_t> end = ppa::ParseUploadRangeEnd(input);

  // The expected reading, by string operations only.
  std::string_view s = input;
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  if (s.size() >= 6) {
    std::string prefix(s.substr(0, 6));
    for (char& c : prefix) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (prefix == "bytes=") s.remove_prefix(6);
  }
  size_t dash = s.find('-');
  bool well_formed = dash != std::string_view::npos && dash > 0 &&
                     AllOf(s.substr(0, dash), IsZero) && dash + 1 < s.size() &&
                     AllOf(s.substr(dash + 1), IsDigit);
  std::string_view digits = well_formed ? StripZeros(s.substr(dash + 1)) : std::string_view();
  bool expected = well_formed && FitsMaxEnd(digits);

  PPA_FUZZ_CHECK(end.has_value() == expected);
  if (!end) return 0;
  PPA_FUZZ_CHECK(*end <= kMaxEnd);
  const std::string text = std::to_string(*end);
  PPA_FUZZ_CHECK(*end == 0 ? digits.empty() : digits == text);
  // Formatting the value back parses to the same value, in both spellings.
  PPA_FUZZ_CHECK(ppa::ParseUploadRangeEnd("0-" + text) == end);
  PPA_FUZZ_CHECK(ppa::ParseUploadRangeEnd("bytes=0-" + text) == end);
  return 0;
}
