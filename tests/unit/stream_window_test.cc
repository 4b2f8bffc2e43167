// DecoderWindowOf / CheckDecoderWindow / CheckXzFile on real streams made
// at test time with the xz and zstd command-line tools, and on truncated or
// garbage headers.
#include "archive/inflate/stream_window.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

// `tool` (argv) over `data` on stdin; the compressed bytes.
std::string Compress(std::vector<std::string> tool, const std::string& data) {
  test::ProcessResult r = test::RunProcess(tool, data);
  EXPECT_EQ(r.exit_code, 0) << tool[0] << ": " << r.stderr_text;
  return r.stdout_text;
}

const std::string& Data() {
  static const std::string data = [] {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += "line " + std::to_string(i * 7919 % 10007) + "\n";
    return s;
  }();
  return data;
}

struct Case {
  const char* name;
  std::vector<std::string> tool;
  StreamKind kind;
  uint64_t window;
  bool accepted;
};

TEST(StreamWindowTest, RealStreams) {
  const uint64_t MiB = 1 << 20;
  const std::vector<Case> cases = {
      {"xz -6 (default)", {"xz", "-6", "-c"}, StreamKind::kXz, 8 * MiB, true},
      {"xz -9", {"xz", "-9", "-c"}, StreamKind::kXz, 64 * MiB, true},
      {"xz -0", {"xz", "-0", "-c"}, StreamKind::kXz, 256 << 10, true},
      {"xz x86 filter then lzma2", {"xz", "--x86", "--lzma2=preset=6", "-c"}, StreamKind::kXz,
       8 * MiB, true},
      {"xz dict=3MiB", {"xz", "--lzma2=dict=3MiB", "-c"}, StreamKind::kXz, 3 * MiB, true},
      {"xz dict=128MiB", {"xz", "--lzma2=dict=128MiB", "-c"}, StreamKind::kXz, 128 * MiB, false},
      {"xz dict=1GiB", {"xz", "--lzma2=dict=1GiB", "-c"}, StreamKind::kXz, 1024 * MiB, false},
      {"xz -T2 (sizes in block headers)", {"xz", "-T2", "-c"}, StreamKind::kXz, 8 * MiB, true},
      {"lzma -6", {"xz", "--format=lzma", "-6", "-c"}, StreamKind::kLzma, 8 * MiB, true},
      {"lzma dict=128MiB", {"xz", "--format=lzma", "--lzma1=dict=128MiB", "-c"},
       StreamKind::kLzma, 128 * MiB, false},
      {"zstd -3", {"zstd", "-3", "-c"}, StreamKind::kZstd, 2 * MiB, true},
      {"zstd -19", {"zstd", "-19", "-c"}, StreamKind::kZstd, 8 * MiB, true},
      {"zstd --long=26", {"zstd", "--long=26", "-c"}, StreamKind::kZstd, 64 * MiB, true},
      {"zstd --long=27", {"zstd", "--long=27", "-c"}, StreamKind::kZstd, 128 * MiB, false},
      {"zstd --long=28", {"zstd", "--long=28", "-c"}, StreamKind::kZstd, 256 * MiB, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::string stream = Compress(c.tool, Data());
    ASSERT_FALSE(stream.empty());
    Result<DecoderWindow> w = DecoderWindowOf(stream.substr(0, kStreamHeadBytes));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ(w->kind, c.kind);
    EXPECT_EQ(w->bytes, c.window);
    Status s = CheckDecoderWindow("x.tar", stream);
    EXPECT_EQ(s.ok(), c.accepted) << s.ToString();
    if (!c.accepted) {
      EXPECT_EQ(s.code(), StatusCode::kUnsafeArchive);
      EXPECT_NE(s.message().find("'x.tar': its "), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("above the 64 MiB this tool allows (a memory bomb?)"),
                std::string::npos)
          << s.message();
      EXPECT_FALSE(s.hint().empty());
    }
  }
}

TEST(StreamWindowTest, ZstdSingleSegmentUsesContentSize) {
  // A file (not stdin): zstd knows the size and writes a single-segment frame.
  test::TempDir dir("ppa-window");
  test::WriteFileOrDie(dir.Join("in"), Data());
  ASSERT_EQ(test::RunProcess({"zstd", "-q", "-3", dir.Join("in"), "-o", dir.Join("in.zst")})
                .exit_code,
            0);
  std::string stream = test::ReadFileOr(dir.Join("in.zst"));
  ASSERT_GE(stream.size(), 5u);
  ASSERT_TRUE(static_cast<unsigned char>(stream[4]) & 0x20) << "expected a single-segment frame";
  Result<DecoderWindow> w = DecoderWindowOf(stream);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->bytes, Data().size());
}

