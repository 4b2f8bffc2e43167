// A layer's blob made from its bytes as they are unpacked: the same blob the
// file would give, in bounded memory, and nothing left behind when the layer
// is cut short.
#include "importer/load/layer_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "docker_io/image/digest.h"
#include "docker_io/image/gzip_isal.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

std::string SomeBytes(size_t size) {
  std::string bytes(size, '\0');
  uint32_t x = 12345;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245 + 12345;
    bytes[i] = static_cast<char>((x >> 16) % 7 == 0 ? (x >> 8) & 0xff : 'a' + (i / 4096) % 26);
  }
  return bytes;
}

std::string Gunzip(const std::string& gz) {
  std::string out;
  IsalGunzip gunzip([&](const char* data, size_t size) {
    out.append(data, size);
    return Status::Ok();
  });
  EXPECT_TRUE(gunzip.Feed(gz.data(), gz.size()).ok());
  EXPECT_TRUE(gunzip.Finish().ok());
  return out;
}

size_t FilesIn(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(LayerStream, MakesTheSameBlobAsTheBytesCompressedInOnePiece) {
  test::TempDir dir("ppa-layer-stream");
  const std::string bytes = SomeBytes((5 << 20) + 777);
  CompressionOptions options;
  auto direct = SpoolCompressor::Create(dir.path(), ManifestFormat::kDocker, options);
  ASSERT_TRUE(direct.ok());
  ASSERT_TRUE((*direct)->Write(bytes.data(), bytes.size()).ok());
  auto expected = (*direct)->Finish(Sha256Digest(bytes));
  ASSERT_TRUE(expected.ok());

  // A budget of one chunk: the writer waits for the thread at every MiB.
  QueueBudget budget(1 << 20);
  std::atomic<int> done_calls{0};
  auto spool = SpoolCompressor::Create(dir.path(), ManifestFormat::kDocker, options);
  ASSERT_TRUE(spool.ok());
  LayerStream stream(std::move(spool).value(), budget,
                     [&](const Result<LayerBlob>& blob) { done_calls += blob.ok() ? 1 : 100; });
  for (size_t at = 0; at < bytes.size(); at += 300000) {
    stream.Write(std::string_view(bytes).substr(at, 300000));
  }
  stream.Close(Sha256Digest(bytes));
  const Result<LayerBlob>& blob = stream.blob().get();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(done_calls, 1);
  EXPECT_TRUE(stream.finished());
  EXPECT_EQ(blob->digest, expected->digest);
  EXPECT_EQ(blob->size, expected->size);
  EXPECT_EQ(blob->diff_id, Sha256Digest(bytes));
  EXPECT_EQ(blob->media_type, expected->media_type);
  EXPECT_TRUE(blob->spooled);
  auto spooled = test::ReadFileToString(blob->file.path);
  ASSERT_TRUE(spooled.ok());
  EXPECT_EQ(Sha256Digest(*spooled), blob->digest);
  EXPECT_EQ(Gunzip(*spooled), bytes);
}

TEST(LayerStream, ALayerCutShortLeavesNoSpoolFile) {
  test::TempDir dir("ppa-layer-stream");
  QueueBudget budget(4 << 20);
  auto spool = SpoolCompressor::Create(dir.path(), ManifestFormat::kOci, CompressionOptions{});
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(FilesIn(dir.path()), 1u);
  bool done_with_error = false;
  {
    LayerStream stream(std::move(spool).value(), budget,
                       [&](const Result<LayerBlob>& blob) { done_with_error = !blob.ok(); });
    stream.Write(SomeBytes(3 << 20));
    stream.Abandon();
    const Result<LayerBlob>& blob = stream.blob().get();
    ASSERT_FALSE(blob.ok());
    EXPECT_NE(blob.status().message().find("cut short"), std::string::npos);
    stream.Close("sha256:late");  // too late: changes nothing
    EXPECT_FALSE(stream.blob().get().ok());
  }
  EXPECT_TRUE(done_with_error);
  EXPECT_EQ(FilesIn(dir.path()), 0u);
  // A stream destroyed while open is abandoned the same way.
  auto again = SpoolCompressor::Create(dir.path(), ManifestFormat::kOci, CompressionOptions{});
  ASSERT_TRUE(again.ok());
  { LayerStream stream(std::move(again).value(), budget, nullptr); }
  EXPECT_EQ(FilesIn(dir.path()), 0u);
  // Every byte queued was given back to the budget: a full one fits at once.
  budget.Take(4 << 20);
  budget.Give(4 << 20);
}

TEST(SpoolCompressor, RefusesCompressionNone) {
  test::TempDir dir("ppa-layer-stream");
  CompressionOptions none;
  none.algorithm = Compression::kNone;
  EXPECT_FALSE(SpoolCompressor::Create(dir.path(), ManifestFormat::kOci, none).ok());
  EXPECT_EQ(FilesIn(dir.path()), 0u);
}

TEST(QueueBudget, TakeWaitsForRoom) {
  QueueBudget budget(10);
  budget.Take(6);
  std::atomic<bool> taken{false};
  std::thread waiter([&] {
    budget.Take(6);
    taken = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(taken);
  budget.Give(6);
  waiter.join();
  EXPECT_TRUE(taken);
  // More than the whole budget still goes through when nothing else waits.
  budget.Give(6);
  budget.Take(25);
  budget.Give(25);
}

}  // namespace
}  // namespace ppa
