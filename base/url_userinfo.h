// Credentials written into a URL or a registry address
// ("https://user:password@host/x", "user:password@host:5000/prefix") are
// taken out of it here, so that the rest of the tool only ever holds and
// prints the address without them.
//
// The user info of a text is everything between the scheme's "://" (or the
// start, when there is no scheme) and the LAST '@' of the text: a password
// holding an unencoded '/', '?', '#' or '@' is still hidden whole. (A text
// whose path holds an '@' loses that part of its path too: when in doubt,
// hide.) The user name is what comes before the first ':' of the user info,
// the password what follows it; both are percent-decoded ("us%40er" is
// "us@er").
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ppa {

struct UrlUserInfo {
  std::string url;       // the text without "userinfo@"
  bool present = false;  // the text held user info ("@host" counts)
  std::string username;  // percent-decoded
  std::string password;  // percent-decoded; a secret
};

// Splits the user info off `text` (a URL or "HOST[:PORT][/PREFIX]").
UrlUserInfo SplitUserInfo(std::string_view text);

// The one redaction function: `text` without its user info (SplitUserInfo's
// url). Every message, log line and report field that shows a registry
// address or a URL given by the user shows it through this.
std::string RedactUserInfo(std::string_view text);

// Free text (a log line, a server's error message) with the user info of
// every "scheme://userinfo@host" in it removed. A URL ends at whitespace or
// at one of ' " < > `.
std::string RedactUserInfoInText(std::string_view text);

// "%41" -> "A"; a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(std::string_view text);

// `text` with every byte but the unreserved ones (RFC 3986: letters,
// digits, '-', '.', '_', '~') as %XX: safe as a query value or one path
// segment.
std::string PercentEncode(std::string_view text);

}  // namespace ppa
