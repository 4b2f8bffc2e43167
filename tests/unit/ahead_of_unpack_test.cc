// Work started during Unpack: image files read and layers prepared as they
// are unpacked, layers uploaded once the PPA manifest is known, manifests
// only in the final push (here into an OCI image layout).
#include "importer/load/ahead_of_unpack.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "docker_io/target/oci_layout_sink.h"
#include "importer/report/report.h"
#include "importer/load/workspace.h"
#include "samples/generator/sample_archive.h"
#include "tests/support/preparer_archive.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/eventually.h"
#include "tests/support/unpack_through.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using samples::ImageSpec;
using samples::ImageTarballSpec;
using samples::LayerSpec;

bool HasBlob(const std::string& layout, const std::string& digest) {
  return fs::exists(fs::path(layout) / "blobs/sha256" / digest.substr(7));
}

class AheadOfUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Join("root");
    scratch_ = dir_.Join("scratch");
    layout_ = dir_.Join("layout");
    fs::create_directories(scratch_);
    image_ = test::WriteOneAppArchive(root_);
    auto sink = MakeOciLayoutSink(layout_);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    sink_ = std::move(sink).value();
  }

  PlanInput Input(LayerPreparer& preparer) {
    return test::PreparerPlanInput(root_, scratch_, preparer);
  }

  // Options whose RangeDigests is `digests`: layers are hashed on the way.
  PreparerOptions Tapped(RangeDigests& digests) {
    PreparerOptions options = Options();
    options.digests = &digests;
    return options;
  }

  // Tapped(digests), with image files that can be restored (so layers may
  // be taken out of them) but must never need to be.
  PreparerOptions NeverRestored(RangeDigests& digests) {
    PreparerOptions options = Tapped(digests);
    options.take_layers = true;
    options.restore_image_file = [](const std::string&) -> Result<std::string> {
      return IoError("not expected");
    };
    return options;
  }

  PreparerOptions Options() {
    PreparerOptions options;
    options.format = ManifestFormat::kOci;
    options.spool_dir = scratch_;
    options.jobs = 2;
    return options;
  }

  // The files are written by the test before OnData passes their bytes.
  const UnpackOptions::BlockWriter written_ = [](uint64_t, std::string_view) {
    return Status::Ok();
  };
  test::TempDir dir_{"ppa-ahead"};
  std::string root_, scratch_, layout_;
  samples::WrittenImage image_;
  std::unique_ptr<BlobSink> sink_;
};

TEST_F(AheadOfUnpackTest, UploadsLayersBeforeThePlanAndManifestsOnlyAfter) {
  LayerPreparer preparer(*sink_, Options());
  ImagesStage images(*sink_, preparer, PushOptions{ManifestFormat::kOci, nullptr});
  PlanInput input = Input(preparer);
  AheadOfUnpack ahead(input, preparer, &images);
  ahead.OnFile("manifest.yaml");
  ahead.OnFile("images/app.tar");

  // The layers land (compressed: their digests are not the diff_ids) while
  // "Unpack" is still going; neither the config nor a manifest does.
  auto layer_blobs = [&] {
    int n = 0;
    for (const auto& entry : fs::directory_iterator(layout_ + "/blobs/sha256")) {
      (void)entry;
      ++n;
    }
    return n;
  };
  ASSERT_TRUE(
      test::Eventually([&] { return fs::exists(layout_ + "/blobs/sha256") && layer_blobs() == 2; }));
  ahead.Stop();
  EXPECT_FALSE(HasBlob(layout_, image_.config_digest));
  EXPECT_FALSE(HasBlob(layout_, image_.diff_ids[0]));

  input.files = {"manifest.yaml", "images/app.tar"};
  auto manifest = ReadPpaManifest(root_, input.files);
  ASSERT_TRUE(manifest.ok());
  input.manifest = *manifest;
  ImportPlan plan = BuildImportPlan(input);
  std::ostringstream out, err;
  Reporter reporter(out, err, /*quiet=*/true);
  images.Push(plan, reporter);
  ASSERT_EQ(reporter.failed_items(), 0) << err.str();
  EXPECT_TRUE(HasBlob(layout_, image_.config_digest));
  // The image, then its manifest list. The layers sent ahead are reported as
  // uploaded (once), the config too.
  const std::vector<ItemResult> items = reporter.items();
  ASSERT_EQ(items.size(), 2u);
  ASSERT_EQ(items[0].kind, ItemResult::Kind::kImage);
  int uploaded = 0;
  for (const auto& blob : items[0].blobs) {
    if (blob.action == BlobResult::Action::kUploaded) ++uploaded;
  }
  EXPECT_EQ(uploaded, 3);
  EXPECT_EQ(reporter.transfer().blobs_uploaded, 3);
}

