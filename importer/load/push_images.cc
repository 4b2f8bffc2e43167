#include "importer/load/push_images.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "archive/tar/tar_index.h"  // ReadFileRange
#include "base/thread_pool.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/manifest_builder.h"
#include "docker_io/image/media_types.h"
#include "docker_io/target/blob_pusher.h"
#include "importer/load/ready_first.h"

namespace ppa {

struct PushedManifest {
  BlobRef ref;
  Platform platform;
  const ImageSource* source = nullptr;
  std::string repository;
};

// Layer uploads waiting for their blobs (ImagePusher::Queue).
struct LayerUploads {
  ReadyFirst runner;
  std::set<std::string> queued;  // repository@diff_id
  // diff_id -> whether the upload to its first repository has finished
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> first_done;
};

namespace {

std::string Describe(const std::string& location, const std::string& tag) {
  return tag.empty() ? location : location + ":" + tag;
}

}  // namespace

// Pushes images to one sink, preparing each distinct layer once per run.
// Layers are prepared (verified, compressed) ahead on worker threads in the
// order they will be pushed (Prefetch); the distinct layers of an image are
// uploaded by a few threads at once (the registry hashes and stores each
// upload on one core), and its manifest only after all of them, on the
// calling thread. Which blob is where is the BlobPusher's (thread-safe).
class ImagePusher {
 public:
  ImagePusher(BlobSink& sink, LayerPreparer& preparer, const PushOptions& options)
      : sink_(sink),
        preparer_(preparer),
        options_(options),
        blobs_(sink, BlobOptionsOf(preparer.options())) {}

  LayerPreparer& preparer() { return preparer_; }

  // Starts preparing every layer of `image` (pushed to `repo`) on the workers.
  void Prefetch(const ImageSource& image, const std::string& repo) {
    for (const auto& layer : image.layers) preparer_.Pending(image, layer, repo);
  }

  // Adds to `uploads` a task for each layer of `image` not queued for `repo`
  // yet: it pushes the layer to `repo` as soon as its blob is ready. With
  // `eager_stored`, a gzip/zstd layer pushed as stored is ready as soon as
  // its stored bytes are at hand (in its tarball, or all in the spool file
  // they were taken to: LayerPreparer::StoredBytes); its upload overlaps its
  // diff_id check, see PushLayer. Of the repositories
  // that get one diff_id, the first is sent the blob; the others wait for it,
  // to mount it from there instead of uploading it again.
  void Queue(LayerUploads& uploads, const ImageSource& image, const std::string& repo,
             bool eager_stored);
  // Adds to `uploads` a task that sends the config of `image` to `repo` (a
  // small blob, ready at once), so that the manifest later only needs it
  // confirmed.
  void QueueConfig(LayerUploads& uploads, const ImageSource& image, const std::string& repo);

  // Blobs, config, then the manifest under `tag` (by digest when empty).
  // What happened to each blob is appended to `log`.
  Result<BlobRef> PushImage(const ImageSource& image, const std::string& repo,
                            const std::string& tag, std::vector<BlobResult>* log) {
    std::vector<Result<LayerPush>> pushed = PushLayers(image, repo);
    std::vector<BlobRef> layers;
    for (auto& done : pushed) {
      if (!done.ok()) return done.status();
      if (log) log->push_back(done->result);
      layers.push_back({done->blob->media_type, done->blob->digest, done->blob->size});
    }
    PPA_ASSIGN_OR_RETURN(BlobResult config_done,
                         EnsureBlob(repo, MemoryBlob(*image.config, image.config_digest),
                                    ConfigWork(repo, image), /*show_upload=*/false));
    if (log) log->push_back(config_done);
    BlobRef config{ConfigMediaType(), image.config_digest, image.config->size()};
    PPA_ASSIGN_OR_RETURN(BuiltManifest manifest,
                         ImageManifestToPush(image, DecideImageDigest(image, options_.keep_digests),
                                             options_.format, config, layers));
    return PutManifest(repo, tag, manifest);
  }

