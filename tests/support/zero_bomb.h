// A decompression bomb for tests: a gzip stream of a tar holding one file
// of zeros, built without compressing them all (raw deflate with a full
// flush after every 1 MiB of zeros resets the compressor, so each following
// MiB compresses to the same bytes, which are repeated; the CRC comes from
// crc32_combine). ~1 KiB per MiB.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/support/raw_tar.h"

namespace ppa::test {

inline std::string ZeroBombTgz(const std::string& name, uint64_t zero_bytes) {
  constexpr uint64_t kChunk = 1 << 20;
  std::string header = BuildRawTar({{name, '0', ""}}).substr(0, 512);
  std::snprintf(&header[124], 12, "%011llo", static_cast<unsigned long long>(zero_bytes));
  std::memset(&header[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  std::snprintf(&header[148], 8, "%06o", sum);
  const std::string zeros(kChunk, '\0');
  const std::string trailer(1024, '\0');  // end-of-archive (zero_bytes: a multiple of 512)
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  auto deflate_part = [&](const std::string& in, int flush) {
    std::string out(in.size() + 4096, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, flush);
    out.resize(out.size() - z.avail_out);
    return out;
  };
  std::string gz("\x1f\x8b\x08\0\0\0\0\0\0\x03", 10);
  gz += deflate_part(header, Z_FULL_FLUSH);
  const std::string chunk = deflate_part(zeros, Z_FULL_FLUSH);
  for (uint64_t i = 0; i < zero_bytes / kChunk; ++i) gz += chunk;
  gz += deflate_part(trailer, Z_FINISH);
  deflateEnd(&z);
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(header.data()), 512);
  const uLong zero_crc = crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), kChunk);
  for (uint64_t i = 0; i < zero_bytes / kChunk; ++i) crc = crc32_combine(crc, zero_crc, kChunk);
  crc = crc32_combine(crc, crc32(0, reinterpret_cast<const Bytef*>(trailer.data()), 1024), 1024);
  const uint64_t total = 512 + zero_bytes + 1024;
  for (uint64_t v : {static_cast<uint64_t>(crc), total}) {
    for (int i = 0; i < 4; ++i) gz += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  return gz;
}

}  // namespace ppa::test
