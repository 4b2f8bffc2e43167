// Fuzzes TarIndex::Parse on raw bytes (a whole uncompressed tar file), then
// resolves every indexed name through TarIndex::Find (symlinks and hard
// links inside the tar). Asserts that accepted names are clean relative
// paths and that every data range found lies inside the input. The same
// bytes then go through TarStreamScanner in uneven chunks: every file the
// index accepts must be reported at the same offset and size, with exactly
// the input's bytes there.
//
// Mutated headers almost never keep a valid checksum, so the input is parsed
// twice: as is (the checksum check itself), and with the checksum field of
// every 512-byte block rewritten to match (the code behind it).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <set>
#include <string_view>
#include <utility>

#include "archive/tar/safe_path.h"
#include "archive/tar/tar_index.h"
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

// Collects what the scanner reports, checking the data against the input.
class Ranges : public ppa::TarStreamScanner::Visitor {
 public:
  explicit Ranges(std::string_view input) : input_(input) {}
  void BeginFile(std::string_view, uint64_t offset, uint64_t size) override {
    PPA_FUZZ_CHECK(!open_);
    open_ = true;
    offset_ = offset, size_ = size, seen_ = 0;
  }
  void FileData(std::string_view bytes) override {
    PPA_FUZZ_CHECK(open_ && seen_ + bytes.size() <= size_);
    PPA_FUZZ_CHECK(input_.substr(offset_ + seen_, bytes.size()) == bytes);
    seen_ += bytes.size();
  }
  void EndFile() override {
    PPA_FUZZ_CHECK(open_ && seen_ == size_);
    open_ = false;
    files.emplace(offset_, size_);
  }
  std::set<std::pair<uint64_t, uint64_t>> files;

 private:
  std::string_view input_;
  bool open_ = false;
  uint64_t offset_ = 0, size_ = 0, seen_ = 0;
};

void CheckIndex(std::string_view input) {
  const size_t size = input.size();
  ppa::Result<ppa::TarIndex> index = ppa::TarIndex::Parse(input);
  if (!index.ok()) return;
  Ranges scanned(input);
  ppa::TarStreamScanner scanner(scanned);
  for (size_t at = 0, chunk = 1; at < size; at += chunk, chunk = chunk * 3 % 1031 + 1) {
    if (!scanner.Feed(input.substr(at, chunk))) break;
  }
  for (const auto& [name, entry] : index->entries()) {
    ppa::Result<std::string> clean = ppa::SanitizeEntryPath(name);
    PPA_FUZZ_CHECK(clean.ok() && *clean == name && !name.empty());
    if (entry.type == ppa::TarEntry::Type::kFile) {
      PPA_FUZZ_CHECK(entry.offset <= size && entry.size <= size - entry.offset);
      PPA_FUZZ_CHECK(scanned.files.count({entry.offset, entry.size}) == 1);
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
