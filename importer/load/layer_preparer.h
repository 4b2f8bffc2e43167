// Layer preparation for the Images stage: each distinct layer of a run is
// verified (diff_id) and turned into its blob (compressed to a spool file, or
// the stored bytes) once, on worker threads.
//
// Work starts as early as possible: while the Unpack stage is still writing
// the archive, a tar layer going by is compressed from its bytes in memory
// (TakeLayer) or queued once written (SpeculateLayer), and every image file
// it has finished (Speculate) is read and its layers are queued, so the two
// cores inflate the archive and compress layers at the same time. The Plan stage then reuses what
// was read in those image files (ImageFile) and the Images stage picks up the prepared blobs
// (Pending). A layer prepared ahead that failed is prepared again from the planned image
// (Reprepare): speculation never decides the fate of an image.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>  // std::once_flag
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/thread_pool.h"
#include "docker_io/image/image_source.h"
#include "docker_io/image/layer_blob.h"
#include "docker_io/image/range_digests.h"
#include "docker_io/target/blob_sink.h"
#include "importer/load/blob_cache.h"
#include "importer/load/layer_stream.h"
#include "importer/load/ready_signal.h"

namespace ppa {

struct PreparerOptions {
  ManifestFormat format = ManifestFormat::kDocker;
  CompressionOptions compression;
  std::string spool_dir;       // spool files and inflated image files (inside the work dir)
  int jobs = 0;                // worker threads (<= 0: the number of cores)
  BlobCache* cache = nullptr;  // not owned; null: no blob cache
  // The target in the blob cache's "seen" records (BlobSink::Locate("")); ""
  // when nothing may be recorded (a dry run).
  std::string cache_scope;
  // When set, the image tarballs are the work directory's own copies: once a
  // layer's blob is in a spool file, or the layer has been verified against
  // a blob the cache knows, its byte ranges in them (every copy) are freed
  // with FALLOC_FL_PUNCH_HOLE, so the page cache and the disk do not carry
  // gigabytes nobody reads again. Should the bytes of a freed layer be
  // needed after all (Reprepare), this makes a fresh, complete copy of the
  // image file named by ImageSource::origin (its uncompressed tarball path).
  std::function<Result<std::string>(const std::string& origin)> restore_image_file;
  // Whether layers may be taken out of the image files as they are unpacked
  // (TakeLayer; not with --keep-workdir, which keeps the files complete).
  bool take_layers = false;
  // Digests of layers hashed as Unpack wrote them (not owned; may be null):
  // a layer found there is not hashed again.
  RangeDigests* digests = nullptr;
  // The archive's budget of inflated bytes (archive/tar/unpack.h), charged by
  // every image file inflated to be read (not owned; null: each file has a
  // limit of its own).
  InflationBudget* budget = nullptr;
  // The bytes of finished blobs the spool may hold while uploads ahead of
  // the Unpack stage can release some of them (0: no bound; SpoolBudgetOf).
  // Beyond it, TakeLayer waits for a release before it starts a layer.
  uint64_t spool_budget = 0;
  // For an archive of unknown size (a pipe): the bytes of it read so far
  // (may be empty). The budget then grows with them (SpoolBudgetFor), from
  // spool_budget up.
  std::function<uint64_t()> archive_read;
  // Test hook (may be empty): told the bytes of finished blobs in the spool
  // each time that number grows, on the thread that made it grow.
  std::function<void(uint64_t spooled)> on_spool_grown;
};

// The spool budget for an archive of `archive_bytes` bytes: an eighth of
// them, at least 64 MiB.
uint64_t SpoolBudgetFor(uint64_t archive_bytes);
// The spool budget for `archive` (a path; "-" for standard input): the
// environment variable PPA_SPOOL_BUDGET (bytes) when set, else
// SpoolBudgetFor the archive's size. For standard input, whose size is
// unknown, the least: it then grows with the bytes read
// (PreparerOptions::archive_read); for another file of unknown size (a
// named pipe), 256 MiB.
uint64_t SpoolBudgetOf(const std::string& archive);
// Whether PPA_SPOOL_BUDGET (a number of bytes) sets the budget: it then
// stays as it is.
bool SpoolBudgetFixed();

class LayerPreparer {
 public:
  // `sink` answers the HEAD requests that let a cached blob skip compression.
  LayerPreparer(BlobSink& sink, PreparerOptions options);
  // Waits for queued work, then removes every spool file.
  ~LayerPreparer();
  LayerPreparer(const LayerPreparer&) = delete;
  LayerPreparer& operator=(const LayerPreparer&) = delete;

