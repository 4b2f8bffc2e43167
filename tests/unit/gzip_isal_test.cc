// ISA-L gzip and zstd codecs (docker_io/image/gzip_isal.h), the compression
// choices of PrepareLayerBlob, and the blob cache.
#include "docker_io/image/gzip_isal.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "docker_io/image/digest.h"
#include "docker_io/image/layer_blob.h"
#include "docker_io/image/media_types.h"
#include "importer/load/blob_cache.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

// Text with some structure, so that every level compresses it.
std::string Sample(size_t lines) {
  std::string s;
  for (size_t i = 0; i < lines; ++i) {
    s += "usr/lib/file-" + std::to_string(i % 977) + " size " + std::to_string(i * 7919) + "\n";
  }
  return s;
}

// An ISA-L gzip compressor that appends what it makes to `out`.
std::unique_ptr<StreamCompressor> CompressorInto(std::string& out, int level,
                                                 TaskRunner runner = nullptr) {
  return NewIsalGzipCompressor(
      level,
      [&out](const char* d, size_t n) {
        out.append(d, n);
        return Status::Ok();
      },
      std::move(runner));
}

std::string IsalGzip(const std::string& in, int level, size_t piece = 65536,
                     TaskRunner runner = nullptr) {
  std::string out;
  auto c = CompressorInto(out, level, std::move(runner));
  for (size_t i = 0; i < in.size(); i += piece) {
    EXPECT_TRUE(c->Write(in.data() + i, std::min(piece, in.size() - i)).ok());
  }
  EXPECT_TRUE(c->Finish().ok());
  return out;
}

// Decompresses with zlib, the reference implementation.
std::string ZlibGunzip(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

Result<std::string> IsalGunzipAll(const std::string& gz, size_t piece) {
  std::string out;
  IsalGunzip g([&](const char* d, size_t n) {
    out.append(d, n);
    return Status::Ok();
  });
  for (size_t i = 0; i < gz.size(); i += piece) {
    PPA_RETURN_IF_ERROR(g.Feed(gz.data() + i, std::min(piece, gz.size() - i)));
  }
  PPA_RETURN_IF_ERROR(g.Finish());
  return out;
}

TEST(IsalGzip, DeterministicAndZlibReadsIt) {
  // Over two 1 MiB deflate blocks, so whole blocks (taken without a copy)
  // and re-blocked pieces both occur.
  std::string in = Sample(2600000);
  for (int level = 0; level <= 3; ++level) {
    std::string a = IsalGzip(in, level, 65536);
    for (size_t write : {size_t{1} << 20, size_t{700001}, in.size()}) {
      EXPECT_EQ(IsalGzip(in, level, write), a) << "level " << level << ", writes of " << write;
    }
    EXPECT_LT(a.size(), in.size() / 3) << "level " << level;
    // Fixed header: no name, mtime 0.
    ASSERT_GE(a.size(), 10u);
    EXPECT_EQ(a.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10));
    EXPECT_EQ(ZlibGunzip(a), in) << "level " << level;
  }
}

// The blocks of a stream deflated on other threads, several at once, give
// the very same bytes.
TEST(IsalGzip, BlocksDeflatedOnOtherThreadsGiveTheSameBytes) {
  std::string in = Sample(250000);  // about 8 MiB: eight blocks and a piece
  std::vector<std::thread> threads;
  TaskRunner runner = [&](std::function<void()> task) { threads.emplace_back(std::move(task)); };
  for (int level = 0; level <= 3; ++level) {
    std::string one = IsalGzip(in, level);
    std::string many = IsalGzip(in, level, 300007, runner);
    EXPECT_TRUE(many == one) << "level " << level;
    EXPECT_EQ(ZlibGunzip(many), in) << "level " << level;
    // Whole blocks handed over (WriteBlock), after a first piece that is not
    // one: the same bytes again.
    std::string handed;
    auto c = CompressorInto(handed, level, runner);
    std::string block = in.substr(0, 1000);
    ASSERT_TRUE(c->WriteBlock(block).ok());
    EXPECT_TRUE(block.empty());
    block.assign(in, 1000, (1 << 20) - 1000);  // completes the first block
    ASSERT_TRUE(c->WriteBlock(block).ok());
    size_t at = 1 << 20;
    for (; at + (1 << 20) <= in.size(); at += 1 << 20) {
      block.assign(in, at, 1 << 20);
      ASSERT_TRUE(c->WriteBlock(block).ok());
      EXPECT_TRUE(block.empty());
    }
    block.assign(in, at);
    ASSERT_TRUE(c->WriteBlock(block).ok());
    ASSERT_TRUE(c->Finish().ok());
    EXPECT_TRUE(handed == one) << "level " << level;
  }
  EXPECT_GE(threads.size(), 4u * 8);
  for (auto& t : threads) t.join();
}

TEST(IsalGzip, EmptyInputIsAValidGzipStream) {
  std::string a = IsalGzip("", 1);
  EXPECT_EQ(ZlibGunzip(a), "");
}

TEST(IsalGzip, LevelMapping) {
  EXPECT_EQ(IsalLevelFor(1), 0);
  EXPECT_EQ(IsalLevelFor(3), 1);
  EXPECT_EQ(IsalLevelFor(6), 2);
  EXPECT_EQ(IsalLevelFor(9), 3);
}

TEST(IsalGunzip, ReadsZlibOutputAndConcatenatedMembers) {
  std::string in = Sample(50000);
  std::string two = test::Gzip(in) + test::Gzip("tail\n");
  for (size_t piece : {size_t{1} << 20, size_t{4096}, size_t{7}}) {
    auto out = IsalGunzipAll(two, piece);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(*out, in + "tail\n");
  }
}

