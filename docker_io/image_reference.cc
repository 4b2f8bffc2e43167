#include "docker_io/image_reference.h"

#include "docker_io/digest.h"

namespace ppa {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool IsValidComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
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
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
  }
  return true;
}

bool LooksLikeDomain(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost";
}

}  // namespace

bool IsValidRepositoryPath(std::string_view path) {
  if (path.empty() || path.size() > 255) return false;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view part =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsValidComponent(part)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(tag.front())) return false;
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

Result<ImageReference> ParseImageReference(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidInput("invalid image name '" + std::string(text) + "': " + why);
  };
  ImageReference ref;
  std::string_view rest = text;
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!IsValidSha256Digest(ref.digest)) return bad("bad digest");
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && LooksLikeDomain(rest.substr(0, slash))) {
    ref.domain = std::string(rest.substr(0, slash));
    rest = rest.substr(slash + 1);
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!IsValidTag(ref.tag)) return bad("bad tag '" + ref.tag + "'");
  } else if (ref.digest.empty()) {
    ref.tag = "latest";
  }
  ref.path = std::string(rest);
  if (!IsValidRepositoryPath(ref.path)) {
    return bad("repository names are lowercase letters, digits and . _ - separators");
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

}  // namespace ppa
