#include "importer/save/image_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "archive/tar/tar_index.h"
#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/media_types.h"

namespace ppa {
namespace {

std::string BlobFile(const std::string& dir, const std::string& digest) {
  return dir + "/blobs/sha256/" + std::string(DigestHex(digest));
}

// A document's media type: its own mediaType, else its descriptor's, else
// what its shape says (an OCI index lists manifests; a manifest, layers).
std::string MediaTypeOf(const std::string& bytes, const std::string& descriptor_type) {
  auto j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) {
    return j["mediaType"].get<std::string>();
  }
  if (!descriptor_type.empty()) return descriptor_type;
  if (j.is_object() && j.contains("manifests")) return std::string(media_types::kOciIndex);
  return std::string(media_types::kOciManifest);
}

}  // namespace

Result<std::optional<Descriptor>> LayoutStore::Find(const std::string& reference) {
  const std::string where = "OCI layout '" + dir_ + "'";
  Result<std::string> index_json = ReadSmallFile(dir_ + "/index.json", kMaxManifestBytes);
  if (!index_json.ok()) {
    return NotFound(where + " has no readable index.json: " + index_json.status().message(),
                    "name an OCI image layout folder (oci-layout, index.json, blobs/), as "
                    "skopeo copy ... oci:DIR:NAME writes one");
  }
  Result<OciIndex> index = ParseOciIndex(*index_json);
  if (!index.ok()) return index.status().WithContext(where + ": index.json");
  const bool by_digest = reference.rfind("sha256:", 0) == 0;
  for (const Descriptor& d : index->manifests) {
    auto name = d.annotations.find(std::string(media_types::kRefNameAnnotation));
    if (by_digest ? d.digest == reference
                  : name != d.annotations.end() && name->second == reference) {
      return std::optional<Descriptor>(d);
    }
  }
  if (by_digest && IsValidSha256Digest(reference)) {
    // A platform manifest of an index: in blobs/, named by no descriptor.
    struct stat st {};
    if (::stat(BlobFile(dir_, reference).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      return std::optional<Descriptor>(Descriptor{.digest = reference});
    }
  }
  return std::optional<Descriptor>();
}

Result<std::optional<ManifestDescriptor>> LayoutStore::HeadManifest(const std::string& repo,
                                                                   const std::string& reference) {
  PPA_ASSIGN_OR_RETURN(std::optional<Descriptor> found, Find(reference));
  if (!found) return std::optional<ManifestDescriptor>();
  PPA_ASSIGN_OR_RETURN(PulledManifest pulled, GetManifest(repo, reference));
  return std::optional<ManifestDescriptor>(pulled.descriptor);
}

Result<PulledManifest> LayoutStore::GetManifest(const std::string&, const std::string& reference) {
  PPA_ASSIGN_OR_RETURN(std::optional<Descriptor> found, Find(reference));
  if (!found) {
    return NotFound("OCI layout '" + dir_ + "' has no image named '" + reference + "'",
                    "its index.json names images by their org.opencontainers.image.ref.name "
                    "annotation: write oci:DIR:THAT-NAME");
  }
  if (!IsValidSha256Digest(found->digest)) {
    return InvalidInput("OCI layout '" + dir_ + "' names '" + reference +
                        "' by an invalid digest '" + found->digest + "'");
  }
  PPA_ASSIGN_OR_RETURN(std::string bytes,
                       ReadSmallFile(BlobFile(dir_, found->digest), kMaxManifestBytes));
  if (Sha256Digest(bytes) != found->digest) {
    return InvalidInput("OCI layout '" + dir_ + "': manifest " + found->digest +
                        " does not match its digest");
  }
  const std::string media_type = MediaTypeOf(bytes, found->media_type);
  return PulledManifest{.descriptor = {.media_type = media_type,
                                       .digest = found->digest,
                                       .size = bytes.size()},
                        .body = std::move(bytes)};
}

Status LayoutStore::GetBlob(const std::string&, const std::string& digest, uint64_t size,
                            const std::function<Status(std::string_view)>& sink) {
  if (!IsValidSha256Digest(digest)) return InvalidInput("invalid blob digest '" + digest + "'");
  const std::string path = BlobFile(dir_, digest);
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(path));
  Sha256 hasher;
  std::string buffer(1 << 20, '\0');
  uint64_t read_total = 0;
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError("cannot read", path, errno);
    if (got == 0) break;
    read_total += static_cast<uint64_t>(got);
    if (read_total > size) break;
    const std::string_view data(buffer.data(), static_cast<size_t>(got));
    hasher.Update(data);
    PPA_RETURN_IF_ERROR(sink(data));
  }
  if (read_total != size) {
    return InvalidInput("OCI layout blob " + digest + " is not the " + std::to_string(size) +
                        " bytes its manifest says");
  }
  if (hasher.Finish() != digest) {
    return InvalidInput("OCI layout blob " + digest + " does not match its digest");
  }
  return Status::Ok();
}

}  // namespace ppa
