// Fuzzes TarIndex::Parse on raw bytes (a whole uncompressed tar file), then
// resolves every indexed name through TarIndex::Find (symlinks and hard
// links inside the tar). Asserts that accepted names are clean relative
// paths and that every data range found lies inside the input.
//
// Mutated headers almost never keep a valid checksum, so the input is parsed
// twice: as is (the checksum check itself), and with the checksum field of
// every 512-byte block rewritten to match (the code behind it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "archive/safe_path.h"
#include "archive/tar_index.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr size_t kBlock = 512;
constexpr size_t kChecksumOffset = 148;
constexpr size_t kChecksumSize = 8;

// Writes a valid ustar checksum into every non-zero 512-byte block.
std::string WithValidChecksums(std::string_view input) {
  std::string out(input);
  for (size_t pos = 0; pos + kBlock <= out.size(); pos += kBlock) {
    unsigned char* h = reinterpret_cast<unsigned char*>(out.data() + pos);
    bool zero = true;
    for (size_t i = 0; i < kBlock && zero; ++i) zero = h[i] == 0;
    if (zero) continue;
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      bool in_field = i >= kChecksumOffset && i < kChecksumOffset + kChecksumSize;
      sum += in_field ? ' ' : h[i];
    }
    std::snprintf(reinterpret_cast<char*>(h + kChecksumOffset), kChecksumSize, "%06o", sum);
    h[kChecksumOffset + kChecksumSize - 1] = ' ';
  }
  return out;
}

void CheckIndex(std::string_view input) {
  const size_t size = input.size();
  ppa::Result<ppa::TarIndex> index = ppa::TarIndex::Parse(input);
  if (!index.ok()) return;
  for (const auto& [name, entry] : index->entries()) {
    ppa::Result<std::string> clean = ppa::SanitizeEntryPath(name);
    PPA_FUZZ_CHECK(clean.ok() && *clean == name && !name.empty());
    if (entry.type == ppa::TarEntry::Type::kFile) {
      PPA_FUZZ_CHECK(entry.offset <= size && entry.size <= size - entry.offset);
    }
    ppa::Result<ppa::TarEntry> found = index->Find(name);
    if (found.ok()) {
      PPA_FUZZ_CHECK(found->type == ppa::TarEntry::Type::kFile);
      PPA_FUZZ_CHECK(found->offset <= size && found->size <= size - found->offset);
    }
    (void)index->Contains(name);
  }
  (void)index->Find("manifest.json");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckIndex(input);
  CheckIndex(WithValidChecksums(input));
  return 0;
}
