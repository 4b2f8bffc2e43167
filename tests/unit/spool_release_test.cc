// The spool holds compressed blobs only as long as needed (README, Disk):
// a spool file goes once its blob has landed in the target
// (LayerPreparer::Landed), a later need for its bytes makes it again from the
// image file, and the unpacking waits while the spool is over its budget and
// uploads ahead can shrink it. A fake sink stands for the target: it reads
// every blob it is sent from its file and checks its digest, so a spool file
// deleted too early fails the push.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "importer/load/ahead_of_unpack.h"
#include "importer/load/layer_preparer.h"
#include "importer/load/push_images.h"
#include "importer/load/workspace.h"
#include "importer/report/report.h"
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

// A target in memory. Every blob sent is read from its file and must hash to
// its digest; mounts are refused unless `mounts`, reading a blob back
// (ReadBlob) unless `reads`.
class LandingSink : public BlobSink {
 public:
  explicit LandingSink(bool mounts, bool reads = true) : mounts_(mounts), reads_(reads) {}
  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override {
    std::lock_guard lock(mu_);
    return held_.count(repo + "@" + digest) > 0;
  }
  Status PutBlob(const std::string& repo, const BlobUpload& blob) override {
    std::ifstream in(blob.file.path, std::ios::binary);
    if (!in) return IoError("cannot open '" + blob.file.path + "'");
    in.seekg(static_cast<std::streamoff>(blob.file.offset));
    std::string bytes(blob.file.size, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!in || Sha256Digest(bytes) != blob.digest) {
      return InvalidInput("'" + blob.file.path + "' is not " + blob.digest);
    }
    std::lock_guard lock(mu_);
    held_.insert(repo + "@" + blob.digest);
    bytes_[blob.digest] = std::move(bytes);
    sent_from_.push_back(blob.file.path);
    ++uploads_;
    return Status::Ok();
  }
  Status ReadBlob(const std::string& repo, const std::string& digest, uint64_t size,
                  int fd) override {
    std::string bytes;
    {
      std::lock_guard lock(mu_);
      if (!reads_) return HttpError("reading '" + repo + "' is denied (403)");
      if (!held_.count(repo + "@" + digest)) return NotFound(digest + " is not in " + repo);
      bytes = bytes_.at(digest);
      ++reads_done_;
    }
    if (bytes.size() != size) return InvalidInput("size");
    return PwriteAll(fd, bytes.data(), bytes.size(), 0, "read-back");
  }
  Status PutBlobBytes(const std::string& repo, const std::string& digest,
                      const std::string&) override {
    std::lock_guard lock(mu_);
    held_.insert(repo + "@" + digest);
    return Status::Ok();
  }
  Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                         const std::string& from) override {
    std::lock_guard lock(mu_);
    if (!mounts_ || !held_.count(from + "@" + digest)) return false;
    held_.insert(repo + "@" + digest);
    return true;
  }
  Result<std::string> PutManifest(const std::string& repo, const std::string&,
                                  const std::string&, const std::string& body) override {
    std::lock_guard lock(mu_);
    ++manifests_;
    (void)repo;
    return Sha256Digest(body);
  }
  std::string Locate(const std::string& repo) const override { return "fake/" + repo; }

  int uploads() {
    std::lock_guard lock(mu_);
    return uploads_;
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_done_;
  }
  std::vector<std::string> sent_from() {  // the file of each upload
    std::lock_guard lock(mu_);
    return sent_from_;
  }

 private:
  const bool mounts_, reads_;
  std::mutex mu_;
  std::set<std::string> held_;               // "repo@digest"
  std::map<std::string, std::string> bytes_;  // digest -> the blob
  std::vector<std::string> sent_from_;
  int uploads_ = 0;
  int reads_done_ = 0;
  int manifests_ = 0;
};

// Whether `dir` holds a spool file of a blob.
int SpoolFiles(const std::string& dir) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".blob") ++n;
  }
  return n;
}

class SpoolReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.Join("root");
    scratch_ = dir_.Join("scratch");
    fs::create_directories(root_ + "/images");
    fs::create_directories(scratch_);
  }

  // Writes images/NAME.tar with one image of the given layers (80 KiB
  // ones are taken out of the file as it is unpacked) and returns its bytes.
  std::string WriteImage(const std::string& name, std::vector<LayerSpec> layers,
                         samples::ImageTarballFormat format =
                             samples::ImageTarballFormat::kDockerLegacy) {
    ImageSpec app{{"ibmcom/" + name + ":1.0"}, "linux", "amd64", "", {"/bin/sh"},
                  std::move(layers)};
    ImageTarballSpec spec{format, false, 6, {app}};
    const std::string path = root_ + "/images/" + name + ".tar";
    auto written = samples::WriteImageTarballFile(spec, path);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    auto bytes = test::ReadFileToString(path);
    EXPECT_TRUE(bytes.ok());
    pristine_[name] = scratch_ + "/pristine-" + name + ".tar";
    test::WriteFileOrDie(pristine_[name], *bytes);
    return *bytes;
  }

  // The manifest.yaml naming images/NAME.tar under each of `names`.
  void WriteManifest(const std::vector<std::pair<std::string, std::string>>& names) {
    std::vector<samples::YamlImage> images;
    for (const auto& [name, file] : names) {
      samples::YamlReference ref{name + "-amd64", "", "linux", "amd64", "",
                                 "images/" + file + ".tar"};
      images.push_back(samples::YamlImage{name, {ref}});
    }
    test::WriteFileOrDie(root_ + "/manifest.yaml", samples::RenderManifestYaml(images, {}));
  }

  // Options of a run whose image files can be restored (a file archive).
  PreparerOptions Options() {
    PreparerOptions options;
    options.format = ManifestFormat::kOci;
    options.spool_dir = scratch_;
    options.jobs = 2;
    options.cache_scope = "fake";
    options.restore_image_file = [this](const std::string& origin) -> Result<std::string> {
      ++restored_;
      return pristine_.at(fs::path(origin).stem().string());
    };
    return options;
  }

  // Options() for an unpacking that takes layers out of the image files,
  // recording what it left out in `digests`.
  PreparerOptions TakingOptions(RangeDigests& digests) {
    PreparerOptions options = Options();
    options.digests = &digests;
    options.take_layers = true;
    return options;
  }

  PlanInput Input(LayerPreparer& preparer) {
    return test::PreparerPlanInput(root_, scratch_, preparer);
  }

  // Unpacks `bytes` as images/NAME.tar through an AheadOfUnpack, the PPA
  // manifest first, then (once `before_stop` returns) plans the archive:
  // what a run has when its Images stage starts.
  ImportPlan UnpackAndPlan(LayerPreparer& preparer, ImagesStage& images, const std::string& name,
                           const std::string& bytes,
                           const std::function<void()>& before_stop = [] {}) {
    const std::string rel = "images/" + name + ".tar";
    {
      AheadOfUnpack ahead(Input(preparer), preparer, &images);
      ahead.OnFile("manifest.yaml");
      test::UnpackThrough(ahead, root_, rel, bytes);
      before_stop();
      ahead.Stop();
    }
    PlanInput input = Input(preparer);
    input.files = {"manifest.yaml", rel};
    auto manifest = ReadPpaManifest(root_, input.files);
    EXPECT_TRUE(manifest.ok()) << manifest.status().ToString();
    if (manifest.ok()) input.manifest = *manifest;
    preparer.EndOfUnpack();
    return BuildImportPlan(input);
  }

  test::TempDir dir_{"ppa-spool"};
  std::string root_, scratch_;
  std::map<std::string, std::string> pristine_;  // image name -> untouched copy
  int restored_ = 0;
};

