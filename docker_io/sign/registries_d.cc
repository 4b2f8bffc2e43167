#include "docker_io/sign/registries_d.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "archive/tar/tar_index.h"
#include "docker_io/image/image_reference.h"

namespace ppa {
namespace {

constexpr char kFormatHint[] =
    "see containers-registries.d(5): 'docker:' maps scopes to 'lookaside' / "
    "'lookaside-staging' URLs";

Result<LookasideScope> ParseScope(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return InvalidInput(where + " is not a mapping", kFormatHint);
  LookasideScope scope;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    auto text = [&]() -> Result<std::string> {
      if (!value.IsScalar()) return InvalidInput(where + "." + key + " is not a string");
      return value.as<std::string>();
    };
    if (key == "lookaside" || key == "sigstore") {
      PPA_ASSIGN_OR_RETURN(std::string url, text());
      if (scope.lookaside.empty() || key == "lookaside") scope.lookaside = url;
    } else if (key == "lookaside-staging" || key == "sigstore-staging") {
      PPA_ASSIGN_OR_RETURN(std::string url, text());
      if (scope.lookaside_staging.empty() || key == "lookaside-staging") {
        scope.lookaside_staging = url;
      }
    }
    // Other keys (use-sigstore-attachments, ...) configure what ppa-import
    // does not read here.
  }
  return scope;
}

std::string Home() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "";
}

}  // namespace

Result<RegistriesD> ParseRegistriesDFile(std::string_view yaml, const std::string& name) {
  RegistriesD config;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsNull()) return config;
    if (!root.IsMap()) return InvalidInput("'" + name + "' is not a YAML mapping", kFormatHint);
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>();
      if (key == "default-docker") {
        if (entry.second.IsNull()) continue;
        PPA_ASSIGN_OR_RETURN(config.default_docker,
                             ParseScope(entry.second, "'" + name + "': default-docker"));
      } else if (key == "docker") {
        if (entry.second.IsNull()) continue;
        if (!entry.second.IsMap()) {
          return InvalidInput("'" + name + "': docker is not a mapping", kFormatHint);
        }
        for (const auto& scope : entry.second) {
          const std::string scope_name = scope.first.as<std::string>();
          PPA_ASSIGN_OR_RETURN(config.docker[scope_name],
                               ParseScope(scope.second, "'" + name + "': docker." + scope_name));
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidInput("'" + name + "' is not valid YAML: " + e.what(), kFormatHint);
  }
  return config;
}

Status MergeRegistriesD(RegistriesD& into, RegistriesD file, const std::string& name) {
  if (file.default_docker) {
    if (into.default_docker) {
      return InvalidInput("default-docker is configured twice in '" + into.source + "' (again in '" +
                              name + "')",
                          "keep one default-docker section across the registries.d files");
    }
    into.default_docker = std::move(file.default_docker);
  }
  for (auto& [scope, storage] : file.docker) {
    if (into.docker.count(scope) > 0) {
      return InvalidInput("scope '" + scope + "' is configured twice in '" + into.source +
                              "' (again in '" + name + "')",
                          "configure each scope in one registries.d file");
    }
    into.docker.emplace(scope, std::move(storage));
  }
  return Status::Ok();
}

Result<RegistriesD> LoadRegistriesD(const std::string& dir) {
  RegistriesD merged;
  merged.source = dir;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return merged;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string path = entry.path().string();
    if (path.size() > 5 && path.ends_with(".yaml")) files.push_back(path);
  }
  if (ec) return IoError("cannot list registries.d '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, 1 << 20));
    PPA_ASSIGN_OR_RETURN(RegistriesD file, ParseRegistriesDFile(text, path));
    PPA_RETURN_IF_ERROR(MergeRegistriesD(merged, std::move(file), path));
  }
  return merged;
}

std::string RegistriesDDirectory(const std::string& given) {
  if (!given.empty()) return given;
  const std::string home = Home();
  if (!home.empty()) {
    std::string user = home + "/.config/containers/registries.d";
    std::error_code ec;
    if (std::filesystem::is_directory(user, ec)) return user;
  }
  return "/etc/containers/registries.d";
}

namespace {

std::optional<std::string> LookasideFor(const RegistriesD& config, std::string_view reference,
                                        bool write) {
  auto url_of = [write](const LookasideScope& s) -> std::optional<std::string> {
    if (write && !s.lookaside_staging.empty()) return s.lookaside_staging;
    if (!s.lookaside.empty()) return s.lookaside;
    return std::nullopt;
  };
  // The reference itself, then its repository and each parent namespace
  // ("host/a/b:t" -> "host/a/b" -> "host/a" -> "host").
  const std::vector<std::string> scopes = ReferenceScopes(reference);
  for (const auto& scope : scopes) {
    auto found = config.docker.find(scope);
    if (found == config.docker.end()) continue;
    if (auto url = url_of(found->second)) return url;
  }
  if (config.default_docker) return url_of(*config.default_docker);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> LookasideForWriting(const RegistriesD& config,
                                               std::string_view reference) {
  return LookasideFor(config, reference, /*write=*/true);
}

std::optional<std::string> LookasideForReading(const RegistriesD& config,
                                               std::string_view reference) {
  return LookasideFor(config, reference, /*write=*/false);
}

std::string DefaultLookasideDirectory() {
  if (geteuid() == 0) return "/var/lib/containers/sigstore";
  return Home() + "/.local/share/containers/sigstore";
}

Result<std::string> LookasideDirectory(const std::string& url) {
  constexpr std::string_view kFile = "file://";
  if (url.rfind(kFile, 0) != 0) {
    return Unsupported("signatures can be written to file:// lookaside storage only, not '" + url +
                           "'",
                       "set lookaside-staging: file:///DIR for the scope in registries.d (a web "
                       "server then serves DIR as the lookaside URL)");
  }
  std::string dir = url.substr(kFile.size());
  if (dir.empty() || dir.front() != '/') {
    return InvalidInput("lookaside URL '" + url + "' names no absolute directory",
                        "write file:///ABSOLUTE/DIR");
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

}  // namespace ppa
