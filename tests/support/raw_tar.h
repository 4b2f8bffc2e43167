// Writes tar bytes header by header, with nothing checked or normalized, so
// tests can build the hostile archives that real tools refuse to write
// (".." names, absolute paths, links outside, device nodes).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ppa::test {

struct RawTarEntry {
  RawTarEntry(std::string name_, char type_ = '0', std::string data_ = "", std::string link_ = "",
              int mode_ = 0644)
      : name(std::move(name_)), type(type_), data(std::move(data_)), link(std::move(link_)),
        mode(mode_) {}
  std::string name;
  char type = '0';        // '0' file, '1' hard link, '2' symlink, '3' char dev, '5' dir, '6' FIFO
  std::string data;       // for files, and the records of pax headers ('x', 'g')
  std::string link;       // for links
  int mode = 0644;
};

// A ustar stream (names over 100 bytes use a GNU 'L' long-name record, link
// targets over 100 bytes a GNU 'K' long-link record).
std::string BuildRawTar(const std::vector<RawTarEntry>& entries);

// One pax extended-header record, "<len> key=value\n", for the data of an
// 'x' entry (several may be concatenated).
std::string PaxRecord(const std::string& key, const std::string& value);

// gzip of `data` (zlib, level 6).
std::string Gzip(const std::string& data);

// Writes `data` to `path`; aborts the test binary on failure.
void WriteFileOrDie(const std::string& path, const std::string& data);

}  // namespace ppa::test