  // An artifact onto `repo` as it is: its blobs, each read from its image
  // file and checked again against its digest, then its manifest under
  // `tag` (by digest when empty). A kept index's BuildKit attestations go by
  // digest; an artifact named in the archive (cosign's .sig) by its tag.
  Result<BlobRef> PushArtifact(const StoredArtifact& artifact, const std::string& repo,
                               const std::string& tag = "") {
    PPA_RETURN_IF_ERROR(artifact.problem);
    for (const StoredArtifact::Blob& blob : artifact.blobs) {
      PPA_ASSIGN_OR_RETURN(std::string bytes,
                           ReadFileRange(artifact.tarball, blob.offset, blob.size));
      if (Sha256Digest(bytes) != blob.digest) {
        return InvalidInput("attestation blob " + blob.digest +
                            " no longer matches its digest in its image file");
      }
      PPA_RETURN_IF_ERROR(EnsureBlob(repo, MemoryBlob(bytes, blob.digest),
                                     Work{.key = repo + "@" + blob.digest, .size = 0},
                                     /*show_upload=*/false)
                              .status());
    }
    return PutManifest(repo, tag,
                       BuiltManifest{.media_type = artifact.manifest.media_type,
                                     .body = *artifact.manifest.bytes});
  }

  Result<BlobRef> PutManifest(const std::string& repo, const std::string& tag,
                              const BuiltManifest& manifest) {
    std::string digest = Sha256Digest(manifest.body);
    PPA_ASSIGN_OR_RETURN(std::string stored,
                         sink_.PutManifest(repo, tag.empty() ? digest : tag, manifest.media_type,
                                           manifest.body));
    if (stored != digest) {
      return InvalidInput("registry stored manifest for '" + repo + "' as " + stored +
                          " but it is " + digest);
    }
    return BlobRef{manifest.media_type, digest, manifest.body.size()};
  }

  const KeepDigestRules& keep_digests() const { return options_.keep_digests; }

  TransferStats TakeStats() {
    BlobCounts counts = blobs_.TakeCounts();
    return TransferStats{.blobs_uploaded = counts.uploaded,
                         .blobs_present = counts.present,
                         .bytes_uploaded = counts.bytes_uploaded};
  }

 private:
  struct LayerPush {
    const LayerBlob* blob = nullptr;
    BlobResult result;
  };

  // One layer: its blob (Blob), then onto `repo` (EnsureBlob). A gzip/zstd
  // layer with a stored digest is pushed as it lies in its tarball, or in the
  // spool file it was taken to as it was unpacked (StoredBytes), so its
  // upload starts at once, while a worker still checks that it decompresses
  // to its diff_id; the registry checks the digest of what it receives, and
  // the manifest waits for both.
  Result<LayerPush> PushLayer(const ImageSource& image, const LayerSource& layer,
                              const std::string& repo) {
    const Work work = LayerWork(repo, layer);
    std::optional<FileBody> bytes =
        PushedAsStored(layer) ? preparer_.StoredBytes(image, layer) : std::nullopt;
    if (bytes) {
      FileRangeBlob stored(
          BlobUpload{.digest = layer.digest, .size = layer.size, .file = std::move(*bytes)});
      Result<BlobResult> sent = EnsureBlob(repo, stored, work, /*show_upload=*/true);
      // Checks both digests; when the bytes are not the layer's, that says
      // more than the registry refusing them (whichever came first).
      PPA_ASSIGN_OR_RETURN(const LayerBlob* blob, Blob(image, layer, repo));
      PPA_ASSIGN_OR_RETURN(BlobResult done, std::move(sent));
      done.diff_id = blob->diff_id;
      preparer_.Landed(layer, repo, blob);  // its spool file may go
      return LayerPush{blob, done};
    }
    PPA_ASSIGN_OR_RETURN(const LayerBlob* blob, Blob(image, layer, repo));
    FileRangeBlob upload(BlobUpload{.digest = blob->digest, .size = blob->size, .file = blob->file});
    PPA_ASSIGN_OR_RETURN(BlobResult done, EnsureBlob(repo, upload, work, /*show_upload=*/true));
    done.diff_id = blob->diff_id;
    preparer_.Landed(layer, repo, blob);  // its spool file may go
    return LayerPush{blob, done};
  }

