#include "importer/load/ahead_of_unpack.h"

#include <chrono>

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
  if (images_) thread_ = std::thread([this] { Run(); });
}

AheadOfUnpack::~AheadOfUnpack() { Stop(); }

void AheadOfUnpack::OnFileBegin(const std::string& rel) {
  tap_.reset();
  inflating_.reset();
  sniffing_ = false;
  RangeDigests* digests = preparer_.options().digests;
  if (!digests) return;
  std::string path = input_.root + "/" + rel;
  digests->Begin(path);
  // Every file: a name says nothing (PPA image files named .tar.gz are often
  // plain tar), and the tap stops at the first block that is no tar header.
  if (other_architectures_.count(rel)) return;
  tap_ = std::make_unique<TarDigestTap>(
      *digests, path, kMinHashedEntry,
      [this, path, rel](const HashedEntry& entry) { preparer_.SpeculateLayer(path, rel, entry); },
      MayTakeFrom(rel) ? Taker() : nullptr);
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

LayerTaker AheadOfUnpack::Taker() {
  return [this](std::string_view name, uint64_t, uint64_t size, bool first_sighting) {
    return preparer_.TakeLayer(name, size, first_sighting);
  };
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
      options.budget, Taker());
  if (tap.ok()) inflating_ = std::move(tap).value();  // else: inflated after Unpack, as before
}

void AheadOfUnpack::OnFile(const std::string& rel) {
  tap_.reset();
  std::string inflated;
  if (inflating_) inflated = inflating_->Finish().value_or("");
  inflating_.reset();
  unpacked_.push_back(rel);
  if (IsPpaManifest(rel)) {
    auto manifest = ReadPpaManifest(input_.root, unpacked_);
    other_architectures_.clear();
    chart_files_.clear();
    manifest_unpacked_ = manifest.ok() && *manifest;
    if (manifest_unpacked_) {
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
  {
    std::lock_guard lock(mu_);
    finished_.push_back(rel);
    // Its layers may be uploaded ahead (and their spool files released).
    if (manifest_unpacked_) preparer_.SetUploadingAhead(true);
  }
  cv_.notify_one();
}

void AheadOfUnpack::Stop() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  stop_ = true;
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  preparer_.SetUploadingAhead(false);
  preparer_.EndOfUnpack();
}

void AheadOfUnpack::Run() {
  while (true) {
    std::vector<std::string> batch;
    {
      std::unique_lock lock(mu_);
      auto woken = [this] { return closing_ || !finished_.empty(); };
      if (!give_up_ && images_->AheadQueued()) {
        // Layers wait for their blobs: look again soon, or when a file is done.
        cv_.wait_for(lock, std::chrono::milliseconds(20), woken);
      } else {
        cv_.wait(lock, woken);
      }
      if (closing_) return;
      batch.assign(finished_.begin(), finished_.end());
      finished_.clear();
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
    std::lock_guard lock(mu_);
    preparer_.SetUploadingAhead(!give_up_ && (images_->AheadQueued() || !finished_.empty()));
  }
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