TEST_F(AheadOfUnpackTest, WithoutAManifestNothingIsUploadedAhead) {
  LayerPreparer preparer(*sink_, Options());
  ImagesStage images(*sink_, preparer, PushOptions{ManifestFormat::kOci, nullptr});
  AheadOfUnpack ahead(Input(preparer), preparer, &images);
  ahead.OnFile("images/app.tar");
  // The image file is read and its layers are prepared all the same.
  auto sources = preparer.ImageFile(root_ + "/images/app.tar", "images/app.tar");
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ(sources->front().tarball, root_ + "/images/app.tar");
  EXPECT_EQ(sources->front().config_digest, image_.config_digest);
  const ImageSource& source = sources->front();
  for (const auto& layer : source.layers) {
    EXPECT_TRUE(preparer.Speculative(layer));
    const Result<LayerBlob>& blob = preparer.Pending(source, layer, "ns/ibmcom/app").get();
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(blob->diff_id, layer.diff_id);
  }
  ahead.Stop();
  EXPECT_FALSE(fs::exists(layout_ + "/blobs/sha256") && !fs::is_empty(layout_ + "/blobs/sha256"));
}

TEST_F(AheadOfUnpackTest, SpooledLayersAreFreedFromTheTarballWhichStaysReadable) {
  PreparerOptions options = Options();
  options.take_layers = true;
  options.restore_image_file = [](const std::string&) -> Result<std::string> {
    return IoError("not expected");
  };
  LayerPreparer preparer(*sink_, options);
  std::string tarball = root_ + "/images/app.tar";
  auto before = ReadImageTarball(tarball, "images/app.tar");
  ASSERT_TRUE(before.ok());
  uint64_t size = fs::file_size(tarball);
  const ImageSource& source = before->front();
  for (const auto& layer : source.layers) {
    const Result<LayerBlob>& blob = preparer.Pending(source, layer, "").get();
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_TRUE(blob->spooled);
  }
  // The bytes of the (first, 80 KiB) layer are gone, the file keeps its size
  // and its tar headers, and the spooled blob still reads back.
  EXPECT_EQ(fs::file_size(tarball), size);
  auto bytes = test::ReadFileToString(tarball);
  ASSERT_TRUE(bytes.ok());
  const LayerSource& first = source.layers[0];
  std::string middle = bytes->substr(first.offset + 8192, 4096);
  EXPECT_EQ(middle, std::string(4096, '\0'));
  auto after = ReadImageTarball(tarball, "images/app.tar");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->front().config_digest, source.config_digest);
  const Result<LayerBlob>& blob = preparer.Pending(source, first, "").get();
  EXPECT_TRUE(fs::exists(blob->file.path));
}

// A run that ends while an image file is being read ahead: the reading
// queues its layers as the preparer goes away, and those tasks still find
// their pool (a CI run crashed on this).
TEST_F(AheadOfUnpackTest, APreparerEndingWhileReadingAheadFinishesWhatIsQueued) {
  for (int i = 0; i < 40; ++i) {
    LayerPreparer preparer(*sink_, Options());
    preparer.Speculate(root_ + "/images/app.tar", "images/app.tar", "");
    std::this_thread::sleep_for(std::chrono::microseconds(50 * (i % 8)));
  }
}