  // Every layer of `image`, in order. The first layer of each diff_id is
  // pushed by up to options_.upload_jobs threads at once; a repeated one
  // afterwards (it is present by then, and reported so).
  std::vector<Result<LayerPush>> PushLayers(const ImageSource& image, const std::string& repo) {
    const size_t n = image.layers.size();
    std::vector<Result<LayerPush>> pushed(n, Result<LayerPush>(IoError("not pushed")));
    std::vector<size_t> first, repeated;
    std::set<std::string> seen;
    for (size_t i = 0; i < n; ++i) {
      (seen.insert(image.layers[i].diff_id).second ? first : repeated).push_back(i);
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t k; (k = next++) < first.size();) {
        pushed[first[k]] = PushLayer(image, image.layers[first[k]], repo);
      }
    };
    size_t threads = std::min<size_t>(std::max(options_.upload_jobs, 1), first.size());
    RunAlongside(static_cast<int>(threads) - 1, work);  // on the run's pool
    for (size_t i : repeated) pushed[i] = PushLayer(image, image.layers[i], repo);
    return pushed;
  }

  static bool PushedAsStored(const LayerSource& layer) {
    return layer.compression != Compression::kNone && !layer.digest.empty();
  }

  std::string ConfigMediaType() const {
    return std::string(options_.format == ManifestFormat::kOci ? media_types::kOciConfig
                                                                : media_types::kDockerConfig);
  }

  // Waits for the prepared blob of `layer`. A blob whose bytes are not at
  // hand (known from the cache, or its spool file deleted once it landed
  // elsewhere) that `repo` lacks is mounted, else read back from a
  // repository holding it and uploaded; failing both, it is prepared again
  // here, as is one prepared ahead from a speculative read that failed.
  Result<const LayerBlob*> Blob(const ImageSource& image, const LayerSource& layer,
                                const std::string& repo) {
    const Result<LayerBlob>& blob = preparer_.Pending(image, layer, repo).get();
    if (!blob.ok()) {
      if (preparer_.Speculative(layer)) return preparer_.Reprepare(image, layer);
      return blob.status();
    }
    if (!blob->file.path.empty() || blobs_.Known(repo, blob->digest)) return &*blob;
    PPA_ASSIGN_OR_RETURN(std::optional<BlobOutcome> reused,
                         blobs_.Reuse(repo, blob->digest, blob->size));
    if (!reused) {
      PPA_ASSIGN_OR_RETURN(reused, blobs_.CopyFromHolders(repo, blob->digest, blob->size));
    }
    if (!reused) return preparer_.Reprepare(image, layer);
    blobs_.Defer(repo, blob->digest, *reused);
    return &*blob;
  }

  // A blob of the plan as progress counts it (PushWork).
  struct Work {
    std::string key;
    uint64_t size = 0;
  };
  static Work LayerWork(const std::string& repo, const LayerSource& layer) {
    return {repo + "@" + layer.diff_id, layer.size};
  }
  static Work ConfigWork(const std::string& repo, const ImageSource& image) {
    return {repo + "@" + image.config_digest, image.config ? image.config->size() : 0};
  }
  void Credit(const Work& work, uint64_t bytes) {
    if (options_.progress) options_.progress->Credit(options_.progress_archive, work.key, bytes);
  }

