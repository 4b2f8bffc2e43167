// Fuzzes the parsers of what signature storage hands back, which anyone
// who can write to a lookaside or a registry controls:
// ParseAtomicSignaturePayload (a simple signature's payload),
// ParseCosignPayload and ParseCosignManifest (cosign's), and the
// configuration verify reads: ParseRegistriesDFile, ParseSignaturePolicy. Asserts that an accepted
// payload round-trips through AtomicSignaturePayload to the same claim.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "docker_io/sign/cosign.h"
#include "docker_io/sign/policy.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/simple_signing.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto config = ppa::ParseRegistriesDFile(input, "fuzz.yaml");
  if (config.ok()) (void)ppa::LookasideForWriting(*config, "host:5000/ns/app:1.0");

  auto policy = ppa::ParseSignaturePolicy(input);
  if (policy.ok()) (void)ppa::RequirementsFor(*policy, "host:5000/ns/app:1.0");
  (void)ppa::ParseCosignManifest(input);
  auto cosign = ppa::ParseCosignPayload(input);
  if (cosign.ok()) {
    auto again = ppa::ParseCosignPayload(ppa::CosignPayload(*cosign));
    PPA_FUZZ_CHECK(again.ok() && again->digest == cosign->digest &&
                   again->reference == cosign->reference);
  }

  auto claim = ppa::ParseAtomicSignaturePayload(input);
  if (!claim.ok()) return 0;
  std::string written = ppa::AtomicSignaturePayload(*claim, "fuzz", 0);
  auto again = ppa::ParseAtomicSignaturePayload(written);
  PPA_FUZZ_CHECK(again.ok());
  PPA_FUZZ_CHECK(again->reference == claim->reference && again->digest == claim->digest);
  return 0;
}