  const PreparerOptions& options() const { return options_; }
  // The run's pool the preparer works on (ThreadPool::Here() when made).
  ThreadPool& pool() const { return pool_; }

  // Unpack's on_file hook: `path` (absolute) is a finished file of the
  // archive, `rel` its archive-relative name. A file that looks like an image
  // file is read on a worker and its layers are queued. `inflated`, when
  // given, is a complete uncompressed copy of `path` (an InflatingTap's),
  // read instead of inflating `path` again. Thread-safe.
  void Speculate(const std::string& path, const std::string& rel,
                 const std::string& inflated = "");

  // A TarDigestTap's hook: the layer-looking entry `entry` of the image file
  // `path` (archive-relative `rel`), still being unpacked, has been written
  // and hashed. A tar is queued as a layer with that diff_id at once, so its
  // compression overlaps the unpacking of the rest of the file; a gzip/zstd
  // stream the blob cache does not know is decompressed and hashed on a
  // worker (its diff_id is only known then). An image whose config names
  // that diff_id (and digest) gets this blob. Thread-safe.
  void SpeculateLayer(const std::string& path, const std::string& rel, const HashedEntry& entry);

  // A TarDigestTap's taker (the tar entry `name` of `size` bytes, a layer,
  // in an image file being unpacked). Takes the layer out of the file when
  // it can be done without it:
  //  - the first sighting of a layer the blob cache does not know from an
  //    earlier import (RecordEntry), to be compressed (not "none"): its blob
  //    is made on the way (LayerStream) and filed under its diff_id once all
  //    its bytes have passed, so the plan finds it ready, and the bytes never
  //    go to disk nor are read back;
  //  - the first sighting of a layer the blob cache knows from an earlier
  //    import, as a blob the target holds (TargetHoldsKnown; a re-import):
  //    its bytes are hashed on the way and dropped (Known), not written;
  //  - a copy of a layer sighted before: its bytes are dropped (the plan asks
  //    for each diff_id once).
  // Only with options().take_layers. A layer left out that is needed after
  // all (its blob failed, or the target lacks a known blob) is read from a
  // restored copy of the image file (restore_image_file); without one (an
  // archive read from a pipe) it can only come back from the target (see
  // Landed), so a known layer is then compressed on the way like a new one. At most three layers are made on
  // the way at once: the unpacking thread waits for one of them to finish
  // before it starts a fourth (bounded memory and threads, never a layer
  // left in the file for that). Thread-safe.
  std::unique_ptr<TakenLayer> TakeLayer(std::string_view name, uint64_t size, bool first_sighting);

  // A TarDigestTap's taker for the first sighting of a layer stored
  // compressed (`kind` gzip or zstd) at `offset` of the image file `path`,
  // `size` bytes: its bytes go to a spool file as they are (StoredLayer,
  // written on the unpacking thread as the image file would have been),
  // never into the image file. Once all have passed, a worker decompresses
  // the spool file for the diff_id (StoredWritten) and the blob is filed
  // under its diff_id and stored digest; the plan's layer at that range gets
  // it (StoredAhead): it is pushed from the spool file, its digest kept, and
  // the spool file goes once it has landed, as for a layer compressed on the
  // way. The unpacking waits while the spool is over its budget (see
  // TakeLayer). Only with options().take_layers. Thread-safe.
  std::unique_ptr<TakenLayer> TakeStoredLayer(const std::string& path, uint64_t offset,
                                              uint64_t size, Compression kind);

  // Whether the bytes of `layer` are in image.tarball (not taken out of it
  // while it was unpacked): a stored layer may then be pushed from there.
  bool InImageFile(const ImageSource& image, const LayerSource& layer) const;

  // Where the stored bytes of `layer` are: its range of image.tarball, or
  // the spool file TakeStoredLayer wrote them to, once all are written (its
  // diff_id may still be being checked: Pending waits for that). nullopt
  // while they are being written, or when they were lost (cut short, not
  // written: Pending then makes the blob again). Thread-safe.
  std::optional<FileBody> StoredBytes(const ImageSource& image, const LayerSource& layer);

  // The check of the stored layer TakeStoredLayer took at `offset` of
  // `path`: nullopt while its bytes are written or it is being checked
  // (blob_ready() is notified once it is done); then the blob (its diff_id
  // known), or an empty optional when it was cut short or is no stream of its
  // kind. Never waits. Thread-safe.
  std::optional<std::optional<LayerBlob>> StoredChecked(const std::string& path, uint64_t offset);

