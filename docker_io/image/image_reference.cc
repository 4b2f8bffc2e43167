#include "docker_io/image/image_reference.h"

#include <cstdio>

#include "docker_io/image/digest.h"

namespace ppa {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlnum(char c) { return IsLowerAlnum(c) || IsUpper(c); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "'x'" for a printable character, "byte 0x1b" for any other.
std::string DescribeChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string("'") + c + "'";
  if (u == ' ') return "a space";
  char buf[16];
  std::snprintf(buf, sizeof(buf), "byte 0x%02x", u);
  return buf;
}

// A component with its control bytes shown as "\xNN", for messages.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// Why `c` is no [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, or "".
std::string ComponentProblem(std::string_view c) {
  if (c.empty()) return "empty path component (a leading, trailing or doubled '/')";
  for (char ch : c) {
    if (IsUpper(ch)) return "uppercase letter " + DescribeChar(ch) + " (names are lowercase)";
    if (!IsLowerAlnum(ch) && ch != '.' && ch != '_' && ch != '-') {
      return DescribeChar(ch) + " is not allowed in a name";
    }
  }
  if (c == "." || c == "..") return "path component '" + std::string(c) + "' is not allowed";
  if (!IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) {
    return "path component '" + Shown(c) + "' must start and end with a letter or digit";
  }
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < c.size() && !IsLowerAlnum(c[i])) ++i;
    std::string_view sep = c.substr(start, i - start);
    bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
      return "separator '" + std::string(sep) + "' in '" + std::string(c) +
             "' (only '.', '_', '__' or dashes)";
    }
  }
  return "";
}

// Why `domain` is no host[:port] of the grammar, or "".
std::string DomainProblem(std::string_view domain) {
  std::string why = "invalid registry host '" + Shown(domain) + "'";
  std::string_view host = domain;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return why;
    for (char ch : host.substr(1, close - 1)) {
      if (!(IsDigit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F') || ch == ':')) {
        return why;
      }
    }
    host = host.substr(close + 1);
    if (host.empty()) return "";
    if (host.front() != ':') return why;
    host = host.substr(1);
    return !host.empty() && host.size() <= 5 &&
                   host.find_first_not_of("0123456789") == std::string_view::npos
               ? ""
               : why;
  }
  size_t colon = host.find(':');
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
      return why;
    }
    host = host.substr(0, colon);
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view part =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || !IsAlnum(part.front()) || !IsAlnum(part.back())) return why;
    for (char ch : part) {
      if (!IsAlnum(ch) && ch != '-') return why;
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

bool LooksLikeDomain(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost";
}

}  // namespace

std::string RepositoryPathProblem(std::string_view path) {
  if (path.empty()) return "empty name";
  if (path.size() > kMaxNameLength) {
    return "longer than " + std::to_string(kMaxNameLength) + " characters (" +
           std::to_string(path.size()) + ")";
  }
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view part =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    std::string why = ComponentProblem(part);
    if (!why.empty()) return why;
    if (slash == std::string_view::npos) return "";
    start = slash + 1;
  }
}

std::string TagProblem(std::string_view tag) {
  if (tag.empty()) return "empty tag";
  if (tag.size() > kMaxTagLength) {
    return "longer than " + std::to_string(kMaxTagLength) + " characters (" +
           std::to_string(tag.size()) + ")";
  }
  auto word = [](char c) { return IsAlnum(c) || c == '_'; };
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') return DescribeChar(c) + " is not allowed in a tag";
  }
  if (!word(tag.front())) return "a tag cannot start with " + DescribeChar(tag.front());
  return "";
}

bool IsValidRepositoryPath(std::string_view path) { return RepositoryPathProblem(path).empty(); }
bool IsValidTag(std::string_view tag) { return TagProblem(tag).empty(); }

Status CheckRepositoryName(std::string_view repo) {
  std::string why = RepositoryPathProblem(repo);
  if (why.empty()) return Status::Ok();
  return InvalidInput("invalid image name '" + std::string(repo) + "': " + why,
                      std::string(kImageNameHint));
}

Status CheckTag(std::string_view tag) {
  std::string why = TagProblem(tag);
  if (why.empty()) return Status::Ok();
  return InvalidInput("invalid tag '" + std::string(tag) + "': " + why,
                      std::string(kImageNameHint));
}

Status CheckManifestReference(std::string_view reference) {
  if (reference.rfind("sha256:", 0) == 0) {
    if (IsValidSha256Digest(reference)) return Status::Ok();
    return InvalidInput("invalid digest '" + std::string(reference) + "'",
                        "a digest is 'sha256:' and 64 lowercase hex digits");
  }
  return CheckTag(reference);
}

Result<ImageReference> ParseImageReference(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidInput("invalid image name '" + std::string(text) + "': " + why,
                        std::string(kImageNameHint));
  };
  if (text.size() > kMaxNameLength + 1 + kMaxTagLength + 72) {
    return bad("longer than any valid name (" + std::to_string(text.size()) + " characters)");
  }
  ImageReference ref;
  std::string_view rest = text;
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!IsValidSha256Digest(ref.digest)) {
      return bad("invalid digest '" + Shown(ref.digest) +
                 "' (a digest is 'sha256:' and 64 lowercase hex digits)");
    }
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && LooksLikeDomain(rest.substr(0, slash))) {
    ref.domain = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
    std::string why = DomainProblem(ref.domain);
    if (!why.empty()) return bad(why);
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    std::string why = TagProblem(ref.tag);
    if (!why.empty()) return bad("invalid tag '" + Shown(ref.tag) + "': " + why);
  } else if (ref.digest.empty()) {
    ref.tag = "latest";
  }
  ref.path = std::string(rest);
  std::string why = RepositoryPathProblem(ref.path);
  if (!why.empty()) return bad(why);
  size_t name_length = ref.path.size() + (ref.domain.empty() ? 0 : ref.domain.size() + 1);
  if (name_length > kMaxNameLength) {
    return bad("the name is longer than " + std::to_string(kMaxNameLength) + " characters (" +
               std::to_string(name_length) + ")");
  }
  return ref;
}

std::string ImageReference::TargetPath() const {
  std::string_view p = path;
  if ((domain.empty() || domain == "docker.io") && p.rfind("library/", 0) == 0) {
    p.remove_prefix(8);
  }
  return std::string(p);
}

std::string ImageReference::MatchKey() const {
  return TargetPath() + (tag.empty() ? "@" + digest : ":" + tag);
}

std::string NameMatchKey(std::string_view text) {
  auto ref = ParseImageReference(text);
  return ref.ok() ? ref->MatchKey() : std::string();
}

std::string JoinRepository(std::string_view a, std::string_view b, std::string_view c) {
  std::string out;
  for (std::string_view part : {a, b, c}) {
    while (!part.empty() && part.front() == '/') part.remove_prefix(1);
    while (!part.empty() && part.back() == '/') part.remove_suffix(1);
    if (part.empty()) continue;
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

std::string ReferenceRepository(std::string_view reference) {
  std::string_view name = reference.substr(0, reference.find('@'));
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    name = name.substr(0, colon);
  }
  return std::string(name);
}

std::vector<std::string> ReferenceScopes(std::string_view reference) {
  std::vector<std::string> scopes = {std::string(reference)};
  std::string name = ReferenceRepository(reference);
  for (;;) {
    if (scopes.back() != name) scopes.push_back(name);
    size_t cut = name.rfind('/');
    if (cut == std::string::npos) break;
    name.resize(cut);
  }
  return scopes;
}

}  // namespace ppa