TEST_F(AheadOfUnpackTest, ReprepareMakesTheBlobFromTheImageItIsGiven) {
  LayerPreparer preparer(*sink_, Options());
  // A layer whose bytes do not hash to its diff_id (as when a speculative
  // read saw a file that a later entry of the same name replaced) fails;
  // Reprepare then makes the blob from the image it is given.
  auto sources = ReadImageTarball(root_ + "/images/app.tar", "images/app.tar");
  ASSERT_TRUE(sources.ok());
  ImageSource damaged = sources->front();
  damaged.layers[0].offset += 1;  // hashes to something else than the diff_id
  const Result<LayerBlob>& bad = preparer.Pending(damaged, damaged.layers[0], "").get();
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(preparer.Speculative(damaged.layers[0]));  // a planned request: final
  auto again = preparer.Reprepare(sources->front(), sources->front().layers[0]);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->diff_id, image_.diff_ids[0]);
}


// The layers of a tarball being unpacked are hashed on the way; each one
// that is complete is queued for compression at once (before the tarball is
// finished), and the plan's request for it gets that same blob, made
// without a second hash.
TEST_F(AheadOfUnpackTest, LayersHashedOnTheWayAreQueuedBeforeTheirTarballIsComplete) {
  RangeDigests digests;
  LayerPreparer preparer(*sink_, Tapped(digests));
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  std::string tarball = root_ + "/images/app.tar";
  auto sources = ReadImageTarball(tarball, "images/app.tar");
  ASSERT_TRUE(sources.ok());
  const ImageSource& source = sources->front();
  auto bytes = test::ReadFileToString(tarball);
  ASSERT_TRUE(bytes.ok());
  // "Unpack" passes the bytes up to the end of the first (80 KiB) layer;
  // the second (20 KiB) is below the size worth hashing on the way.
  const LayerSource& first = source.layers[0];
  ahead.OnFileBegin("images/app.tar");
  EXPECT_TRUE(ahead
                  .OnData("images/app.tar", 0,
                          std::string_view(*bytes).substr(0, first.offset + first.size), written_)
                  .ok());
  EXPECT_TRUE(preparer.Speculative(first));
  EXPECT_FALSE(preparer.Speculative(source.layers[1]));
  auto known = digests.Find(tarball, first.offset, first.size);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->digest, image_.diff_ids[0]);
  const Result<LayerBlob>& blob = preparer.Pending(source, first, "").get();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->diff_id, image_.diff_ids[0]);
  EXPECT_TRUE(blob->spooled);

  // A digest on record is trusted for its range (nothing is read again):
  // one that does not match the config fails the layer.
  digests.Record(tarball, source.layers[1].offset, source.layers[1].size, image_.diff_ids[0]);
  const Result<LayerBlob>& wrong = preparer.Pending(source, source.layers[1], "").get();
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("diff_id"), std::string::npos);
  // Once the file is written again, its old digests are forgotten.
  ahead.OnFileBegin("images/app.tar");
  EXPECT_FALSE(digests.Find(tarball, first.offset, first.size).has_value());
  ahead.Stop();
}


