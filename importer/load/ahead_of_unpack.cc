#include "importer/load/ahead_of_unpack.h"

#include <filesystem>
#include <system_error>

#include "base/confined.h"
#include "base/file_util.h"
#include "archive/tar/safe_path.h"
#include "importer/load/workspace.h"

namespace ppa {
namespace {

bool IsPpaManifest(const std::string& rel) {
  return rel == "manifest.yaml" || rel == "manifest.json";
}

// Files smaller than this inside an image tarball are not hashed on the way
// (configs and manifests: the plan reads them whole).
constexpr uint64_t kMinHashedEntry = 64 << 10;

}  // namespace

AheadOfUnpack::AheadOfUnpack(PlanInput base, LayerPreparer& preparer, ImagesStage* images)
    : input_(std::move(base)), preparer_(preparer), images_(images) {
  input_.files.clear();
  input_.manifest.reset();
  if (!images_) return;
  blobs_ = preparer_.blob_ready().Subscribe([this] {
    MutexLock lock(&mu_);
    blob_ready_ = true;
    cv_.Signal();
  });
  loop_ = preparer_.pool().Start([this] { Run(); });
}

AheadOfUnpack::~AheadOfUnpack() { Stop(); }

void AheadOfUnpack::OnFileBegin(const std::string& rel) {
  tap_.reset();
  inflating_.reset();
  inflated_only_ = false;
  sniffing_ = false;
  early_repo_.clear();
  RangeDigests* digests = preparer_.options().digests;
  if (!digests) return;
  std::string path = input_.root + "/" + rel;
  digests->Begin(path);
  // Every file: a name says nothing (PPA image files named .tar.gz are often
  // plain tar), and the tap stops at the first block that is no tar header.
  if (other_architectures_.count(rel)) return;
  early_rel_ = rel;
  early_path_ = path;
  early_repo_ = EarlyRepository(rel);
  tap_ = std::make_unique<TarDigestTap>(
      *digests, path, kMinHashedEntry,
      [this, path, rel](const HashedEntry& entry) { preparer_.SpeculateLayer(path, rel, entry); },
      MayTakeFrom(rel) ? Taker(path) : nullptr);
  sniffing_ = true;
}

// Charts are read from the file as it is, so nothing is taken from a chart
// or anything under charts/. Before the PPA manifest says which files are
// charts (it usually comes first; when it comes last), a file outside
// charts/ is taken to be an image file: a Helm chart is a .tgz, whose
// bytes are written as they are (only its inflated copy would lose layers).
bool AheadOfUnpack::MayTakeFrom(const std::string& rel) const {
  return !chart_files_.count(rel) && rel.rfind("charts/", 0) != 0;
}

bool AheadOfUnpack::NamedImageFile(const std::string& rel) const {
  if (!manifest_) return false;
  for (const auto& image : manifest_->images) {
    for (const auto& ref : image.references) {
      if (ref.archive == rel) return true;
    }
  }
  return false;
}

class AheadOfUnpack::EarlyTaken : public TakenLayer {
 public:
  EarlyTaken(std::unique_ptr<TakenLayer> inner, AheadOfUnpack& owner, EarlyLayer layer)
      : inner_(std::move(inner)), owner_(owner), layer_(std::move(layer)) {}
  void Write(std::string_view bytes) override { inner_->Write(bytes); }
  void Finish(const std::string& digest) override {
    inner_->Finish(digest);  // files the blob under `digest` first
    if (digest.empty()) return;
    (layer_.stored == Compression::kNone ? layer_.diff_id : layer_.digest) = digest;
    owner_.QueueEarly(std::move(layer_));
  }

