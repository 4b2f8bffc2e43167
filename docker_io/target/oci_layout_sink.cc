#include "docker_io/target/oci_layout_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/file_util.h"
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "archive/tar/tar_index.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/image/media_types.h"
#include "docker_io/image/json_dump.h"

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
      PPA_RETURN_IF_ERROR(WriteFileAtomic(IndexPath(), DumpJsonDocument(index)));
    }
    return Status::Ok();
  }

  Result<bool> HasBlob(const std::string&, const std::string& digest) override {
    if (!IsValidSha256Digest(digest)) return InvalidInput("invalid digest '" + digest + "'");
    struct stat st {};
    return ::stat(BlobPath(digest).c_str(), &st) == 0;
  }

  Status PutBlob(const std::string& repo, const BlobUpload& blob) override {
    PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
    if (!IsValidSha256Digest(blob.digest))
      return InvalidInput("invalid digest '" + blob.digest + "'");
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

  Status PutBlobBytes(const std::string& repo, const std::string& digest,
                      const std::string& bytes) override {
    PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
    if (Sha256Digest(bytes) != digest) return InvalidInput("blob does not match " + digest);
    return WriteFileAtomic(BlobPath(digest), bytes);
  }

  // A tagged manifest is only reported stored once index.json, read back,
  // names it with this digest; one by digest only is a blob (a manifest
  // list of the layout names it).
  Result<std::string> PutManifest(const std::string& repo, const std::string& reference,
                                  const std::string& media_type, const std::string& body) override {
    PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
    PPA_RETURN_IF_ERROR(CheckManifestReference(reference));
    std::string digest = Sha256Digest(body);
    if (reference.rfind("sha256:", 0) == 0 && reference != digest) {
      return InvalidInput("manifest for '" + repo + "' is " + digest + ", not " + reference);
    }
    PPA_RETURN_IF_ERROR(WriteFileAtomic(BlobPath(digest), body));
    if (reference == digest) return digest;  // by digest only: no name in the index
    const std::string ref = repo + ":" + reference;
    PPA_RETURN_IF_ERROR(AddToIndex(ref, media_type, digest, body.size()));
    PPA_ASSIGN_OR_RETURN(std::string indexed, IndexedDigest(ref));
    if (indexed != digest) {
      return IoError("'" + IndexPath() + "' does not hold '" + ref + "' after writing it" +
                         (indexed.empty() ? "" : " (it names " + indexed + ")"),
                     "another process may be writing the same layout; re-run the import");
    }
    return digest;
  }

  // index.json's entry for "<repo>:<reference>" whose manifest blob is
  // there; by digest: the blob alone.
  Result<std::optional<std::string>> TaggedManifest(const std::string& repo,
                                                    const std::string& reference) override {
    PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
    std::string digest = reference;
    if (!IsValidSha256Digest(reference)) {
      PPA_ASSIGN_OR_RETURN(digest, IndexedDigest(repo + ":" + reference));
    }
    if (!IsValidSha256Digest(digest)) return std::optional<std::string>();
    PPA_ASSIGN_OR_RETURN(bool stored, HasBlob(repo, digest));
    return stored ? std::optional<std::string>(digest) : std::optional<std::string>();
  }

  Result<std::optional<std::string>> ManifestBytes(const std::string& repo,
                                                   const std::string& reference) override {
    PPA_ASSIGN_OR_RETURN(auto digest, TaggedManifest(repo, reference));
    if (!digest) return std::optional<std::string>();
    PPA_ASSIGN_OR_RETURN(std::string body, ReadSmallFile(BlobPath(*digest), kMaxManifestBytes));
    return std::optional<std::string>(std::move(body));
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

  // The digest index.json names `ref` with, "" when it names no such entry.
  Result<std::string> IndexedDigest(const std::string& ref) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(IndexPath()));
    Json index = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object() || !index.contains("manifests") ||
        !index["manifests"].is_array()) {
      return InvalidInput("'" + IndexPath() + "' is not an OCI image index",
                          "remove the folder and re-run");
    }
    for (const auto& m : index["manifests"]) {
      if (RefNameOf(m) != ref) continue;
      return m.contains("digest") && m["digest"].is_string() ? m["digest"].get<std::string>()
                                                             : std::string();
    }
    return std::string();
  }

  // The ref.name annotation of an index entry, "" when it has none.
  static std::string RefNameOf(const Json& entry) {
    if (!entry.is_object()) return "";
    auto annotations = entry.find("annotations");
    if (annotations == entry.end() || !annotations->is_object()) return "";
    auto name = annotations->find(std::string(media_types::kRefNameAnnotation));
    return name != annotations->end() && name->is_string() ? name->get<std::string>() : "";
  }

  // Adds (or replaces) the index entry named `ref`.
  Status AddToIndex(const std::string& ref, const std::string& media_type,
                    const std::string& digest, uint64_t size) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    PPA_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(IndexPath()));
    Json index = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (index.is_discarded() || !index.is_object()) {
      return InvalidInput("'" + IndexPath() + "' is not valid JSON", "remove the folder and re-run");
    }
    Json manifests = Json::array();
    if (index.contains("manifests") && index["manifests"].is_array()) {
      for (auto& m : index["manifests"]) {
        if (RefNameOf(m) != ref) manifests.push_back(m);
      }
    }
    manifests.push_back({{"mediaType", media_type},
                         {"digest", digest},
                         {"size", size},
                         {"annotations", {{std::string(media_types::kRefNameAnnotation), ref}}}});
    index["manifests"] = manifests;
    return WriteFileAtomic(IndexPath(), DumpJsonDocument(index));
  }

  std::string dir_;
  // Held while index.json is read or rewritten (a file, so no member is
  // GUARDED_BY it): one manifest's entry never overwrites another's.
  Mutex mu_;
};

}  // namespace

Result<std::unique_ptr<BlobSink>> MakeOciLayoutSink(const std::string& dir) {
  auto sink = std::make_unique<OciLayoutSink>(AbsolutePath(dir));
  PPA_RETURN_IF_ERROR(sink->Init());
  return std::unique_ptr<BlobSink>(std::move(sink));
}

}  // namespace ppa