// A gzip layer found on the way is decompressed and hashed at once (its
// diff_id is only known then); the plan's request for it gets that blob.
// Once the blob cache knows the digest, nothing is read ahead any more.
TEST_F(AheadOfUnpackTest, GzipLayersFoundOnTheWayAreVerifiedAhead) {
  ImageSpec tool{{"ibmcom/tool:1.0"}, "linux", "amd64", "", {"/bin/sh"},
                 {LayerSpec{7, 40, 8192, /*random_content=*/true}}};
  ImageTarballSpec spec{samples::ImageTarballFormat::kOciLayout, false, 6, {tool}};
  std::string tarball = root_ + "/images/oci.tar";
  auto written = samples::WriteImageTarballFile(spec, tarball);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto sources = ReadImageTarball(tarball, "images/oci.tar");
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  const LayerSource& layer = sources->front().layers[0];
  ASSERT_EQ(layer.compression, Compression::kGzip);
  auto bytes = test::ReadFileToString(tarball);
  ASSERT_TRUE(bytes.ok());

  BlobCache cache(dir_.Join("cache.db"));
  RangeDigests digests;
  PreparerOptions options = Options();
  options.digests = &digests;
  options.cache = &cache;
  {
    LayerPreparer preparer(*sink_, options);
    AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
    ahead.OnFileBegin("images/oci.tar");
    EXPECT_TRUE(ahead.OnData("images/oci.tar", 0, *bytes, written_).ok());
    ASSERT_TRUE(test::Eventually([&] { return preparer.Speculative(layer); }));
    const Result<LayerBlob>& blob = preparer.Pending(sources->front(), layer, "").get();
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(blob->digest, written->front().layer_digests[0]);
    EXPECT_EQ(blob->diff_id, written->front().diff_ids[0]);
    EXPECT_FALSE(blob->spooled);
    ahead.Stop();
  }
  // A second run: the cache knows that digest, so the plan's pass (one hash
  // of the stored bytes, or none with the digest taken on the way) does it.
  // One worker, first in first out: once a blob queued after the tap's task
  // is ready, that task has run; had it read the layer, the layer's entry
  // would be a speculative one.
  RangeDigests second_run;
  options.digests = &second_run;
  options.jobs = 1;
  LayerPreparer preparer(*sink_, options);
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  ahead.OnFileBegin("images/oci.tar");
  EXPECT_TRUE(ahead.OnData("images/oci.tar", 0, *bytes, written_).ok());
  ASSERT_TRUE(second_run.Find(tarball, layer.offset, layer.size).has_value());  // tapped
  auto other = ReadImageTarball(root_ + "/images/app.tar", "images/app.tar");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(preparer.Pending(other->front(), other->front().layers[0], "").get().ok());
  EXPECT_FALSE(preparer.Speculative(layer));
  const Result<LayerBlob>& blob = preparer.Pending(sources->front(), layer, "").get();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->digest, written->front().layer_digests[0]);
  ahead.Stop();
}