  // The blob onto `repo` through the run's BlobPusher (HEAD, mount from a
  // repository known to hold it, upload). However it ends up there, `work`
  // is then done for the progress display; an upload shows a progress line
  // on a terminal, and is counted as its share of `work` as its bytes go.
  Result<BlobResult> EnsureBlob(const std::string& repo, const BlobProvider& blob,
                                const Work& work, bool show_upload) {
    ProgressDisplay* display = options_.progress;
    int line = -1;
    UploadObserver observer;
    if (show_upload && display && display->enabled()) {
      observer = UploadObserver{
          .started = [&] { line = display->Begin(repo + " " + blob.digest().substr(0, 19),
                                                 blob.size()); },
          .progress = [&, total = blob.size()](uint64_t sent) {
            display->Update(line, sent);
            if (total > 0) {
              Credit(work, static_cast<uint64_t>(static_cast<double>(std::min(sent, total)) /
                                                 static_cast<double>(total) *
                                                 static_cast<double>(work.size)));
            }
          },
          .finished = [&] { display->End(line); },
      };
    }
    PPA_ASSIGN_OR_RETURN(BlobOutcome done, blobs_.Push(repo, blob, observer));
    Credit(work, work.size);
    return ToBlobResult(blob.digest(), blob.size(), done);
  }

  static BlobResult ToBlobResult(const std::string& digest, uint64_t size,
                                 const BlobOutcome& done) {
    BlobResult result{.digest = digest, .size = size, .bytes_sent = done.bytes_sent};
    switch (done.action) {
      case BlobOutcome::Action::kPresent: result.action = BlobResult::Action::kPresent; break;
      case BlobOutcome::Action::kMounted: result.action = BlobResult::Action::kMounted; break;
      case BlobOutcome::Action::kUploaded: result.action = BlobResult::Action::kUploaded; break;
    }
    return result;
  }

  // Records what was done with a blob of `repo` (pushed ahead), for the
  // next EnsureBlob of it to report.
  void Decide(const std::string& repo, const BlobResult& done) {
    BlobOutcome outcome{.bytes_sent = done.bytes_sent};
    if (done.action == BlobResult::Action::kMounted) outcome.action = BlobOutcome::Action::kMounted;
    if (done.action == BlobResult::Action::kUploaded) {
      outcome.action = BlobOutcome::Action::kUploaded;
    }
    blobs_.Defer(repo, done.digest, outcome);
  }

  // The BlobPusher's options: mounts from repositories the blob cache saw
  // holding a blob on this target, and what it finds recorded there; a blob
  // read back from another repository waits for its upload beside the
  // spool files.
  static BlobPusherOptions BlobOptionsOf(const PreparerOptions& prep) {
    BlobPusherOptions options{.copy_dir = prep.spool_dir};
    if (!prep.cache || prep.cache_scope.empty()) return options;
    BlobCache* cache = prep.cache;
    const std::string scope = prep.cache_scope;
    options.known_holders = [cache, scope](const std::string& digest) {
      return cache->SeenIn(scope, digest);
    };
    options.on_present = [cache, scope](const std::string& repo, const std::string& digest) {
      cache->RecordSeen(scope, repo, digest);
    };
    return options;
  }

  BlobSink& sink_;
  LayerPreparer& preparer_;
  const PushOptions& options_;
  BlobPusher blobs_;  // HEAD, mount, upload: every blob of the images
};

void ImagePusher::Queue(LayerUploads& uploads, const ImageSource& image, const std::string& repo,
                        bool eager_stored) {
  auto shared = std::make_shared<const ImageSource>(image);
  for (const LayerSource& layer : shared->layers) {
    if (!uploads.queued.insert(repo + "@" + layer.diff_id).second) continue;
    auto [it, first] = uploads.first_done.try_emplace(layer.diff_id);
    if (first) it->second = std::make_shared<std::atomic<bool>>(false);
    // Only the first repository of a diff_id sets its flag; the others wait for it.
    std::shared_ptr<std::atomic<bool>> done_flag = first ? it->second : nullptr;
    std::shared_ptr<const std::atomic<bool>> wait_for = first ? nullptr : it->second;
    const bool stored = eager_stored && PushedAsStored(layer);
    // Changes only when the preparer's blob_ready() is notified (which
    // Push and AheadOfUnpack pass on to the runner), or when the upload to
    // the first repository, a task of the same runner, is done.
    auto ready = [this, shared, &layer, repo, stored, wait_for] {
      if (wait_for && !*wait_for) return false;
      return (stored && preparer_.StoredBytes(*shared, layer)) ||
             preparer_.Pending(*shared, layer, repo).wait_for(std::chrono::seconds(0)) ==
                 std::future_status::ready;
    };
    auto run = [this, shared, &layer, repo, done_flag]() -> Status {
      Result<LayerPush> pushed = PushLayer(*shared, layer, repo);
      if (done_flag) *done_flag = true;
      if (!pushed.ok()) return pushed.status();
      Decide(repo, pushed->result);
      return Status::Ok();
    };
    uploads.runner.Add({std::move(ready), std::move(run)});
  }
}

