// The Images stage: every planned image is verified and pushed layer by
// layer, then its config, then its manifest (last, after every blob it
// references is confirmed); then the manifest lists of multi-arch entries.
// One bad image fails alone: the others still land, and nothing is tagged for
// a failed image.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "docker_io/target/blob_sink.h"
#include "docker_io/image/kept_digest.h"
#include "docker_io/image/layer_blob.h"
#include "importer/load/layer_preparer.h"
#include "importer/load/plan.h"
#include "importer/report/progress.h"
#include "importer/report/report.h"

namespace ppa {

struct PushOptions {
  ManifestFormat format = ManifestFormat::kDocker;  // the preparer's format too
  ProgressDisplay* progress = nullptr;  // not owned; null: no progress lines
  int upload_jobs = 2;                   // layers of one image uploaded at once (--jobs)
  int progress_archive = -1;             // the archive's id in `progress` (BeginArchive)
  KeepDigestRules keep_digests;          // which images keep their archive digest
};

// The blobs `plan` pushes, as ProgressDisplay work: "repository@diff_id" ->
// the layer's size in its tarball, "repository@config digest" -> the
// config's size; one entry per blob and repository, manifest lists' copies
// not included. Pure.
std::map<std::string, uint64_t> PushWork(const ImportPlan& plan);

// An image the target stored (README, "The JSON report": items).
struct PushedImage {
  std::string name;        // as the PPA manifest names it
  ImageTarget target;      // repository and tag ("" tag: by digest only)
  std::string digest;      // of the manifest stored
  std::string media_type;  // of the manifest stored
  uint64_t size = 0;       // of the manifest stored
  std::string platform;    // "linux/amd64"
};

// A manifest list (index) the target stored.
struct PushedList {
  std::string name;  // the fat manifest name
  ImageTarget target;
  std::string digest;
  std::string media_type;
  uint64_t size = 0;
  std::vector<std::string> platforms;  // of its entries, in order
};

// What the Images stage did, as a value: the report, the Charts stage and
// later stages read this, not the Reporter.
struct ImagesPushed {
  std::vector<PushedImage> images;  // stored, in plan order
  std::vector<PushedList> lists;    // stored, in plan order
  // One item per planned image and manifest list, failures included, in
  // plan order (the JSON report's items).
  std::vector<ItemResult> items;
  TransferStats transfer;  // blobs uploaded and found present

  // The items that failed.
  std::vector<const ItemResult*> failures() const;
};

class ImagePusher;
struct LayerUploads;

// The Images stage for one archive. Layers are verified/compressed by
// `preparer`'s workers (which may have started during Unpack).
// Thread-compatible: one thread at a time (the pipeline hands it from the
// AheadOfUnpack thread to the main thread with a join). `sink` must be
// thread-safe (every BlobSink is); `reporter` is used by Push only.
class ImagesStage {
 public:
  ImagesStage(BlobSink& sink, LayerPreparer& preparer, PushOptions options);
  ~ImagesStage();
  ImagesStage(const ImagesStage&) = delete;
  ImagesStage& operator=(const ImagesStage&) = delete;

  // Queues the layers of `image` for upload to `repo` before the plan is
  // final (never its config or manifest). Push then finds them present and
  // reports them as sent.
  void QueueAhead(const ImageSource& image, const std::string& repo);
  // Uploads the queued layers whose blobs are ready now, in the order they
  // became ready; returns between uploads once `stop` is set. An error means
  // nothing more is uploaded ahead (Push does it, and reports).
  Status UploadReadyAhead(const std::atomic<bool>& stop);
  bool AheadQueued() const;

  // Pushes every planned image (blobs, config, then its manifest), then the
  // manifest lists of multi-arch entries. The configs and layers of all
  // images go first, each as soon as it is ready (a config at once, a layer
  // once its blob is; options.upload_jobs at once); the manifests follow in
  // plan order. Each item is also recorded with `reporter` (the lines,
  // the verdict, the name an interrupt shows); what was pushed is returned.
  ImagesPushed Push(const ImportPlan& plan, Reporter& reporter);

 private:
  BlobSink& sink_;
  PushOptions options_;
  std::unique_ptr<ImagePusher> pusher_;
  std::unique_ptr<LayerUploads> ahead_;
};

}  // namespace ppa