// A layer large enough to be hashed on the way is taken out of its image
// file as it is unpacked: its blob is made from the bytes going by, and the
// file keeps only the layer's first 512 bytes. The plan gets that blob
// without the file being restored; a request that needs the bytes
// themselves (Reprepare, or a preparer that did not make the blob) reads a
// restored copy of the file.
TEST_F(AheadOfUnpackTest, LayersTakenOnTheWayAreMadeWithoutTheFileAndRestoredWhenNeeded) {
  const std::string rel = "images/app.tar";
  const std::string tarball = root_ + "/" + rel;
  auto bytes = test::ReadFileToString(tarball);
  ASSERT_TRUE(bytes.ok());
  const std::string pristine = scratch_ + "/pristine.tar";
  test::WriteFileOrDie(pristine, *bytes);
  RangeDigests digests;
  PreparerOptions options = Tapped(digests);
  int restored = 0;
  options.take_layers = true;
  options.restore_image_file = [&](const std::string& origin) -> Result<std::string> {
    EXPECT_EQ(origin, rel);
    ++restored;
    return pristine;
  };
  {
    // Before the PPA manifest says which files are charts (a manifest that
    // comes last), nothing is taken from a file under charts/, and a file
    // elsewhere is taken to be an image file.
    RangeDigests early;
    LayerPreparer early_preparer(*sink_, NeverRestored(early));
    AheadOfUnpack early_ahead(Input(early_preparer), early_preparer, nullptr);
    fs::create_directories(root_ + "/charts");
    test::UnpackThrough(early_ahead, root_, "charts/app.tar", *bytes);
    EXPECT_FALSE(early.LeftOut(root_ + "/charts/app.tar", 0, bytes->size()));
    test::UnpackThrough(early_ahead, root_, rel, *bytes);
    EXPECT_TRUE(early.LeftOut(tarball, 0, bytes->size()));
  }
  LayerPreparer preparer(*sink_, options);
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  ahead.OnFile("manifest.yaml");
  test::UnpackThrough(ahead, root_, rel, *bytes);

  auto sources = preparer.ImageFile(tarball, rel);
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  const ImageSource& source = sources->front();
  const LayerSource& first = source.layers[0];   // 80 KiB: taken
  const LayerSource& second = source.layers[1];  // 20 KiB: below the size hashed on the way
  EXPECT_EQ(first.compression, Compression::kNone);
  auto on_disk = test::ReadFileToString(tarball);
  ASSERT_TRUE(on_disk.ok());
  ASSERT_EQ(on_disk->size(), bytes->size());
  // (Compared as booleans: a failure would print megabytes of tar.) The
  // other layer is freed once spooled (hole punching), so the comparison of
  // the rest starts after it.
  const uint64_t end = std::max(first.offset + first.size, second.offset + second.size);
  EXPECT_TRUE(on_disk->substr(0, first.offset + 512) == bytes->substr(0, first.offset + 512));
  EXPECT_TRUE(on_disk->substr(first.offset + 512, first.size - 512) ==
              std::string(first.size - 512, '\0'));
  EXPECT_TRUE(on_disk->substr(end) == bytes->substr(end));

  EXPECT_TRUE(preparer.Speculative(first));
  for (const auto& layer : source.layers) {
    const Result<LayerBlob>& blob = preparer.Pending(source, layer, "").get();
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    EXPECT_EQ(blob->diff_id, layer.diff_id);
    EXPECT_TRUE(blob->spooled);
  }
  EXPECT_EQ(restored, 0);
  // A config naming other content fails without anything being read.
  ImageSource damaged = source;
  damaged.layers[0].diff_id = "sha256:" + std::string(64, '0');
  EXPECT_FALSE(preparer.Pending(damaged, damaged.layers[0], "").get().ok());
  EXPECT_EQ(restored, 0);

  auto again = preparer.Reprepare(source, first);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->diff_id, first.diff_id);
  EXPECT_EQ(restored, 1);
  ahead.Stop();

  LayerPreparer other(*sink_, options);
  const Result<LayerBlob>& blob = other.Pending(source, first, "").get();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->diff_id, first.diff_id);
  EXPECT_EQ(restored, 2);
}

// A chart is read from the file as it is: nothing is ever taken out of one,
// even a plain tar holding a large tar file.
TEST_F(AheadOfUnpackTest, NothingIsTakenOutOfOrFreedFromAChart) {
  RangeDigests digests;
  LayerPreparer preparer(*sink_, NeverRestored(digests));
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  ahead.OnFile("manifest.yaml");
  std::string inner = test::BuildRawTar({{"opt/big", '0', std::string(200000, 'c')}});
  std::string chart =
      test::BuildRawTar({{"mychart/Chart.yaml", '0', "name: mychart\nversion: 1.0.0\n"},
                         {"mychart/files/rootfs.tar", '0', inner}});
  fs::create_directories(root_ + "/charts");
  test::UnpackThrough(ahead, root_, "charts/mychart-1.0.0.tgz", chart);
  // The tar file inside was hashed and compressed on the way like a layer;
  // once its blob is made, its bytes in the chart are not freed either.
  ImageSource elsewhere;
  elsewhere.tarball = scratch_ + "/not-there.tar";
  LayerSource inner_layer;
  inner_layer.diff_id = Sha256Digest(inner);
  inner_layer.compression = Compression::kNone;
  inner_layer.size = inner.size();
  elsewhere.layers.push_back(inner_layer);
  EXPECT_TRUE(preparer.Speculative(inner_layer));
  EXPECT_TRUE(preparer.Pending(elsewhere, elsewhere.layers[0], "").get().ok());
  auto on_disk = test::ReadFileToString(root_ + "/charts/mychart-1.0.0.tgz");
  ASSERT_TRUE(on_disk.ok());
  EXPECT_TRUE(*on_disk == chart);
  EXPECT_FALSE(digests.LeftOut(root_ + "/charts/mychart-1.0.0.tgz", 0, chart.size()));
}

