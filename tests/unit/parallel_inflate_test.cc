// Reading a gzip archive again from its inflate index
// (archive/inflate/parallel_inflate.h): the bytes must be those of a plain
// sequential inflate whatever the index holds, and the index must actually
// be used when it fits.
#include "archive/inflate/parallel_inflate.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <isa-l/crc.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "archive/inflate/fast_inflate.h"
#include "archive/inflate/gzip_file_inflater.h"
#include "archive/inflate/inflate_index.h"
#include "archive/tar/libarchive_internal.h"
#include "archive/tar/unpack.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using internal::InflateReport;
using test::TempDir;

// ~`size` bytes that compress like real files: runs of words, stretches of
// noise, zeros.
std::string MixedData(size_t size, uint32_t seed) {
  static const char* kWords[] = {"layer ", "image ", "registry ", "manifest ", "chart ",
                                 "sha256:", "\n", "usr/lib/", "{\"key\": ", "0123456789"};
  std::string out;
  out.reserve(size + 64);
  uint32_t x = seed;
  auto next = [&x] { return x = x * 1664525u + 1013904223u; };
  while (out.size() < size) {
    uint32_t kind = next() % 10;
    uint32_t len = 256 + next() % 4096;
    for (uint32_t i = 0; i < len; ++i) {
      if (kind < 6) {
        out += kWords[next() % 10];
      } else if (kind < 9) {
        out += static_cast<char>(next() >> 24);
      } else {
        out += '\0';
      }
    }
  }
  out.resize(size);
  return out;
}

InflateIndexOptions SmallIndex(const std::string& dir, unsigned workers = 2) {
  InflateIndexOptions o;
  o.dir = dir;
  o.min_archive_bytes = 0;
  o.spacing = 256 << 10;
  o.workers = workers;
  return o;
}

struct Read {
  bool ok = false;
  std::string bytes;
  std::string error;
  InflateReport report;
};

// Reads the gzip file at `path` the way Unpack does, `limit` bytes at most.
Read Inflate(const std::string& path, const InflateIndexOptions* index,
             size_t limit = SIZE_MAX) {
  Read r;
  {
    internal::ArchiveReader a = internal::NewRawReader();
    if (internal::OpenArchiveFast(a.get(), path, 1 << 20, index, &r.report) != ARCHIVE_OK) {
      r.error = archive_error_string(a.get());
      return r;
    }
    struct archive_entry* entry = nullptr;
    if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) {
      r.error = archive_error_string(a.get());
      return r;
    }
    std::string buf(1 << 16, '\0');
    r.ok = true;
    while (r.bytes.size() < limit) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) {
        r.ok = false;
        r.error = archive_error_string(a.get());
        break;
      }
      r.bytes.append(buf.data(), static_cast<size_t>(n));
    }
    r.report.completed = r.ok;
    archive_read_close(a.get());
  }
  return r;
}

// Where an index file says how large its archive is (inflate_index.cc).
constexpr size_t kIndexArchiveSizeAt = 24;

std::string IndexPathFor(const std::string& dir, const std::string& archive) {
  int fd = ::open(archive.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  std::string name = internal::InflateIndexName(fd, fs::file_size(archive));
  ::close(fd);
  return dir + "/" + name;
}

class ParallelInflateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = MixedData(8 << 20, 7);
    test::WriteFileOrDie(archive_, test::Gzip(data_));
  }
  // Writes the index of archive_ with a first read.
  void Record() {
    Read first = Inflate(archive_, &index_);
    ASSERT_TRUE(first.ok) << first.error;
    ASSERT_EQ(first.bytes, data_);
    ASSERT_GE(first.report.checkpoints_written, 5u);
    ASSERT_EQ(first.report.segments_verified, 0u);
    checkpoints_ = first.report.checkpoints_written;
  }

  TempDir dir_{"ppa-pinflate"};
  std::string archive_ = dir_.path() + "/archive.gz";
  std::string index_dir_ = dir_.path() + "/index";
  InflateIndexOptions index_ = SmallIndex(index_dir_);
  std::string data_;
  size_t checkpoints_ = 0;
};

TEST_F(ParallelInflateTest, ASecondReadIsInflatedFromTheIndexAndGivesTheSameBytes) {
  Record();
  for (unsigned workers : {2u, 3u}) {
    InflateIndexOptions index = SmallIndex(index_dir_, workers);
    Read again = Inflate(archive_, &index);
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_EQ(again.bytes, data_);
    EXPECT_EQ(again.report.segments_verified, checkpoints_) << "every checkpoint must hold";
    EXPECT_EQ(again.report.checkpoints_written, 0u);
  }
  EXPECT_TRUE(fs::exists(IndexPathFor(index_dir_, archive_)));
}

