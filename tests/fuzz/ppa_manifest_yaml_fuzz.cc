// Fuzzes ParsePpaManifestYaml, then MergePpaManifests with a fixed
// manifest.json (and alone). Asserts the shape every manifest promises.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "archive/manifest/ppa_manifest.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/ppa_manifest_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ppa::PpaManifest* const kJson = [] {
    ppa::Result<ppa::PpaManifest> json = ppa::ParsePpaManifestJson(ppa_fuzz::kFixedJson);
    PPA_FUZZ_CHECK(json.ok());
    return new ppa::PpaManifest(std::move(json).value());
  }();

  std::string_view input(reinterpret_cast<const char*>(data), size);
  ppa::Result<ppa::PpaManifest> yaml = ppa::ParsePpaManifestYaml(input);
  if (!yaml.ok()) {
    PPA_FUZZ_CHECK(yaml.status().code() == ppa::StatusCode::kInvalidInput);
    return 0;
  }
  ppa_fuzz::CheckManifest(*yaml);
  ppa_fuzz::CheckMerges(*yaml, *kJson);
  ppa_fuzz::CheckMerges(*yaml, *yaml);
  return 0;
}