// With --architectures, the image files the PPA manifest (unpacked first)
// names only for other platforms are neither hashed on the way nor read
// ahead: none of their layers is prepared.
TEST_F(AheadOfUnpackTest, ImageFilesOfOtherArchitecturesAreNotPreparedAhead) {
  ImageSpec z{{"ibmcom/app:1.0"}, "linux", "s390x", "", {"/bin/sh"},
              {LayerSpec{5, 20, 4096}, LayerSpec{6, 10, 2048}}};
  ImageTarballSpec spec{samples::ImageTarballFormat::kDockerLegacy, false, 6, {z}};
  std::string other = root_ + "/images/app-s390x.tar";
  ASSERT_TRUE(samples::WriteImageTarballFile(spec, other).ok());
  samples::YamlReference amd{"ibmcom/app:1.0-amd64", "", "linux", "amd64", "", "images/app.tar"};
  samples::YamlReference s390x{"ibmcom/app:1.0-s390x", "", "linux", "s390x", "",
                               "images/app-s390x.tar"};
  test::WriteFileOrDie(root_ + "/manifest.yaml",
                       samples::RenderManifestYaml({{"ibmcom/app:1.0", {amd, s390x}}}, {}));

  RangeDigests digests;
  LayerPreparer preparer(*sink_, Tapped(digests));
  PlanInput input = Input(preparer);
  input.architectures = {"amd64"};
  AheadOfUnpack ahead(input, preparer, nullptr);
  ahead.OnFile("manifest.yaml");
  for (std::string rel : {"images/app-s390x.tar", "images/app.tar"}) {
    auto bytes = test::ReadFileToString(root_ + "/" + rel);
    ASSERT_TRUE(bytes.ok());
    ahead.OnFileBegin(rel);
    EXPECT_TRUE(ahead.OnData(rel, 0, *bytes, written_).ok());
    ahead.OnFile(rel);
  }
  auto wanted = ReadImageTarball(root_ + "/images/app.tar", "images/app.tar");
  auto skipped = ReadImageTarball(other, "images/app-s390x.tar");
  ASSERT_TRUE(wanted.ok() && skipped.ok());
  const LayerSource& kept = wanted->front().layers[0];
  const LayerSource& left = skipped->front().layers[0];
  EXPECT_TRUE(digests.Find(root_ + "/images/app.tar", kept.offset, kept.size).has_value());
  EXPECT_FALSE(digests.Find(other, left.offset, left.size).has_value());
  ASSERT_TRUE(test::Eventually([&] { return preparer.Speculative(wanted->front().layers[1]); }));
  // Both files were queued on the same workers before this point.
  ASSERT_TRUE(preparer.Pending(wanted->front(), wanted->front().layers[1], "").get().ok());
  for (const auto& layer : skipped->front().layers) EXPECT_FALSE(preparer.Speculative(layer));
  ahead.Stop();

  auto manifest = ReadPpaManifest(root_, {"manifest.yaml"});
  ASSERT_TRUE(manifest.ok() && *manifest);
  EXPECT_EQ(ImageFilesOfOtherArchitectures(**manifest, {"amd64"}),
            (std::set<std::string>{"images/app-s390x.tar"}));
  EXPECT_TRUE(ImageFilesOfOtherArchitectures(**manifest, {}).empty());
  EXPECT_TRUE(ImageFilesOfOtherArchitectures(**manifest, {"amd64", "s390x"}).empty());
  // A wanted reference without a file may be in any of them: none is left out.
  PpaManifest unnamed = **manifest;
  unnamed.images[0].references[0].archive.clear();
  EXPECT_TRUE(ImageFilesOfOtherArchitectures(unnamed, {"amd64"}).empty());
}