  // The images of the image file `path` (archive-relative `rel`): those
  // Speculate read when it did, else read now (ReadImageFile).
  Result<std::vector<ImageSource>> ImageFile(const std::string& path, const std::string& rel);

  // The blob of `layer` (an element of image.layers) of `image`, being prepared on a worker (queued
  // now unless it already is). `repo` is where it will be pushed: a blob the cache knows and `repo`
  // has is only verified, not compressed. The future stays valid for the life of the preparer.
  // When it becomes ready (a blob or an error), blob_ready() is notified after.
  const std::shared_future<Result<LayerBlob>>& Pending(const ImageSource& image,
                                                       const LayerSource& layer,
                                                       const std::string& repo);

  // True when the Pending blob of `layer` was started from a speculative read
  // (so an error in it says nothing yet about the planned image).
  bool Speculative(const LayerSource& layer);

  // Prepares `layer` again on the calling thread, always producing the blob's
  // bytes (for a blob the cache knew but the target lacks, or a failed
  // speculation). The result lives as long as the preparer.
  Result<const LayerBlob*> Reprepare(const ImageSource& image, const LayerSource& layer);

  // The push side confirmed `layer`'s blob in `repo` of the target
  // (uploaded, found by HEAD, or mounted). Once that is enough, the blob's
  // spool file is deleted, and Pending then gives a blob without bytes (as
  // for a blob the cache knows): a later repository gets it by HEAD, by a
  // mount, or read back from a repository holding it
  // (BlobPusher::CopyFromHolders); when all fail, Reprepare makes it again
  // (from a file archive; from a pipe that image fails). Enough means:
  //  - one repository, when the target keeps what it is sent (not a dry
  //    run): later repositories get the blob from there;
  //  - in a dry run, every repository Pending named for it, once the Unpack
  //    stage has ended (EndOfUnpack: the plan is final then). Thread-safe.
  // `sent` is the blob the caller pushed: one Reprepare made has its spool
  // file deleted here too, since nothing else uses it.
  void Landed(const LayerSource& layer, const std::string& repo, const LayerBlob* sent = nullptr);

  // Notified each time a blob Pending gives (or will give) becomes ready,
  // on the thread that made it, holding no lock of the preparer: what
  // waiters for blobs subscribe to instead of looking on a timer. A
  // subscription must end before the preparer does.
  ReadySignal& blob_ready() { return blob_ready_; }

  // Whether the blob of the uncompressed layer `diff_id` has an entry (a
  // layer taken out of its file and made on the way, or known). Thread-safe.
  bool Filed(const std::string& diff_id);

  // Whether uploads ahead of the Unpack stage (AheadOfUnpack) are queued or
  // about to be (a finished image file not yet planned): only then does
  // TakeLayer wait for the spool to shrink below its budget, as their
  // landing releases spool files. False as soon as they are all done or
  // given up, so the unpacking never waits for nothing. Thread-safe.
  void SetUploadingAhead(bool uploading);
  // The Unpack stage has ended: the plan is final. Thread-safe.
  void EndOfUnpack();
  // The bytes of finished blobs in spool files now, and the most there were
  // at once. Thread-safe.
  uint64_t SpooledBytes();
  uint64_t SpooledPeak();

 private:
  struct Range {
    std::string tarball;
    uint64_t offset = 0;
    uint64_t size = 0;
  };
  struct Entry {
    std::shared_future<Result<LayerBlob>> blob;
    bool speculative = false;
    bool freed = false;         // its ranges are freed (set when ready)
    std::vector<Range> copies;  // where the layer's bytes are, until freed
    std::set<std::string> needs;   // repositories Pending named for it
    std::set<std::string> landed;  // repositories the push side confirmed it in (Landed)
    // Its spool file is deleted: Pending gives `landed_blob` (no bytes) instead.
    bool released = false;
    std::shared_future<Result<LayerBlob>> landed_blob;
  };

