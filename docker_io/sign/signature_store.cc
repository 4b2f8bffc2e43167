#include "docker_io/sign/signature_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "archive/tar/tar_index.h"
#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"

namespace ppa {
namespace {

// Signatures are small (a few hundred bytes, a few KiB with a large key);
// a larger file is no signature.
constexpr uint64_t kMaxSignatureBytes = 64 << 10;
// What a reader takes of one image's signatures, at most: a hostile store
// cannot make it hold more than kMaxSignaturesRead x kMaxSignatureBytes.
constexpr int kMaxSignaturesRead = 256;
// The numbers a writer tries for a new signature file.
constexpr int kMaxSignatures = 1000;

Status CheckNames(const std::string& repository, const std::string& digest) {
  if (!IsValidRepositoryPath(repository)) {
    return InvalidInput("invalid repository name '" + repository + "'");
  }
  if (!IsValidSha256Digest(digest)) return InvalidInput("invalid digest '" + digest + "'");
  return Status::Ok();
}

class LookasideStore : public SignatureStore {
 public:
  explicit LookasideStore(std::string dir) : dir_(std::move(dir)) {}

  Result<std::vector<StoredSignature>> List(const std::string& repository,
                                            const std::string& digest) override {
    PPA_RETURN_IF_ERROR(CheckNames(repository, digest));
    std::vector<StoredSignature> out;
    for (int i = 1; i <= kMaxSignaturesRead; ++i) {
      const std::string path = LookasidePath(dir_, repository, digest, i);
      struct stat st{};
      if (lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) break;
        return ErrnoError("cannot read signature", path, errno);
      }
      if (!S_ISREG(st.st_mode)) continue;  // a link or a folder is no signature file
      PPA_ASSIGN_OR_RETURN(std::string bytes, ReadSmallFile(path, kMaxSignatureBytes));
      out.push_back({.bytes = std::move(bytes), .location = path});
    }
    return out;
  }

  Result<std::string> Add(const std::string& repository, const std::string& digest,
                          const std::string& signature) override {
    PPA_RETURN_IF_ERROR(CheckNames(repository, digest));
    const std::string folder = LookasidePath(dir_, repository, digest, 0);
    PPA_RETURN_IF_ERROR(MakePublicDirs(folder));
    // Written whole under a temporary name, then linked to the first free
    // number: a reader never sees half a signature, and a signature another
    // writer added meanwhile is never replaced.
    const std::string temp = folder + "/.signature-" + NewUuid();
    {
      UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!fd.valid()) return ErrnoError("cannot write signature", temp, errno);
      Status written = PwriteAll(fd.get(), signature.data(), signature.size(), 0, temp);
      if (written.ok() && fsync(fd.get()) != 0) written = ErrnoError("cannot write", temp, errno);
      if (!written.ok()) {
        unlink(temp.c_str());
        return written;
      }
    }
    for (int i = 1; i <= kMaxSignatures; ++i) {
      const std::string path = LookasidePath(dir_, repository, digest, i);
      if (link(temp.c_str(), path.c_str()) == 0) {
        unlink(temp.c_str());
        return path;
      }
      if (errno != EEXIST) {
        Status error = ErrnoError("cannot store signature", path, errno);
        unlink(temp.c_str());
        return error;
      }
    }
    unlink(temp.c_str());
    return IoError("'" + folder + "' already holds " + std::to_string(kMaxSignatures) +
                   " signatures");
  }

  std::string Describe() const override { return "lookaside " + dir_; }

 private:
  // Like `mkdir -p -m 0755`: the folders are served to verifiers.
  static Status MakePublicDirs(const std::string& path) {
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      const std::string part = path.substr(0, pos);
      if (part.empty()) continue;
      if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError("cannot create directory", part, errno);
      }
    }
    return Status::Ok();
  }

  const std::string dir_;
};

class RegistrySignatureStore : public SignatureStore {
 public:
  explicit RegistrySignatureStore(std::shared_ptr<RegistryClient> client)
      : client_(std::move(client)) {}

  Result<std::vector<StoredSignature>> List(const std::string& repository,
                                            const std::string& digest) override {
    PPA_ASSIGN_OR_RETURN(std::vector<std::string> found,
                         client_->GetSignatures(repository, digest));
    std::vector<StoredSignature> out;
    for (auto& bytes : found) {
      out.push_back({.bytes = std::move(bytes), .location = Url(repository, digest)});
    }
    return out;
  }

  Result<std::string> Add(const std::string& repository, const std::string& digest,
                          const std::string& signature) override {
    // A new name each time, as containers/image makes them: 128 random bits.
    std::string uuid = NewUuid();
    std::string hex;
    for (char c : uuid) {
      if (c != '-') hex += c;
    }
    const std::string name = digest + "@" + hex;
    PPA_RETURN_IF_ERROR(client_->PutSignature(repository, digest, name, signature));
    return Url(repository, digest);
  }

  std::string Describe() const override {
    return "the registry " + client_->endpoint().host + " (signature API extension)";
  }

 private:
  std::string Url(const std::string& repository, const std::string& digest) const {
    return client_->endpoint().BaseUrl() + "/extensions/v2/" + repository + "/signatures/" +
           digest;
  }

  std::shared_ptr<RegistryClient> client_;
};

class HttpLookasideReader : public SignatureStore {
 public:
  HttpLookasideReader(std::shared_ptr<HttpTransport> transport, std::string base)
      : transport_(std::move(transport)), base_(std::move(base)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Result<std::vector<StoredSignature>> List(const std::string& repository,
                                            const std::string& digest) override {
    PPA_RETURN_IF_ERROR(CheckNames(repository, digest));
    std::vector<StoredSignature> out;
    for (int i = 1; i <= kMaxSignaturesRead; ++i) {
      HttpRequest request;
      request.method = "GET";
      request.url = LookasidePath(base_, repository, digest, i);
      request.max_response_body = kMaxSignatureBytes;
      PPA_ASSIGN_OR_RETURN(HttpResponse response, transport_->Send(request));
      if (response.status == 404) break;
      if (response.status != 200) {
        return HttpError("lookaside '" + request.url + "' answered HTTP " +
                         std::to_string(response.status));
      }
      out.push_back({.bytes = std::move(response.body), .location = request.url});
    }
    return out;
  }

  Result<std::string> Add(const std::string&, const std::string&, const std::string&) override {
    return Unsupported("signatures cannot be written to the web lookaside '" + base_ + "'");
  }

  std::string Describe() const override { return "lookaside " + base_; }

 private:
  std::shared_ptr<HttpTransport> transport_;
  std::string base_;
};

}  // namespace

std::unique_ptr<SignatureStore> MakeHttpLookasideReader(std::shared_ptr<HttpTransport> transport,
                                                        std::string base_url) {
  return std::make_unique<HttpLookasideReader>(std::move(transport), std::move(base_url));
}

std::unique_ptr<SignatureStore> MakeLookasideStore(std::string dir) {
  return std::make_unique<LookasideStore>(std::move(dir));
}

std::unique_ptr<SignatureStore> MakeRegistrySignatureStore(
    std::shared_ptr<RegistryClient> client) {
  return std::make_unique<RegistrySignatureStore>(std::move(client));
}

std::string LookasidePath(const std::string& dir, const std::string& repository,
                          const std::string& digest, int index) {
  std::string folder = dir + "/" + repository + "@sha256=" + digest.substr(7);
  return index <= 0 ? folder : folder + "/signature-" + std::to_string(index);
}

}  // namespace ppa
