// The one way untrusted YAML is loaded: manifest.yaml, Chart.yaml,
// values.yaml (and the user's config file). yaml-cpp builds a tree of about
// 500 bytes per node and lets an alias stand for a whole subtree, so a few
// KiB of anchors and aliases, or a few MiB of a flat list, become gigabytes
// once a tree is built and walked. LoadBoundedYaml first runs yaml-cpp's
// event parser over the text (no tree is built) and counts the document the
// way a reader that walks it sees it: every alias counted as a copy of the
// node it names. Only a document within the limits is then loaded.
//
// Pure functions; thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace ppa {

struct YamlLimits {
  uint64_t max_bytes = 0;        // size of the text
  uint64_t max_nodes = 0;        // nodes (keys included), each alias counted as a copy
  uint64_t max_scalar_bytes = 0; // bytes of all scalars, each alias counted as a copy
  int max_depth = 0;             // nesting of sequences and mappings
};

// The limits for every untrusted YAML document. Chosen from measurements on
// the build machine (yaml-cpp 0.7, tests/unit/bounded_yaml_test.cc has the
// reasoning pinned as cases):
// - a loaded node costs about 500 bytes (a 200 000-item flat list: 100 MiB;
//   200 000 two-key flow maps: 480 MiB), so 100 000 nodes hold at most
//   ~50 MiB of tree: several such documents (the PPA manifest is read by two
//   threads at once) stay well inside the 256 MiB the process may use;
// - real documents are far below: a manifest of 300 images with 4
//   references each is ~20 000 nodes, a values.yaml of 3 000 lines ~6 000;
// - 8 MiB of text is 40 times the largest values.yaml seen in public charts;
//   scalars, aliases expanded, are allowed twice that (what a walker copies);
// - 64 levels of nesting: charts use under 15.
inline constexpr YamlLimits kUntrustedYamlLimits{
    .max_bytes = 8ull << 20,
    .max_nodes = 100'000,
    .max_scalar_bytes = 16ull << 20,
    .max_depth = 64,
};

// Checks the first document of `text` against `limits` without building a
// tree. `file` names the document in messages ("values.yaml"). Returns
// kInvalidInput "<file>: line L, column C: <what> (the limit is N)" for the
// first limit passed, an alias naming a node that encloses it (a cycle), or
// a syntax error; OK otherwise.
Status CheckYamlBounds(std::string_view text, std::string_view file,
                       const YamlLimits& limits = kUntrustedYamlLimits);

// CheckYamlBounds, then yaml-cpp's Load of the first document (null node for
// an empty text). Never throws: syntax errors are kInvalidInput
// "<file>: line L, column C: <yaml-cpp's message>".
Result<YAML::Node> LoadBoundedYaml(std::string_view text, std::string_view file,
                                   const YamlLimits& limits = kUntrustedYamlLimits);

}  // namespace ppa
