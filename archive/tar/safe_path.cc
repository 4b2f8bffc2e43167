#include "archive/tar/safe_path.h"

#include <vector>

namespace ppa {
namespace {

// Splits on '/', dropping empty and "." components. Returns false on "..".
bool SplitClean(std::string_view path, std::vector<std::string_view>& parts, bool allow_up) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      if (!allow_up || parts.empty()) return false;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  return true;
}

std::string Join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

}  // namespace

Result<std::string> SanitizeEntryPath(std::string_view name) {
  if (name.size() > kMaxEntryPathLength) {
    return UnsafeArchive("entry name longer than " + std::to_string(kMaxEntryPathLength) +
                         " bytes");
  }
  if (name.find('\0') != std::string_view::npos) {
    return UnsafeArchive("entry name contains a NUL byte");
  }
  if (!name.empty() && name.front() == '/') {
    return UnsafeArchive("entry '" + std::string(name) + "' has an absolute path");
  }
  std::vector<std::string_view> parts;
  if (!SplitClean(name, parts, /*allow_up=*/false)) {
    return UnsafeArchive("entry '" + std::string(name) + "' contains '..'");
  }
  for (std::string_view part : parts) {
    if (part.size() > kMaxNameComponent) {
      return UnsafeArchive("entry '" + std::string(name) + "' has a name component longer than " +
                           std::to_string(kMaxNameComponent) + " bytes, more than a file "
                           "system can hold");
    }
  }
  return Join(parts);
}

Result<std::string> ResolveLinkTarget(std::string_view entry, std::string_view target) {
  if (target.empty()) return UnsafeArchive("link '" + std::string(entry) + "' has no target");
  if (target.front() == '/') {
    return UnsafeArchive("link '" + std::string(entry) + "' points to absolute path '" +
                         std::string(target) + "'");
  }
  std::vector<std::string_view> parts;
  if (!SplitClean(ParentPath(entry), parts, /*allow_up=*/false) ||
      !SplitClean(target, parts, /*allow_up=*/true)) {
    return UnsafeArchive("link '" + std::string(entry) + "' points outside the archive ('" +
                         std::string(target) + "')");
  }
  return Join(parts);
}

std::string_view ParentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace ppa
