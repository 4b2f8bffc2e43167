#include "docker_io/blob_sink.h"
#include "docker_io/digest.h"

namespace ppa {
namespace {

class DryRunSink : public BlobSink {
 public:
  DryRunSink(BlobSink* inner, std::string location)
      : inner_(inner), location_(std::move(location)) {}

  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override {
    return inner_ ? inner_->HasBlob(repo, digest) : Result<bool>(false);
  }
  Status PutBlob(const std::string&, const BlobUpload&) override { return Status::Ok(); }
  Status PutBlobBytes(const std::string&, const std::string&, const std::string&) override {
    return Status::Ok();
  }
  Result<std::string> PutManifest(const std::string&, const std::string&, const std::string&,
                                  const std::string& body) override {
    return Sha256Digest(body);
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
