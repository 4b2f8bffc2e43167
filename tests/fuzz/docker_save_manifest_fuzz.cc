// Fuzzes ParseDockerSaveManifest (docker save's manifest.json). Asserts
// that an accepted manifest names at least one image with a config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "docker_io/image/image_formats.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto entries = ppa::ParseDockerSaveManifest(input);
  if (!entries.ok()) {
    PPA_FUZZ_CHECK(entries.status().code() == ppa::StatusCode::kInvalidInput);
    return 0;
  }
  PPA_FUZZ_CHECK(!entries->empty());
  for (const ppa::DockerSaveEntry& e : *entries) PPA_FUZZ_CHECK(!e.config.empty());
  return 0;
}