TEST_F(ParallelInflateTest, WithoutADirectoryOrBelowTheSizeNoIndexIsWritten) {
  Read plain = Inflate(archive_, nullptr);
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_EQ(plain.bytes, data_);
  InflateIndexOptions big = index_;
  big.min_archive_bytes = fs::file_size(archive_) + 1;
  Read small = Inflate(archive_, &big);
  EXPECT_EQ(small.report.checkpoints_written, 0u);
  EXPECT_FALSE(fs::exists(index_dir_) && !fs::is_empty(index_dir_));
}

TEST_F(ParallelInflateTest, AnIndexOfAnotherFileIsCaughtAndTheBytesAreStillRight) {
  Record();
  // The same start, a different middle. As if the two names clashed, the
  // index is put under the other file's name, made out for its size.
  std::string other = data_;
  for (size_t i = 5 << 20; i < (5 << 20) + 100000; ++i) other[i] = static_cast<char>(i * 31);
  std::string other_path = dir_.path() + "/other.gz";
  test::WriteFileOrDie(other_path, test::Gzip(other));
  std::string index = *test::ReadFileToString(IndexPathFor(index_dir_, archive_));
  uint64_t size = fs::file_size(other_path);
  index.replace(kIndexArchiveSizeAt, sizeof size, reinterpret_cast<const char*>(&size), sizeof size);
  fs::remove(IndexPathFor(index_dir_, archive_));
  test::WriteFileOrDie(IndexPathFor(index_dir_, other_path), index);

  Read r = Inflate(other_path, &index_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.bytes, other);
  EXPECT_GT(r.report.segments_verified, 0u) << "the checkpoints of the common start hold";
  EXPECT_LT(r.report.segments_verified, checkpoints_);
  EXPECT_FALSE(fs::exists(IndexPathFor(index_dir_, other_path))) << "a stale index is removed";
}

TEST_F(ParallelInflateTest, ADamagedIndexCostsSpeedNotCorrectness) {
  Record();
  std::string path = IndexPathFor(index_dir_, archive_);
  auto index = test::ReadFileToString(path);
  ASSERT_TRUE(index.ok());
  std::string damaged = *index;
  for (size_t at = damaged.size() / 2; at < damaged.size() / 2 + 64; ++at) damaged[at] ^= 0x5a;
  test::WriteFileOrDie(path, damaged);

  Read r = Inflate(archive_, &index_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.bytes, data_);
  EXPECT_LT(r.report.segments_verified, checkpoints_);
}

// A record whose CRC holds but whose state ISA-L could never be left in (an
// index written by a broken build, say): refused before ISA-L sees it.
TEST_F(ParallelInflateTest, AStateThatPassesTheCrcButNotTheChecksIsRefused) {
  Record();
  std::string path = IndexPathFor(index_dir_, archive_);
  std::string index = *test::ReadFileToString(path);
  constexpr size_t kHeader = 32, kRecordHeader = 32, kCrcAt = 28;
  size_t record = kHeader;  // the first checkpoint's record
  uint32_t state_size;
  std::memcpy(&state_size, index.data() + record + 24, sizeof state_size);
  char* state = index.data() + record + kRecordHeader;
  int32_t bad = 100;  // bits buffered: at most 64
  std::memcpy(state + offsetof(inflate_state, read_in_length), &bad, sizeof bad);
  uint32_t crc = crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(index.data() + record),
                                 kCrcAt);
  crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(state), state_size);
  std::memcpy(index.data() + record + kCrcAt, &crc, sizeof crc);
  test::WriteFileOrDie(path, index);

  Read r = Inflate(archive_, &index_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.bytes, data_);
  EXPECT_EQ(r.report.segments_verified, 0u);
}

TEST_F(ParallelInflateTest, ATruncatedArchiveFailsAsWithoutTheIndex) {
  Record();
  std::string gz = *test::ReadFileToString(archive_);
  std::string cut_path = dir_.path() + "/cut.gz";
  test::WriteFileOrDie(cut_path, gz.substr(0, gz.size() * 3 / 4));
  Read plain = Inflate(cut_path, nullptr);
  EXPECT_FALSE(plain.ok);
  fs::copy_file(IndexPathFor(index_dir_, archive_), IndexPathFor(index_dir_, cut_path));

  Read r = Inflate(cut_path, &index_);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bytes.size(), plain.bytes.size());
  EXPECT_EQ(r.bytes, plain.bytes);
}

TEST_F(ParallelInflateTest, SeveralGzipMembersAreReadAgainToo) {
  std::string second = MixedData(2 << 20, 11);
  std::string third = MixedData(3 << 20, 13);
  test::WriteFileOrDie(archive_, test::Gzip(data_) + test::Gzip(second) + test::Gzip(third));
  data_ += second + third;
  Record();
  Read again = Inflate(archive_, &index_);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.bytes, data_);
  EXPECT_EQ(again.report.segments_verified, checkpoints_);
}

TEST_F(ParallelInflateTest, AReaderThatStopsEarlyStopsTheWorkers) {
  Record();
  Read part = Inflate(archive_, &index_, 1 << 20);
  ASSERT_TRUE(part.ok) << part.error;
  EXPECT_EQ(part.bytes, data_.substr(0, part.bytes.size()));
}

