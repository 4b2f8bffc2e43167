// Work started while the Unpack stage is still writing the archive, so that
// both cores stay busy instead of unpacking everything first:
//
//  - the large files inside each image tarball (its layers) are hashed as
//    Unpack writes them (TarDigestTap; a gzip image file is inflated on the
//    way into a copy, InflatingTap), and each one that is a tar is queued on
//    the LayerPreparer as soon as it is complete, before the rest of the
//    tarball is written;
//  - or, better, a tar layer is taken out of the file as it goes by
//    (LayerPreparer::TakeLayer): its blob is compressed from those bytes on
//    a loop of the run's pool (LayerStream), so they are never written to disk
//    nor read back; a copy of a layer sighted before is simply left out;
//  - every finished image file is read and its layers are queued on the
//    LayerPreparer (verified and compressed by its workers);
//  - except the image files the PPA manifest, when it comes first, names
//    only for platforms --architectures leaves out;
//  - once the PPA manifest has been unpacked (it usually comes first), the
//    images it plans onto finished files get their layers uploaded to their
//    target repositories, on a loop of the run's pool (ThreadPool::Start)
//    kept by this class, each as soon as its blob is ready (not in plan
//    order: a layer still being compressed holds up no other). The loop
//    sleeps until a file is finished, a layer is taken, or a blob is ready
//    (LayerPreparer::blob_ready), never on a timer.
//
// Nothing here decides anything: configs and manifests wait for the final
// plan, made after Unpack from the complete archive, and every blob is
// checked again then (HEAD). A failure here only means the work is done
// later, on the main thread. Should the archive prove unreadable (exit 3),
// the layers uploaded here are all it leaves in the target: untagged blobs,
// which the pipeline reports (importer/load/written_blobs.h records them).
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "archive/manifest/ppa_manifest.h"
#include "base/mutex.h"
#include "importer/load/layer_preparer.h"
#include "importer/load/plan.h"
#include "importer/load/push_images.h"
#include "importer/load/ready_signal.h"

namespace ppa {

class AheadOfUnpack {
 public:
  // `base` is the plan input without files and manifest (root, scratch,
  // registry prefix, namespace, architectures, image_tarball). `images` may
  // be null: then layers are only prepared, never uploaded (a dry run).
  // `preparer` and `images` must outlive this object.
  AheadOfUnpack(PlanInput base, LayerPreparer& preparer, ImagesStage* images);
  // Stop()s.
  ~AheadOfUnpack();
  AheadOfUnpack(const AheadOfUnpack&) = delete;
  AheadOfUnpack& operator=(const AheadOfUnpack&) = delete;

  // UnpackOptions::on_file_begin and on_data: `rel` is being written. OnData
  // writes the block with `write`, except the layers the LayerPreparer takes
  // out of an image file (LayerPreparer::TakeLayer).
  void OnFileBegin(const std::string& rel);
  Status OnData(const std::string& rel, uint64_t offset, std::string_view data,
                const UnpackOptions::BlockWriter& write);
  // UnpackOptions::on_file: `rel` has been written completely.
  void OnFile(const std::string& rel) EXCLUDES(mu_);

  // Finishes the upload in flight and joins the loop; `images` is the
  // caller's alone afterwards. Idempotent.
  void Stop() EXCLUDES(mu_);

  // How many times the upload loop has woken to look at its work, for
  // tests: once per file finished, layer taken, or blob made it waits for.
  uint64_t wakeups() const EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);
  // The file being unpacked is gzip: it is inflated on the way into a copy
  // in the spool folder, whose layers are hashed and queued as they come.
  void StartInflating(const std::string& rel);
  // The taps' LayerTaker: the LayerPreparer's.
  LayerTaker Taker(const std::string& path);  // for the tap writing `path`
  // Whether layers may be taken out of the file `rel` (not a chart).
  bool MayTakeFrom(const std::string& rel) const;
  // Whether the PPA manifest, unpacked already, names `rel` as the image
  // file of one of its references.
  bool NamedImageFile(const std::string& rel) const;
  // Plans with what has been unpacked so far and queues the layers of the
  // images not handled yet for upload (each once its blob is ready).
  void QueuePlanned();

  // A layer taken out of the image file `rel` (at `path`) whose blob is
  // made: uploaded to `repo` before the file ends (QueueEarly). A tar layer
  // by its diff_id; a layer stored compressed (`stored` gzip or zstd) by its
  // range and stored digest, once its check has told its diff_id.
  struct EarlyLayer {
    std::string path, rel, diff_id, repo;
    Compression stored = Compression::kNone;
    uint64_t offset = 0, size = 0;
    std::string digest;  // a stored layer's
  };
  // Queues `layer` (taken out of its file) for upload ahead; false for a
  // stored layer still being checked (asked again on the next blob made).
  bool QueueEarlyUpload(const EarlyLayer& layer);
  class EarlyTaken;  // the TakenLayer that tells QueueEarly
  void QueueEarly(EarlyLayer layer) EXCLUDES(mu_);
  // The repository the PPA manifest (unpacked first) sends the image file
  // `rel` to, or "" (no manifest yet, several images, or none).
  std::string EarlyRepository(const std::string& rel) const;

  PlanInput input_;  // files and manifest: what has been unpacked so far
  LayerPreparer& preparer_;
  ImagesStage* images_;
  // Unpacking thread only: the tap of the file being unpacked, the files
  // unpacked so far, and the image files the PPA manifest (once unpacked)
  // names only for platforms --architectures leaves out, which are not
  // prepared ahead.
  std::unique_ptr<TarDigestTap> tap_;
  std::unique_ptr<InflatingTap> inflating_;  // instead of tap_ for a gzip file
  // The gzip file being inflated is one the PPA manifest names as an image
  // file, and layers may be taken: once its inflated copy is complete, only
  // the copy is read, and the file's own blocks are freed (PunchHole).
  bool inflated_only_ = false;
  bool sniffing_ = false;                    // the file's first bytes are still to come
  std::vector<std::string> unpacked_;
  std::set<std::string> other_architectures_;
  // Whether a readable PPA manifest has been unpacked, and the files it
  // names as charts.
  bool manifest_unpacked_ = false;
  std::optional<PpaManifest> manifest_;  // the one unpacked (unpacking thread)
  std::string early_repo_, early_rel_, early_path_;  // of the file being unpacked
  std::set<std::string> chart_files_;
  std::set<std::string> done_;  // "repository@config digest" handled already
  bool give_up_ = false;        // the manifest is unreadable, or an upload failed

  mutable Mutex mu_;
  CondVar cv_;  // signalled when one of the members below changes
  std::deque<std::string> finished_ GUARDED_BY(mu_);  // files not yet taken in
  std::deque<EarlyLayer> early_ GUARDED_BY(mu_);      // layers to upload early
  // Stored layers taken early whose check was not done when Run looked
  // (Run's thread only).
  std::vector<EarlyLayer> early_checking_;
  bool closing_ GUARDED_BY(mu_) = false;
  // A blob became ready since Run last looked at the uploads queued.
  bool blob_ready_ GUARDED_BY(mu_) = false;
  uint64_t wakeups_ GUARDED_BY(mu_) = 0;
  std::atomic<bool> stop_{false};
  // Sets blob_ready_ (preparer_.blob_ready()); after mu_ and cv_, which it uses.
  ReadySignal::Subscription blobs_;
  ThreadPool::Loop loop_;  // last: uses the members above
};

}  // namespace ppa