TEST(StreamWindowTest, NotCompressedIsOther) {
  for (std::string head : {std::string(), std::string("manifest.yaml"), std::string(512, '\0'),
                           std::string("\x1f\x8b\x08\x00", 4), std::string("BZh91AY&SY")}) {
    Result<DecoderWindow> w = DecoderWindowOf(head);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ(w->kind, StreamKind::kOther);
    EXPECT_TRUE(CheckDecoderWindow("x", head).ok());
  }
}

TEST(StreamWindowTest, TruncatedAndGarbageHeaders) {
  std::string xz = Compress({"xz", "-6", "-c"}, Data());
  std::string zst = Compress({"zstd", "--long=28", "-c"}, Data());
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"xz magic only", xz.substr(0, 6)},
      {"xz stream header only", xz.substr(0, 12)},
      {"xz block header cut", xz.substr(0, 14)},
      {"xz reserved block flags", [&] { std::string s = xz.substr(0, 64); s[13] |= 0x10; return s; }()},
      {"xz LZMA2 dictionary byte 41", [&] {
         std::string s = xz.substr(0, 64);
         s[12 + 4] = 41;  // size, flags, id 0x21, props size 1, props
         return s;
       }()},
      {"xz filter props past the header", [&] {
         std::string s = xz.substr(0, 64);
         s[12 + 3] = 0x7f;
         return s;
       }()},
      {"zstd magic only", zst.substr(0, 4)},
      {"zstd descriptor without window", zst.substr(0, 5)},
      {"zstd reserved bit", [&] { std::string s = zst.substr(0, 32); s[4] |= 0x08; return s; }()},
  };
  for (const auto& [name, head] : bad) {
    SCOPED_TRACE(name);
    Result<DecoderWindow> w = DecoderWindowOf(head);
    EXPECT_FALSE(w.ok()) << StreamKindName(w->kind) << " " << w->bytes;
    Status s = CheckDecoderWindow("x.tar.xz", head);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("'x.tar.xz'"), std::string::npos) << s.message();
  }
  // The header is read through: a tampered window byte says what it says.
  std::string big = zst.substr(0, 32);
  big[5] = static_cast<char>((30 - 10) << 3);  // windowLog 30
  Result<DecoderWindow> w = DecoderWindowOf(big);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->bytes, uint64_t{1} << 30);
}

// A file of two xz streams: a small one first, then one with a 128 MiB
// dictionary that the first block's header does not show.
TEST(StreamWindowTest, XzFileChecksEveryStream) {
  test::TempDir dir("ppa-window");
  std::string small = Compress({"xz", "-6", "-c"}, Data());
  std::string big = Compress({"xz", "--lzma2=dict=128MiB", "-c"}, Data());
  auto check = [&](const std::string& name, const std::string& bytes) {
    test::WriteFileOrDie(dir.Join(name), bytes);
    int fd = ::open(dir.Join(name).c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    Status s = CheckXzFile(name, fd, bytes.size());
    ::close(fd);
    return s;
  };
  EXPECT_TRUE(check("one.xz", small).ok());
  EXPECT_TRUE(check("padded.xz", small + std::string(8, '\0') + small).ok());
  Status s = check("two.xz", small + std::string(4, '\0') + big);
  EXPECT_EQ(s.code(), StatusCode::kUnsafeArchive) << s.ToString();
  EXPECT_TRUE(CheckDecoderWindow("two.xz", small + big).ok()) << "the head alone cannot tell";
  // Many blocks (xz -T2 --block-size): all read through the index.
  std::string blocks = Compress({"xz", "-T2", "--block-size=4KiB", "-c"}, Data());
  EXPECT_TRUE(check("blocks.xz", blocks).ok());
  EXPECT_EQ(check("blocks-big.xz", blocks + big).code(), StatusCode::kUnsafeArchive);
  // Truncated or with a broken footer: not walked, refused.
  EXPECT_EQ(check("cut.xz", small.substr(0, small.size() - 3)).code(), StatusCode::kInvalidInput);
  std::string bad_footer = small;
  bad_footer[bad_footer.size() - 8] ^= 0x40;  // backward size
  EXPECT_FALSE(check("footer.xz", bad_footer).ok());
  // Not xz: nothing to do.
  EXPECT_TRUE(check("plain", Data()).ok());
}

}  // namespace
}  // namespace ppa
