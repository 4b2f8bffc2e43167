#include "docker_io/registry/auth_challenge.h"

#include <strings.h>

#include <nlohmann/json.hpp>

namespace ppa {
namespace {

bool IsTokenChar(char c) {
  // RFC 7230 tchar, plus '/' so that unquoted URLs-ish values parse.
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~/:").find(c) != std::string_view::npos;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// A cursor over the header text.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpaces() {
    while (!AtEnd() && IsSpace(text_[pos_])) ++pos_;
  }
  bool Consume(char c) {
    if (Peek() != c || AtEnd()) return false;
    ++pos_;
    return true;
  }
  std::string_view Token() {
    size_t start = pos_;
    while (!AtEnd() && IsTokenChar(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  // After the opening quote: reads to the closing quote, unescaping.
  bool QuotedRest(std::string* out) {
    while (!AtEnd()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (AtEnd()) return false;
        c = text_[pos_++];
      }
      out->push_back(c);
    }
    return false;  // unterminated
  }
  size_t pos() const { return pos_; }
  void set_pos(size_t pos) { pos_ = pos; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

Status Malformed(std::string_view why) {
  return InvalidInput("malformed WWW-Authenticate header: " + std::string(why));
}

void StoreParam(std::string_view name, std::string value, AuthChallenge* out) {
  if (EqualsIgnoreCase(name, "realm")) {
    out->realm = std::move(value);
  } else if (EqualsIgnoreCase(name, "service")) {
    out->service = std::move(value);
  } else if (EqualsIgnoreCase(name, "scope")) {
    out->scope = std::move(value);
  } else if (EqualsIgnoreCase(name, "error")) {
    out->error = std::move(value);
  }
}

}  // namespace

Result<AuthChallenge> ParseWwwAuthenticate(std::string_view header) {
  Scanner scan(header);
  scan.SkipSpaces();
  std::string_view scheme = scan.Token();
  if (scheme.empty()) return Malformed("no authentication scheme");
  AuthChallenge challenge;
  if (EqualsIgnoreCase(scheme, "basic")) {
    challenge.scheme = AuthChallenge::Scheme::kBasic;
  } else if (EqualsIgnoreCase(scheme, "bearer")) {
    challenge.scheme = AuthChallenge::Scheme::kBearer;
  } else {
    return Unsupported("unsupported authentication scheme '" + std::string(scheme) + "'",
                       "the registry must offer Basic or Bearer authentication");
  }
  if (!scan.AtEnd() && !IsSpace(scan.Peek())) return Malformed("bad scheme");

  while (true) {
    scan.SkipSpaces();
    while (scan.Consume(',')) scan.SkipSpaces();
    if (scan.AtEnd()) break;
    size_t param_start = scan.pos();
    std::string_view name = scan.Token();
    scan.SkipSpaces();
    if (name.empty()) return Malformed("expected a parameter name");
    if (!scan.Consume('=')) {
      // A bare token here starts the next challenge: only the first is read.
      scan.set_pos(param_start);
      break;
    }
    scan.SkipSpaces();
    std::string value;
    if (scan.Consume('"')) {
      if (!scan.QuotedRest(&value)) return Malformed("unterminated quoted string");
    } else {
      value = std::string(scan.Token());
    }
    StoreParam(name, std::move(value), &challenge);
    scan.SkipSpaces();
    if (!scan.AtEnd() && scan.Peek() != ',') return Malformed("expected ',' between parameters");
  }
  if (challenge.scheme == AuthChallenge::Scheme::kBearer && challenge.realm.empty()) {
    return Malformed("Bearer challenge without realm");
  }
  return challenge;
}

Result<TokenResponse> ParseTokenResponse(std::string_view json) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidInput("token server answer is not a JSON object");
  }
  TokenResponse out;
  for (const char* key : {"token", "access_token"}) {
    auto it = doc.find(key);
    if (it != doc.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      out.token = it->get<std::string>();
      break;
    }
  }
  if (out.token.empty()) {
    return InvalidInput("token server answer has no 'token' or 'access_token'");
  }
  auto expires = doc.find("expires_in");
  if (expires != doc.end() && expires->is_number_integer() && expires->get<int64_t>() > 0) {
    out.expires_in = expires->get<int64_t>();
  }
  return out;
}

}  // namespace ppa
