// Layers hashed as Unpack writes them: the digests recorded must be those of
// the exact byte ranges TarIndex later reads, and must not outlive the file.
#include "docker_io/image/range_digests.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

using test::BuildRawTar;

std::string LayerTar(char fill) {
  return BuildRawTar({{"etc/", '5'}, {"etc/data", '0', std::string(100000, fill)}});
}

// Writes `tar` through a tap in chunks of `chunk`; returns what it reported.
std::vector<HashedEntry> Tap(RangeDigests& digests, const std::string& path, const std::string& tar,
                             size_t chunk = 65536) {
  std::vector<HashedEntry> seen;
  TarDigestTap tap(digests, path, 4096, [&](const HashedEntry& e) { seen.push_back(e); });
  for (size_t at = 0; at < tar.size(); at += chunk) {
    EXPECT_TRUE(tap.Write(at, std::string_view(tar).substr(at, chunk)).ok());
  }
  return seen;
}

TEST(TarDigestTap, RecordsTheDigestOfEachLargeFileAtItsRange) {
  std::string layer = LayerTar('a');
  std::string tar = BuildRawTar({{"abc/layer.tar", '0', layer},
                                 {"config.json", '0', "{}"},
                                 {"blob.gz", '0', test::Gzip(std::string(300000, 'z'))}});
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok());
  RangeDigests digests;
  digests.Begin("/w/app.tar");
  auto seen = Tap(digests, "/w/app.tar", tar, 1000);
  ASSERT_EQ(seen.size(), 1u);  // the gzip blob compresses below the 4 KiB minimum
  const TarEntry& e = index->entries().at("abc/layer.tar");
  EXPECT_EQ(seen[0].offset, e.offset);
  EXPECT_EQ(seen[0].size, e.size);
  EXPECT_EQ(seen[0].digest, Sha256Digest(layer));
  EXPECT_EQ(seen[0].layer, Compression::kNone);
  auto found = digests.Find("/w/app.tar", e.offset, e.size);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->digest, Sha256Digest(layer));
  EXPECT_EQ(found->generation, 1u);
  EXPECT_FALSE(digests.Find("/w/app.tar", e.offset, e.size - 1).has_value());
  EXPECT_FALSE(digests.Find("/w/other.tar", e.offset, e.size).has_value());
}

TEST(TarDigestTap, TellsTarGzipAndOtherFilesApart) {
  std::string other(20000, '\x1f');
  std::string gz = test::Gzip(LayerTar('a') + std::string(100000, 'x'));
  gz += std::string(8192 - gz.size() % 8192, '\0');  // over the minimum size
  ASSERT_GE(gz.size(), 4096u);
  RangeDigests digests;
  auto seen = Tap(digests, "/w/a.tar",
                  BuildRawTar({{"blobs/sha256/x", '0', other}, {"blobs/sha256/y", '0', gz}}));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].layer.has_value());
  EXPECT_EQ(seen[0].digest, Sha256Digest(other));
  EXPECT_EQ(seen[1].layer, Compression::kGzip);
}

TEST(TarDigestTap, ALayerSeenInAnEarlierTarballIsNotHashedAgain) {
  std::string tar = BuildRawTar({{"base/layer.tar", '0', LayerTar('a')}});
  RangeDigests digests;
  EXPECT_EQ(Tap(digests, "/w/one.tar", tar).size(), 1u);
  EXPECT_TRUE(Tap(digests, "/w/two.tar", tar).empty());
  // Same name, other size: another layer.
  EXPECT_EQ(Tap(digests, "/w/three.tar", BuildRawTar({{"base/layer.tar", '0', LayerTar('b') + std::string(512, '\0')}})).size(), 1u);
}