  class StreamedLayer;  // the TakenLayer of a LayerStream
  class StoredLayer;    // the TakenLayer of a layer stored compressed
  // The spool file of a stored layer being taken (StoredLayer).
  struct StoredSpoolFile {
    std::string path;
    Compression kind = Compression::kGzip;
    std::string entry;  // where it was: "<image file> at offset N", for errors
    UniqueFd fd;        // open while its bytes are written
    uint64_t size = 0;
    std::pair<std::string, uint64_t> at;  // (image file, offset): key of stored_written_
  };
  // All the bytes of `spool` are written (`written` says whether they all
  // were; `digest` is their sha256, empty when cut short): its check (the
  // file decompressed for its diff_id, then filed: FileStored) is queued on
  // a worker as stored_ahead_'s OnceBlob, and blob_ready_ notified once it is
  // done; else the file goes.
  void StoredWritten(StoredSpoolFile spool, const std::string& digest, const Status& written);
  class KnownLayer;     // the TakenLayer of a layer the target has (Known)

  static std::string KeyOf(const LayerSource& layer);
  // Files `blob`, the blob `stream` makes (set, then blob_ready_ notified,
  // by its done callback), under `diff_id` (unless one is there already:
  // then the stream is abandoned) and closes the stream.
  void Streamed(LayerStream& stream, const std::string& diff_id,
                const std::shared_future<Result<LayerBlob>>& blob);
  // Files under `diff_id` (a taken layer's, hashed on the way) the blob the
  // cache says it became, without its bytes (as KnownLayerBlob): the Images
  // stage checks that the target has it, mounts it, or else prepares it
  // again from a restored image file. Nothing when the cache does not know
  // `diff_id` (the entry held other bytes than last time).
  void Known(const std::string& diff_id);
  // Whether the target holds `digest`, a blob the cache knows: the cache saw
  // it there, and the first time this is asked in a run, the target is asked
  // too (HEAD). That answer stands for the run: a target that lost one such
  // blob (a registry made anew under the same name) has likely lost them
  // all, and their layers then stay in their files to be compressed again.
  bool TargetHoldsKnown(const std::string& digest);
  // `image`, or when part of `layer` was left out of its tarball, a copy of
  // it reading from a restored image file.
  Result<ImageSource> Readable(const ImageSource& image, const LayerSource& layer);
  // Queues `layer` unless it is already; the caller holds mu_. With
  // `in_image_file`, `image` was read as an image file, so the layer's bytes
  // there may be freed once its blob is made (never those of a file only
  // tapped while unpacked: it may be a chart, read as it is).
  Entry& QueueLocked(const ImageSource& image, const LayerSource& layer, const std::string& repo,
                     bool speculative, bool in_image_file = true) REQUIRES(mu_);
  // `generation`: of the image file when layer.content_digest was taken
  // from options_.digests (0: it was not).
  Result<LayerBlob> Prepare(const ImageSource& image, const LayerSource& layer,
                            const std::string& repo, uint64_t generation);
  // Prepare, with the layer's content_digest taken from options_.digests
  // when they know its range.
  Result<LayerBlob> PrepareHashed(const ImageSource& image, const LayerSource& layer,
                                  const std::string& repo);
  Result<LayerBlob> PrepareStored(const ImageSource& image, const LayerSource& layer,
                                  uint64_t generation);
  // Reads the compressed `layer` (diff_id unknown) and files its blob under
  // the key its content gives; returns it (nullopt when it could not).
  std::optional<LayerBlob> SpeculateStored(const ImageSource& image, const LayerSource& layer);
  // Files `blob`, made of a compressed layer of `kind`, under the key its
  // content gives (unless the plan asked first: StoredAhead then gives it),
  // and tells the blob cache what it decompresses to.
  void FileStored(Compression kind, const LayerBlob& blob);
  // Waits, before a layer is made on the way, for fewer than kMaxStreams
  // streams and a spool within its budget; then counts one more stream.
  // False when cancelled meanwhile.
  bool WaitForStreamRoom();
  // The blob SpeculateStored made (or is making) of the compressed layer at
  // `layer`'s range of image.tarball, when it is `layer`'s: computed at most
  // once, on whichever thread asks first.
  std::optional<LayerBlob> StoredAhead(const ImageSource& image, const LayerSource& layer);
  // False when layer.content_digest came from options_.digests at
  // `generation` and the image file has been written again since.
  bool StillHashed(const ImageSource& image, uint64_t generation) const;
  // Runs on a worker: reads (inflating when needed) the image file and
  // queues its layers.
  Result<std::vector<ImageSource>> ReadAhead(const std::string& path, const std::string& rel,
                                             const std::string& inflated);
  bool CacheKnowsTargetHas(const std::string& digest, const std::string& repo);
  // Records where `layer` is (and frees it if the entry's are freed
  // already); the caller holds mu_.
  void AddCopyLocked(Entry& entry, const ImageSource& image, const LayerSource& layer)
      REQUIRES(mu_);
  Result<std::string> RestoredImageFile(const std::string& origin);
  // Called by the task of `key` once its blob is ready.
  void Finished(const std::string& key, const Result<LayerBlob>& blob);
  // Deletes the spool file of `sent` when Reprepare made it; the caller
  // holds mu_.
  void ReleaseRepreparedLocked(const LayerBlob* sent) REQUIRES(mu_);
  // The ready blob of `entry` when it is in a spool file not released yet;
  // the caller holds mu_.
  static const LayerBlob* SpooledLocked(const Entry& entry);  // (entry is guarded)
  // Whether the spool file of `entry` may be deleted now (Landed); the
  // caller holds mu_.
  bool ReleasableLocked(const Entry& entry) const REQUIRES(mu_);
  // Whether one repository holding a blob is enough to release it (Landed).
  bool ReleaseOnFirstLanding() const;
  // Whether TakeLayer waits before starting a layer: the spool holds more
  // than its budget and uploads ahead are under way (their landing releases
  // spool files). Notes once when the budget is exceeded with no upload to
  // wait for (the PPA manifest not unpacked yet). Caller holds mu_.
  bool OverBudgetLocked() REQUIRES(mu_);
  // The bytes of the ready blobs in spool files not released; the caller
  // holds mu_.
  uint64_t SpooledBytesLocked() const REQUIRES(mu_);
  // Records the spool's size `spooled` after it grew (peak, test hook).
  void NoteSpoolGrown(uint64_t spooled);

