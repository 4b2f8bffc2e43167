// registries.d (containers-registries.d(5)): where podman, skopeo and CRI-O
// look for simple-signing signatures of an image, and where they write new
// ones. ppa-import reads the same files, so the signatures it writes are
// where those tools will look.
//
//   docker:
//     registry.example.com/cp:
//       lookaside: https://sigs.example.com/cp          # read by verifiers
//       lookaside-staging: file:///srv/sigstore/cp      # written by signers
//   default-docker:
//     lookaside-staging: file:///var/lib/containers/sigstore
//
// ("sigstore" and "sigstore-staging" are the older names of the two keys.)
// Every *.yaml file of the directory is merged; a scope configured twice is
// an error, as in containers/image.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

// The signature storage of one scope.
struct LookasideScope {
  std::string lookaside;          // for reading, and for writing without staging
  std::string lookaside_staging;  // for writing only
};

struct RegistriesD {
  std::optional<LookasideScope> default_docker;
  std::map<std::string, LookasideScope> docker;  // scope -> storage
  std::string source;                            // the directory read, for messages
};

// Parses one file's text (`name` names it in errors). Pure.
Result<RegistriesD> ParseRegistriesDFile(std::string_view yaml, const std::string& name);

// Merges `file` into `into`; kInvalidInput when both configure one scope.
Status MergeRegistriesD(RegistriesD& into, RegistriesD file, const std::string& name);

// Reads every *.yaml file of `dir`; an absent directory is an empty
// configuration.
Result<RegistriesD> LoadRegistriesD(const std::string& dir);

// The directory containers/image reads: `given` (--registries.d) when set;
// else $HOME/.config/containers/registries.d when it exists; else
// /etc/containers/registries.d.
std::string RegistriesDDirectory(const std::string& given);

// The URL signatures of `reference` ("host[:port]/repo[:tag]") are written
// to: the most specific scope that configures one (the reference itself,
// then its repository, each parent namespace, the host), then
// default-docker; staging before lookaside within a scope. nullopt when
// none is configured. Pure.
std::optional<std::string> LookasideForWriting(const RegistriesD& config,
                                               std::string_view reference);

// The URL signatures of `reference` are read from: as LookasideForWriting,
// with `lookaside` (not staging) in each scope. Pure.
std::optional<std::string> LookasideForReading(const RegistriesD& config,
                                               std::string_view reference);

// Where containers/image writes signatures when nothing is configured:
// /var/lib/containers/sigstore for root, else
// $HOME/.local/share/containers/sigstore.
std::string DefaultLookasideDirectory();

// The local directory of a file:// URL ("file:///srv/sigs" -> "/srv/sigs");
// kUnsupported for another scheme (signatures are written to files only;
// a web server then serves them). Pure.
Result<std::string> LookasideDirectory(const std::string& url);

}  // namespace ppa