 private:
  std::unique_ptr<TakenLayer> inner_;
  AheadOfUnpack& owner_;
  EarlyLayer layer_;
};

// A layer of a `docker save` file is uploaded as soon as its blob is made,
// to the repository the PPA manifest names for the file, so its spool file
// goes before the file ends (the config, and so the image, comes last). A
// layer stored compressed (an OCI blob) is copied to a spool file; a copy
// of one sighted before stays in its file (the plan finds it there).
LayerTaker AheadOfUnpack::Taker(const std::string& path) {
  return [this, path](std::string_view name, uint64_t offset, uint64_t size, Compression kind,
                      bool first_sighting) -> std::unique_ptr<TakenLayer> {
    if (kind != Compression::kNone) {
      if (!first_sighting) return nullptr;
      auto taken = preparer_.TakeStoredLayer(path, offset, size, kind);
      if (!taken || early_repo_.empty()) return taken;
      return std::make_unique<EarlyTaken>(std::move(taken), *this,
                                          EarlyLayer{.path = path,
                                                     .rel = early_rel_,
                                                     .repo = early_repo_,
                                                     .stored = kind,
                                                     .offset = offset,
                                                     .size = size});
    }
    auto taken = preparer_.TakeLayer(name, size, first_sighting);
    if (!taken || !first_sighting || early_repo_.empty()) return taken;
    return std::make_unique<EarlyTaken>(
        std::move(taken), *this,
        EarlyLayer{.path = early_path_, .rel = early_rel_, .repo = early_repo_});
  };
}

std::string AheadOfUnpack::EarlyRepository(const std::string& rel) const {
  if (!images_ || !manifest_) return "";
  std::string repo;
  for (const auto& image : manifest_->images) {
    for (const auto& ref : image.references) {
      if (ref.archive != rel) continue;
      auto target = PlanTarget(ref.repository, input_.registry_prefix, input_.target_namespace);
      if (!target.ok()) continue;
      if (!repo.empty() && repo != target->repository) return "";  // several: wait for the plan
      repo = target->repository;
    }
  }
  return repo;
}

void AheadOfUnpack::QueueEarly(EarlyLayer layer) {
  MutexLock lock(&mu_);
  early_.push_back(std::move(layer));
  preparer_.SetUploadingAhead(true);
  cv_.Signal();
}

Status AheadOfUnpack::OnData(const std::string& rel, uint64_t offset, std::string_view data,
                             const UnpackOptions::BlockWriter& write) {
  if (sniffing_) {
    sniffing_ = false;
    if (offset == 0 && DetectCompression(data) == Compression::kGzip) StartInflating(rel);
  }
  if (tap_) return tap_->Write(offset, data, &write);
  PPA_RETURN_IF_ERROR(write(offset, data));
  if (inflating_) inflating_->Write(offset, data);
  return Status::Ok();
}

void AheadOfUnpack::StartInflating(const std::string& rel) {
  tap_.reset();
  const PreparerOptions& options = preparer_.options();
  std::string copy = ScratchName(options.spool_dir, rel, ".tar");
  auto tap = InflatingTap::Create(
      *options.digests, copy, kMinHashedEntry,
      [this, copy, rel](const HashedEntry& entry) { preparer_.SpeculateLayer(copy, rel, entry); },
      options.budget, Taker(copy));
  if (!tap.ok()) return;  // inflated after Unpack, as before
  inflating_ = std::move(tap).value();
  // Once inflated, only the copy is read (Speculate; a layer needed again
  // comes from a restored file): the file itself is then freed (OnFile) when
  // the PPA manifest names it as an image file. A chart, or a file the
  // manifest does not name, stays as it is.
  inflated_only_ = options.take_layers && MayTakeFrom(rel) && NamedImageFile(rel);
}

void AheadOfUnpack::OnFile(const std::string& rel) {
  tap_.reset();
  std::string inflated;
  if (inflating_) inflated = inflating_->Finish().value_or("");
  inflating_.reset();
  if (inflated_only_ && !inflated.empty()) {  // the copy is complete: the file is not read
    const std::string file = input_.root + "/" + rel;
    std::error_code error;
    const uintmax_t size = std::filesystem::file_size(file, error);
    if (!error) PunchHole(file, 0, size);
  }
  inflated_only_ = false;
  unpacked_.push_back(rel);
  if (IsPpaManifest(rel)) {
    auto manifest = ReadPpaManifest(input_.root, unpacked_);
    other_architectures_.clear();
    chart_files_.clear();
    manifest_unpacked_ = manifest.ok() && *manifest;
    manifest_.reset();
    if (manifest_unpacked_) {
      manifest_ = **manifest;
      if (!input_.architectures.empty()) {
        other_architectures_ = ImageFilesOfOtherArchitectures(**manifest, input_.architectures);
      }
      for (const auto& chart : (*manifest)->charts) {  // as PlanChart looks for them
        chart_files_.insert(chart.archive);
        chart_files_.insert("charts/" + std::string(BaseName(chart.archive)));
      }
    }
  }
  if (!other_architectures_.count(rel)) {
    preparer_.Speculate(input_.root + "/" + rel, rel, inflated);
  }
  if (!images_) return;
  MutexLock lock(&mu_);
  finished_.push_back(rel);
  // Its layers may be uploaded ahead (and their spool files released).
  if (manifest_unpacked_) preparer_.SetUploadingAhead(true);
  cv_.Signal();
}

void AheadOfUnpack::Stop() {
  {
    MutexLock lock(&mu_);
    closing_ = true;
    cv_.Signal();
  }
  stop_ = true;
  loop_.Join();
  blobs_.Reset();
  preparer_.SetUploadingAhead(false);
  preparer_.EndOfUnpack();
}

uint64_t AheadOfUnpack::wakeups() const {
  MutexLock lock(&mu_);
  return wakeups_;
}

void AheadOfUnpack::Run() {
  while (true) {
    std::vector<std::string> batch;
    std::vector<EarlyLayer> early;
    // Layers queued wait for their blobs, and stored layers taken early for
    // their check: a blob made wakes this thread too. (Only this thread
    // queues uploads, so this holds until it looks again.)
    const bool waits_for_blobs =
        !give_up_ && (images_->AheadQueued() || !early_checking_.empty());
    {
      MutexLock lock(&mu_);
      while (!closing_ && finished_.empty() && early_.empty() &&
             !(waits_for_blobs && blob_ready_)) {
        cv_.Wait(&mu_);
      }
      if (closing_) return;
      ++wakeups_;
      // Cleared before UploadReadyAhead looks at the blobs: a blob made
      // from now on sets it again, so the next wait does not begin.
      blob_ready_ = false;
      batch.assign(finished_.begin(), finished_.end());
      finished_.clear();
      early.assign(early_.begin(), early_.end());
      early_.clear();
    }
    early.insert(early.end(), early_checking_.begin(), early_checking_.end());
    early_checking_.clear();
    for (const EarlyLayer& layer : early) {
      if (!give_up_ && !QueueEarlyUpload(layer)) early_checking_.push_back(layer);
    }
    bool manifest_changed = false;
    for (auto& rel : batch) {
      manifest_changed = manifest_changed || IsPpaManifest(rel);
      input_.files.push_back(std::move(rel));
    }
    if (give_up_) {
      preparer_.SetUploadingAhead(false);  // the unpacking waits for no upload
      continue;
    }
    if (manifest_changed) {
      auto manifest = ReadPpaManifest(input_.root, input_.files);
      if (!manifest.ok()) {
        give_up_ = true;  // the final plan reports it
        preparer_.SetUploadingAhead(false);
        continue;
      }
      input_.manifest = std::move(manifest).value();
    }
    if (input_.manifest && !batch.empty()) QueuePlanned();
    // An upload that failed: the main thread tries again and reports.
    if (!images_->UploadReadyAhead(stop_).ok()) give_up_ = true;
    // Whether the unpacking may wait for uploads ahead to release spool
    // files: set under mu_, so a file OnFile has just queued is not missed.
    MutexLock lock(&mu_);
    preparer_.SetUploadingAhead(!give_up_ && (images_->AheadQueued() || !finished_.empty() ||
                                              !early_.empty()));
  }
}

bool AheadOfUnpack::QueueEarlyUpload(const EarlyLayer& layer) {
  ImageSource image;
  image.tarball = layer.path;
  image.origin = layer.rel;
  LayerSource source;
  source.compression = layer.stored;
  if (layer.stored == Compression::kNone) {
    if (!preparer_.Filed(layer.diff_id)) return true;  // only a blob made on the way
    source.diff_id = layer.diff_id;
  } else {
    auto checked = preparer_.StoredChecked(layer.path, layer.offset);
    if (!checked) return false;  // still being checked
    if (!*checked || (*checked)->digest != layer.digest) return true;  // the plan says why
    source.diff_id = (*checked)->diff_id;
    source.digest = layer.digest;
    source.offset = layer.offset;
    source.size = layer.size;
    source.entry = layer.rel + " at offset " + std::to_string(layer.offset);
  }
  image.layers.push_back(std::move(source));
  images_->QueueAhead(image, layer.repo);
  return true;
}

void AheadOfUnpack::QueuePlanned() {
  ImportPlan plan = BuildImportPlan(input_);
  for (const auto& group : plan.groups) {
    for (const auto& image : group.images) {
      if (!image.problem.ok() || !image.source) continue;  // maybe not unpacked yet
      const std::string& repo = image.target.repository;
      if (!done_.insert(repo + "@" + image.source->config_digest).second) continue;
      images_->QueueAhead(*image.source, repo);
    }
  }
}

}  // namespace ppa
