#include "docker_io/oci_layout_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "archive/file_util.h"
#include "archive/tar_index.h"
#include "docker_io/digest.h"
#include "docker_io/media_types.h"

namespace ppa {
namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kChunk = 1 << 20;

class OciLayoutSink : public BlobSink {
 public:
  explicit OciLayoutSink(std::string dir) : dir_(std::move(dir)) {}

  Status Init() {
    PPA_RETURN_IF_ERROR(MakeDirs(dir_ + "/blobs/sha256"));
    struct stat st {};
    if (::stat((dir_ + "/oci-layout").c_str(), &st) != 0) {
      PPA_RETURN_IF_ERROR(WriteFileAtomic(dir_ + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    }
    if (::stat(IndexPath().c_str(), &st) != 0) {
      Json index{{"schemaVersion", 2}, {"mediaType", media_types::kOciIndex}, {"manifests", Json::array()}};
      PPA_RETURN_IF_ERROR(WriteFileAtomic(IndexPath(), index.dump()));
    }
    return Status::Ok();
  }

  Result<bool> HasBlob(const std::string&, const std::string& digest) override {
    if (!IsValidSha256Digest(digest)) return InvalidInput("invalid digest '" + digest + "'");
    struct stat st {};
    return ::stat(BlobPath(digest).c_str(), &st) == 0;
  }

  Status PutBlob(const std::string&, const BlobUpload& blob) override {
    PPA_ASSIGN_OR_RETURN(UniqueFd in, OpenForRead(blob.file.path));
    std::string tmp = BlobPath(blob.digest) + ".tmp-" + NewUuid().substr(0, 8);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError("cannot create", tmp, errno);
    UniqueFd out(fd);
    Status s = CopyVerified(in.get(), blob, out.get(), tmp);
    out.Reset();
    if (s.ok() && ::rename(tmp.c_str(), BlobPath(blob.digest).c_str()) != 0) {
      s = ErrnoError("cannot store blob", BlobPath(blob.digest), errno);
    }
    if (!s.ok()) ::unlink(tmp.c_str());
    return s;
  }

  Status PutBlobBytes(const std::string&, const std::string& digest,
                      const std::string& bytes) override {
    if (Sha256Digest(bytes) != digest) return InvalidInput("blob does not match " + digest);
    return WriteFileAtomic(BlobPath(digest), bytes);
  }

  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& body) override {
    std::string digest = Sha256Digest(body);
    PPA_RETURN_IF_ERROR(WriteFileAtomic(BlobPath(digest), body));
    if (reference == digest) return digest;  // by digest only: no name in the index
    PPA_RETURN_IF_ERROR(AddToIndex(repo + ":" + reference, media_type, digest, body.size()));
    return digest;
  }

  std::string Locate(const std::string& repo) const override { return "oci:" + dir_ + ":" + repo; }

 private:
  std::string BlobPath(const std::string& digest) const {
    return dir_ + "/blobs/sha256/" + std::string(DigestHex(digest));
  }
  std::string IndexPath() const { return dir_ + "/index.json"; }

  // Copies the blob's file region, checking its digest on the way.
  static Status CopyVerified(int in, const BlobUpload& blob, int out, const std::string& path) {
    Sha256 hash;
    std::vector<char> buf(kChunk);
    uint64_t done = 0;
    while (done < blob.size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), blob.size - done));
      ssize_t n = ::pread(in, buf.data(), want, static_cast<off_t>(blob.file.offset + done));
      if (n <= 0) return n < 0 ? ErrnoError("cannot read", blob.file.path, errno)
                               : InvalidInput("'" + blob.file.path + "' is truncated");
      hash.Update(buf.data(), static_cast<size_t>(n));
      for (ssize_t w = 0; w < n;) {
        ssize_t m = ::write(out, buf.data() + w, static_cast<size_t>(n - w));
        if (m < 0) return ErrnoError("cannot write", path, errno);
        w += m;
      }
      done += static_cast<uint64_t>(n);
    }
    if (hash.Finish() != blob.digest) return InvalidInput("blob does not match " + blob.digest);
    return Status::Ok();
  }

  // Adds (or replaces) the index entry named `ref`.
  Status AddToIndex(const std::string& ref, const std::string& media_type,
                    const std::string& digest, uint64_t size) {
    std::lock_guard lock(mu_);
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(IndexPath()));
    Json index = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object()) {
      return InvalidInput("'" + IndexPath() + "' is not valid JSON", "remove the folder and re-run");
    }
    Json manifests = Json::array();
    if (index.contains("manifests") && index["manifests"].is_array()) {
      for (auto& m : index["manifests"]) {
        bool same = m.contains("annotations") &&
                    m["annotations"].value(std::string(media_types::kRefNameAnnotation), "") == ref;
        if (!same) manifests.push_back(m);
      }
    }
    manifests.push_back({{"mediaType", media_type},
                         {"digest", digest},
                         {"size", size},
                         {"annotations", {{std::string(media_types::kRefNameAnnotation), ref}}}});
    index["manifests"] = manifests;
    return WriteFileAtomic(IndexPath(), index.dump());
  }

  std::string dir_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<BlobSink>> MakeOciLayoutSink(const std::string& dir) {
  auto sink = std::make_unique<OciLayoutSink>(AbsolutePath(dir));
  PPA_RETURN_IF_ERROR(sink->Init());
  return std::unique_ptr<BlobSink>(std::move(sink));
}

}  // namespace ppa