TEST(TarDigestTap, AGapInTheWritesStopsIt) {
  std::string tar = BuildRawTar({{"l1", '0', LayerTar('a')}, {"l2", '0', LayerTar('b')}});
  RangeDigests digests;
  std::vector<HashedEntry> seen;
  TarDigestTap tap(digests, "/w/a.tar", 4096, [&](const HashedEntry& e) { seen.push_back(e); });
  EXPECT_TRUE(tap.Write(0, std::string_view(tar).substr(0, 1000)).ok());
  EXPECT_TRUE(tap.Write(2000, std::string_view(tar).substr(2000)).ok());  // 1000..2000 never came
  EXPECT_TRUE(seen.empty());
}

// What a taker was given for one layer.
struct Taken {
  std::string name;
  Compression kind = Compression::kNone;
  bool first_sighting = false;
  std::string bytes;
  std::optional<std::string> finished;  // the digest Finish was given
};

class RecordingLayer : public TakenLayer {
 public:
  explicit RecordingLayer(Taken& taken) : taken_(taken) {}
  void Write(std::string_view bytes) override { taken_.bytes.append(bytes); }
  void Finish(const std::string& digest) override { taken_.finished = digest; }

 private:
  Taken& taken_;
};

// Writes `tar` through a tap with a taker that takes every layer it is asked
// about (keeping what it got in `taken`) into `file`, whose bytes it returns;
// `gap_at` (when set) skips the bytes from there to the next chunk.
std::string TapAndTake(RangeDigests& digests, const std::string& path, const std::string& tar,
                       std::vector<Taken>& taken, std::vector<HashedEntry>& seen,
                       std::optional<size_t> gap_at = std::nullopt) {
  std::string file(tar.size(), '\0');
  LayerTaker taker = [&](std::string_view name, uint64_t, uint64_t, Compression kind,
                         bool first) {
    taken.push_back(Taken{std::string(name), kind, first, "", std::nullopt});
    return std::make_unique<RecordingLayer>(taken.back());
  };
  taken.reserve(16);  // RecordingLayer keeps a reference
  TarDigestTap tap(
      digests, path, 4096, [&](const HashedEntry& e) { seen.push_back(e); }, taker);
  const UnpackOptions::BlockWriter write = [&](uint64_t at, std::string_view bytes) {
    file.replace(at, bytes.size(), bytes);
    return Status::Ok();
  };
  constexpr size_t kChunk = 3000;  // not a multiple of 512: heads and entries split across writes
  for (size_t at = 0; at < tar.size(); at += kChunk) {
    if (gap_at && at <= *gap_at && *gap_at < at + kChunk) continue;
    EXPECT_TRUE(tap.Write(at, std::string_view(tar).substr(at, kChunk), &write).ok());
  }
  return file;
}

