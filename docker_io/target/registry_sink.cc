#include "docker_io/target/blob_sink.h"

namespace ppa {
namespace {

class RegistrySink : public BlobSink {
 public:
  explicit RegistrySink(std::shared_ptr<RegistryClient> client) : client_(std::move(client)) {}

  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override {
    return client_->BlobExists(repo, digest);
  }
  Status PutBlob(const std::string& repo, const BlobUpload& blob) override {
    return client_->UploadBlob(repo, blob);
  }
  Status PutBlobBytes(const std::string& repo, const std::string& digest,
                      const std::string& bytes) override {
    return client_->UploadBlobBytes(repo, digest, bytes);
  }
  Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                         const std::string& from) override {
    return client_->MountBlob(repo, digest, from);
  }
  Status ReadBlob(const std::string& repo, const std::string& digest, uint64_t size,
                  int fd) override {
    return client_->GetBlobToFd(repo, digest, size, fd);
  }
  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& body) override {
    return client_->PutManifest(repo, reference, media_type, body);
  }
  Result<std::optional<std::string>> TaggedManifest(const std::string& repo,
                                                    const std::string& reference) override {
    PPA_ASSIGN_OR_RETURN(std::optional<ManifestDescriptor> found,
                         client_->HeadManifest(repo, reference));
    if (!found) return std::optional<std::string>();
    return std::optional<std::string>(found->digest);
  }
  Result<std::optional<std::string>> ManifestBytes(const std::string& repo,
                                                   const std::string& reference) override {
    auto pulled = client_->GetManifest(repo, reference);
    if (!pulled.ok() && pulled.status().code() == StatusCode::kNotFound) {
      return std::optional<std::string>();
    }
    PPA_RETURN_IF_ERROR(pulled.status());
    return std::optional<std::string>(std::move(pulled->body));
  }
  std::string Locate(const std::string& repo) const override {
    return client_->endpoint().host + "/" + repo;
  }

 private:
  std::shared_ptr<RegistryClient> client_;
};

}  // namespace

std::unique_ptr<BlobSink> MakeRegistrySink(std::shared_ptr<RegistryClient> client) {
  return std::make_unique<RegistrySink>(std::move(client));
}

}  // namespace ppa