// A file archive: one repository holding the blob is enough (later ones
// mount it); the spool file goes, Pending then gives the blob without bytes,
// and Reprepare makes it again from a restored image file.
TEST_F(SpoolReleaseTest, ASpoolFileGoesOnceItsBlobLandsAndIsMadeAgainFromTheImageFile) {
  WriteImage("app", {LayerSpec{1, 20, 4096}});
  LandingSink sink(/*mounts=*/true);
  LayerPreparer preparer(sink, Options());
  auto sources = ReadImageTarball(root_ + "/images/app.tar", "images/app.tar");
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  const ImageSource& source = sources->front();
  const LayerSource& layer = source.layers[0];
  const Result<LayerBlob>& blob = preparer.Pending(source, layer, "ns/a").get();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  ASSERT_TRUE(blob->spooled);
  const std::string path = blob->file.path;
  ASSERT_TRUE(fs::exists(path));
  EXPECT_EQ(preparer.SpooledBytes(), blob->size);

  preparer.Landed(layer, "ns/a");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(preparer.SpooledBytes(), 0u);
  EXPECT_EQ(preparer.SpooledPeak(), blob->size);
  const Result<LayerBlob>& landed = preparer.Pending(source, layer, "ns/b").get();
  ASSERT_TRUE(landed.ok());
  EXPECT_TRUE(landed->file.path.empty());
  EXPECT_FALSE(landed->spooled);
  EXPECT_EQ(landed->digest, blob->digest);
  EXPECT_EQ(landed->size, blob->size);
  EXPECT_EQ(restored_, 0);

  auto again = preparer.Reprepare(source, layer);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->digest, blob->digest);
  EXPECT_EQ(restored_, 1);
}

// Before the unpacking ends, two repositories named for a blob, and it has
// landed in one. From a pipe (no image file to restore) that is enough, as
// from a file: a later repository mounts it or gets it read back from
// there, so the spool stays bounded. A dry run's target keeps nothing to
// get it back from: the spool file stays until every repository of the
// final plan holds the blob.
TEST_F(SpoolReleaseTest, APipeReleasesOnTheFirstLandingADryRunOnceEveryPlannedRepositoryHasIt) {
  WriteImage("app", {LayerSpec{1, 20, 4096}});
  LandingSink sink(/*mounts=*/true);
  auto sources = ReadImageTarball(root_ + "/images/app.tar", "images/app.tar");
  ASSERT_TRUE(sources.ok());
  const ImageSource& source = sources->front();
  const LayerSource& layer = source.layers[0];
  for (const bool pipe : {true, false}) {
    SCOPED_TRACE(pipe ? "pipe" : "dry run");
    PreparerOptions options = Options();
    if (pipe) options.restore_image_file = nullptr;
    if (!pipe) options.cache_scope.clear();
    LayerPreparer preparer(sink, options);
    const Result<LayerBlob>& blob = preparer.Pending(source, layer, "ns/a").get();
    ASSERT_TRUE(blob.ok());
    const std::string path = blob->file.path;
    (void)preparer.Pending(source, layer, "ns/b");
    preparer.Landed(layer, "ns/a");
    if (pipe) {
      EXPECT_FALSE(fs::exists(path));  // before the unpacking ended, and ns/b lacks it
      EXPECT_EQ(preparer.SpooledBytes(), 0u);
      EXPECT_TRUE(preparer.Pending(source, layer, "ns/b").get()->file.path.empty());
      continue;
    }
    preparer.Landed(layer, "ns/b");
    EXPECT_TRUE(fs::exists(path));  // the plan may still grow: unpacking goes on
    preparer.EndOfUnpack();
    (void)preparer.Pending(source, layer, "ns/c");  // the final plan names a third
    preparer.Landed(layer, "ns/a");
    EXPECT_TRUE(fs::exists(path));
    preparer.Landed(layer, "ns/c");
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(preparer.Pending(source, layer, "ns/c").get()->file.path.empty());
  }
  EXPECT_EQ(restored_, 0);
}

