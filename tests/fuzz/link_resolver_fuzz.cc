// Fuzzes the path resolver as a whole: Unpack's checks of names and links
// and the confined opening of files below the work directory
// (base/confined.h).
//
// The input is a list of entries, one a line: a type letter, the entry
// name, and for links a TAB and the target ("d dir", "f file",
// "l link\ttarget", "h hardlink\ttarget"). They are written as a tar (with
// libarchive) and unpacked into a fresh root beside a folder "outside"
// holding a secret. Asserts:
//  - no file outside the root is created or changed;
//  - when Unpack accepts the archive, no link in the tree leads out of the
//    root on disk;
//  - whatever Unpack said, reading any entry name below the root never
//    yields the secret.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/confined.h"
#include "archive/tar/tar_index.h"
#include "archive/tar/unpack.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;

constexpr char kSecret[] = "SECRET-OUTSIDE-THE-ROOT";

struct Entry {
  char type;
  std::string name, target;
};

std::vector<Entry> ParseEntries(std::string_view input) {
  std::vector<Entry> out;
  size_t start = 0;
  while (start < input.size() && out.size() < 64) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    std::string_view line = input.substr(start, end - start);
    start = end + 1;
    if (line.size() < 2) continue;
    size_t tab = line.find('\t');
    Entry e{line[0], std::string(line.substr(1, tab == line.npos ? line.npos : tab - 1)),
            tab == line.npos ? std::string() : std::string(line.substr(tab + 1))};
    if (e.name.find('\0') != std::string::npos || e.target.find('\0') != std::string::npos) continue;
    out.push_back(std::move(e));
  }
  return out;
}

// The entries as a pax tar file at `path`.
bool WriteTar(const std::vector<Entry>& entries, const std::string& path) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  if (archive_write_open_filename(a, path.c_str()) != ARCHIVE_OK) {
    archive_write_free(a);
    return false;
  }
  for (const Entry& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_perm(entry, 0644);
    switch (e.type) {
      case 'd': archive_entry_set_filetype(entry, AE_IFDIR); break;
      case 'l':
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.target.c_str());
        break;
      case 'h':
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.target.c_str());
        break;
      default:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.name.size()));
    }
    archive_write_header(a, entry);
    if (e.type == 'f') archive_write_data(a, e.name.data(), e.name.size());
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return true;
}

// Every path below `base` with its content or link target.
std::string Listing(const std::string& base, const std::string& skip) {
  std::string out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path() == skip) {
      it.disable_recursion_pending();
      continue;
    }
    out += it->path().string() + "\n";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Made once, removed at exit.
  static const struct Base {
    std::string dir = fs::temp_directory_path() / ("ppa-link-fuzz-" + std::to_string(::getpid()));
    Base() {
      fs::create_directories(dir + "/outside");
      std::ofstream(dir + "/outside/secret") << kSecret;
    }
    ~Base() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } made;
  const std::string& base = made.dir;
  const std::string root = base + "/root", tar = base + "/in.tar";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root);
  const std::vector<Entry> entries =
      ParseEntries(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!WriteTar(entries, tar)) return 0;
  const std::string before = Listing(base, root);

  auto confined = ppa::ConfinedDir::Confine(root);
  PPA_FUZZ_CHECK(confined.ok());
  ppa::UnpackOptions options;
  options.max_unpacked_bytes = 1 << 20;
  auto unpacked = ppa::UnpackArchive(tar, root, options);
  PPA_FUZZ_CHECK(Listing(base, root) == before);

  if (unpacked.ok()) {
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_symlink()) continue;
      std::string rel = it->path().lexically_relative(root).string();
      auto opened = ppa::OpenBeneath((*confined)->fd(), rel, O_PATH, 0, rel);
      PPA_FUZZ_CHECK(opened.ok() || opened.status().code() == ppa::StatusCode::kNotFound);
    }
  }
  for (const Entry& e : entries) {
    for (const std::string& name : {e.name, e.target}) {
      auto text = ppa::ReadSmallFile(root + "/" + name, 1 << 20);
      PPA_FUZZ_CHECK(!text.ok() || text->find(kSecret) == std::string::npos);
    }
  }
  std::ifstream secret(base + "/outside/secret");
  std::string content((std::istreambuf_iterator<char>(secret)), std::istreambuf_iterator<char>());
  PPA_FUZZ_CHECK(content == kSecret);
  return 0;
}
