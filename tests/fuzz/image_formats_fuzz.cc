// Fuzzes the OCI/Docker JSON documents read from image tarballs: the same
// bytes go to ParseOciIndex, ParseImageManifest and ParseImageConfig (they
// share their JSON shapes, so one corpus serves all three), and every media
// type found goes through the media type predicates.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "docker_io/image/image_formats.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckDescriptor(const ppa::Descriptor& d) {
  // A media type is never both an index and a single image manifest.
  PPA_FUZZ_CHECK(
      !(ppa::IsIndexMediaType(d.media_type) && ppa::IsImageManifestMediaType(d.media_type)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)ppa::IsIndexMediaType(input);
  (void)ppa::IsImageManifestMediaType(input);

  if (auto index = ppa::ParseOciIndex(input); index.ok()) {
    for (const ppa::Descriptor& d : index->manifests) CheckDescriptor(d);
  } else {
    PPA_FUZZ_CHECK(index.status().code() == ppa::StatusCode::kInvalidInput ||
                   index.status().code() == ppa::StatusCode::kUnsupported);
  }
  if (auto manifest = ppa::ParseImageManifest(input); manifest.ok()) {
    CheckDescriptor(manifest->config);
    for (const ppa::Descriptor& d : manifest->layers) CheckDescriptor(d);
  } else {
    PPA_FUZZ_CHECK(manifest.status().code() == ppa::StatusCode::kInvalidInput ||
                   manifest.status().code() == ppa::StatusCode::kUnsupported);
  }
  if (auto config = ppa::ParseImageConfig(input); !config.ok()) {
    PPA_FUZZ_CHECK(config.status().code() == ppa::StatusCode::kInvalidInput ||
                   config.status().code() == ppa::StatusCode::kUnsupported);
  }
  return 0;
}
