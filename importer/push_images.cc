#include "importer/push_images.h"

#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "docker_io/digest.h"
#include "docker_io/manifest_builder.h"
#include "docker_io/media_types.h"

namespace ppa {
namespace {

struct PushedManifest {
  BlobRef ref;
  Platform platform;
  const ImageSource* source = nullptr;
  std::string repository;
};

std::string Describe(const std::string& location, const std::string& tag) {
  return tag.empty() ? location : location + ":" + tag;
}

// A fixed set of worker threads running queued tasks in FIFO order. The
// destructor finishes the queued tasks and joins. Thread-safe.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Submit(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

int JobsFor(int requested) {
  if (requested > 0) return requested;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 2 : static_cast<int>(cores);
}

// Pushes images to one sink, preparing each distinct layer once per run.
// Layers are prepared (verified, compressed) ahead on worker threads in the
// order they will be pushed (Prefetch); uploads and manifests happen on the
// calling thread, so a manifest always follows its blobs.
class ImagePusher {
 public:
  ImagePusher(BlobSink& sink, const PushOptions& options)
      : sink_(sink), options_(options), pool_(std::make_unique<WorkerPool>(JobsFor(options.jobs))) {}

  ~ImagePusher() {
    pool_.reset();  // every prepared blob is final now
    for (auto& [key, pending] : blobs_) {
      const Result<LayerBlob>& blob = pending.get();
      if (blob.ok() && blob->spooled) ::unlink(blob->file.path.c_str());
    }
    for (const auto& path : spools_) ::unlink(path.c_str());
  }

  // Starts preparing every layer of `image` (pushed to `repo`) on the workers.
  void Prefetch(const ImageSource& image, const std::string& repo) {
    for (const auto& layer : image.layers) Pending(image, layer, repo);
  }