TEST(InflateIndexTest, TheFourMostRecentlyUsedIndexesAreKept) {
  TempDir dir("ppa-evict");
  std::string index_dir = dir.path() + "/index";
  InflateIndexOptions options = SmallIndex(index_dir);
  std::vector<std::string> archives;
  auto add = [&](int i) {
    std::string path = dir.path() + "/a" + std::to_string(i) + ".gz";
    test::WriteFileOrDie(path, test::Gzip(MixedData(3 << 20, 100 + i)));
    Read r = Inflate(path, &options);
    ASSERT_TRUE(r.ok) << r.error;
    ASSERT_GT(r.report.checkpoints_written, 0u);
    archives.push_back(path);
  };
  for (int i = 0; i < 5; ++i) add(i);
  auto kept = [&] {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(archives.size()); ++i) {
      if (fs::exists(IndexPathFor(index_dir, archives[i]))) out.push_back(i);
    }
    return out;
  };
  EXPECT_EQ(kept(), (std::vector<int>{1, 2, 3, 4}));
  Read reuse = Inflate(archives[1], &options);  // a1's index is used: newest again
  ASSERT_TRUE(reuse.ok) << reuse.error;
  EXPECT_GT(reuse.report.segments_verified, 0u);
  add(5);
  EXPECT_EQ(kept(), (std::vector<int>{1, 3, 4, 5}));
}

TEST(GzipFileInflaterTest, ResumeRefusesAStateIsalNeverLeaves) {
  TempDir dir("ppa-resume");
  std::string path = dir.path() + "/a.gz";
  std::string data = MixedData(3 << 20, 5);
  test::WriteFileOrDie(path, test::Gzip(data));
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  internal::GzipFileInflater inflater(fd, /*read_ahead=*/false);
  std::string out(internal::kInflateBlock, '\0');
  std::string error;
  ASSERT_GT(inflater.Next(reinterpret_cast<uint8_t*>(out.data()), out.size(), &error), 0);
  std::optional<internal::InflateCheckpoint> at = inflater.Checkpoint();
  ASSERT_TRUE(at.has_value());
  EXPECT_TRUE(inflater.IsAt(*at));
  EXPECT_NE(internal::GzipFileInflater::Resume(fd, *at), nullptr);

  internal::InflateCheckpoint bad = *at;
  auto* state = reinterpret_cast<inflate_state*>(bad.state.data());
  state->read_in_length = 100;
  EXPECT_EQ(internal::GzipFileInflater::Resume(fd, bad), nullptr);
  bad = *at;
  bad.state.resize(bad.state.size() - 1);  // tmp_out_valid no longer fits
  EXPECT_EQ(internal::GzipFileInflater::Resume(fd, bad), nullptr);
  ::close(fd);
}

TEST(UnpackInflateIndexTest, ASecondUnpackOfTheSameArchiveUsesTheIndex) {
  TempDir dir("ppa-unpack-index");
  std::string payload = MixedData(4 << 20, 3);
  std::string archive = dir.path() + "/a.tgz";
  test::WriteFileOrDie(archive, test::Gzip(test::BuildRawTar({{"images/", '5'},
                                                              {"images/x.tar", '0', payload},
                                                              {"manifest.yaml", '0', "images: []\n"}})));
  UnpackOptions options;
  options.inflate_index = SmallIndex(dir.path() + "/index");
  size_t written = 0;
  for (int run = 0; run < 2; ++run) {
    std::string work = dir.path() + "/work" + std::to_string(run);
    fs::create_directories(work);
    auto r = UnpackArchive(archive, work, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (run == 0) {
      written = r->inflate_checkpoints_written;
      EXPECT_GE(written, 3u);
    } else {
      EXPECT_EQ(r->inflate_segments_verified, written);
    }
    EXPECT_EQ(*test::ReadFileToString(work + "/images/x.tar"), payload);
  }
}

TEST(UnpackInflateIndexTest, AnArchiveRefusedHalfwayLeavesNoIndex) {
  TempDir dir("ppa-unpack-refused");
  std::string archive = dir.path() + "/bomb.tgz";
  test::WriteFileOrDie(archive, test::Gzip(test::BuildRawTar(
                                    {{"images/", '5'}, {"images/x.tar", '0', MixedData(4 << 20, 9)}})));
  UnpackOptions options;
  options.inflate_index = SmallIndex(dir.path() + "/index");
  options.max_unpacked_bytes = 2 << 20;  // refused as a decompression bomb
  std::string work = dir.path() + "/work";
  fs::create_directories(work);
  auto r = UnpackArchive(archive, work, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive) << r.status().ToString();
  bool any = fs::exists(options.inflate_index.dir) && !fs::is_empty(options.inflate_index.dir);
  EXPECT_FALSE(any) << "no index (nor a temporary file) of a refused archive";
}

}  // namespace
}  // namespace ppa