void ImagePusher::QueueConfig(LayerUploads& uploads, const ImageSource& image,
                              const std::string& repo) {
  if (!uploads.queued.insert(repo + "@" + image.config_digest).second) return;
  auto shared = std::make_shared<const ImageSource>(image);
  auto ready = [] { return true; };
  auto run = [this, shared, repo]() -> Status {
    PPA_ASSIGN_OR_RETURN(BlobResult done,
                         EnsureBlob(repo, MemoryBlob(*shared->config, shared->config_digest),
                                    ConfigWork(repo, *shared), /*show_upload=*/false));
    Decide(repo, done);
    return Status::Ok();
  };
  uploads.runner.Add({std::move(ready), std::move(run)});
}

namespace {

// Records in `item` (stored: image or list) whether it kept the archive's
// digest, and says so when the archive has one.
void NoteDigest(Reporter& reporter, ItemResult& item, const DigestDecision& decision) {
  item.digest_kept = decision.kept;
  item.archive_digest = decision.archive_digest;
  item.digest_note = decision.reason;
  if (decision.kept) {
    reporter.Progress("'" + item.name + "' keeps the digest it has in the archive");
  } else if (!decision.archive_digest.empty()) {
    reporter.Progress("'" + item.name + "' gets a new digest (the archive's is " +
                      decision.archive_digest + "): " + decision.reason);
  }
}

// Records `item` with the reporter and in the stage's result.
void Record(Reporter& reporter, ItemResult item, ImagesPushed& out) {
  reporter.Record(item);
  out.items.push_back(std::move(item));
}

void Fail(Reporter& reporter, ItemResult item, const Status& status, ImagesPushed& out) {
  reporter.Failure(status.WithContext("'" + item.name + "'"));
  item.status = status;
  Record(reporter, std::move(item), out);
}

std::optional<PushedManifest> PushOne(const PlannedImage& image, ImagePusher& pusher,
                                      BlobSink& sink, Reporter& reporter, ImagesPushed& out) {
  // An image that failed planning has no target (its name may be what is
  // wrong): none is shown for it.
  ItemResult item{.kind = ItemResult::Kind::kImage,
                  .name = image.name,
                  .target = image.target.repository.empty()
                                ? std::string()
                                : Describe(sink.Locate(image.target.repository), image.target.tag)};
  if (!image.problem.ok()) {
    Fail(reporter, item, image.problem, out);
    return std::nullopt;
  }
  if (image.target.tag == "latest") {
    reporter.Warning("'" + item.target + "' uses the tag 'latest'; explicit version tags are "
                     "recommended");
  }
  reporter.Progress("Importing '" + image.name + "' and " +
                    reporter.Verb("pushing it", "would push it") + " to '" + item.target + "'...");
  item.source = image.source->origin;
  item.platform = image.platform.value_or(image.source->platform).ToString();
  item.config_digest = image.source->config_digest;
  auto pushed = image.source->artifact
                    ? pusher.PushArtifact(*image.source->artifact, image.target.repository,
                                          image.target.tag)
                    : pusher.PushImage(*image.source, image.target.repository, image.target.tag,
                                       &item.blobs);
  if (!pushed.ok()) {
    Fail(reporter, item, pushed.status(), out);
    return std::nullopt;
  }
  std::string label = image.target.tag.empty() ? image.name : image.target.tag;
  reporter.Result(label + ": " + reporter.Verb("", "would push ") + "digest: " + pushed->digest +
                  " size: " + std::to_string(pushed->size));
  item.digest = pushed->digest;
  item.size = pushed->size;
  // Pushed by digest only: the report names it by its digest.
  if (image.target.tag.empty()) item.target += "@" + pushed->digest;
  NoteDigest(reporter, item, DecideImageDigest(*image.source, pusher.keep_digests()));
  out.images.push_back(PushedImage{.name = image.name,
                                   .target = image.target,
                                   .digest = pushed->digest,
                                   .media_type = pushed->media_type,
                                   .size = pushed->size,
                                   .platform = item.platform});
  Record(reporter, std::move(item), out);
  return PushedManifest{.ref = *pushed,
                        .platform = image.platform.value_or(image.source->platform),
                        .source = image.source,
                        .repository = image.target.repository};
}

void PushList(const PlannedGroup& group, const std::vector<PushedManifest>& children,
              ImagePusher& pusher, BlobSink& sink, const PushOptions& options,
              Reporter& reporter, ImagesPushed& out) {
  if (!group.problem.ok() || !group.list_target) {
    // No target: its name is invalid. Nothing is sent for it.
    ItemResult item{.kind = ItemResult::Kind::kManifestList, .name = group.name};
    return Fail(reporter, item,
                group.problem.ok() ? InvalidInput("manifest list has no target")
                                   : group.problem.status(),
                out);
  }
  const ImageTarget& target = *group.list_target;
  ItemResult item{.kind = ItemResult::Kind::kManifestList,
                  .name = group.name,
                  .target = Describe(sink.Locate(target.repository), target.tag)};
  if (children.size() != group.images.size()) {
    return Fail(reporter, item,
                InvalidInput("manifest list not pushed: " +
                             std::to_string(group.images.size() - children.size()) +
                             " of its platform image(s) failed"),
                out);
  }
  reporter.Progress(reporter.Verb("Pushing", "Would push") + " manifest list '" + group.name +
                    "' to '" + item.target + "'...");
  std::vector<ListEntry> entries;
  for (const auto& child : children) {
    // A list may only reference manifests of its own repository.
    if (child.repository != target.repository) {
      auto copy = pusher.PushImage(*child.source, target.repository, "", nullptr);
      if (!copy.ok()) return Fail(reporter, item, copy.status(), out);
    }
    entries.push_back({child.ref, child.platform});
    item.children.push_back(child.ref.digest);
  }
  std::vector<const ImageSource*> sources;
  for (const auto& child : children) sources.push_back(child.source);
  DigestDecision kept = DecideListDigest(sources, options.keep_digests);
  if (kept.kept) {  // the index's attestations go with it, before it
    std::vector<std::string> attestations;
    for (const StoredArtifact& artifact : sources.front()->index->artifacts) {
      Status sent = pusher.PushArtifact(artifact, target.repository).status();
      if (!sent.ok()) {  // (a registry refusing in-toto layers): a list without them
        kept = {.kept = false,
                .archive_digest = kept.archive_digest,
                .reason = "the target refused its attestation " + artifact.manifest.digest +
                          " (" + sent.message() + "): a new list is made without them"};
        attestations.clear();
        break;
      }
      attestations.push_back(artifact.manifest.digest);
    }
    item.children.insert(item.children.end(), attestations.begin(), attestations.end());
  }
  auto pushed = pusher.PutManifest(target.repository, target.tag,
                                   ManifestListToPush(sources, kept, options.format, entries));
  if (!pushed.ok()) return Fail(reporter, item, pushed.status(), out);
  reporter.Result(target.tag + ": " + reporter.Verb("", "would push ") + "digest: " +
                  pushed->digest + " size: " + std::to_string(pushed->size));
  item.digest = pushed->digest;
  item.size = pushed->size;
  // Pushed by digest only: the report names it by its digest.
  if (target.tag.empty()) item.target += "@" + pushed->digest;
  NoteDigest(reporter, item, kept);
  PushedList list{.name = group.name,
                  .target = target,
                  .digest = pushed->digest,
                  .media_type = pushed->media_type,
                  .size = pushed->size};
  for (const auto& child : children) list.platforms.push_back(child.platform.ToString());
  out.lists.push_back(std::move(list));
  Record(reporter, std::move(item), out);
}

}  // namespace

