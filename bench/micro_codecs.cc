// Microbenchmarks of the hot loops: inflate (zlib vs ISA-L), deflate (zlib
// vs ISA-L levels, zstd), sha256, tar scanning (libarchive headers only).
// Input: a tar of real files (the first ~64 MiB of regular files under
// /usr/lib, sorted), built once per process in memory.
//
//   build-perf/bench/ppa_micro_bench [--benchmark_filter=...]
#include <archive.h>
#include <archive_entry.h>
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "docker_io/image/digest.h"
#include "docker_io/image/gzip_isal.h"

namespace {

namespace fs = std::filesystem;

// A ustar-ish tar of real files, made with libarchive in memory.
const std::string& RealTar() {
  static const std::string tar = [] {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator("/usr/lib",
                                                    fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it) {
      std::error_code ec;
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    std::vector<char> buf(96u << 20);
    size_t used = 0;
    archive_write_open_memory(a, buf.data(), buf.size(), &used);
    size_t total = 0;
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(in)), {});
      if (total + data.size() > (64u << 20)) break;
      total += data.size() + 1024;
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, f.c_str());
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
      archive_write_header(a, e);
      archive_write_data(a, data.data(), data.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return std::string(buf.data(), used);
  }();
  return tar;
}

std::string ZlibDeflate(const std::string& in, int level) {
  uLongf cap = compressBound(static_cast<uLong>(in.size())) + 64;
  std::string out(cap, '\0');
  z_stream z{};
  deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

void SetBytes(benchmark::State& state, size_t n) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_DeflateZlib(benchmark::State& state) {
  const std::string& in = RealTar();
  size_t out = 0;
  for (auto _ : state) out = ZlibDeflate(in, static_cast<int>(state.range(0))).size();
  state.counters["ratio"] = static_cast<double>(out) / static_cast<double>(in.size());
  SetBytes(state, in.size());
}
BENCHMARK(BM_DeflateZlib)->Arg(1)->Arg(6)->Unit(benchmark::kMillisecond);

void BM_DeflateIsal(benchmark::State& state) {
  const std::string& in = RealTar();
  size_t out = 0;
  for (auto _ : state) {
    out = 0;
    auto c =
        ppa::NewIsalGzipCompressor(static_cast<int>(state.range(0)), [&](const char*, size_t n) {
          out += n;
          return ppa::Status::Ok();
        });
    (void)c->Write(in.data(), in.size());
    (void)c->Finish();
  }
  state.counters["ratio"] = static_cast<double>(out) / static_cast<double>(in.size());
  SetBytes(state, in.size());
}
BENCHMARK(BM_DeflateIsal)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

void BM_DeflateZstd(benchmark::State& state) {
  const std::string& in = RealTar();
  size_t out = 0;
  for (auto _ : state) {
    out = 0;
    auto c = ppa::NewZstdCompressor(static_cast<int>(state.range(0)), [&](const char*, size_t n) {
      out += n;
      return ppa::Status::Ok();
    });
    (void)c->Write(in.data(), in.size());
    (void)c->Finish();
  }
  state.counters["ratio"] = static_cast<double>(out) / static_cast<double>(in.size());
  SetBytes(state, in.size());
}
BENCHMARK(BM_DeflateZstd)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

void BM_InflateZlib(benchmark::State& state) {
  const std::string& in = RealTar();
  std::string gz = ZlibDeflate(in, 6);
  std::vector<char> out(1 << 20);
  for (auto _ : state) {
    z_stream z{};
    inflateInit2(&z, 15 + 16);
    z.next_in = reinterpret_cast<Bytef*>(gz.data());
    z.avail_in = static_cast<uInt>(gz.size());
    int rc;
    do {
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK);
    inflateEnd(&z);
  }
  SetBytes(state, in.size());
}
BENCHMARK(BM_InflateZlib)->Unit(benchmark::kMillisecond);

void BM_InflateIsal(benchmark::State& state) {
  const std::string& in = RealTar();
  std::string gz = ZlibDeflate(in, 6);
  for (auto _ : state) {
    ppa::IsalGunzip g([](const char*, size_t) { return ppa::Status::Ok(); });
    (void)g.Feed(gz.data(), gz.size());
    (void)g.Finish();
  }
  SetBytes(state, in.size());
}
BENCHMARK(BM_InflateIsal)->Unit(benchmark::kMillisecond);

void BM_Sha256(benchmark::State& state) {
  const std::string& in = RealTar();
  for (auto _ : state) {
    ppa::Sha256 h;
    h.Update(in);
    benchmark::DoNotOptimize(h.Finish());
  }
  SetBytes(state, in.size());
}
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);

// Walks every tar header with libarchive, skipping the data (what indexing
// an image tarball costs).
void BM_TarScan(benchmark::State& state) {
  const std::string& in = RealTar();
  int64_t entries = 0;
  for (auto _ : state) {
    struct archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, in.data(), in.size());
    struct archive_entry* e;
    entries = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      archive_read_data_skip(a);
      ++entries;
    }
    archive_read_free(a);
  }
  state.counters["entries"] = static_cast<double>(entries);
  SetBytes(state, in.size());
}
BENCHMARK(BM_TarScan)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
