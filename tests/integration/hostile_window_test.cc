// Decoder windows (README, "Security"). The real `ppa-import` on xz streams
// whose block header asks for a 1 GiB LZMA2 dictionary over ~600 MiB of
// zeros (a ~90 KB file): libarchive lets liblzma use 1 GiB, and the
// dictionary becomes resident as the zeros are decoded. Such a stream, as
// the PPA archive itself or as an image file compressed as a whole inside
// it, is refused before anything is decoded: exit 3, one error line, peak
// RSS under 256 MiB, in seconds. An archive made with `xz -6` still loads.
//
// The streams are made with `xz --lzma2=preset=0` (a 256 KiB dictionary,
// so making them is cheap) and the dictionary byte of the block header is
// then raised to 1 GiB, with the header's CRC32 fixed: a valid stream (the
// decoder may keep more history than the encoder used).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/load_fixture.h"
#include "tests/support/peak_rss_process.h"
#include "tests/support/hostile_documents.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

// PPA_ASAN_BUILD: the code under test is instrumented though this file is
// not (tests/CMakeLists.txt).
#if defined(__SANITIZE_ADDRESS__) || defined(PPA_ASAN_BUILD)
constexpr uint64_t kPeakBudget = 768ull << 20;
constexpr uint64_t kAddressSpace = 0;
#else
constexpr uint64_t kPeakBudget = 256ull << 20;
constexpr uint64_t kAddressSpace = 4ull << 30;
#endif

constexpr char kBigSize[] = "600M";  // of zeros: 600 MiB resident once decoded

uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// Sets the LZMA2 dictionary of the first block of the single-filter xz
// stream `xz` to 1 GiB (dictionary byte 36: 2 x 2^29) and fixes the block
// header's CRC32.
std::string RaiseDictionaryTo1GiB(std::string xz) {
  const size_t at = 12;  // after the stream header
  const size_t header_size = (static_cast<unsigned char>(xz[at]) + 1u) * 4;
  EXPECT_EQ(static_cast<unsigned char>(xz[at + 1]) & 0xc3, 0) << "one filter, no sizes";
  EXPECT_EQ(xz[at + 2], 0x21) << "LZMA2";
  EXPECT_EQ(xz[at + 3], 0x01);
  xz[at + 4] = 36;
  uint32_t crc = Crc32(xz.substr(at, header_size - 4));
  for (int i = 0; i < 4; ++i) xz[at + header_size - 4 + i] = static_cast<char>(crc >> (8 * i));
  return xz;
}

class HostileWindowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = test::ReadFileOr(std::string(PPA_TEST_DATA_DIR) + "/images/test_image_2.tar");
    chart_ = test::ReadFileOr(std::string(PPA_TEST_DATA_DIR) + "/charts/frobnitz-1.2.3.tgz");
    ASSERT_FALSE(image_.empty());
    ASSERT_FALSE(chart_.empty());
  }

  // A tar of manifest.yaml (for `image_archive`) and a sparse file of
  // kBigSize zeros, xz -0 compressed, its dictionary raised to 1 GiB.
  std::string Bomb(const std::string& name, const std::string& image_archive) {
    const std::string d = dir_.Join(name + ".d");
    fs::create_directories(d);
    test::WriteFileOrDie(d + "/manifest.yaml", test::OneImageManifestYaml(image_archive));
    test::ProcessResult r = test::RunProcess(
        {"sh", "-c",
         std::string("truncate -s ") + kBigSize +
             " zeros && tar cf - manifest.yaml zeros | xz --lzma2=preset=0 -T1 -c > ../" +
             name + " && rm zeros"},
        std::nullopt, {}, d);
    EXPECT_EQ(r.exit_code, 0) << test::Output(r);
    return RaiseDictionaryTo1GiB(test::ReadFileOr(dir_.Join(name)));
  }

  test::MeasuredProcess Run(const std::string& command, const std::string& archive_bytes) {
    const std::string archive = dir_.Join("ppa-" + std::to_string(++runs_) + ".tar.xz");
    test::WriteFileOrDie(archive, archive_bytes);
    std::vector<std::string> argv{PPA_IMPORT_BINARY, command, archive, "--workdir",
                                  dir_.Join("work" + std::to_string(runs_))};
    if (command == "load") {
      for (const char* a : {"--namespace", "test_ns", "--registry"}) argv.push_back(a);
      argv.push_back("oci:" + dir_.Join("layout" + std::to_string(runs_)));
    }
    std::map<std::string, std::string> env = {{"HOME", dir_.path()}};
    const auto start = std::chrono::steady_clock::now();
    test::MeasuredProcess run = test::RunMeasured(argv, env, dir_.path(),
                                                  kAddressSpace ? kAddressSpace : ~uint64_t{0});
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return run;
  }

  // `exit_code`: 3 for the PPA archive itself; an image file inside it
  // fails its item (exit 1), as any unreadable image file does: the
  // pipeline makes only an exceeded inflation budget fatal.
  void ExpectRefused(const test::MeasuredProcess& run, const std::string& names,
                     int exit_code = 3) {
    const std::string output = test::Output(run.result);
    EXPECT_EQ(run.result.exit_code, exit_code) << output;
    size_t errors = 0;
    for (size_t at = run.result.stderr_text.find("Error: "); at != std::string::npos;
         at = run.result.stderr_text.find("Error: ", at + 1)) {
      ++errors;
    }
    EXPECT_EQ(errors, 1u) << output;
    for (const std::string& word : {names, std::string("1024 MiB"),
                                   std::string("above the 64 MiB this tool allows")}) {
      EXPECT_NE(output.find(word), std::string::npos) << "the output must say '" << word << "'\n"
                                                      << output;
    }
    EXPECT_LE(run.peak_rss_bytes, kPeakBudget) << "peak RSS " << (run.peak_rss_bytes >> 20)
                                               << " MiB\n" << output;
    EXPECT_LT(seconds_, 20.0) << output;
  }

  test::TempDir dir_{"ppa-window"};
  std::string image_;
  std::string chart_;
  int runs_ = 0;
  double seconds_ = 0;
};

TEST_F(HostileWindowTest, OuterTarXzWithA1GiBDictionaryIsRefused) {
  std::string bomb = Bomb("outer.tar.xz", "images/app.tar");
  ASSERT_LT(bomb.size(), 200u << 10);
  test::MeasuredProcess run = Run("load", bomb);
  ExpectRefused(run, "ppa-1.tar.xz");
}

TEST_F(HostileWindowTest, InnerImageTarXzWithA1GiBDictionaryIsRefused) {
  std::string inner = Bomb("x.tar.xz", "images/app.tar");
  // No PPA manifest: every file is looked at for images, decompressed.
  std::string outer =
      test::Gzip(test::BuildRawTar({{"images/", '5'}, {"images/x.tar.xz", '0', inner}}));
  test::MeasuredProcess run = Run("load", outer);
  ExpectRefused(run, "images/x.tar.xz", /*exit_code=*/1);
}

TEST_F(HostileWindowTest, LegitTarXzStillUnpacks) {
  std::string tar = test::BuildRawTar(
      {{"manifest.yaml", '0', test::OneImageManifestYaml("images/app.tar")},
       {"charts/", '5'},
       {"charts/frobnitz-1.2.3.tgz", '0', chart_},
       {"images/", '5'},
       {"images/app.tar", '0', image_}});
  test::ProcessResult xz = test::RunProcess({"xz", "-6", "-c"}, tar);
  ASSERT_EQ(xz.exit_code, 0) << xz.stderr_text;
  test::MeasuredProcess run = Run("inspect", xz.stdout_text);
  const std::string output = test::Output(run.result);
  EXPECT_TRUE(run.result.exit_code == 0 || run.result.exit_code == 1) << output;
  EXPECT_EQ(output.find("memory bomb"), std::string::npos) << output;
  // The same archive with xz -9 (a 64 MiB dictionary, the largest preset).
  test::ProcessResult xz9 = test::RunProcess({"xz", "-9", "-c"}, tar);
  ASSERT_EQ(xz9.exit_code, 0) << xz9.stderr_text;
  run = Run("load", xz9.stdout_text);
  EXPECT_EQ(run.result.exit_code, 0) << test::Output(run.result);
  EXPECT_LE(run.peak_rss_bytes, kPeakBudget);
}

}  // namespace
}  // namespace ppa
