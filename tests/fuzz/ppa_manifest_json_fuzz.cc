// Fuzzes ParsePpaManifestJson, then MergePpaManifests with a fixed
// manifest.yaml (and alone). Asserts the shape every manifest promises.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "archive/manifest/ppa_manifest.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/ppa_manifest_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ppa::PpaManifest* const kYaml = [] {
    ppa::Result<ppa::PpaManifest> yaml = ppa::ParsePpaManifestYaml(ppa_fuzz::kFixedYaml);
    PPA_FUZZ_CHECK(yaml.ok());
    return new ppa::PpaManifest(std::move(yaml).value());
  }();

  std::string_view input(reinterpret_cast<const char*>(data), size);
  ppa::Result<ppa::PpaManifest> json = ppa::ParsePpaManifestJson(input);
  if (!json.ok()) {
    PPA_FUZZ_CHECK(json.status().code() == ppa::StatusCode::kInvalidInput);
    return 0;
  }
  ppa_fuzz::CheckManifest(*json);
  ppa_fuzz::CheckMerges(*kYaml, *json);
  ppa_fuzz::CheckMerges(*json, *json);
  return 0;
}