// A layer taken out of the file: all its bytes go to the taker, the file
// keeps only its first 512 (a tar header) and reads zeros for the rest, and
// the range is on record as left out. Other files are written as they are.
TEST(TarDigestTap, ATakenLayerGoesToItsTakerInsteadOfTheFile) {
  std::string layer = LayerTar('a');
  std::string other(20000, '\x1f');
  std::string tar = BuildRawTar(
      {{"abc/layer.tar", '0', layer}, {"config.json", '0', "{}"}, {"blobs/sha256/x", '0', other}});
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok());
  const TarEntry& e = index->entries().at("abc/layer.tar");
  RangeDigests digests;
  digests.Begin("/w/app.tar");
  std::vector<Taken> taken;
  std::vector<HashedEntry> seen;
  std::string file = TapAndTake(digests, "/w/app.tar", tar, taken, seen);

  ASSERT_EQ(taken.size(), 1u);  // not asked about a file that is no tar
  EXPECT_EQ(taken[0].name, "abc/layer.tar");
  EXPECT_TRUE(taken[0].first_sighting);
  EXPECT_EQ(taken[0].bytes, layer);
  EXPECT_EQ(taken[0].finished, Sha256Digest(layer));
  std::string expected = tar;
  expected.replace(e.offset + 512, e.size - 512, std::string(e.size - 512, '\0'));
  EXPECT_EQ(file, expected);
  EXPECT_TRUE(digests.LeftOut("/w/app.tar", e.offset + 512, 1));
  EXPECT_TRUE(digests.LeftOut("/w/app.tar", 0, e.offset + e.size));
  EXPECT_FALSE(digests.LeftOut("/w/app.tar", 0, e.offset + 512));
  EXPECT_FALSE(digests.LeftOut("/w/app.tar", e.offset + e.size, 1000));
  EXPECT_EQ(digests.Find("/w/app.tar", e.offset, e.size)->digest, Sha256Digest(layer));
  // The taken layer is not passed on; the other large file is, once written.
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].digest, Sha256Digest(other));

  // A copy in another tarball: offered unhashed, and dropped as well.
  taken.clear();
  seen.clear();
  TapAndTake(digests, "/w/two.tar", tar, taken, seen);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_FALSE(taken[0].first_sighting);
  EXPECT_EQ(taken[0].finished, "");
  EXPECT_TRUE(digests.LeftOut("/w/two.tar", e.offset + 512, e.size - 512));
  // Writing the path again forgets what was left out of it.
  digests.Begin("/w/app.tar");
  EXPECT_FALSE(digests.LeftOut("/w/app.tar", e.offset + 512, 1));
}

// Without a taker, or when it declines, every byte is written.
TEST(TarDigestTap, ALayerNotTakenIsWritten) {
  std::string tar = BuildRawTar({{"abc/layer.tar", '0', LayerTar('a')}});
  RangeDigests digests;
  std::string file(tar.size(), '\0');
  const UnpackOptions::BlockWriter write = [&](uint64_t at, std::string_view bytes) {
    file.replace(at, bytes.size(), bytes);
    return Status::Ok();
  };
  int asked = 0;
  TarDigestTap tap(digests, "/w/a.tar", 4096, nullptr,
                   [&](std::string_view, uint64_t, uint64_t, Compression, bool) {
                     ++asked;
                     return std::unique_ptr<TakenLayer>();
                   });
  for (size_t at = 0; at < tar.size(); at += 7000) {
    ASSERT_TRUE(tap.Write(at, std::string_view(tar).substr(at, 7000), &write).ok());
  }
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(file, tar);
  EXPECT_FALSE(digests.LeftOut("/w/a.tar", 0, tar.size()));
}

// A gap while a layer is taken cuts it short: its taker never hears Finish,
// and the part already left out stays on record.
TEST(TarDigestTap, AGapCutsATakenLayerShort) {
  std::string tar = BuildRawTar({{"abc/layer.tar", '0', LayerTar('a')}});
  RangeDigests digests;
  std::vector<Taken> taken;
  std::vector<HashedEntry> seen;
  std::string file = TapAndTake(digests, "/w/a.tar", tar, taken, seen, 60000);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_FALSE(taken[0].finished.has_value());
  EXPECT_TRUE(digests.LeftOut("/w/a.tar", 2048, 1));
  // After the gap the rest is written as it comes.
  EXPECT_EQ(file.substr(63000), tar.substr(63000));
}

TEST(RangeDigests, WritingAPathAgainForgetsItsRangesAndMovesItsGeneration) {
  RangeDigests digests;
  EXPECT_EQ(digests.Generation("/w/a.tar"), 0u);
  digests.Begin("/w/a.tar");
  digests.Record("/w/a.tar", 512, 100, "sha256:x");
  EXPECT_EQ(digests.Find("/w/a.tar", 512, 100)->generation, 1u);
  digests.Begin("/w/a.tar");
  EXPECT_FALSE(digests.Find("/w/a.tar", 512, 100).has_value());
  EXPECT_EQ(digests.Generation("/w/a.tar"), 2u);
}

