#include "docker_io/target/blob_sink.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"

namespace ppa {
namespace {

class DryRunSink : public BlobSink {
 public:
  DryRunSink(BlobSink* inner, std::string location)
      : inner_(inner), location_(std::move(location)) {}

  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override {
    return inner_ ? inner_->HasBlob(repo, digest) : Result<bool>(false);
  }
  // Nothing is written, but what a real target would refuse is refused
  // here too: a dry run reports the same verdicts as the run itself.
  Status PutBlob(const std::string& repo, const BlobUpload&) override {
    return CheckRepositoryName(repo);
  }
  Status PutBlobBytes(const std::string& repo, const std::string&, const std::string&) override {
    return CheckRepositoryName(repo);
  }
  Result<bool> MountBlob(const std::string& repo, const std::string&, const std::string&) override {
    PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
    return false;
  }
  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string&, const std::string& body) override {
    PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
    PPA_RETURN_IF_ERROR(CheckManifestReference(reference));
    return Sha256Digest(body);
  }
  Result<std::optional<std::string>> TaggedManifest(const std::string& repo,
                                                    const std::string& reference) override {
    if (!inner_) return std::optional<std::string>();
    return inner_->TaggedManifest(repo, reference);
  }
  Result<std::optional<std::string>> ManifestBytes(const std::string& repo,
                                                   const std::string& reference) override {
    if (!inner_) return std::optional<std::string>();
    return inner_->ManifestBytes(repo, reference);
  }
  std::string Locate(const std::string& repo) const override {
    return inner_ ? inner_->Locate(repo) : location_ + repo;
  }

 private:
  BlobSink* inner_;
  std::string location_;
};

}  // namespace

std::unique_ptr<BlobSink> MakeDryRunSink(BlobSink* inner, std::string location) {
  return std::make_unique<DryRunSink>(inner, std::move(location));
}

}  // namespace ppa
