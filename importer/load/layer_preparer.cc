#include "importer/load/layer_preparer.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/confined.h"

namespace ppa {

int JobsFor(int requested) {
  if (requested > 0) return requested;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 2 : static_cast<int>(cores);
}

namespace {

// Image files come as tarballs, whole-file compressed or not. Charts (.tgz)
// match too; reading one finds no image and costs little.
bool LooksLikeImageFile(const std::string& rel) {
  for (const char* suffix : {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2"}) {
    std::string_view s(suffix);
    if (rel.size() > s.size() && rel.compare(rel.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

Status Cancelled() { return IoError("layer preparation cancelled"); }

// A task of the preparer. What it makes goes to promises that others wait
// for, so an exception (a bug, or memory exhausted) would leave them broken
// under their waiters: it ends the process instead, with a line saying why.
std::function<void()> Guarded(std::function<void()> task) {
  return [task = std::move(task)] {
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::critical("internal error while preparing layers: {}", e.what());
      std::terminate();
    } catch (...) {
      spdlog::critical("internal error while preparing layers");
      std::terminate();
    }
  };
}

}  // namespace

struct LayerPreparer::OnceBlob {
  explicit OnceBlob(std::function<std::optional<LayerBlob>()> make)
      : task(std::move(make)), result(task.get_future().share()) {}
  // Runs the task unless another thread has started it; then waits for it
  // (it is running: no thread waits for a queued task).
  const std::optional<LayerBlob>& Get() {
    if (!started.exchange(true)) task();
    return result.get();
  }
  std::atomic<bool> started{false};
  std::packaged_task<std::optional<LayerBlob>()> task;
  std::shared_future<std::optional<LayerBlob>> result;
};

LayerPreparer::LayerPreparer(BlobSink& sink, PreparerOptions options)
    : sink_(sink),
      options_(std::move(options)),
      pool_(ThreadPool::Here()),
      tasks_(std::make_unique<TaskGroup>(pool_, JobsFor(options_.jobs))) {
  // The blocks of a layer being compressed are leaf tasks: they never wait,
  // so the tasks below and the LayerStreams may wait for them.
  options_.compression.runner = [pool = &pool_](std::function<void()> task) {
    (void)pool->SubmitLeaf(std::move(task));
  };
}

LayerPreparer::~LayerPreparer() {
  cancelled_ = true;  // what is still queued is not needed any more
  streams_.clear();   // every stream has finished now (abandoned unless closed)
  // Every task has finished after this, those queued by running ones too.
  try {
    tasks_->Wait();
  } catch (...) {  // the tasks keep their results in promises: not reached
  }
  auto remove = [](const Result<LayerBlob>& blob) {
    if (blob.ok() && blob->spooled) ::unlink(blob->file.path.c_str());
  };
  for (auto& [key, entry] : blobs_) {
    if (!entry.released) remove(entry.blob.get());  // a released one is gone already
  }
  for (const auto& blob : reprepared_) remove(*blob);
}

std::string LayerPreparer::KeyOf(const LayerSource& layer) {
  // The stored digest of an uncompressed layer is its diff_id, or a mismatch.
  const std::string& digest =
      layer.compression == Compression::kNone && layer.digest == layer.diff_id ? std::string()
                                                                              : layer.digest;
  return layer.diff_id + "|" + CompressionName(layer.compression) + "|" + digest;
}

void LayerPreparer::Speculate(const std::string& path, const std::string& rel,
                              const std::string& inflated) {
  if (!LooksLikeImageFile(rel)) return;
  auto promise = std::make_shared<std::promise<Result<std::vector<ImageSource>>>>();
  {
    MutexLock lock(&mu_);
    // A later entry of the same name replaced the file: read it again.
    image_files_[path] = promise->get_future().share();
  }
  // Reading an image file takes little and tells the plan what it holds: it
  // goes before the layers already queued.
  tasks_->SubmitFirst(Guarded(
      [this, promise, path, rel, inflated] { promise->set_value(ReadAhead(path, rel, inflated)); }));
}

void LayerPreparer::SpeculateLayer(const std::string& path, const std::string& rel,
                                   const HashedEntry& entry) {
  if (!entry.layer) return;
  ImageSource image;
  image.tarball = path;
  image.origin = rel;
  LayerSource layer;
  layer.entry = rel + " at offset " + std::to_string(entry.offset);
  layer.offset = entry.offset;
  layer.size = entry.size;
  layer.compression = *entry.layer;
  if (layer.compression == Compression::kNone) {
    layer.diff_id = entry.digest;
    if (options_.cache) options_.cache->RecordEntry(entry.name, entry.size, entry.digest);
    image.layers.push_back(std::move(layer));
    MutexLock lock(&mu_);
    QueueLocked(image, image.layers.front(), "", true, /*in_image_file=*/false);
    return;
  }
  layer.digest = entry.digest;
  auto once =
      std::make_shared<OnceBlob>([this, image, layer] { return SpeculateStored(image, layer); });
  {
    MutexLock lock(&mu_);
    stored_ahead_[{path, entry.offset}] = once;
  }
  tasks_->Submit(Guarded([once] { once->Get(); }));
}

std::optional<LayerBlob> LayerPreparer::StoredAhead(const ImageSource& image,
                                                    const LayerSource& layer) {
  std::shared_ptr<OnceBlob> once;
  {
    MutexLock lock(&mu_);
    auto it = stored_ahead_.find({image.tarball, layer.offset});
    if (it == stored_ahead_.end()) return std::nullopt;
    once = it->second;
  }
  const std::optional<LayerBlob>& blob = once->Get();
  if (!blob || blob->digest != layer.digest || blob->diff_id != layer.diff_id ||
      blob->size != layer.size) {
    return std::nullopt;
  }
  return blob;
}

namespace {

// Layers made on the way at once, whatever the number of cores: one is
// being unpacked, the others finish their last blocks (on every core).
constexpr size_t kMaxStreams = 3;

// A copy of a layer sighted before, taken out of its file and dropped.
class DroppedLayer : public TakenLayer {
 public:
  void Write(std::string_view) override {}
  void Finish(const std::string&) override {}
};

}  // namespace

class LayerPreparer::StreamedLayer : public TakenLayer {
 public:
  StreamedLayer(LayerPreparer& preparer, LayerStream& stream,
                std::shared_future<Result<LayerBlob>> blob)
      : preparer_(preparer), stream_(stream), blob_(std::move(blob)) {}
  ~StreamedLayer() override {
    if (!finished_) stream_.Abandon();
  }
  void Write(std::string_view bytes) override { stream_.Write(bytes); }
  void Finish(const std::string& digest) override {
    finished_ = true;
    preparer_.Streamed(stream_, digest, blob_);
  }

 private:
  LayerPreparer& preparer_;
  LayerStream& stream_;
  std::shared_future<Result<LayerBlob>> blob_;
  bool finished_ = false;
};

class LayerPreparer::KnownLayer : public TakenLayer {
 public:
  explicit KnownLayer(LayerPreparer& preparer) : preparer_(preparer) {}
  void Write(std::string_view) override {}
  void Finish(const std::string& digest) override { preparer_.Known(digest); }

 private:
  LayerPreparer& preparer_;
};

std::unique_ptr<TakenLayer> LayerPreparer::TakeLayer(std::string_view name, uint64_t size,
                                                     bool first_sighting) {
  if (!options_.take_layers || cancelled_) return nullptr;
  if (!first_sighting) return std::make_unique<DroppedLayer>();
  const std::string settings = options_.compression.Key();
  BlobCache* cache = options_.cache;
  // Dropping a known layer relies on reading it again should the target
  // lack its blob after all: only when the image file can be restored.
  auto known = cache && options_.restore_image_file
                   ? cache->EntryBlob(std::string(name), size, settings)
                   : std::nullopt;
  if (known && TargetHoldsKnown(known->digest)) {
    spdlog::debug(
        "'{}' ({} bytes) is {} on the target (blob cache): hashed as it is unpacked, "
        "not written",
        name, size, known->digest);
    return std::make_unique<KnownLayer>(*this);
  }
  auto spool = SpoolCompressor::Create(options_.spool_dir, options_.format, options_.compression);
  if (!spool.ok()) return nullptr;  // "none", or no spool file: read from the file as usual
  if (!WaitForStreamRoom()) return nullptr;
  // The entry's future is this promise, not the stream's: the stream makes
  // its own ready only after `done`, which here sets this one, then tells
  // the waiters (blob_ready_).
  auto filed = std::make_shared<std::promise<Result<LayerBlob>>>();
  std::shared_future<Result<LayerBlob>> filed_blob = filed->get_future().share();
  auto done = [this, cache, settings, filed, name = std::string(name),
               size](const Result<LayerBlob>& blob) {
    if (cache && blob.ok()) {
      cache->Store(blob->diff_id, settings, {blob->digest, blob->size});
      cache->RecordEntry(name, size, blob->diff_id);
    }
    uint64_t spooled = 0;
    {
      MutexLock lock(&mu_);
      --active_streams_;
      // (Its blob becomes ready just after this: counted here.)
      spooled = SpooledBytesLocked() + (blob.ok() && blob->spooled ? blob->size : 0);
    }
    stream_done_.SignalAll();
    NoteSpoolGrown(spooled);
    filed->set_value(blob);
    blob_ready_.Notify();
  };
  spdlog::debug("compressing '{}' ({} bytes) as it is unpacked", name, size);
  auto stream = std::make_unique<LayerStream>(std::move(spool).value(), stream_budget_, done, pool_);
  LayerStream& made = *stream;
  {
    MutexLock lock(&mu_);
    streams_.push_back(std::move(stream));
  }
  return std::make_unique<StreamedLayer>(*this, made, std::move(filed_blob));
}

bool LayerPreparer::WaitForStreamRoom() {
  // Back-pressure: wait for a stream to finish rather than leave the layer
  // in the file.
  MutexLock lock(&mu_);
  while (!cancelled_ && (active_streams_ >= kMaxStreams || OverBudgetLocked())) {
    stream_done_.Wait(&mu_);
  }
  if (cancelled_) return false;
  std::erase_if(streams_, [](const auto& stream) { return stream->finished(); });
  ++active_streams_;
  return true;
}

// The bytes of a stored layer, written to its spool file on the unpacking
// thread as they come (as they would have been to the image file); its
// check (decompressed for the diff_id) runs on a worker once they are all
// there (StoredWritten).
class LayerPreparer::StoredLayer : public TakenLayer {
 public:
  StoredLayer(LayerPreparer& preparer, StoredSpoolFile spool)
      : preparer_(preparer), spool_(std::move(spool)) {}
  ~StoredLayer() override {
    if (!finished_) Finish("");  // cut short
  }
  void Write(std::string_view bytes) override {
    if (written_.ok()) {
      written_ = PwriteAll(spool_.fd.get(), bytes.data(), bytes.size(), spool_.size, spool_.path);
    }
    spool_.size += bytes.size();
  }
  void Finish(const std::string& digest) override {
    finished_ = true;
    spool_.fd.Reset();
    preparer_.StoredWritten(std::move(spool_), digest, written_);
  }

 private:
  LayerPreparer& preparer_;
  StoredSpoolFile spool_;
  Status written_;
  bool finished_ = false;
};

std::unique_ptr<TakenLayer> LayerPreparer::TakeStoredLayer(const std::string& path,
                                                           uint64_t offset, uint64_t size,
                                                           Compression kind) {
  if (!options_.take_layers || cancelled_) return nullptr;
  // No wait for the spool's budget: these bytes would otherwise be in the
  // image file, and what releases them (an upload to the file's repository)
  // comes after they are all written.
  Result<SpoolFile> file = CreateSpoolFile(options_.spool_dir);
  if (!file.ok()) return nullptr;  // left in the file, read from there as before
  StoredSpoolFile spool{.path = std::move(file->path),
                        .kind = kind,
                        .entry = path + " at offset " + std::to_string(offset),
                        .fd = std::move(file->fd),
                        .at = {path, offset}};
  spdlog::debug("copying the stored {} layer at {} of '{}' ({} bytes) as it is unpacked",
                CompressionName(kind), offset, path, size);
  return std::make_unique<StoredLayer>(*this, std::move(spool));
}

void LayerPreparer::StoredWritten(StoredSpoolFile spool, const std::string& digest,
                                  const Status& written) {
  if (!written.ok() || digest.empty()) {  // cut short: the plan reads it again, and says why
    ::unlink(spool.path.c_str());
    MutexLock lock(&mu_);
    stored_written_[spool.at] = std::nullopt;
    return;
  }
  // The check, at most once, on whichever thread asks first: this task, or
  // the plan's (StoredAhead).
  auto shared = std::make_shared<StoredSpoolFile>(std::move(spool));
  shared->fd.Reset();
  auto once = std::make_shared<OnceBlob>([this, shared, digest]() -> std::optional<LayerBlob> {
    ImageSource image;
    image.tarball = shared->path;
    LayerSource layer;
    layer.entry = shared->entry;
    layer.size = shared->size;
    layer.compression = shared->kind;
    layer.content_digest = digest;  // hashed on the way
    Result<LayerBlob> blob = ReadStoredLayerBlob(image, layer, options_.format);
    if (!blob.ok()) {
      spdlog::debug("'{}' is no {} stream: {}", shared->entry, CompressionName(shared->kind),
                    blob.status().message());
      {
        MutexLock lock(&mu_);
        stored_written_[shared->at] = std::nullopt;  // the plan reads it again, and says why
      }
      ::unlink(shared->path.c_str());
      return std::nullopt;
    }
    blob->spooled = true;
    FileStored(shared->kind, *blob);
    NoteSpoolGrown(SpooledBytes());
    return *blob;
  });
  {
    MutexLock lock(&mu_);
    stored_written_[shared->at] = FileBody{shared->path, 0, shared->size};
    stored_ahead_[shared->at] = once;
  }
  blob_ready_.Notify();  // its bytes may be sent (StoredBytes) while they are checked
  tasks_->Submit(Guarded([this, once] {
    once->Get();
    blob_ready_.Notify();
  }));
}

std::optional<std::optional<LayerBlob>> LayerPreparer::StoredChecked(const std::string& path,
                                                                     uint64_t offset) {
  std::shared_ptr<OnceBlob> once;
  {
    MutexLock lock(&mu_);
    auto it = stored_ahead_.find({path, offset});
    if (it == stored_ahead_.end()) {
      auto written = stored_written_.find({path, offset});
      if (written != stored_written_.end() && !written->second) {
        return std::optional<LayerBlob>();  // cut short
      }
      return std::nullopt;
    }
    once = it->second;
  }
  std::shared_future<std::optional<LayerBlob>> result = once->result;  // this thread's copy
  if (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return std::nullopt;
  return result.get();
}

void LayerPreparer::FileStored(Compression kind, const LayerBlob& blob) {
  if (options_.cache) {
    options_.cache->Store(blob.diff_id, std::string("stored-") + CompressionName(kind),
                          {blob.digest, blob.size});
  }
  LayerSource found;
  found.diff_id = blob.diff_id;
  found.digest = blob.digest;
  found.compression = kind;
  std::promise<Result<LayerBlob>> ready;
  ready.set_value(blob);
  MutexLock lock(&mu_);
  if (blobs_.count(KeyOf(found))) return;  // the plan asked first: StoredAhead answers it
  Entry entry;
  entry.blob = ready.get_future().share();
  entry.speculative = true;
  entry.freed = true;  // its bytes never were in the file
  blobs_.emplace(KeyOf(found), std::move(entry));
}

bool LayerPreparer::InImageFile(const ImageSource& image, const LayerSource& layer) const {
  return !options_.digests || !options_.digests->LeftOut(image.tarball, layer.offset, layer.size);
}

std::optional<FileBody> LayerPreparer::StoredBytes(const ImageSource& image,
                                                   const LayerSource& layer) {
  if (InImageFile(image, layer)) return FileBody{image.tarball, layer.offset, layer.size};
  MutexLock lock(&mu_);
  auto it = stored_written_.find({image.tarball, layer.offset});
  if (it == stored_written_.end() || !it->second || it->second->size != layer.size) {
    return std::nullopt;
  }
  return it->second;
}

void LayerPreparer::Streamed(LayerStream& stream, const std::string& diff_id,
                             const std::shared_future<Result<LayerBlob>>& blob) {
  LayerSource layer;
  layer.diff_id = diff_id;
  layer.compression = Compression::kNone;
  {
    MutexLock lock(&mu_);
    const std::string key = KeyOf(layer);
    if (blobs_.count(key)) {  // the same layer under another name, made already
      stream.Abandon();
      return;
    }
    Entry entry;
    entry.blob = blob;
    entry.speculative = true;
    entry.freed = true;  // its bytes never were in the file
    blobs_.emplace(key, std::move(entry));
  }
  stream.Close(diff_id);
}

bool LayerPreparer::TargetHoldsKnown(const std::string& digest) {
  if (!options_.cache || options_.cache_scope.empty()) return false;
  std::vector<std::string> seen = options_.cache->SeenIn(options_.cache_scope, digest, 1);
  if (seen.empty()) return false;
  std::call_once(target_checked_, [&] {
    Result<bool> has = sink_.HasBlob(seen.front(), digest);
    target_holds_known_ = has.ok() && *has;
    if (!target_holds_known_) {
      spdlog::debug("'{}' lacks {}, which the blob cache saw there: layers are kept until checked",
                    sink_.Locate(seen.front()), digest);
    }
  });
  return target_holds_known_;
}

void LayerPreparer::Known(const std::string& diff_id) {
  auto hit = options_.cache->Lookup(diff_id, options_.compression.Key());
  if (!hit) return;  // not the bytes of the last import: a read restores the image file
  LayerSource layer;
  layer.diff_id = diff_id;
  layer.content_digest = diff_id;  // hashed on the way: KnownLayerBlob reads nothing
  layer.compression = Compression::kNone;
  std::promise<Result<LayerBlob>> made;
  made.set_value(KnownLayerBlob(ImageSource{}, layer, options_.format, options_.compression,
                                hit->digest, hit->size));
  MutexLock lock(&mu_);
  Entry entry;
  entry.blob = made.get_future().share();
  entry.speculative = true;
  entry.freed = true;  // its bytes never were in the file
  blobs_.try_emplace(KeyOf(layer), std::move(entry));
}

Result<ImageSource> LayerPreparer::Readable(const ImageSource& image, const LayerSource& layer) {
  if (!options_.digests || !options_.digests->LeftOut(image.tarball, layer.offset, layer.size)) {
    return image;
  }
  ImageSource source = image;
  PPA_ASSIGN_OR_RETURN(source.tarball, RestoredImageFile(image.origin));
  return source;
}

std::optional<LayerBlob> LayerPreparer::SpeculateStored(const ImageSource& image,
                                                        const LayerSource& layer) {
  if (cancelled_) return std::nullopt;
  BlobCache* cache = options_.cache;
  const std::string settings = std::string("stored-") + CompressionName(layer.compression);
  // Known: the plan's pass will only hash it, which costs less than this.
  if (cache && cache->KnowsDigest(layer.digest, settings)) return std::nullopt;
  // The stored bytes were hashed on the way: only the stream is hashed here.
  auto known = options_.digests ? options_.digests->Find(image.tarball, layer.offset, layer.size)
                                : std::nullopt;
  LayerSource hashed = layer;
  if (known) hashed.content_digest = known->digest;
  Result<LayerBlob> blob = ReadStoredLayerBlob(image, hashed, options_.format);
  if (!blob.ok() || blob->digest != layer.digest) return std::nullopt;  // the plan will say why
  if (known && !StillHashed(image, known->generation)) return std::nullopt;  // written again
  if (cache) cache->Store(blob->diff_id, settings, {blob->digest, blob->size});
  LayerSource found = layer;
  found.diff_id = blob->diff_id;
  MutexLock lock(&mu_);
  if (blobs_.count(KeyOf(found))) return *blob;  // the plan asked first: StoredAhead answers it
  std::promise<Result<LayerBlob>> ready;
  Entry entry;
  entry.blob = ready.get_future().share();
  entry.speculative = true;
  ready.set_value(*blob);
  blobs_.emplace(KeyOf(found), std::move(entry));
  return *blob;
}

Result<std::vector<ImageSource>> LayerPreparer::ReadAhead(const std::string& path,
                                                          const std::string& rel,
                                                          const std::string& inflated) {
  if (cancelled_) return Cancelled();
  auto images = inflated.empty() ? ReadImageFile(path, rel, options_.spool_dir, options_.budget)
                                 : ReadImageTarball(inflated, rel);
  if (!images.ok()) return images;  // not an image file (a chart?): the plan will say
  MutexLock lock(&mu_);
  for (const auto& image : *images) {
    if (!image.problem.ok()) continue;
    for (const auto& layer : image.layers) QueueLocked(image, layer, "", true);
  }
  return images;
}

Result<std::vector<ImageSource>> LayerPreparer::ImageFile(const std::string& path,
                                                          const std::string& rel) {
  std::shared_future<Result<std::vector<ImageSource>>> ahead;
  {
    MutexLock lock(&mu_);
    auto it = image_files_.find(path);
    if (it != image_files_.end()) ahead = it->second;
  }
  // Read ahead (a copy: the plan owns its sources); a failure or a
  // cancelled read is repeated here, so the plan reports the real error.
  if (ahead.valid() && ahead.get().ok()) return ahead.get();
  return ReadImageFile(path, rel, options_.spool_dir, options_.budget);
}

const std::shared_future<Result<LayerBlob>>& LayerPreparer::Pending(const ImageSource& image,
                                                                    const LayerSource& layer,
                                                                    const std::string& repo) {
  MutexLock lock(&mu_);
  Entry& entry = QueueLocked(image, layer, repo, false);
  return entry.released ? entry.landed_blob : entry.blob;
}

bool LayerPreparer::Speculative(const LayerSource& layer) {
  MutexLock lock(&mu_);
  auto it = blobs_.find(KeyOf(layer));
  return it != blobs_.end() && it->second.speculative;
}

LayerPreparer::Entry& LayerPreparer::QueueLocked(const ImageSource& image, const LayerSource& layer,
                                                 const std::string& repo, bool speculative,
                                                 bool in_image_file) {
  std::string key = KeyOf(layer);
  auto it = blobs_.find(key);
  if (it != blobs_.end()) {
    if (in_image_file) AddCopyLocked(it->second, image, layer);
    if (!repo.empty()) it->second.needs.insert(repo);
    return it->second;
  }
  auto promise = std::make_shared<std::promise<Result<LayerBlob>>>();
  Entry entry;
  entry.blob = promise->get_future().share();
  entry.speculative = speculative;
  it = blobs_.emplace(key, std::move(entry)).first;
  if (in_image_file) AddCopyLocked(it->second, image, layer);
  if (!repo.empty()) it->second.needs.insert(repo);
  // The task keeps its own copy of the image (a few KiB: config and layer
  // list), so it may outlive the plan it came from.
  auto copy = std::make_shared<const ImageSource>(image);
  size_t index = static_cast<size_t>(&layer - image.layers.data());
  tasks_->Submit(Guarded([this, promise, copy, index, repo, key] {
    Result<LayerBlob> blob = PrepareHashed(*copy, copy->layers[index], repo);
    Finished(key, blob);
    // (Counted before it is ready, so a waiter on it sees the peak.)
    if (blob.ok() && blob->spooled) NoteSpoolGrown(SpooledBytes() + blob->size);
    promise->set_value(std::move(blob));
    blob_ready_.Notify();
  }));
  return it->second;
}


void LayerPreparer::AddCopyLocked(Entry& entry, const ImageSource& image,
                                  const LayerSource& layer) {
  if (!options_.restore_image_file || layer.compression != Compression::kNone) return;
  Range range{image.tarball, layer.offset, layer.size};
  if (entry.freed) {
    PunchHole(range.tarball, range.offset, range.size);
  } else {
    entry.copies.push_back(std::move(range));
  }
}

// A spooled blob no longer needs the layer's bytes; nor does one the cache
// knows (no file): should it be missing from the target after all, Reprepare
// restores the image file.
void LayerPreparer::Finished(const std::string& key, const Result<LayerBlob>& blob) {
  if (!options_.restore_image_file || !blob.ok()) return;
  if (!blob->spooled && !blob->file.path.empty()) return;  // the blob is the tar range itself
  std::vector<Range> copies;
  {
    MutexLock lock(&mu_);
    Entry& entry = blobs_.at(key);
    entry.freed = true;
    copies.swap(entry.copies);
  }
  for (const auto& c : copies) PunchHole(c.tarball, c.offset, c.size);
}

// Whether the target already holds `digest`: `repo` has it (HEAD) when
// given, else the blob cache says so (TargetHoldsKnown).
bool LayerPreparer::CacheKnowsTargetHas(const std::string& digest, const std::string& repo) {
  if (!repo.empty()) {
    Result<bool> has = sink_.HasBlob(repo, digest);
    return has.ok() && *has;
  }
  return TargetHoldsKnown(digest);
}

// The file may be written again while the layer is read (a later archive
// entry of the same name): then what was read is not what was hashed, and
// the layer is prepared again the slow way.
Result<LayerBlob> LayerPreparer::PrepareHashed(const ImageSource& image, const LayerSource& layer,
                                               const std::string& repo) {
  RangeDigests* digests = options_.digests;
  auto known = digests && layer.content_digest.empty()
                   ? digests->Find(image.tarball, layer.offset, layer.size)
                   : std::nullopt;
  if (!known) return Prepare(image, layer, repo, 0);
  LayerSource hashed = layer;
  hashed.content_digest = known->digest;
  Result<LayerBlob> blob = Prepare(image, hashed, repo, known->generation);
  if (StillHashed(image, known->generation)) return blob;
  if (blob.ok() && blob->spooled) ::unlink(blob->file.path.c_str());
  return Prepare(image, layer, repo, 0);
}

bool LayerPreparer::StillHashed(const ImageSource& image, uint64_t generation) const {
  return generation == 0 || options_.digests->Generation(image.tarball) == generation;
}

// Runs on a worker. A cached blob the target already has is only verified
// (one hashing pass, no compression); anything else is compressed/verified.
// Uploading code confirms with the registry before trusting either.
Result<LayerBlob> LayerPreparer::Prepare(const ImageSource& image, const LayerSource& layer,
                                         const std::string& repo, uint64_t generation) {
  if (cancelled_) return Cancelled();
  BlobCache* cache = options_.cache;
  if (layer.compression != Compression::kNone && !layer.digest.empty()) {
    // Being read ahead already (the plan came before its worker got to it).
    if (auto ahead = StoredAhead(image, layer)) return *ahead;
  }
  if (cache && layer.compression != Compression::kNone && !layer.digest.empty()) {
    PPA_ASSIGN_OR_RETURN(ImageSource source, Readable(image, layer));  // taken out, its stream failed
    return PrepareStored(source, layer, generation);
  }
  const std::string settings = options_.compression.Key();
  bool cacheable = cache && layer.compression == Compression::kNone;
  // A layer hashed on the way that is not what the config says fails
  // without being read; any other read needs the layer's bytes.
  const bool hashed = !layer.content_digest.empty();
  auto readable = [&]() -> Result<ImageSource> {
    return hashed && layer.content_digest != layer.diff_id ? image : Readable(image, layer);
  };
  if (cacheable) {
    if (auto hit = cache->Lookup(layer.diff_id, settings)) {
      if (CacheKnowsTargetHas(hit->digest, repo)) {
        PPA_ASSIGN_OR_RETURN(ImageSource source, hashed ? Result<ImageSource>(image) : readable());
        return KnownLayerBlob(source, layer, options_.format, options_.compression, hit->digest,
                              hit->size);
      }
    }
  }
  PPA_ASSIGN_OR_RETURN(ImageSource source, readable());
  Result<LayerBlob> blob =
      PrepareLayerBlob(source, layer, options_.spool_dir, options_.format, options_.compression);
  if (cacheable && blob.ok() && StillHashed(image, generation)) cache->Store(layer.diff_id, settings, {blob->digest, blob->size});
  return blob;
}

// A gzip/zstd layer is pushed as stored. Once its stored digest has been seen
// to decompress to its diff_id, later runs only hash the stored bytes.
Result<LayerBlob> LayerPreparer::PrepareStored(const ImageSource& image, const LayerSource& layer,
                                               uint64_t generation) {
  BlobCache& cache = *options_.cache;
  const std::string settings = std::string("stored-") + CompressionName(layer.compression);
  if (auto hit = cache.Lookup(layer.diff_id, settings); hit && hit->digest == layer.digest) {
    return KnownStoredLayerBlob(image, layer, options_.format);
  }
  Result<LayerBlob> blob =
      PrepareLayerBlob(image, layer, options_.spool_dir, options_.format, options_.compression);
  if (blob.ok() && StillHashed(image, generation)) {
    cache.Store(layer.diff_id, settings, {blob->digest, blob->size});
  }
  return blob;
}

Result<const LayerBlob*> LayerPreparer::Reprepare(const ImageSource& image,
                                                  const LayerSource& layer) {
  ImageSource source = image;
  bool freed = false;
  {
    MutexLock lock(&mu_);
    auto it = blobs_.find(KeyOf(layer));
    freed = it != blobs_.end() && it->second.freed;
  }
  if (freed ||
      (options_.digests && options_.digests->LeftOut(image.tarball, layer.offset, layer.size))) {
    PPA_ASSIGN_OR_RETURN(source.tarball, RestoredImageFile(image.origin));
  }
  const LayerSource& at = source.layers[static_cast<size_t>(&layer - image.layers.data())];
  auto fresh = std::make_unique<Result<LayerBlob>>(
      PrepareLayerBlob(source, at, options_.spool_dir, options_.format, options_.compression));
  if (!fresh->ok()) return fresh->status();
  if (options_.cache && layer.compression == Compression::kNone) {
    // e.g. another ISA-L build made other bytes: cache what we have now
    options_.cache->Store(layer.diff_id, options_.compression.Key(),
                          {(*fresh)->digest, (*fresh)->size});
  }
  MutexLock lock(&mu_);
  reprepared_.push_back(std::move(fresh));
  return &*(*reprepared_.back());
}

// Restores an image file once per run, however many of its layers need it.
Result<std::string> LayerPreparer::RestoredImageFile(const std::string& origin) {
  std::shared_future<Result<std::string>> restored;
  std::promise<Result<std::string>> promise;
  bool mine = false;
  {
    MutexLock lock(&mu_);
    auto it = restored_.find(origin);
    if (it == restored_.end()) {
      it = restored_.emplace(origin, promise.get_future().share()).first;
      mine = true;
    }
    restored = it->second;
  }
  if (mine) {  // slow (a pass over the archive): outside the lock
    spdlog::debug("unpacking '{}' again: a layer freed from it is needed after all", origin);
    if (options_.restore_image_file) {
      promise.set_value(options_.restore_image_file(origin));
    } else {  // a pipe (or a kept work dir): there is no second pass to make
      promise.set_value(Unsupported(
          "a layer of '" + origin +
              "' is needed again (the target could neither mount it nor give it back from a "
              "repository holding it), and the archive cannot be read twice",
          "import the archive from a file rather than from standard input, or let the "
          "credentials pull from the namespace"));
    }
  }
  return restored.get();
}

// A spool file whose blob has landed where it is needed is deleted; the
// entry keeps the blob's digest and size (no bytes), as for a blob the cache
// knows. The old future stays (a caller may still hold a reference into it).
void LayerPreparer::Landed(const LayerSource& layer, const std::string& repo,
                           const LayerBlob* sent) {
  std::string path;
  {
    MutexLock lock(&mu_);
    ReleaseRepreparedLocked(sent);
    auto it = blobs_.find(KeyOf(layer));
    if (it == blobs_.end()) return;
    Entry& entry = it->second;
    entry.landed.insert(repo);
    if (!ReleasableLocked(entry)) return;
    LayerBlob known = *SpooledLocked(entry);
    path = known.file.path;
    known.file = FileBody{};
    known.spooled = false;
    std::promise<Result<LayerBlob>> landed;
    landed.set_value(std::move(known));
    entry.landed_blob = landed.get_future().share();
    entry.released = true;
    for (auto& [at, bytes] : stored_written_) {  // a stored layer's: no longer at hand
      if (bytes && bytes->path == path) bytes.reset();
    }
  }
  spdlog::debug("{} has landed in '{}': its spool file is deleted", layer.diff_id, repo);
  ::unlink(path.c_str());
  stream_done_.SignalAll();
}

void LayerPreparer::ReleaseRepreparedLocked(const LayerBlob* sent) {
  if (!sent) return;
  for (const auto& made : reprepared_) {
    if (!made->ok() || &**made != sent) continue;
    if (sent->spooled) ::unlink(sent->file.path.c_str());
    made->value().spooled = false;  // gone: the destructor leaves it alone
    return;
  }
}

const LayerBlob* LayerPreparer::SpooledLocked(const Entry& entry) {
  if (entry.released || !entry.blob.valid() ||
      entry.blob.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return nullptr;
  }
  const Result<LayerBlob>& blob = entry.blob.get();
  return blob.ok() && blob->spooled ? &*blob : nullptr;
}

bool LayerPreparer::ReleaseOnFirstLanding() const {
  // A dry run's target keeps nothing (no cache scope then): it can neither
  // mount nor give a blob back.
  return !options_.cache_scope.empty();
}

bool LayerPreparer::ReleasableLocked(const Entry& entry) const {
  if (entry.landed.empty() || !SpooledLocked(entry)) return false;
  if (ReleaseOnFirstLanding()) return true;
  if (!unpack_ended_ || entry.needs.empty()) return false;
  return std::includes(entry.landed.begin(), entry.landed.end(), entry.needs.begin(),
                       entry.needs.end());
}

uint64_t LayerPreparer::SpooledBytesLocked() const {
  uint64_t bytes = 0;
  for (const auto& [key, entry] : blobs_) {
    if (const LayerBlob* blob = SpooledLocked(entry)) bytes += blob->size;
  }
  return bytes;
}

uint64_t LayerPreparer::SpooledBytes() {
  MutexLock lock(&mu_);
  return SpooledBytesLocked();
}

uint64_t LayerPreparer::SpooledPeak() {
  MutexLock lock(&mu_);
  return spooled_peak_;
}

void LayerPreparer::NoteSpoolGrown(uint64_t spooled) {
  {
    MutexLock lock(&mu_);
    spooled_peak_ = std::max(spooled_peak_, spooled);
  }
  if (options_.on_spool_grown) options_.on_spool_grown(spooled);
}

bool LayerPreparer::OverBudgetLocked() {
  uint64_t budget = options_.spool_budget;
  if (budget != 0 && options_.archive_read) {
    budget = std::max(budget, SpoolBudgetFor(options_.archive_read()));
  }
  if (budget == 0 || !ReleaseOnFirstLanding()) return false;
  const uint64_t spooled = SpooledBytesLocked();
  if (spooled <= budget) return false;
  if (uploading_ahead_) return true;
  if (!over_budget_noted_) {
    over_budget_noted_ = true;
    spdlog::info(
        "the spool holds {} MiB of compressed layers, over its budget of {} MiB: no upload "
        "runs ahead of the plan yet, so unpacking goes on",
        spooled >> 20, budget >> 20);
  }
  return false;
}

bool LayerPreparer::Filed(const std::string& diff_id) {
  LayerSource layer;
  layer.diff_id = diff_id;
  layer.compression = Compression::kNone;
  MutexLock lock(&mu_);
  return blobs_.count(KeyOf(layer)) > 0;
}

void LayerPreparer::SetUploadingAhead(bool uploading) {
  {
    MutexLock lock(&mu_);
    uploading_ahead_ = uploading;
  }
  stream_done_.SignalAll();
}

void LayerPreparer::EndOfUnpack() {
  MutexLock lock(&mu_);
  unpack_ended_ = true;
}

uint64_t SpoolBudgetFor(uint64_t archive_bytes) {
  constexpr uint64_t kMiB = 1 << 20;
  return std::max<uint64_t>(64 * kMiB, archive_bytes / 8);
}

namespace {

// PPA_SPOOL_BUDGET in bytes, when set to a number.
std::optional<uint64_t> SpoolBudgetFromEnvironment() {
  const char* env = std::getenv("PPA_SPOOL_BUDGET");
  if (!env || !*env) return std::nullopt;
  char* end = nullptr;
  unsigned long long bytes = std::strtoull(env, &end, 10);
  if (!end || *end != '\0') return std::nullopt;
  return bytes;
}

}  // namespace

bool SpoolBudgetFixed() { return SpoolBudgetFromEnvironment().has_value(); }

uint64_t SpoolBudgetOf(const std::string& archive) {
  if (auto fixed = SpoolBudgetFromEnvironment()) return *fixed;
  if (archive == "-") return SpoolBudgetFor(0);  // grows with the bytes read
  struct stat st {};
  if (::stat(archive.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return 256 << 20;  // a named pipe: its size unknown, its bytes not counted
  }
  return SpoolBudgetFor(static_cast<uint64_t>(st.st_size));
}

}  // namespace ppa