// The whole push of one image file named twice by the PPA manifest (two
// repositories), from a file and from a pipe: every spool file goes as its
// blob lands, and no blob a manifest needs is lost. The second repository
// mounts each blob; a target that refuses mounts reads it back from the
// first repository (uploaded again); one that refuses that too gets it made
// again from the restored image file, and from a pipe that image fails.
TEST_F(SpoolReleaseTest, EveryRepositoryGetsItsBlobsByMountReadBackOrSecondPass) {
  WriteImage("app", {LayerSpec{1, 20, 4096}, LayerSpec{2, 20, 4096}});
  WriteManifest({{"ibmcom/app:1.0", "app"}, {"ibmcom/copy:1.0", "app"}});
  struct Case {
    bool mounts, reads, pipe;
    int uploads, read_backs, restored, failed;
  };
  for (const Case& c : {Case{true, true, false, 2, 0, 0, 0},
                        Case{false, true, false, 4, 2, 0, 0},
                        Case{false, false, false, 4, 0, 1, 0},
                        Case{true, false, true, 2, 0, 0, 0},
                        Case{false, true, true, 4, 2, 0, 0},
                        Case{false, false, true, 2, 0, 0, 2}}) {  // the image and its list fail
    SCOPED_TRACE(std::string(c.mounts ? "mounts" : "no mounts") +
                 (c.reads ? ", reads" : ", no reads") + (c.pipe ? ", pipe" : ", file"));
    restored_ = 0;
    fs::copy_file(pristine_.at("app"), root_ + "/images/app.tar",
                  fs::copy_options::overwrite_existing);  // the last run freed its layers
    LandingSink sink(c.mounts, c.reads);
    RangeDigests digests;
    PreparerOptions options = Options();
    options.digests = &digests;
    if (c.pipe) options.restore_image_file = nullptr;
    LayerPreparer preparer(sink, options);
    ImagesStage images(sink, preparer, PushOptions{.format = ManifestFormat::kOci});
    PlanInput input = Input(preparer);
    input.files = {"manifest.yaml", "images/app.tar"};
    auto manifest = ReadPpaManifest(root_, input.files);
    ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
    input.manifest = *manifest;
    ImportPlan plan = BuildImportPlan(input);
    ASSERT_EQ(plan.ImageCount(), 2);
    // As when the layers were taken out while the archive was unpacked:
    // their blobs are made, and their bytes are no longer in the file.
    const ImageSource& planned = *plan.groups[0].images[0].source;
    for (const auto& layer : planned.layers) {
      ASSERT_TRUE(preparer.Pending(planned, layer, "").get().ok());
      digests.LeaveOut(planned.tarball, layer.offset, layer.size);
    }
    preparer.EndOfUnpack();
    std::ostringstream out, err;
    Reporter reporter(out, err, /*quiet=*/true);
    images.Push(plan, reporter);
    EXPECT_EQ(reporter.failed_items(), c.failed) << err.str();
    if (c.failed) {
      EXPECT_NE(err.str().find("cannot be read twice"), std::string::npos) << err.str();
    }
    const ImageSource& source = planned;
    for (const auto& layer : source.layers) {
      const Result<LayerBlob>& blob = preparer.Pending(source, layer, "").get();
      ASSERT_TRUE(blob.ok());
      for (const char* repo : {"ns/ibmcom/app", "ns/ibmcom/copy"}) {
        if (c.failed && std::string(repo) == "ns/ibmcom/copy") continue;
        EXPECT_TRUE(*sink.HasBlob(repo, blob->digest)) << repo;
      }
    }
    EXPECT_EQ(preparer.SpooledBytes(), 0u);
    EXPECT_EQ(SpoolFiles(scratch_), 0);  // read back or made again: gone once sent
    EXPECT_EQ(sink.uploads(), c.uploads);
    EXPECT_EQ(sink.reads(), c.read_backs);
    EXPECT_EQ(restored_, c.restored);
  }
}