  // Blobs, config, then the manifest under `tag` (by digest when empty).
  // What happened to each blob is appended to `log`.
  Result<BlobRef> PushImage(const ImageSource& image, const std::string& repo,
                            const std::string& tag, std::vector<BlobResult>* log) {
    std::vector<BlobRef> layers;
    for (const auto& layer : image.layers) {
      PPA_ASSIGN_OR_RETURN(const LayerBlob* blob, Blob(image, layer, repo));
      BlobUpload upload{blob->digest, blob->size, blob->file};
      PPA_ASSIGN_OR_RETURN(BlobResult done, EnsureBlob(repo, blob->digest, blob->size, &upload, nullptr));
      done.diff_id = blob->diff_id;
      if (log) log->push_back(done);
      layers.push_back({blob->media_type, blob->digest, blob->size});
    }
    PPA_ASSIGN_OR_RETURN(BlobResult config_done,
                         EnsureBlob(repo, image.config_digest, image.config.size(), nullptr, &image.config));
    if (log) log->push_back(config_done);
    BlobRef config{ConfigMediaType(), image.config_digest, image.config.size()};
    BuiltManifest manifest = BuildImageManifest(options_.format, config, layers);
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

  TransferStats TakeStats() { return std::exchange(stats_, {}); }

 private:
  std::string ConfigMediaType() const {
    return std::string(options_.format == ManifestFormat::kOci ? media_types::kOciConfig
                                                                : media_types::kDockerConfig);
  }

  static std::string KeyOf(const LayerSource& layer) {
    return layer.diff_id + "|" + CompressionName(layer.compression) + "|" + layer.digest;
  }

  // The blob of `layer`, being prepared on a worker (queued on first use).
  std::shared_future<Result<LayerBlob>>& Pending(const ImageSource& image,
                                                 const LayerSource& layer,
                                                 const std::string& repo) {
    std::string key = KeyOf(layer);
    auto it = blobs_.find(key);
    if (it != blobs_.end()) return it->second;
    auto promise = std::make_shared<std::promise<Result<LayerBlob>>>();
    it = blobs_.emplace(key, promise->get_future().share()).first;
    pool_->Submit([this, promise, &image, &layer, repo] {
      promise->set_value(Prepare(image, layer, repo));
    });
    return it->second;
  }

  // Runs on a worker. With a cache hit whose blob `repo` already has (HEAD),
  // only the diff_id is checked; otherwise the layer is compressed/verified
  // (a HEAD 404 always wins over the cache).
  Result<LayerBlob> Prepare(const ImageSource& image, const LayerSource& layer,
                            const std::string& repo) {
    BlobCache* cache = options_.cache;
    bool cacheable = cache && layer.compression == Compression::kNone;
    if (cacheable) {
      if (auto hit = cache->Lookup(layer.diff_id, options_.compression.Key())) {
        Result<bool> has = sink_.HasBlob(repo, hit->digest);
        if (has.ok() && *has) {
          return KnownLayerBlob(image, layer, options_.format, options_.compression, hit->digest,
                                hit->size);
        }
      }
    }
    Result<LayerBlob> blob = PrepareLayerBlob(image, layer, options_.spool_dir, options_.format,
                                              options_.compression);
    if (cacheable && blob.ok()) {
      cache->Store(layer.diff_id, options_.compression.Key(), {blob->digest, blob->size});
    }
    return blob;
  }

  // Waits for the prepared blob of `layer`. A blob known only from the cache
  // (no bytes at hand) that `repo` lacks and cannot mount is prepared again
  // here, so it can be uploaded.
  Result<const LayerBlob*> Blob(const ImageSource& image, const LayerSource& layer,
                                const std::string& repo) {
    const Result<LayerBlob>& blob = Pending(image, layer, repo).get();
    if (!blob.ok()) return blob.status();
    if (!blob->file.path.empty() || present_.count(repo + "@" + blob->digest)) return &*blob;
    PPA_ASSIGN_OR_RETURN(bool has, sink_.HasBlob(repo, blob->digest));
    if (has) {
      stats_.blobs_present++;
      Remember(repo, blob->digest);
      return &*blob;
    }
    std::string from = MountSource(repo, blob->digest);
    if (!from.empty()) {
      PPA_ASSIGN_OR_RETURN(bool mounted, sink_.MountBlob(repo, blob->digest, from));
      if (mounted) {
        CountSent(true, blob->size);
        Remember(repo, blob->digest);
        return &*blob;
      }
    }
    auto fresh = std::make_unique<Result<LayerBlob>>(PrepareLayerBlob(
        image, layer, options_.spool_dir, options_.format, options_.compression));
    if (!fresh->ok()) return fresh->status();
    if ((*fresh)->spooled) spools_.push_back((*fresh)->file.path);
    if (options_.cache) {  // e.g. another ISA-L build made other bytes: cache what we have now
      options_.cache->Store(layer.diff_id, options_.compression.Key(),
                            {(*fresh)->digest, (*fresh)->size});
    }
    refreshed_.push_back(std::move(fresh));
    return &*(*refreshed_.back());
  }

  // HEAD first: a blob the registry has is never sent again. A blob pushed
  // to another repository earlier in this run is mounted from there. The
  // bytes come from `file` (layers) or `bytes` (configs).
  Result<BlobResult> EnsureBlob(const std::string& repo, const std::string& digest, uint64_t size,
                                const BlobUpload* file, const std::string* bytes) {
    BlobResult result{digest, "", size, BlobResult::Action::kPresent, 0};
    if (present_.count(repo + "@" + digest)) return result;
    PPA_ASSIGN_OR_RETURN(bool exists, sink_.HasBlob(repo, digest));
    if (exists) {
      stats_.blobs_present++;
    } else {
      std::string from = MountSource(repo, digest);
      PPA_ASSIGN_OR_RETURN(bool mounted, file ? PutWithProgress(repo, *file, from)
                                              : sink_.MountOrPutBlobBytes(repo, digest, *bytes, from));
      CountSent(mounted, size);
      result.action = mounted ? BlobResult::Action::kMounted : BlobResult::Action::kUploaded;
      result.bytes_sent = mounted ? 0 : size;
    }
    Remember(repo, digest);
    return result;
  }

  // A layer upload, shown as a progress line on a terminal.
  Result<bool> PutWithProgress(const std::string& repo, const BlobUpload& file,
                               const std::string& from) {
    ProgressDisplay* display = options_.progress;
    if (!display || !display->enabled()) return sink_.MountOrPutBlob(repo, file, from);
    int id = display->Begin(repo + " " + file.digest.substr(0, 19), file.size);
    BlobUpload upload = file;
    upload.on_progress = [display, id](uint64_t sent) { display->Update(id, sent); };
    auto mounted = sink_.MountOrPutBlob(repo, upload, from);
    display->End(id);
    return mounted;
  }

  // Another repository of this run that has `digest`, or "".
  std::string MountSource(const std::string& repo, const std::string& digest) const {
    auto it = repo_by_digest_.find(digest);
    return it == repo_by_digest_.end() || it->second == repo ? std::string() : it->second;
  }

  void Remember(const std::string& repo, const std::string& digest) {
    present_.insert(repo + "@" + digest);
    repo_by_digest_.emplace(digest, repo);
  }

  // A mounted blob is counted as present: no bytes were sent.
  void CountSent(bool mounted, uint64_t size) {
    if (mounted) {
      stats_.blobs_present++;
    } else {
      stats_.blobs_uploaded++;
      stats_.bytes_uploaded += size;
    }
  }

  BlobSink& sink_;
  const PushOptions& options_;
  std::map<std::string, std::shared_future<Result<LayerBlob>>> blobs_;
  std::vector<std::unique_ptr<Result<LayerBlob>>> refreshed_;  // re-prepared cache hits
  std::vector<std::string> spools_;                            // their spool files
  std::set<std::string> present_;
  std::map<std::string, std::string> repo_by_digest_;  // digest -> first repository with it
  TransferStats stats_;
  std::unique_ptr<WorkerPool> pool_;  // last: its tasks use the members above
};

void Fail(Reporter& reporter, ItemResult item, const Status& status) {
  reporter.Failure(status.WithContext("'" + item.name + "'"));
  item.status = status;
  reporter.Record(std::move(item));
}

std::optional<PushedManifest> PushOne(const PlannedImage& image, ImagePusher& pusher,
                                      BlobSink& sink, Reporter& reporter) {
  ItemResult item{ItemResult::Kind::kImage, image.name,
                  Describe(sink.Locate(image.target.repository), image.target.tag), "", 0, {}};
  if (!image.problem.ok()) {
    Fail(reporter, item, image.problem);
    return std::nullopt;
  }
  if (image.target.tag == "latest") {
    reporter.Warning("'" + item.target + "' uses the tag 'latest'; explicit version tags are "
                     "recommended");
  }
  reporter.Progress("Importing '" + image.name + "' and pushing it to '" + item.target + "'...");
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
  reporter.Result(label + ": digest: " + pushed->digest + " size: " + std::to_string(pushed->size));
  item.digest = pushed->digest;
  item.size = pushed->size;
  reporter.Record(item);
  return PushedManifest{*pushed, image.platform.value_or(image.source->platform), image.source,
                        image.target.repository};
}

void PushList(const PlannedGroup& group, const std::vector<PushedManifest>& children,
              ImagePusher& pusher, BlobSink& sink, const PushOptions& options,
              Reporter& reporter) {
  const ImageTarget& target = *group.list_target;
  ItemResult item{ItemResult::Kind::kManifestList, group.name,
                  Describe(sink.Locate(target.repository), target.tag), "", 0, {}};
  if (!group.problem.ok()) return Fail(reporter, item, group.problem);
  if (children.size() != group.images.size()) {
    return Fail(reporter, item,
                InvalidInput("manifest list not pushed: " +
                             std::to_string(group.images.size() - children.size()) +
                             " of its platform image(s) failed"));
  }
  reporter.Progress("Pushing manifest list '" + group.name + "' to '" + item.target + "'...");
  std::vector<ListEntry> entries;
  for (const auto& child : children) {
    // A list may only reference manifests of its own repository.
    if (child.repository != target.repository) {
      auto copy = pusher.PushImage(*child.source, target.repository, "", nullptr);
      if (!copy.ok()) return Fail(reporter, item, copy.status());
    }
    entries.push_back({child.ref, child.platform});
  }
  auto pushed =
      pusher.PutManifest(target.repository, target.tag, BuildManifestList(options.format, entries));
  if (!pushed.ok()) return Fail(reporter, item, pushed.status());
  reporter.Result(target.tag + ": digest: " + pushed->digest + " size: " +
                  std::to_string(pushed->size));
  item.digest = pushed->digest;
  item.size = pushed->size;
  reporter.Record(item);
}

}  // namespace

void PushImages(const ImportPlan& plan, BlobSink& sink, const PushOptions& options,
                Reporter& reporter) {
  ImagePusher pusher(sink, options);
  for (const auto& group : plan.groups) {
    for (const auto& image : group.images) {
      if (image.problem.ok() && image.source) pusher.Prefetch(*image.source, image.target.repository);
    }
  }
  for (const auto& group : plan.groups) {
    std::vector<PushedManifest> children;
    for (const auto& image : group.images) {
      if (auto pushed = PushOne(image, pusher, sink, reporter)) children.push_back(*pushed);
    }
    if (group.list_target) PushList(group, children, pusher, sink, options, reporter);
    reporter.AddTransfer(pusher.TakeStats());
  }
}

}  // namespace ppa