// Image files are told by their bytes, not their names: a plain tar named
// .tar.gz (as PPA archives often have them) is hashed on the way like any
// other. (A file that is no tar stops the tap at its first block:
// TarStreamScanner.StopsAtGarbageAndAtTheEndMarker.)
TEST_F(AheadOfUnpackTest, PlainTarNamedTarGzIsHashedOnTheWay) {
  fs::copy_file(root_ + "/images/app.tar", root_ + "/images/app.tar.gz");
  RangeDigests digests;
  LayerPreparer preparer(*sink_, Tapped(digests));
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  std::string tarball = root_ + "/images/app.tar.gz";
  auto bytes = test::ReadFileToString(tarball);
  ASSERT_TRUE(bytes.ok());
  ahead.OnFileBegin("images/app.tar.gz");
  EXPECT_TRUE(ahead.OnData("images/app.tar.gz", 0, *bytes, written_).ok());
  auto sources = ReadImageTarball(tarball, "images/app.tar.gz");
  ASSERT_TRUE(sources.ok());
  const LayerSource& first = sources->front().layers[0];
  auto known = digests.Find(tarball, first.offset, first.size);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->digest, image_.diff_ids[0]);
  EXPECT_TRUE(preparer.Speculative(first));
  ahead.Stop();
}

// A gzip image file is inflated as it is unpacked, into a copy in the spool
// folder: its layers are hashed and queued on the way, and the plan reads
// that copy (nothing inflates the file again). A stream cut short leaves no
// copy behind; the plan then reads the file itself and says what is wrong.
TEST_F(AheadOfUnpackTest, GzipImageFileIsInflatedOnTheWay) {
  ImageSpec gz{{"ibmcom/gz:1.0"}, "linux", "amd64", "", {"/bin/sh"},
               {LayerSpec{8, 20, 4096}, LayerSpec{9, 10, 2048}}};
  ImageTarballSpec spec{samples::ImageTarballFormat::kDockerLegacy, /*gzip=*/true, 6, {gz}};
  const std::string rel = "images/gz.tar.gz";
  const std::string file = root_ + "/" + rel;
  auto written = samples::WriteImageTarballFile(spec, file);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto bytes = test::ReadFileToString(file);
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(DetectCompression(*bytes), Compression::kGzip);

  RangeDigests digests;
  LayerPreparer preparer(*sink_, Tapped(digests));
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  const size_t half = bytes->size() / 2;
  ahead.OnFileBegin(rel);
  EXPECT_TRUE(ahead.OnData(rel, 0, std::string_view(*bytes).substr(0, half), written_).ok());
  EXPECT_TRUE(ahead.OnData(rel, half, std::string_view(*bytes).substr(half), written_).ok());
  ahead.OnFile(rel);

  auto sources = preparer.ImageFile(file, rel);
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  const ImageSource& source = sources->front();
  EXPECT_EQ(source.config_digest, written->front().config_digest);
  EXPECT_EQ(source.tarball.rfind(scratch_ + "/gz.tar.gz.", 0), 0u) << source.tarball;
  const LayerSource& first = source.layers[0];
  auto known = digests.Find(source.tarball, first.offset, first.size);
  ASSERT_TRUE(known.has_value());
  EXPECT_EQ(known->digest, written->front().diff_ids[0]);
  EXPECT_TRUE(preparer.Speculative(first));
  const Result<LayerBlob>& blob = preparer.Pending(source, first, "").get();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_EQ(blob->diff_id, written->front().diff_ids[0]);

  const std::string cut_rel = "images/cut.tar.gz";
  const std::string cut = bytes->substr(0, bytes->size() - 100);
  test::WriteFileOrDie(root_ + "/" + cut_rel, cut);
  ahead.OnFileBegin(cut_rel);
  EXPECT_TRUE(ahead.OnData(cut_rel, 0, cut, written_).ok());
  ahead.OnFile(cut_rel);
  auto read = preparer.ImageFile(root_ + "/" + cut_rel, cut_rel);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("cut.tar.gz"), std::string::npos) << read.status().ToString();
  for (const auto& entry : fs::directory_iterator(scratch_)) {
    EXPECT_NE(entry.path().filename().string().rfind("cut.tar.gz", 0), 0u) << entry.path();
  }
  ahead.Stop();
}

