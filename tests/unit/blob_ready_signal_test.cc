// Completion signals instead of polls: ReadySignal calls its listeners; the
// LayerPreparer notifies blob_ready() after each blob is ready; the upload
// thread of AheadOfUnpack sleeps until a file, a layer or a blob it waits
// for is done (it used to look every 20 ms while uploads were queued).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "docker_io/target/oci_layout_sink.h"
#include "importer/load/ahead_of_unpack.h"
#include "importer/load/ready_signal.h"
#include "samples/generator/sample_archive.h"
#include "tests/support/eventually.h"
#include "tests/support/preparer_archive.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/unpack_through.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST(ReadySignalTest, NotifyCallsEveryListenerUntilItsSubscriptionEnds) {
  ReadySignal signal;
  int a = 0, b = 0;
  ReadySignal::Subscription first = signal.Subscribe([&] { ++a; });
  {
    ReadySignal::Subscription second = signal.Subscribe([&] { ++b; });
    signal.Notify();
  }
  signal.Notify();
  first.Reset();
  first.Reset();  // idempotent
  signal.Notify();
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 1);
}

TEST(ReadySignalTest, AMovedSubscriptionStaysSubscribed) {
  ReadySignal signal;
  int calls = 0;
  ReadySignal::Subscription kept;
  {
    ReadySignal::Subscription made = signal.Subscribe([&] { ++calls; });
    kept = std::move(made);
  }
  signal.Notify();
  ReadySignal::Subscription moved(std::move(kept));
  signal.Notify();
  moved = ReadySignal::Subscription();
  signal.Notify();
  EXPECT_EQ(calls, 2);
}

// Its owner may be destroyed right after: ending a subscription waits for
// a call of its listener under way.
TEST(ReadySignalTest, EndingASubscriptionWaitsForItsListenerToReturn) {
  ReadySignal signal;
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> in_listener{false};
  ReadySignal::Subscription subscription = signal.Subscribe([&] {
    in_listener = true;
    entered.set_value();
    released.wait();
    in_listener = false;
  });
  std::thread notifier([&] { signal.Notify(); });
  entered.get_future().wait();
  std::atomic<bool> ended{false};
  std::thread ender([&] {
    subscription.Reset();
    EXPECT_FALSE(in_listener);
    ended = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(ended);
  release.set_value();
  ender.join();
  notifier.join();
  EXPECT_TRUE(ended);
}

class BlobReadySignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Join("root");
    scratch_ = dir_.Join("scratch");
    layout_ = dir_.Join("layout");
    fs::create_directories(scratch_);
    test::WriteOneAppArchive(root_);
    auto sink = MakeOciLayoutSink(layout_);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink).value();
  }

  PlanInput Input(LayerPreparer& preparer) {
    return test::PreparerPlanInput(root_, scratch_, preparer);
  }

  // Each blob made (compressed into a spool file) becomes ready `delay`
  // after it is made: the hook runs just before.
  PreparerOptions Slow(milliseconds delay) {
    PreparerOptions options;
    options.format = ManifestFormat::kOci;
    options.spool_dir = scratch_;
    options.jobs = 2;
    options.on_spool_grown = [delay](uint64_t) { std::this_thread::sleep_for(delay); };
    return options;
  }

  int LayoutBlobs() {
    if (!fs::exists(layout_ + "/blobs/sha256")) return 0;
    return static_cast<int>(
        std::distance(fs::directory_iterator(layout_ + "/blobs/sha256"), fs::directory_iterator()));
  }

  test::TempDir dir_{"ppa-blob-ready"};
  std::string root_, scratch_, layout_;
  std::unique_ptr<BlobSink> sink_;
};

// Each notification comes after its blob is ready: a listener looking then
// sees it (the spool's bytes count only ready blobs).
TEST_F(BlobReadySignalTest, ThePreparerTellsOfEachBlobAfterItIsReady) {
  LayerPreparer preparer(*sink_, Slow(milliseconds(50)));
  std::mutex mu;
  std::vector<uint64_t> seen;
  ReadySignal::Subscription told = preparer.blob_ready().Subscribe([&] {
    uint64_t spooled = preparer.SpooledBytes();
    std::lock_guard lock(mu);
    seen.push_back(spooled);
  });
  auto sources = preparer.ImageFile(root_ + "/images/app.tar", "images/app.tar");
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  const ImageSource& image = sources->front();
  for (const auto& layer : image.layers) ASSERT_TRUE(preparer.Pending(image, layer, "").get().ok());
  ASSERT_TRUE(test::Eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() == image.layers.size();
  }));
  told.Reset();
  EXPECT_GT(preparer.SpooledBytes(), 0u);
  EXPECT_EQ(*std::max_element(seen.begin(), seen.end()), preparer.SpooledBytes());
}

// Was: while layers waited for their blobs, the upload thread looked every
// 20 ms (some 15 times over these 300 ms). Now it wakes for the files and
// for each blob.
TEST_F(BlobReadySignalTest, TheUploadThreadWaitsForBlobsWithoutLookingOnATimer) {
  LayerPreparer preparer(*sink_, Slow(milliseconds(300)));
  ImagesStage images(*sink_, preparer, PushOptions{ManifestFormat::kOci, nullptr});
  AheadOfUnpack ahead(Input(preparer), preparer, &images);
  ahead.OnFile("manifest.yaml");
  ahead.OnFile("images/app.tar");
  // Both layers land with nothing else happening: their blobs woke it.
  ASSERT_TRUE(test::Eventually([&] { return LayoutBlobs() == 2; }));
  EXPECT_LE(ahead.wakeups(), 6u);
  ahead.Stop();
}

// A layer taken out of its file is made by a stream of its own, whose blob
// becomes ready after the file is done: the upload thread, waiting for it,
// is woken by it (no later file comes to wake it).
TEST_F(BlobReadySignalTest, ALayerTakenOnTheWayIsUploadedOnceItsStreamEnds) {
  const std::string rel = "images/app.tar";
  auto bytes = test::ReadFileToString(root_ + "/" + rel);
  ASSERT_TRUE(bytes.ok());
  RangeDigests digests;
  PreparerOptions options = Slow(milliseconds(300));
  options.digests = &digests;
  options.take_layers = true;
  options.restore_image_file = [](const std::string&) -> Result<std::string> {
    return IoError("not expected");
  };
  LayerPreparer preparer(*sink_, options);
  ImagesStage images(*sink_, preparer, PushOptions{ManifestFormat::kOci, nullptr});
  AheadOfUnpack ahead(Input(preparer), preparer, &images);
  ahead.OnFile("manifest.yaml");
  test::UnpackThrough(ahead, root_, rel, *bytes);
  ASSERT_TRUE(digests.LeftOut(root_ + "/" + rel, 0, bytes->size()));  // one was taken
  ASSERT_TRUE(test::Eventually([&] { return LayoutBlobs() == 2; }));
  EXPECT_LE(ahead.wakeups(), 8u);
  ahead.Stop();
}

}  // namespace
}  // namespace ppa
