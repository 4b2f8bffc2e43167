// Invariants shared by the two PPA manifest fuzz targets, and fixed manifests
// of the other dialect to merge the fuzzed one with.
#pragma once

#include <optional>
#include <string>

#include "archive/manifest/ppa_manifest.h"
#include "tests/fuzz/fuzz_check.h"

namespace ppa_fuzz {

// An archive path as NormalizeManifestPath leaves it: no leading "/" or "./"
// (it is not idempotent: "file:file:x" becomes "file:x", so that is not
// checked).
inline bool IsNormalizedArchive(const std::string& path) {
  return path.rfind('/', 0) != 0 && path.rfind("./", 0) != 0;
}

// What every parsed or merged manifest promises: images have a name and at
// least one reference with a repository; charts have an archive; archive
// paths are normalized.
inline void CheckManifest(const ppa::PpaManifest& m) {
  for (const ppa::PpaImage& image : m.images) {
    PPA_FUZZ_CHECK(!image.image.empty());
    PPA_FUZZ_CHECK(!image.references.empty());
    for (const ppa::PpaImageReference& ref : image.references) {
      PPA_FUZZ_CHECK(!ref.repository.empty());
      PPA_FUZZ_CHECK(IsNormalizedArchive(ref.archive));
    }
  }
  for (const ppa::PpaChart& chart : m.charts) {
    PPA_FUZZ_CHECK(!chart.archive.empty());
    PPA_FUZZ_CHECK(IsNormalizedArchive(chart.archive));
  }
}

inline constexpr char kFixedYaml[] = R"(
images:
  - image: ibmcom/portal:2.1.0
    references:
      - repository: ibmcom/portal:2.1.0-amd64
        pull-repository: cp.icr.io/cp/portal:2.1.0-amd64
        platform: {os: linux, architecture: amd64}
      - repository: ibmcom/portal:2.1.0-arm64
        platform: {os: linux, architecture: arm64, variant: v8}
  - image: org/a:1
charts:
  - archive: charts/a.tgz
    repository-keys: [image.repository]
)";

inline constexpr char kFixedJson[] = R"({"images": [
  {"image": "ibmcom/portal", "tag": "2.1.0-amd64", "archive": "images/portal-amd64.tar.gz"},
  {"image": "cp.icr.io/cp/portal", "tag": "2.1.0-arm64", "archive": "images/portal-arm64.tar"},
  {"image": "org/a", "tag": "1", "archive": "./images/a.tar"}],
 "charts": [{"archive": "charts/a.tgz", "images": ["image.repository"]}]})";

// Merges `fuzzed` with itself absent, alone, and with `fixed` on the other
// side, checking every result.
inline void CheckMerges(const std::optional<ppa::PpaManifest>& yaml,
                        const std::optional<ppa::PpaManifest>& json) {
  CheckManifest(ppa::MergePpaManifests(yaml, json));
  CheckManifest(ppa::MergePpaManifests(yaml, std::nullopt));
  CheckManifest(ppa::MergePpaManifests(std::nullopt, json));
}

}  // namespace ppa_fuzz
