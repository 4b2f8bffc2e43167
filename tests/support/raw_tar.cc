#include "tests/support/raw_tar.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace ppa::test {
namespace {

void PutOctal(char* field, size_t width, unsigned long long value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), value);
}

std::string Header(const std::string& name, char type, size_t size, const std::string& link,
                   int mode) {
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(&h[100], 8, static_cast<unsigned>(mode));
  PutOctal(&h[108], 8, 0);
  PutOctal(&h[116], 8, 0);
  PutOctal(&h[124], 12, size);
  PutOctal(&h[136], 12, 1704067200);
  h[156] = type;
  std::memcpy(&h[157], link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

void Pad(std::string& out) { out.append((512 - out.size() % 512) % 512, '\0'); }

}  // namespace

std::string BuildRawTar(const std::vector<RawTarEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    if (e.name.size() > 100) {
      out += Header("././@LongLink", 'L', e.name.size() + 1, "", 0644);
      out += e.name;
      out += '\0';
      Pad(out);
    }
    if (e.link.size() > 100) {
      out += Header("././@LongLink", 'K', e.link.size() + 1, "", 0644);
      out += e.link;
      out += '\0';
      Pad(out);
    }
    bool has_data = e.type == '0' || e.type == 'x' || e.type == 'g';  // pax records are data
    out += Header(e.name, e.type, has_data ? e.data.size() : 0, e.link, e.mode);
    if (has_data) {
      out += e.data;
      Pad(out);
    }
  }
  out.append(1024, '\0');
  return out;
}

std::string PaxRecord(const std::string& key, const std::string& value) {
  std::string record = " " + key + "=" + value + "\n";
  size_t len = record.size() + 1;
  while (std::to_string(len).size() + record.size() != len) ++len;
  return std::to_string(len) + record;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void WriteFileOrDie(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::abort();
  }
}

}  // namespace ppa::test