// The budget is an eighth of the archive, at least 64 MiB; a pipe starts at
// the least (its size is unknown) and its budget grows with the bytes read
// (PreparerOptions::archive_read); PPA_SPOOL_BUDGET fixes it.
TEST(SpoolBudget, AnEighthOfTheArchiveAtLeast64MiBAndAPipeStartsAtTheLeast) {
  constexpr uint64_t kMiB = 1 << 20;
  EXPECT_EQ(SpoolBudgetFor(0), 64 * kMiB);
  EXPECT_EQ(SpoolBudgetFor(512 * kMiB), 64 * kMiB);
  EXPECT_EQ(SpoolBudgetFor(800 * kMiB), 100 * kMiB);
  EXPECT_EQ(SpoolBudgetFor(40ull << 30), 5ull << 30);
  ASSERT_EQ(::unsetenv("PPA_SPOOL_BUDGET"), 0);
  EXPECT_FALSE(SpoolBudgetFixed());
  test::TempDir dir("ppa-budget");
  const std::string archive = dir.Join("big.tgz");
  {
    std::ofstream(archive) << "x";
  }
  ASSERT_EQ(::truncate(archive.c_str(), static_cast<off_t>(1024 * kMiB)), 0);  // sparse
  EXPECT_EQ(SpoolBudgetOf(archive), 128 * kMiB);
  EXPECT_EQ(SpoolBudgetOf("-"), 64 * kMiB);
  const std::string fifo = dir.Join("named.pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(SpoolBudgetOf(fifo), 256 * kMiB);  // size unknown, bytes read not counted
  ASSERT_EQ(::setenv("PPA_SPOOL_BUDGET", "12345", 1), 0);
  EXPECT_TRUE(SpoolBudgetFixed());
  EXPECT_EQ(SpoolBudgetOf(archive), 12345u);
  EXPECT_EQ(SpoolBudgetOf("-"), 12345u);
  ASSERT_EQ(::unsetenv("PPA_SPOOL_BUDGET"), 0);
}

// Three image files, the PPA manifest first, a spool budget of one byte:
// each layer taken out of an image file waits, before it starts, for the
// blobs of the files before it to be uploaded ahead and their spool files
// released, so the spool never holds more than one file's blobs.
TEST_F(SpoolReleaseTest, UnpackingWaitsWhileTheSpoolIsOverItsBudget) {
  std::vector<std::pair<std::string, std::string>> files;  // rel, bytes
  std::vector<std::pair<std::string, std::string>> names;
  for (int i = 1; i <= 3; ++i) {
    const std::string name = "app" + std::to_string(i);
    files.emplace_back("images/" + name + ".tar",
                       WriteImage(name, {LayerSpec{static_cast<uint64_t>(i), 20, 4096, true}}));
    names.emplace_back("ibmcom/" + name + ":1.0", name);
  }
  WriteManifest(names);
  LandingSink sink(/*mounts=*/true);
  RangeDigests digests;
  PreparerOptions options = Options();
  options.digests = &digests;
  options.take_layers = true;
  options.spool_budget = 1;
  std::mutex mu;
  uint64_t peak = 0;
  int made = 0;  // blobs finished
  options.on_spool_grown = [&](uint64_t spooled) {
    std::lock_guard lock(mu);
    peak = std::max(peak, spooled);
    ++made;
  };
  LayerPreparer preparer(sink, options);
  ImagesStage images(sink, preparer, PushOptions{.format = ManifestFormat::kOci});
  AheadOfUnpack ahead(Input(preparer), preparer, &images);
  ahead.OnFile("manifest.yaml");
  int unpacked = 0;
  for (const auto& [rel, bytes] : files) {
    test::UnpackThrough(ahead, root_, rel, bytes);
    // The file's blob is made before the next file starts (so the budget,
    // which counts finished blobs, sees it).
    ++unpacked;
    ASSERT_TRUE(test::Eventually([&] {
      std::lock_guard lock(mu);
      return made >= unpacked;
    }));
  }
  ASSERT_TRUE(test::Eventually([&] { return sink.uploads() == 3; }));
  ahead.Stop();
  uint64_t largest = 0, total = 0;
  for (const auto& [rel, bytes] : files) {
    auto sources = preparer.ImageFile(root_ + "/" + rel, rel);
    ASSERT_TRUE(sources.ok());
    const Result<LayerBlob>& blob =
        preparer.Pending(sources->front(), sources->front().layers[0], "").get();
    ASSERT_TRUE(blob.ok());
    largest = std::max(largest, blob->size);
    total += blob->size;
  }
  EXPECT_LE(peak, largest);
  EXPECT_LT(peak, total);
  EXPECT_EQ(preparer.SpooledBytes(), 0u);
  EXPECT_EQ(SpoolFiles(scratch_), 0);
  EXPECT_EQ(restored_, 0);
}

// An OCI image file whose layers are stored gzip (128 KiB of random bytes
// each), the PPA manifest first: each layer's bytes go to a spool file as
// they pass, never into the image file; once checked (decompressed for its
// diff_id) it is uploaded ahead to the file's one repository from that
// file, which then goes. The image keeps its archive digest, and nothing is
// left in the spool.
TEST_F(SpoolReleaseTest, AStoredLayerIsCopiedToASpoolFileUploadedAheadAndReleased) {
  const LayerSpec one{.seed = 1, .file_count = 4, .file_size = 32 << 10, .random_content = true};
  LayerSpec two = one;
  two.seed = 2;
  const std::string bytes =
      WriteImage("oci", {one, two}, samples::ImageTarballFormat::kOciLayout);
  WriteManifest({{"ibmcom/oci:1.0", "oci"}});
  LandingSink sink(/*mounts=*/true);
  RangeDigests digests;
  LayerPreparer preparer(sink, TakingOptions(digests));
  ImagesStage images(sink, preparer, PushOptions{.format = ManifestFormat::kOci});
  bool ahead = false;
  ImportPlan plan = UnpackAndPlan(preparer, images, "oci", bytes, [&] {
    ahead = test::Eventually([&] { return sink.uploads() == 2; });
  });
  EXPECT_TRUE(ahead);
  for (const std::string& from : sink.sent_from()) {
    EXPECT_EQ(from.rfind(scratch_ + "/layer-", 0), 0u) << from;  // a spool file
  }
  ASSERT_EQ(plan.ImageCount(), 1);
  const ImageSource& source = *plan.groups[0].images[0].source;
  ASSERT_EQ(source.layers.size(), 2u);
  for (const auto& layer : source.layers) {
    EXPECT_EQ(layer.compression, Compression::kGzip);
    EXPECT_FALSE(preparer.InImageFile(source, layer));  // never written there
  }
  std::ostringstream out, err;
  Reporter reporter(out, err, /*quiet=*/true);
  ImagesPushed pushed = images.Push(plan, reporter);
  EXPECT_EQ(reporter.failed_items(), 0) << err.str();
  ASSERT_FALSE(pushed.items.empty());
  EXPECT_TRUE(pushed.items[0].digest_kept) << pushed.items[0].digest_note;
  EXPECT_EQ(sink.uploads(), 2);  // the two layers, ahead (a config is sent from memory)
  EXPECT_EQ(preparer.SpooledBytes(), 0u);
  EXPECT_EQ(SpoolFiles(scratch_), 0);
  EXPECT_EQ(restored_, 0);
}

// A stored layer whose bytes changed in the archive (no longer a gzip
// stream that checks): taken to a spool file like any other, its check
// fails, its spool file goes, and its image fails with the layer named, read
// again from the restored image file; nothing is uploaded for it.
TEST_F(SpoolReleaseTest, AStoredLayerThatDoesNotDecompressFailsItsImage) {
  const LayerSpec one{.seed = 3, .file_count = 4, .file_size = 32 << 10, .random_content = true};
  std::string bytes = WriteImage("bad", {one}, samples::ImageTarballFormat::kOciLayout);
  WriteManifest({{"ibmcom/bad:1.0", "bad"}});
  // The gzip blob's last bytes (its CRC and size trailer), somewhere after
  // the first 64 KiB: a stream that no longer checks.
  const size_t gzip_at = bytes.find(std::string("\x1f\x8b\x08", 3));
  ASSERT_NE(gzip_at, std::string::npos);
  bytes[gzip_at + (100 << 10)] ^= 0x55;
  test::WriteFileOrDie(pristine_.at("bad"), bytes);  // what a second pass reads too
  LandingSink sink(/*mounts=*/true);
  RangeDigests digests;
  LayerPreparer preparer(sink, TakingOptions(digests));
  ImagesStage images(sink, preparer, PushOptions{.format = ManifestFormat::kOci});
  ImportPlan plan = UnpackAndPlan(preparer, images, "bad", bytes);
  std::ostringstream out, err;
  Reporter reporter(out, err, /*quiet=*/true);
  images.Push(plan, reporter);
  EXPECT_GE(reporter.failed_items(), 1) << err.str();
  EXPECT_NE(err.str().find("layer 'blobs/sha256/"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("corrupt gzip stream"), std::string::npos) << err.str();
  EXPECT_EQ(restored_, 1);
  EXPECT_EQ(sink.uploads(), 0);
  EXPECT_EQ(SpoolFiles(scratch_), 0);
}

}  // namespace
}  // namespace ppa