TEST(IsalGunzip, TruncatedAndCorruptStreamsFail) {
  std::string gz = test::Gzip(Sample(50000));
  EXPECT_FALSE(IsalGunzipAll(gz.substr(0, gz.size() / 2), 4096).ok());
  std::string bad = gz;
  bad[bad.size() - 6] ^= 0x55;  // CRC
  EXPECT_FALSE(IsalGunzipAll(bad, 4096).ok());
}

// One uncompressed layer in a file, prepared with the given options.
Result<LayerBlob> PrepareWith(test::TempDir& dir, const std::string& tar,
                              const CompressionOptions& options,
                              ManifestFormat format = ManifestFormat::kDocker) {
  ImageSource image;
  image.tarball = dir.Join("tarball");
  image.origin = "images/x.tar";
  test::WriteFileOrDie(image.tarball, tar);
  LayerSource l;
  l.entry = "layer.tar";
  l.offset = 0;
  l.size = tar.size();
  l.compression = Compression::kNone;
  l.diff_id = Sha256Digest(tar);
  image.layers.push_back(l);
  return PrepareLayerBlob(image, image.layers[0], dir.path(), format, options);
}

TEST(PrepareLayerBlob, ZstdAndNoneMediaTypes) {
  test::TempDir dir("ppa-codec");
  std::string tar = test::BuildRawTar({{"etc/", '5'}, {"etc/data", '0', Sample(20000)}});

  CompressionOptions zstd;
  zstd.algorithm = Compression::kZstd;
  auto z = PrepareWith(dir, tar, zstd);
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  EXPECT_EQ(z->media_type, media_types::kOciLayerZstd);
  EXPECT_TRUE(z->spooled);
  auto bytes = test::ReadFileToString(z->file.path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(Sha256Digest(*bytes), z->digest);
  std::string plain(tar.size() + 64, '\0');
  size_t n = ZSTD_decompress(plain.data(), plain.size(), bytes->data(), bytes->size());
  ASSERT_FALSE(ZSTD_isError(n));
  EXPECT_EQ(plain.substr(0, n), tar);
  EXPECT_EQ(zstd.Key(), "zstd-3");

  CompressionOptions none;
  none.algorithm = Compression::kNone;
  auto p = PrepareWith(dir, tar, none);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->spooled);
  EXPECT_EQ(p->digest, Sha256Digest(tar));
  EXPECT_EQ(p->size, tar.size());
  EXPECT_EQ(p->media_type, media_types::kDockerLayerTar);
  EXPECT_EQ(PrepareWith(dir, tar, none, ManifestFormat::kOci)->media_type,
            media_types::kOciLayerTar);

  CompressionOptions gzip;
  auto g = PrepareWith(dir, tar, gzip);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(gzip.Key(), "gzip-isal-2-b1m");
  auto gz = test::ReadFileToString(g->file.path);
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(ZlibGunzip(*gz), tar);
}

TEST(BlobCache, RoundTripAndMisses) {
  test::TempDir dir("ppa-cache");
  std::string path = dir.Join("sub/blobs.db");
  {
    BlobCache cache(path);
    ASSERT_TRUE(cache.enabled());
    EXPECT_FALSE(cache.Lookup("sha256:a", "gzip-isal-2").has_value());
    cache.Store("sha256:a", "gzip-isal-2", {"sha256:b", 42});
  }
  BlobCache reopened(path);
  auto hit = reopened.Lookup("sha256:a", "gzip-isal-2");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->digest, "sha256:b");
  EXPECT_EQ(hit->size, 42u);
  EXPECT_FALSE(reopened.Lookup("sha256:a", "zstd-3").has_value());
}

TEST(BlobCache, UnusablePathDisablesIt) {
  BlobCache cache("/proc/no/such/dir/blobs.db");
  cache.Store("sha256:a", "none", {"sha256:a", 1});  // no effect, no crash
  EXPECT_FALSE(cache.Lookup("sha256:a", "none").has_value());
  cache.RecordSeen("reg/", "ns/app", "sha256:a");
  EXPECT_TRUE(cache.SeenIn("reg/", "sha256:a").empty());
}

TEST(BlobCache, NothingIsCreatedBeforeFirstUse) {
  test::TempDir dir("ppa-cache");
  std::string path = dir.Join("sub/blobs.db");
  BlobCache cache(path);
  EXPECT_TRUE(cache.enabled());
  EXPECT_FALSE(std::filesystem::exists(dir.Join("sub")));
  EXPECT_FALSE(cache.Lookup("sha256:a", "none").has_value());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(BlobCache, SeenRepositoriesAreKeptPerTarget) {
  test::TempDir dir("ppa-cache");
  BlobCache cache(dir.Join("blobs.db"));
  EXPECT_TRUE(cache.SeenIn("reg:5000/", "sha256:a").empty());
  cache.RecordSeen("reg:5000/", "ns/app", "sha256:a");
  cache.RecordSeen("reg:5000/", "ns/db", "sha256:a");
  cache.RecordSeen("reg:5000/", "ns/app", "sha256:a");  // again: no duplicate
  cache.RecordSeen("other:5000/", "ns/web", "sha256:a");
  cache.RecordSeen("reg:5000/", "ns/web", "sha256:b");
  auto seen = cache.SeenIn("reg:5000/", "sha256:a");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()),
            (std::set<std::string>{"ns/app", "ns/db"}));
  EXPECT_EQ(cache.SeenIn("reg:5000/", "sha256:a", 1).size(), 1u);
  EXPECT_EQ(cache.SeenIn("other:5000/", "sha256:a"), std::vector<std::string>{"ns/web"});
}

}  // namespace
}  // namespace ppa
