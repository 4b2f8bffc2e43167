// Fuzzes MapRegistryError. The first input byte picks the HTTP status, the
// second the Content-Type; the rest is the response body. Asserts the
// contract: always a kHttp error with a one-line message of bounded length.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "docker_io/registry/registry_errors.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr long kStatuses[] = {400, 401, 403, 404, 405, 409, 413, 416, 429,
                              500, 502, 503, 504, 200, 202, 0,   -1,  999};
constexpr std::string_view kContentTypes[] = {
    "application/json",
    "application/json; charset=utf-8",
    "text/html; charset=UTF-8",
    "TEXT/HTML",
    "text/plain",
    "",
    "application/octet-stream",
};
constexpr std::string_view kWhat = "push of 'ns/app'";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  long status = 401;
  std::string_view content_type = "application/json";
  if (!input.empty()) {
    status = kStatuses[static_cast<unsigned char>(input[0]) % std::size(kStatuses)];
    input.remove_prefix(1);
  }
  if (!input.empty()) {
    content_type = kContentTypes[static_cast<unsigned char>(input[0]) % std::size(kContentTypes)];
    input.remove_prefix(1);
  }
  ppa::Status mapped = ppa::MapRegistryError(status, input, content_type, kWhat);
  PPA_FUZZ_CHECK(mapped.code() == ppa::StatusCode::kHttp);
  const std::string& message = mapped.message();
  PPA_FUZZ_CHECK(message.rfind(std::string(kWhat) + " failed: ", 0) == 0);
  PPA_FUZZ_CHECK(message.find('\n') == std::string::npos);
  PPA_FUZZ_CHECK(message.find('\r') == std::string::npos);
  PPA_FUZZ_CHECK(message.size() <= kWhat.size() + 512);
  return 0;
}
