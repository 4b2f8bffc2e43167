// Fuzzes the registry authentication parsers: the same bytes go to
// ParseWwwAuthenticate (a header value) and ParseTokenResponse (a token
// server's JSON answer). Asserts the documented postconditions.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "docker_io/registry/auth_challenge.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  ppa::Result<ppa::AuthChallenge> challenge = ppa::ParseWwwAuthenticate(input);
  if (challenge.ok()) {
    PPA_FUZZ_CHECK(challenge->scheme != ppa::AuthChallenge::Scheme::kBearer ||
                   !challenge->realm.empty());
  } else {
    PPA_FUZZ_CHECK(challenge.status().code() == ppa::StatusCode::kInvalidInput ||
                   challenge.status().code() == ppa::StatusCode::kUnsupported);
  }

  ppa::Result<ppa::TokenResponse> token = ppa::ParseTokenResponse(input);
  if (token.ok()) {
    PPA_FUZZ_CHECK(!token->token.empty());
  } else {
    // Error messages never quote the input (it may hold a secret). An input
    // that happens to be part of a fixed message (that of a non-JSON answer
    // or of an object without token) proves nothing, so it is exempt.
    static const std::string kFixedMessages = ppa::ParseTokenResponse("").status().message() +
                                              "\n" +
                                              ppa::ParseTokenResponse("{}").status().message();
    std::string_view message = token.status().message();
    PPA_FUZZ_CHECK(size < 8 || kFixedMessages.find(input) != std::string::npos ||
                   message.find(input) == std::string_view::npos);
  }
  return 0;
}