  BlobSink& sink_;
  PreparerOptions options_;
  ReadySignal blob_ready_;  // before the workers and streams that notify it
  mutable Mutex mu_;
  std::map<std::string, Entry> blobs_ GUARDED_BY(mu_);
  // image file path -> what Speculate read in it
  std::map<std::string, std::shared_future<Result<std::vector<ImageSource>>>> image_files_
      GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Result<LayerBlob>>> reprepared_ GUARDED_BY(mu_);
  // (tarball, offset) -> SpeculateStored of the compressed layer there, run
  // by the first thread to get to it (its worker task, or a planned request
  // for the same layer, which then need not decompress it again).
  struct OnceBlob;
  std::map<std::pair<std::string, uint64_t>, std::shared_ptr<OnceBlob>> stored_ahead_
      GUARDED_BY(mu_);
  // (image file, offset) -> the spool file a taken stored layer's bytes are
  // all in (StoredBytes), or nullopt when they were lost or the spool file
  // went (Landed); absent while written.
  std::map<std::pair<std::string, uint64_t>, std::optional<FileBody>> stored_written_
      GUARDED_BY(mu_);
  // origin -> its restored image file (RestoredImageFile)
  std::map<std::string, std::shared_future<Result<std::string>>> restored_ GUARDED_BY(mu_);
  // The bytes queued for all LayerStreams of the run, and the layers being
  // made on the way (TakeLayer; finished ones are dropped at the next
  // TakeLayer).
  QueueBudget stream_budget_{64 << 20};
  std::vector<std::unique_ptr<LayerStream>> streams_ GUARDED_BY(mu_);
  size_t active_streams_ GUARDED_BY(mu_) = 0;  // of streams_ not yet done
  // Signalled when a stream is done, a spool file is released, or uploads
  // ahead stop: what TakeLayer waits for.
  CondVar stream_done_;
  bool uploading_ahead_ GUARDED_BY(mu_) = false;  // SetUploadingAhead
  bool unpack_ended_ GUARDED_BY(mu_) = false;     // EndOfUnpack
  bool over_budget_noted_ GUARDED_BY(mu_) = false;
  uint64_t spooled_peak_ GUARDED_BY(mu_) = 0;
  std::atomic<bool> cancelled_{false};
  std::once_flag target_checked_;     // TargetHoldsKnown's question to the target
  bool target_holds_known_ = false;   // its answer (set within target_checked_)
  // The run's pool (ThreadPool::Here() when made): the blocks of gzip layers
  // go to its leaf workers (options_.compression.runner), the preparer's
  // tasks to tasks_, at most --jobs at once.
  ThreadPool& pool_;
  std::unique_ptr<TaskGroup> tasks_;  // last: its tasks use the members above
};

// Worker threads for `requested` jobs (<= 0: the number of cores).
int JobsFor(int requested);

}  // namespace ppa