std::map<std::string, uint64_t> PushWork(const ImportPlan& plan) {
  std::map<std::string, uint64_t> work;
  for (const auto& group : plan.groups) {
    for (const auto& image : group.images) {
      if (!image.problem.ok() || !image.source) continue;
      const std::string& repo = image.target.repository;
      for (const auto& layer : image.source->layers) work[repo + "@" + layer.diff_id] = layer.size;
      work[repo + "@" + image.source->config_digest] =
          image.source->config ? image.source->config->size() : 0;
    }
  }
  return work;
}

ImagesStage::ImagesStage(BlobSink& sink, LayerPreparer& preparer, PushOptions options)
    : sink_(sink), options_(options),
      pusher_(std::make_unique<ImagePusher>(sink, preparer, options_)),
      ahead_(std::make_unique<LayerUploads>()) {}

ImagesStage::~ImagesStage() = default;

void ImagesStage::QueueAhead(const ImageSource& image, const std::string& repo) {
  // Stored layers wait for their check: this thread uploads one blob at a time.
  pusher_->Queue(*ahead_, image, repo, /*eager_stored=*/false);
}

Status ImagesStage::UploadReadyAhead(const std::atomic<bool>& stop) {
  return ahead_->runner.RunReady(stop);
}

bool ImagesStage::AheadQueued() const { return !ahead_->runner.empty(); }

