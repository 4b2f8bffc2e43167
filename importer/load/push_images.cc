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
#include <thread>

#include "docker_io/image/digest.h"
#include "docker_io/image/manifest_builder.h"
#include "docker_io/image/media_types.h"
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
// calling thread. The bookkeeping below is guarded by mu_.
class ImagePusher {
 public:
  ImagePusher(BlobSink& sink, LayerPreparer& preparer, const PushOptions& options)
      : sink_(sink), preparer_(preparer), options_(options) {}

  // Starts preparing every layer of `image` (pushed to `repo`) on the workers.
  void Prefetch(const ImageSource& image, const std::string& repo) {
    for (const auto& layer : image.layers) preparer_.Pending(image, layer, repo);
  }

  // Adds to `uploads` a task for each layer of `image` not queued for `repo`
  // yet: it pushes the layer to `repo` as soon as its blob is ready. With
  // `eager_stored`, a gzip/zstd layer pushed as stored is ready at once (its
  // upload overlaps its diff_id check, see PushLayer). Of the repositories
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
                         EnsureBlob(repo, image.config_digest, image.config->size(), nullptr,
                                    image.config.get(), ConfigWork(repo, image)));
    if (log) log->push_back(config_done);
    BlobRef config{ConfigMediaType(), image.config_digest, image.config->size()};
    PPA_ASSIGN_OR_RETURN(BuiltManifest manifest,
                         ImageManifestToPush(image, DecideImageDigest(image, options_.keep_digests),
                                             options_.format, config, layers));
    return PutManifest(repo, tag, manifest);
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
    std::lock_guard lock(mu_);
    return std::exchange(stats_, {});
  }

 private:
  struct LayerPush {
    const LayerBlob* blob = nullptr;
    BlobResult result;
  };

  // One layer: its blob (Blob), then onto `repo` (EnsureBlob). A gzip/zstd
  // layer with a stored digest is pushed as it lies in the tarball, so its
  // upload starts at once, while a worker still checks that it decompresses
  // to its diff_id; the registry checks the digest of what it receives, and
  // the manifest waits for both.
  Result<LayerPush> PushLayer(const ImageSource& image, const LayerSource& layer,
                              const std::string& repo) {
    const Work work = LayerWork(repo, layer);
    if (PushedAsStored(layer)) {
      BlobUpload stored{layer.digest, layer.size, FileBody{image.tarball, layer.offset, layer.size}};
      PPA_ASSIGN_OR_RETURN(BlobResult done,
                           EnsureBlob(repo, layer.digest, layer.size, &stored, nullptr, work));
      PPA_ASSIGN_OR_RETURN(const LayerBlob* blob, Blob(image, layer, repo));  // checks both digests
      done.diff_id = blob->diff_id;
      return LayerPush{blob, done};
    }
    PPA_ASSIGN_OR_RETURN(const LayerBlob* blob, Blob(image, layer, repo));
    BlobUpload upload{blob->digest, blob->size, blob->file};
    PPA_ASSIGN_OR_RETURN(BlobResult done,
                         EnsureBlob(repo, blob->digest, blob->size, &upload, nullptr, work));
    done.diff_id = blob->diff_id;
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
    std::vector<std::thread> helpers;
    for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
    work();
    for (auto& h : helpers) h.join();
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

  // Waits for the prepared blob of `layer`. A blob known only from the cache
  // (no bytes at hand) that `repo` lacks and cannot mount, or one prepared
  // ahead from a speculative read that failed, is prepared again here.
  Result<const LayerBlob*> Blob(const ImageSource& image, const LayerSource& layer,
                                const std::string& repo) {
    const Result<LayerBlob>& blob = preparer_.Pending(image, layer, repo).get();
    if (!blob.ok()) {
      if (preparer_.Speculative(layer)) return preparer_.Reprepare(image, layer);
      return blob.status();
    }
    if (!blob->file.path.empty() || Present(repo, blob->digest)) return &*blob;
    PPA_ASSIGN_OR_RETURN(bool has, sink_.HasBlob(repo, blob->digest));
    if (has) {
      CountPresent();
      Remember(repo, blob->digest);
      return &*blob;
    }
    PPA_ASSIGN_OR_RETURN(bool mounted, TryMounts(repo, blob->digest, blob->size));
    if (mounted) {
      Decide(repo, BlobResult{blob->digest, "", blob->size, BlobResult::Action::kMounted, 0});
      return &*blob;
    }
    return preparer_.Reprepare(image, layer);
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

  // HEAD first: a blob the registry has is never sent again. A blob pushed
  // to another repository earlier in this run is mounted from there. The
  // bytes come from `file` (layers) or `bytes` (configs). However it ends
  // up there, `work` is then done for the progress display.
  Result<BlobResult> EnsureBlob(const std::string& repo, const std::string& digest, uint64_t size,
                                const BlobUpload* file, const std::string* bytes,
                                const Work& work) {
    Result<BlobResult> done = EnsureBlobUncounted(repo, digest, size, file, bytes, work);
    if (done.ok()) Credit(work, work.size);
    return done;
  }

  Result<BlobResult> EnsureBlobUncounted(const std::string& repo, const std::string& digest,
                                         uint64_t size, const BlobUpload* file,
                                         const std::string* bytes, const Work& work) {
    BlobResult result{digest, "", size, BlobResult::Action::kPresent, 0};
    {
      std::lock_guard lock(mu_);
      std::string key = repo + "@" + digest;
      if (present_.count(key)) {
        // Sent ahead or mounted by Blob(): report that, once.
        if (auto it = decided_.find(key); it != decided_.end()) {
          result = it->second;
          decided_.erase(it);
        }
        return result;
      }
    }
    PPA_ASSIGN_OR_RETURN(bool exists, sink_.HasBlob(repo, digest));
    if (exists) {
      CountPresent();
      Remember(repo, digest);
      return result;
    }
    PPA_ASSIGN_OR_RETURN(bool mounted, TryMounts(repo, digest, size));
    if (mounted) {
      result.action = BlobResult::Action::kMounted;
      return result;
    }
    PPA_RETURN_IF_ERROR(file ? PutWithProgress(repo, *file, work)
                             : sink_.MountOrPutBlobBytes(repo, digest, *bytes, "").status());
    CountSent(false, size);
    Remember(repo, digest);
    result.action = BlobResult::Action::kUploaded;
    result.bytes_sent = size;
    return result;
  }

  // Mounts `digest` into `repo` from a repository of this run or one the
  // blob cache saw holding it on this target; false when none could.
  Result<bool> TryMounts(const std::string& repo, const std::string& digest, uint64_t size) {
    for (const std::string& from : MountSources(repo, digest)) {
      PPA_ASSIGN_OR_RETURN(bool mounted, sink_.MountBlob(repo, digest, from));
      if (!mounted) continue;
      CountSent(true, size);
      Remember(repo, digest);
      return true;
    }
    return false;
  }

  // A layer upload, shown as a progress line on a terminal, and counted as
  // its share of `work` as its bytes go.
  Status PutWithProgress(const std::string& repo, const BlobUpload& file, const Work& work) {
    ProgressDisplay* display = options_.progress;
    if (!display || !display->enabled()) return sink_.MountOrPutBlob(repo, file, "").status();
    int id = display->Begin(repo + " " + file.digest.substr(0, 19), file.size);
    BlobUpload upload = file;
    upload.on_progress = [this, display, id, &work, total = file.size](uint64_t sent) {
      display->Update(id, sent);
      if (total > 0) {
        Credit(work, static_cast<uint64_t>(static_cast<double>(std::min(sent, total)) /
                                           static_cast<double>(total) *
                                           static_cast<double>(work.size)));
      }
    };
    auto sent = sink_.MountOrPutBlob(repo, upload, "");
    display->End(id);
    return sent.status();
  }

  // Another repository of this run that has `digest`, or "".
  std::string MountSource(const std::string& repo, const std::string& digest) {
    std::lock_guard lock(mu_);
    auto it = repo_by_digest_.find(digest);
    return it == repo_by_digest_.end() || it->second == repo ? std::string() : it->second;
  }

  // Repositories to mount `digest` from: one of this run, then those the
  // blob cache saw holding it on this target in earlier runs.
  std::vector<std::string> MountSources(const std::string& repo, const std::string& digest) {
    std::vector<std::string> sources;
    if (std::string from = MountSource(repo, digest); !from.empty()) sources.push_back(from);
    const PreparerOptions& prep = preparer_.options();
    if (prep.cache && !prep.cache_scope.empty()) {
      for (auto& from : prep.cache->SeenIn(prep.cache_scope, digest)) {
        if (from != repo && std::find(sources.begin(), sources.end(), from) == sources.end()) {
          sources.push_back(std::move(from));
        }
      }
    }
    return sources;
  }

  void Remember(const std::string& repo, const std::string& digest) {
    {
      std::lock_guard lock(mu_);
      present_.insert(repo + "@" + digest);
      repo_by_digest_.emplace(digest, repo);
    }
    const PreparerOptions& prep = preparer_.options();
    if (prep.cache && !prep.cache_scope.empty()) prep.cache->RecordSeen(prep.cache_scope, repo, digest);
  }

  bool Present(const std::string& repo, const std::string& digest) {
    std::lock_guard lock(mu_);
    return present_.count(repo + "@" + digest) > 0;
  }

  // Records what was done with a blob of `repo`, for EnsureBlob to report.
  void Decide(const std::string& repo, const BlobResult& done) {
    std::lock_guard lock(mu_);
    decided_.emplace(repo + "@" + done.digest, done);
  }

  void CountPresent() {
    std::lock_guard lock(mu_);
    stats_.blobs_present++;
  }

  // A mounted blob is counted as present: no bytes were sent.
  void CountSent(bool mounted, uint64_t size) {
    std::lock_guard lock(mu_);
    if (mounted) {
      stats_.blobs_present++;
    } else {
      stats_.blobs_uploaded++;
      stats_.bytes_uploaded += size;
    }
  }

  BlobSink& sink_;
  LayerPreparer& preparer_;
  const PushOptions& options_;
  std::mutex mu_;
  std::set<std::string> present_;
  // repo@digest -> what a queued upload (Queue) or Blob() did, until EnsureBlob reports it
  std::map<std::string, BlobResult> decided_;
  std::map<std::string, std::string> repo_by_digest_;  // digest -> first repository with it
  TransferStats stats_;
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
    const bool at_once = eager_stored && PushedAsStored(layer);
    auto ready = [this, shared, &layer, repo, at_once, wait_for](std::chrono::milliseconds wait) {
      if (wait_for && !*wait_for) {
        if (wait.count() > 0) std::this_thread::sleep_for(wait);
        return false;
      }
      return at_once || preparer_.Pending(*shared, layer, repo).wait_for(wait) ==
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
  auto ready = [](std::chrono::milliseconds) { return true; };
  auto run = [this, shared, repo]() -> Status {
    PPA_ASSIGN_OR_RETURN(BlobResult done,
                         EnsureBlob(repo, shared->config_digest, shared->config->size(), nullptr,
                                    shared->config.get(), ConfigWork(repo, *shared)));
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

void Fail(Reporter& reporter, ItemResult item, const Status& status) {
  reporter.Failure(status.WithContext("'" + item.name + "'"));
  item.status = status;
  reporter.Record(std::move(item));
}

std::optional<PushedManifest> PushOne(const PlannedImage& image, ImagePusher& pusher,
                                      BlobSink& sink, Reporter& reporter) {
  // An image that failed planning has no target (its name may be what is
  // wrong): none is shown for it.
  ItemResult item{ItemResult::Kind::kImage, image.name,
                  image.target.repository.empty()
                      ? std::string()
                      : Describe(sink.Locate(image.target.repository), image.target.tag),
                  "", 0, {}};
  if (!image.problem.ok()) {
    Fail(reporter, item, image.problem);
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
  auto pushed =
      pusher.PushImage(*image.source, image.target.repository, image.target.tag, &item.blobs);
  if (!pushed.ok()) {
    Fail(reporter, item, pushed.status());
    return std::nullopt;
  }
  std::string label = image.target.tag.empty() ? image.name : image.target.tag;
  reporter.Result(label + ": " + reporter.Verb("", "would push ") + "digest: " + pushed->digest +
                  " size: " + std::to_string(pushed->size));
  item.digest = pushed->digest;
  item.size = pushed->size;
  NoteDigest(reporter, item, DecideImageDigest(*image.source, pusher.keep_digests()));
  reporter.Record(item);
  return PushedManifest{*pushed, image.platform.value_or(image.source->platform), image.source,
                        image.target.repository};
}

void PushList(const PlannedGroup& group, const std::vector<PushedManifest>& children,
              ImagePusher& pusher, BlobSink& sink, const PushOptions& options,
              Reporter& reporter) {
  if (!group.problem.ok() || !group.list_target) {
    // No target: its name is invalid. Nothing is sent for it.
    ItemResult item{ItemResult::Kind::kManifestList, group.name, "", "", 0, {}};
    return Fail(reporter, item,
                group.problem.ok() ? InvalidInput("manifest list has no target")
                                   : group.problem.status());
  }
  const ImageTarget& target = *group.list_target;
  ItemResult item{ItemResult::Kind::kManifestList, group.name,
                  Describe(sink.Locate(target.repository), target.tag), "", 0, {}};
  if (children.size() != group.images.size()) {
    return Fail(reporter, item,
                InvalidInput("manifest list not pushed: " +
                             std::to_string(group.images.size() - children.size()) +
                             " of its platform image(s) failed"));
  }
  reporter.Progress(reporter.Verb("Pushing", "Would push") + " manifest list '" + group.name +
                    "' to '" + item.target + "'...");
  std::vector<ListEntry> entries;
  for (const auto& child : children) {
    // A list may only reference manifests of its own repository.
    if (child.repository != target.repository) {
      auto copy = pusher.PushImage(*child.source, target.repository, "", nullptr);
      if (!copy.ok()) return Fail(reporter, item, copy.status());
    }
    entries.push_back({child.ref, child.platform});
  }
  std::vector<const ImageSource*> sources;
  for (const auto& child : children) sources.push_back(child.source);
  DigestDecision kept = DecideListDigest(sources, options.keep_digests);
  auto pushed = pusher.PutManifest(target.repository, target.tag,
                                   ManifestListToPush(sources, kept, options.format, entries));
  if (!pushed.ok()) return Fail(reporter, item, pushed.status());
  reporter.Result(target.tag + ": " + reporter.Verb("", "would push ") + "digest: " +
                  pushed->digest + " size: " + std::to_string(pushed->size));
  item.digest = pushed->digest;
  item.size = pushed->size;
  NoteDigest(reporter, item, kept);
  reporter.Record(item);
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

void ImagesStage::Push(const ImportPlan& plan, Reporter& reporter) {
  if (options_.progress) options_.progress->Planned(options_.progress_archive, PushWork(plan));
  ImagePusher& pusher = *pusher_;
  ahead_ = std::make_unique<LayerUploads>();  // what is left of it is queued again below
  LayerUploads uploads;
  for (const auto& group : plan.groups) {
    for (const auto& image : group.images) {
      if (!image.problem.ok() || !image.source) continue;
      pusher.Prefetch(*image.source, image.target.repository);
      pusher.Queue(uploads, *image.source, image.target.repository, /*eager_stored=*/true);
      pusher.QueueConfig(uploads, *image.source, image.target.repository);
    }
  }
  if (!uploads.runner.empty()) {
    reporter.Progress(reporter.Verb("Uploading the layers of the images...",
                                    "Would upload the layers of the images..."));
  }
  // A failure stops these uploads; the loop below then pushes (and reports)
  // each image in plan order, as it would without them.
  (void)uploads.runner.RunAll(options_.upload_jobs);
  for (const auto& group : plan.groups) {
    std::vector<PushedManifest> children;
    for (const auto& image : group.images) {
      if (auto pushed = PushOne(image, pusher, sink_, reporter)) children.push_back(*pushed);
    }
    // A list whose own name is invalid has no target but fails as an item.
    if (group.list_target || !group.problem.ok()) {
      PushList(group, children, pusher, sink_, options_, reporter);
    }
    reporter.AddTransfer(pusher.TakeStats());
  }
}

}  // namespace ppa