// A gzip image file the PPA manifest names, once inflated on the way: only
// its copy is read, so the file's own blocks are freed (it keeps its size).
// A gzip file the manifest does not name (or a chart) keeps them, and so
// does a named one whose stream is cut short (the plan reads it and says
// what is wrong).
TEST_F(AheadOfUnpackTest, AGzipImageFileIsFreedOnceItsInflatedCopyIsComplete) {
  ImageSpec gz{{"ibmcom/gz:1.0"}, "linux", "amd64", "", {"/bin/sh"},
               {LayerSpec{8, 20, 4096, true}, LayerSpec{9, 10, 2048, true}}};
  ImageTarballSpec spec{samples::ImageTarballFormat::kDockerLegacy, /*gzip=*/true, 6, {gz}};
  for (const char* rel : {"images/named.tar.gz", "images/other.tar.gz", "images/cut.tar.gz"}) {
    ASSERT_TRUE(samples::WriteImageTarballFile(spec, root_ + "/" + rel).ok());
  }
  {  // "cut": named, but cut short
    auto whole = test::ReadFileToString(root_ + "/images/cut.tar.gz");
    ASSERT_TRUE(whole.ok());
    test::WriteFileOrDie(root_ + "/images/cut.tar.gz", whole->substr(0, whole->size() - 100));
  }
  samples::YamlReference named{"ibmcom/gz:1.0-amd64", "", "linux", "amd64", "",
                               "images/named.tar.gz"};
  samples::YamlReference cut{"ibmcom/cut:1.0-amd64", "", "linux", "amd64", "",
                             "images/cut.tar.gz"};
  test::WriteFileOrDie(root_ + "/manifest.yaml",
                       samples::RenderManifestYaml(
                           {{"ibmcom/gz:1.0", {named}}, {"ibmcom/cut:1.0", {cut}}}, {}));
  RangeDigests digests;
  LayerPreparer preparer(*sink_, NeverRestored(digests));
  AheadOfUnpack ahead(Input(preparer), preparer, nullptr);
  ahead.OnFileBegin("manifest.yaml");
  ahead.OnFile("manifest.yaml");
  auto allocated = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return static_cast<uint64_t>(st.st_blocks) * 512;
  };
  std::map<std::string, uint64_t> sizes;
  for (const char* rel : {"images/named.tar.gz", "images/other.tar.gz", "images/cut.tar.gz"}) {
    const std::string file = root_ + "/" + rel;
    auto bytes = test::ReadFileToString(file);
    ASSERT_TRUE(bytes.ok());
    sizes[rel] = bytes->size();
    ASSERT_GT(allocated(file), bytes->size() / 2) << rel;
    ahead.OnFileBegin(rel);
    ASSERT_TRUE(ahead.OnData(rel, 0, *bytes, written_).ok());
    ahead.OnFile(rel);
  }
  const std::string named_file = root_ + "/images/named.tar.gz";
  EXPECT_LT(allocated(named_file), 8192u) << "the named gzip image file was not freed";
  EXPECT_EQ(fs::file_size(named_file), sizes["images/named.tar.gz"]);
  auto sources = preparer.ImageFile(named_file, "images/named.tar.gz");
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  EXPECT_EQ(sources->front().tarball.rfind(scratch_ + "/named.tar.gz.", 0), 0u);
  const Result<LayerBlob>& blob =
      preparer.Pending(sources->front(), sources->front().layers[0], "").get();
  EXPECT_TRUE(blob.ok()) << blob.status().ToString();

  EXPECT_GT(allocated(root_ + "/images/other.tar.gz"), sizes["images/other.tar.gz"] / 2);
  EXPECT_GT(allocated(root_ + "/images/cut.tar.gz"), sizes["images/cut.tar.gz"] / 2);
  auto read = preparer.ImageFile(root_ + "/images/cut.tar.gz", "images/cut.tar.gz");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("cut.tar.gz"), std::string::npos)
      << read.status().ToString();
  ahead.Stop();
}

}  // namespace
}  // namespace ppa