// Feeds `gz` to an InflatingTap writing to `path` with a budget of 1 MiB.
std::optional<std::string> Inflate(RangeDigests& digests, const std::string& path,
                                   const std::string& gz, uint64_t* copy_size) {
  InflationBudget budget(1 << 20);
  auto tap = InflatingTap::Create(digests, path, 4096, nullptr, &budget);
  EXPECT_TRUE(tap.ok()) << tap.status().ToString();
  for (size_t at = 0; at < gz.size(); at += 65536) {
    (*tap)->Write(at, std::string_view(gz).substr(at, 65536));
  }
  struct stat st {};
  *copy_size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return (*tap)->Finish();
}

TEST(InflatingTap, KeepsTheInflatedCopyOfAGzipTar) {
  test::TempDir dir("ppa-inflating-tap");
  RangeDigests digests;
  std::string tar = LayerTar('q');
  uint64_t size = 0;
  auto copy = Inflate(digests, dir.Join("a.tar"), test::Gzip(tar), &size);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(*test::ReadFileToString(*copy), tar);
}

// The layers of a gzip image file are taken out of its inflated copy too.
TEST(InflatingTap, ATakenLayerIsLeftOutOfTheCopy) {
  test::TempDir dir("ppa-inflating-tap");
  RangeDigests digests;
  std::string layer = BuildRawTar({{"opt/", '5'}, {"opt/big", '0', std::string(300000, 'r')}});
  std::string tar = BuildRawTar({{"abc/layer.tar", '0', layer}, {"manifest.json", '0', "[]"}});
  auto index = TarIndex::Parse(tar);
  ASSERT_TRUE(index.ok());
  const TarEntry& e = index->entries().at("abc/layer.tar");
  std::vector<Taken> taken;
  taken.reserve(4);
  LayerTaker taker = [&](std::string_view name, uint64_t, uint64_t, Compression kind,
                         bool first) {
    taken.push_back(Taken{std::string(name), kind, first, "", std::nullopt});
    return std::make_unique<RecordingLayer>(taken.back());
  };
  const std::string path = dir.Join("a.tar");
  InflationBudget budget(1 << 20);
  auto tap = InflatingTap::Create(digests, path, 4096, nullptr, &budget, taker);
  ASSERT_TRUE(tap.ok());
  std::string gz = test::Gzip(tar);
  for (size_t at = 0; at < gz.size(); at += 1000) {
    (*tap)->Write(at, std::string_view(gz).substr(at, 1000));
  }
  auto copy = (*tap)->Finish();
  ASSERT_TRUE(copy.has_value());
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(taken[0].bytes == layer);
  EXPECT_EQ(taken[0].finished, Sha256Digest(layer));
  auto bytes = test::ReadFileToString(*copy);
  ASSERT_TRUE(bytes.ok());
  std::string expected = tar;
  expected.replace(e.offset + 512, e.size - 512, std::string(e.size - 512, '\0'));
  EXPECT_TRUE(*bytes == expected);
  EXPECT_TRUE(digests.LeftOut(path, e.offset + 512, e.size - 512));
}

// A gzip bomb: 8 MiB of zeros from a few KiB is past 100x its compressed
// size and past the (test's) 1 MiB floor. The tap stops near the limit and
// removes its copy; DecompressFile then refuses the file after Unpack.
TEST(InflatingTap, StopsAtTheUnpackLimitOfADecompressionBomb) {
  test::TempDir dir("ppa-inflating-tap");
  RangeDigests digests;
  std::string gz = test::Gzip(std::string(8 << 20, '\0'));
  ASSERT_LT(gz.size(), 20000u);
  std::string path = dir.Join("bomb.tar");
  uint64_t size_before_finish = 0;
  auto copy = Inflate(digests, path, gz, &size_before_finish);
  EXPECT_FALSE(copy.has_value());
  EXPECT_LE(size_before_finish, 2u << 20) << "stopped within a chunk of the 1 MiB floor";
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace ppa
