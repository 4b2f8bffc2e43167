// Parsing of registry authentication data: the WWW-Authenticate challenge of
// a 401 response and the JSON answer of a token server.
//
// Pure functions over untrusted input; thread-safe; they never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

struct AuthChallenge {
  enum class Scheme { kBasic, kBearer };
  Scheme scheme = Scheme::kBasic;
  std::string realm;    // Basic: a label; Bearer: the token server URL
  std::string service;  // Bearer: passed back as ?service=
  std::string scope;    // Bearer: the scope the registry asks for, if any
  std::string error;    // e.g. "invalid_token", "insufficient_scope"
};

// Parses the first challenge of a WWW-Authenticate header value, e.g.
//   Bearer realm="https://auth.example/token",service="reg",scope="a:b:pull"
// The scheme is case-insensitive; parameter values are tokens or quoted
// strings (backslash escapes, commas inside quotes). Unknown parameters are
// ignored. Errors: kUnsupported for a scheme other than Basic/Bearer,
// kInvalidInput for malformed text or a Bearer challenge without realm.
Result<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

struct TokenResponse {
  std::string token;        // secret: never log it
  int64_t expires_in = 60;  // seconds; 60 when the server does not say
};

// Parses a token server answer ({"token": ...} or {"access_token": ...},
// optional "expires_in"). Error messages never quote the input.
Result<TokenResponse> ParseTokenResponse(std::string_view json);

}  // namespace ppa
