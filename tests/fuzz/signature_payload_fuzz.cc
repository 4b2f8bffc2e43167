// Fuzzes the parsers of what signature storage hands back, which anyone
// who can write to a lookaside or a registry controls:
// ParseAtomicSignaturePayload (a signature's payload) and
// ParseRegistriesDFile (the registries.d files). Asserts that an accepted
// payload round-trips through AtomicSignaturePayload to the same claim.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/simple_signing.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto config = ppa::ParseRegistriesDFile(input, "fuzz.yaml");
  if (config.ok()) (void)ppa::LookasideForWriting(*config, "host:5000/ns/app:1.0");

  auto claim = ppa::ParseAtomicSignaturePayload(input);
  if (!claim.ok()) return 0;
  std::string written = ppa::AtomicSignaturePayload(*claim, "fuzz", 0);
  auto again = ppa::ParseAtomicSignaturePayload(written);
  PPA_FUZZ_CHECK(again.ok());
  PPA_FUZZ_CHECK(again->reference == claim->reference && again->digest == claim->digest);
  return 0;
}