std::vector<const ItemResult*> ImagesPushed::failures() const {
  std::vector<const ItemResult*> failed;
  for (const auto& item : items) {
    if (!item.status.ok()) failed.push_back(&item);
  }
  return failed;
}

ImagesPushed ImagesStage::Push(const ImportPlan& plan, Reporter& reporter) {
  ImagesPushed out;
  if (options_.progress) options_.progress->Planned(options_.progress_archive, PushWork(plan));
  ImagePusher& pusher = *pusher_;
  ahead_ = std::make_unique<LayerUploads>();  // what is left of it is queued again below
  LayerUploads uploads;
  for (const auto& group : plan.groups) {
    for (const auto& image : group.images) {
      // An artifact goes whole, as it is, when its turn comes (PushOne).
      if (!image.problem.ok() || !image.source || image.source->artifact) continue;
      pusher.Prefetch(*image.source, image.target.repository);
      pusher.Queue(uploads, *image.source, image.target.repository, /*eager_stored=*/true);
      pusher.QueueConfig(uploads, *image.source, image.target.repository);
      // A list may only name manifests of its own repository: the child is
      // copied there, so its blobs are needed there too (a spool file is
      // kept until then when nothing can make it again: a pipe, a dry run).
      if (group.list_target && group.list_target->repository != image.target.repository) {
        pusher.Prefetch(*image.source, group.list_target->repository);
      }
    }
  }
  if (!uploads.runner.empty()) {
    reporter.Progress(reporter.Verb("Uploading the layers of the images...",
                                    "Would upload the layers of the images..."));
  }
  // A failure stops these uploads; the loop below then pushes (and reports)
  // each image in plan order, as it would without them.
  {
    ReadySignal::Subscription woken =
        pusher.preparer().blob_ready().Subscribe([&uploads] { uploads.runner.Wake(); });
    (void)uploads.runner.RunAll(options_.upload_jobs);
  }
  for (const auto& group : plan.groups) {
    std::vector<PushedManifest> children;
    for (const auto& image : group.images) {
      if (auto pushed = PushOne(image, pusher, sink_, reporter, out)) children.push_back(*pushed);
    }
    // A list whose own name is invalid has no target but fails as an item.
    if (group.list_target || !group.problem.ok()) {
      PushList(group, children, pusher, sink_, options_, reporter, out);
    }
    TransferStats stats = pusher.TakeStats();
    reporter.AddTransfer(stats);
    out.transfer.blobs_uploaded += stats.blobs_uploaded;
    out.transfer.blobs_present += stats.blobs_present;
    out.transfer.bytes_uploaded += stats.bytes_uploaded;
  }
  return out;
}

}  // namespace ppa
