// Fuzzes ParseImageReference (and the helpers built on it). Asserts that an
// accepted reference satisfies the grammar it was checked against and that
// writing it back out parses to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "docker_io/image/image_reference.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)ppa::IsValidRepositoryPath(input);
  (void)ppa::IsValidTag(input);
  (void)ppa::JoinRepository(input, "ns", input);
  std::string key = ppa::NameMatchKey(input);

  ppa::Result<ppa::ImageReference> ref = ppa::ParseImageReference(input);
  if (!ref.ok()) {
    PPA_FUZZ_CHECK(key.empty());
    return 0;
  }
  PPA_FUZZ_CHECK(ppa::IsValidRepositoryPath(ref->path));
  PPA_FUZZ_CHECK(ref->tag.empty() || ppa::IsValidTag(ref->tag));
  PPA_FUZZ_CHECK(!ref->tag.empty() || !ref->digest.empty());
  PPA_FUZZ_CHECK(key == ref->MatchKey());
  PPA_FUZZ_CHECK(!ref->TargetPath().empty());

  std::string written = ref->domain.empty() ? "" : ref->domain + "/";
  written += ref->path;
  if (!ref->tag.empty()) written += ":" + ref->tag;
  if (!ref->digest.empty()) written += "@" + ref->digest;
  ppa::Result<ppa::ImageReference> again = ppa::ParseImageReference(written);
  PPA_FUZZ_CHECK(again.ok());
  PPA_FUZZ_CHECK(again->domain == ref->domain && again->path == ref->path &&
                 again->tag == ref->tag && again->digest == ref->digest);
  return 0;
}
