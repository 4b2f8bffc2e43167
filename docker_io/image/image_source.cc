#include "docker_io/image/image_source.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>

#include "archive/tar/safe_path.h"
#include "archive/tar/tar_index.h"
#include "archive/tar/unpack.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_formats.h"
#include "docker_io/image/media_types.h"

namespace ppa {
namespace {

// What reading one image file may hold in memory. A tarball's documents
// refer to each other by name, so a few KiB of them can name the same
// config or nested index thousands of times; each reference costs a copy of
// an ImageSource (its layers; its config is shared). Chosen so that one
// file stays under ~25 MiB besides its configs, while real files pass
// easily: a docker save holds a handful of images, an OCI layout of
// multi-arch images with attestations a few hundred manifests, an image at
// most a few hundred layers (Docker's own limit is 127).
constexpr uint64_t kMaxManifestBytes = 4 << 20;  // manifest.json, index.json, image
                                                 // manifests (registries refuse more)
constexpr uint64_t kMaxConfigBytes = 16 << 20;   // one image config
constexpr int kMaxIndexDepth = 4;
constexpr size_t kMaxManifestsPerFile = 1024;  // images and indexes, each reference counted
constexpr size_t kMaxLayersPerFile = 16384;    // layers of all images, each reference counted
// Configs are held as long as their ImageSources (the whole run), one
// buffer per distinct config of a file. Their total across every file read
// by the process is bounded too: real configs are tens of KiB, so a few
// hundred images hold a few MiB.
constexpr uint64_t kMaxHeldConfigBytes = 64ull << 20;

std::atomic<uint64_t> held_config_bytes{0};

// A shared immutable buffer for `bytes`, counted in held_config_bytes while
// any ImageSource holds it.
Result<std::shared_ptr<const std::string>> HoldConfig(std::string bytes, const std::string& name) {
  const uint64_t size = bytes.size();
  if (held_config_bytes.fetch_add(size) + size > kMaxHeldConfigBytes) {
    held_config_bytes.fetch_sub(size);
    return InvalidInput("config '" + name + "' (" + std::to_string(size) +
                        " bytes) would take the image configs held in memory past the limit of " +
                        std::to_string(kMaxHeldConfigBytes) + " bytes");
  }
  return std::shared_ptr<const std::string>(new std::string(std::move(bytes)),
                                            [size](const std::string* s) {
                                              held_config_bytes.fetch_sub(size);
                                              delete s;
                                            });
}

// A config as read once per file: the bytes, their digest and what they say.
struct LoadedConfig {
  std::shared_ptr<const std::string> bytes;
  std::string digest;
  Result<ImageConfig> parsed = InvalidInput("not parsed");
};

class TarballReader {
 public:
  TarballReader(std::string path, TarIndex index) : path_(std::move(path)), index_(std::move(index)) {}

  Result<std::string> ReadDocument(const std::string& name, uint64_t max_size) const {
    PPA_ASSIGN_OR_RETURN(TarEntry e, index_.Find(name));
    if (e.size > max_size) {
      return InvalidInput("'" + name + "' is " + std::to_string(e.size) +
                          " bytes, more than the limit of " + std::to_string(max_size));
    }
    return ReadFileRange(path_, e.offset, e.size);
  }

  Result<TarEntry> Entry(const std::string& name) const { return index_.Find(name); }

  Result<LayerSource> Layer(const std::string& name) const {
    PPA_ASSIGN_OR_RETURN(TarEntry e, index_.Find(name));
    LayerSource l;
    l.entry = name;
    l.offset = e.offset;
    l.size = e.size;
    PPA_ASSIGN_OR_RETURN(l.compression, DetectFileCompression(path_, e.offset));
    if (l.size == 0) l.compression = Compression::kNone;
    if (l.compression != Compression::kNone && l.compression != Compression::kGzip &&
        l.compression != Compression::kZstd) {
      return Unsupported("layer '" + name + "' is " + CompressionName(l.compression) +
                         "-compressed; only gzip, zstd and uncompressed layers exist in images");
    }
    // Blob stores name files by their digest.
    if (name.rfind("blobs/sha256/", 0) == 0) l.digest = "sha256:" + name.substr(13);
    return l;
  }

  // The config stored at `name`, read, hashed and parsed once however many
  // images name it.
  Result<std::shared_ptr<const LoadedConfig>> Config(const std::string& name) {
    auto it = configs_.find(name);
    if (it == configs_.end()) it = configs_.emplace(name, LoadConfig(name)).first;
    return it->second;
  }

  // Counts `manifests` more manifests and `layers` more layers against the
  // limits of one image file.
  Status Charge(size_t manifests, size_t layers) {
    manifests_ += manifests;
    layers_ += layers;
    if (manifests_ > kMaxManifestsPerFile) {
      return InvalidInput("more than the limit of " + std::to_string(kMaxManifestsPerFile) +
                          " image manifests and indexes (each reference counted)");
    }
    if (layers_ > kMaxLayersPerFile) {
      return InvalidInput("more than the limit of " + std::to_string(kMaxLayersPerFile) +
                          " layers in all images (each reference counted)");
    }
    return Status::Ok();
  }

  bool Has(const std::string& name) const { return index_.Contains(name); }
  const std::string& path() const { return path_; }

  // Checks the artifact blob at `offset`, `size` bytes, against `digest`
  // (read whole), once per file whatever number of artifacts name it; the
  // bytes read so count against kMaxArtifactBytesPerFile.
  Status CheckArtifactBlob(uint64_t offset, uint64_t size, const std::string& digest) {
    if (checked_artifact_blobs_.count(digest)) return Status::Ok();
    if (size > kMaxArtifactBlobBytes) {
      return InvalidInput("blob " + digest + " is " + std::to_string(size) +
                          " bytes, more than the " + std::to_string(kMaxArtifactBlobBytes) +
                          " read whole");
    }
    artifact_bytes_ += size;
    if (artifact_bytes_ > kMaxArtifactBytesPerFile) {
      return InvalidInput("the artifacts (attestations, signatures) of the file hold more than " +
                          std::to_string(kMaxArtifactBytesPerFile) + " bytes");
    }
    PPA_ASSIGN_OR_RETURN(std::string bytes, ReadFileRange(path_, offset, size));
    if (Sha256Digest(bytes) != digest) {
      return InvalidInput("blob " + digest + " does not match its digest");
    }
    checked_artifact_blobs_.insert(digest);
    return Status::Ok();
  }

 private:
  Result<std::shared_ptr<const LoadedConfig>> LoadConfig(const std::string& name) const {
    PPA_ASSIGN_OR_RETURN(std::string bytes, ReadDocument(name, kMaxConfigBytes));
    auto config = std::make_shared<LoadedConfig>();
    config->digest = Sha256Digest(bytes);
    config->parsed = ParseImageConfig(bytes);
    PPA_ASSIGN_OR_RETURN(config->bytes, HoldConfig(std::move(bytes), name));
    return std::shared_ptr<const LoadedConfig>(std::move(config));
  }

  std::string path_;
  TarIndex index_;
  std::map<std::string, Result<std::shared_ptr<const LoadedConfig>>> configs_;
  size_t manifests_ = 0;
  size_t layers_ = 0;
  std::set<std::string> checked_artifact_blobs_;
  uint64_t artifact_bytes_ = 0;
};

std::string BlobPath(const std::string& digest) {
  std::string_view hex = DigestHex(digest);
  return hex.empty() ? std::string() : "blobs/sha256/" + std::string(hex);
}

// Fills config, platform and layer diff_ids; sets `problem` on mismatch.
void AttachConfig(ImageSource& image, const LoadedConfig& config) {
  image.config_digest = config.digest;
  image.config = config.bytes;
  if (!config.parsed.ok()) {
    image.problem = config.parsed.status();
    return;
  }
  image.platform = config.parsed->platform;
  const std::vector<std::string>& diff_ids = config.parsed->diff_ids;
  if (diff_ids.size() != image.layers.size()) {
    image.problem = InvalidInput("config lists " + std::to_string(diff_ids.size()) +
                                 " layer(s) but the image has " +
                                 std::to_string(image.layers.size()));
    return;
  }
  for (size_t i = 0; i < image.layers.size(); ++i) image.layers[i].diff_id = diff_ids[i];
}

ImageSource ReadDockerSaveEntry(TarballReader& tar, const DockerSaveEntry& entry,
                                const std::string& origin) {
  ImageSource image;
  image.tarball = tar.path();
  image.origin = origin;
  image.names = entry.repo_tags;
  for (const auto& layer_name : entry.layers) {
    auto clean = SanitizeEntryPath(layer_name);
    auto layer = clean.ok() ? tar.Layer(*clean) : Result<LayerSource>(clean.status());
    if (!layer.ok()) {
      image.problem = layer.status().WithContext("layer '" + layer_name + "'");
      return image;
    }
    image.layers.push_back(*layer);
  }
  auto config_name = SanitizeEntryPath(entry.config);
  auto config = config_name.ok() ? tar.Config(*config_name)
                                 : Result<std::shared_ptr<const LoadedConfig>>(config_name.status());
  if (!config.ok()) {
    image.problem = config.status().WithContext("config '" + entry.config + "'");
    return image;
  }
  AttachConfig(image, **config);
  // A config stored as a blob is named by its digest: check it.
  if (image.problem.ok() && entry.config.rfind("blobs/sha256/", 0) == 0 &&
      image.config_digest != "sha256:" + entry.config.substr(13)) {
    image.problem = InvalidInput("config '" + entry.config + "' does not match its digest");
  }
  return image;
}

// Names from index annotations. OCI allows `ref.name` to be a bare tag
// ("latest", "oci"): that is no image name when a full one is known.
std::vector<std::string> DescriptorNames(const Descriptor& d) {
  std::vector<std::string> names;
  for (auto key : {media_types::kContainerdNameAnnotation, media_types::kRefNameAnnotation}) {
    auto it = d.annotations.find(std::string(key));
    if (it == d.annotations.end() || it->second.empty()) continue;
    bool bare_tag = it->second.find_first_of("/:") == std::string::npos;
    if (bare_tag && !names.empty()) continue;
    names.push_back(it->second);
  }
  return names;
}

// The document `bytes` (verified against `digest`) as it is pushed: under
// its own mediaType, else its descriptor's, else `fallback`.
StoredDocument Stored(std::string bytes, const std::string& digest, const std::string& declared,
                      const std::string& descriptor_type, std::string_view fallback) {
  std::string type = !declared.empty()          ? declared
                     : !descriptor_type.empty() ? descriptor_type
                                                : std::string(fallback);
  return StoredDocument{.media_type = std::move(type),
                        .digest = digest,
                        .bytes = std::make_shared<const std::string>(std::move(bytes))};
}

// A descriptor's size, when it gives one, must be the blob's: a manifest
// pushed byte for byte (kept_digest.h) that states other sizes names blobs
// no client can fetch and verify. `what` names the blob in the message.
Status CheckDeclaredSize(const Descriptor& desc, uint64_t actual, const std::string& what) {
  if (!desc.size || *desc.size == actual) return Status::Ok();
  return InvalidInput(what + " " + desc.digest + " is " + std::to_string(actual) +
                      " bytes in the image file, but its descriptor says " +
                      std::to_string(*desc.size));
}

bool IsArtifact(const Descriptor& desc) {
  return desc.annotations.count("vnd.docker.reference.type") > 0;
}

// The artifact manifest `desc` and its blobs, each checked against its
// digest; what cannot be pushed as it is goes to its `problem`. Fails (the
// whole file) only when the file's limits are passed: its blobs count as
// layers.
Result<StoredArtifact> ReadArtifact(TarballReader& tar, const Descriptor& desc) {
  StoredArtifact artifact;
  artifact.tarball = tar.path();
  artifact.manifest.digest = desc.digest;
  artifact.manifest.bytes = std::make_shared<const std::string>();
  auto fail = [&](Status status) {
    artifact.problem = status.WithContext("artifact " + desc.digest);
    return artifact;
  };
  auto bytes = tar.ReadDocument(BlobPath(desc.digest), kMaxManifestBytes);
  if (!bytes.ok()) return fail(bytes.status());
  if (Sha256Digest(*bytes) != desc.digest) {
    return fail(InvalidInput("manifest blob does not match its digest"));
  }
  if (Status s = CheckDeclaredSize(desc, bytes->size(), "manifest"); !s.ok()) return fail(s);
  auto manifest = ParseImageManifest(*bytes);
  if (!manifest.ok()) return fail(manifest.status());
  PPA_RETURN_IF_ERROR(tar.Charge(0, manifest->layers.size() + 1));
  artifact.manifest = Stored(std::move(*bytes), desc.digest, manifest->media_type,
                             desc.media_type, media_types::kOciManifest);
  std::vector<Descriptor> blobs = {manifest->config};
  blobs.insert(blobs.end(), manifest->layers.begin(), manifest->layers.end());
  std::set<std::string> seen;
  for (const Descriptor& b : blobs) {
    if (!seen.insert(b.digest).second) continue;  // named twice: pushed once
    auto entry = tar.Entry(BlobPath(b.digest));
    if (!entry.ok()) return fail(entry.status().WithContext("blob " + b.digest));
    if (Status s = CheckDeclaredSize(b, entry->size, "blob"); !s.ok()) return fail(s);
    Status checked = tar.CheckArtifactBlob(entry->offset, entry->size, b.digest);
    if (!checked.ok()) return fail(checked);
    artifact.blobs.push_back({.digest = b.digest, .offset = entry->offset, .size = entry->size});
  }
  return artifact;
}

// The image of one manifest descriptor, reached through the index blob
// `parent` (null: listed by index.json itself). Fails (the whole file) only
// when the file's limits are passed; anything else is the image's `problem`.
Result<ImageSource> ReadOciImage(TarballReader& tar, const Descriptor& desc,
                                 const std::vector<std::string>& names,
                                 const std::shared_ptr<const StoredIndex>& parent,
                                 const std::string& origin) {
  ImageSource image;
  image.tarball = tar.path();
  image.origin = origin;
  image.names = names;
  image.index = parent;
  auto manifest_bytes = tar.ReadDocument(BlobPath(desc.digest), kMaxManifestBytes);
  if (!manifest_bytes.ok()) {
    image.problem = manifest_bytes.status().WithContext("manifest " + desc.digest);
    return image;
  }
  if (Sha256Digest(*manifest_bytes) != desc.digest) {
    image.problem = InvalidInput("manifest blob does not match its digest " + desc.digest);
    return image;
  }
  if (Status s = CheckDeclaredSize(desc, manifest_bytes->size(), "manifest"); !s.ok()) {
    image.problem = s;
    return image;
  }
  auto manifest = ParseImageManifest(*manifest_bytes);
  if (!manifest.ok()) {
    image.problem = manifest.status();
    return image;
  }
  if (IsArtifactManifest(*manifest)) {
    PPA_ASSIGN_OR_RETURN(StoredArtifact artifact, ReadArtifact(tar, desc));
    image.problem = artifact.problem;
    image.manifest = artifact.manifest;
    image.artifact = std::make_shared<const StoredArtifact>(std::move(artifact));
    return image;
  }
  PPA_RETURN_IF_ERROR(tar.Charge(0, manifest->layers.size()));
  for (const auto& l : manifest->layers) {
    auto layer = tar.Layer(BlobPath(l.digest));
    if (!layer.ok()) {
      image.problem = layer.status().WithContext("layer " + l.digest);
      return image;
    }
    if (Status s = CheckDeclaredSize(l, layer->size, "layer"); !s.ok()) {
      image.problem = s;
      return image;
    }
    layer->digest = l.digest;
    image.layers.push_back(*layer);
  }
  auto config = tar.Config(BlobPath(manifest->config.digest));
  if (!config.ok()) {
    image.problem = config.status().WithContext("config " + manifest->config.digest);
    return image;
  }
  AttachConfig(image, **config);
  if (image.problem.ok() && image.config_digest != manifest->config.digest) {
    image.problem = InvalidInput("config blob does not match its digest " + manifest->config.digest);
  }
  if (image.problem.ok() && image.config) {
    image.problem = CheckDeclaredSize(manifest->config, image.config->size(), "config");
  }
  if (desc.platform && image.platform.architecture.empty()) image.platform = *desc.platform;
  if (image.problem.ok()) {
    image.manifest = Stored(std::move(*manifest_bytes), desc.digest, manifest->media_type,
                            desc.media_type, media_types::kOciManifest);
  }
  return image;
}

// Whether `desc` names an artifact rather than a platform image (a
// BuildKit attestation: it says what it refers to).
// The index blob of `desc`, checked against its digest, and what it lists.
Result<std::pair<OciIndex, std::shared_ptr<StoredIndex>>> ReadIndexBlob(
    const TarballReader& tar, const Descriptor& desc) {
  PPA_ASSIGN_OR_RETURN(std::string bytes,
                       tar.ReadDocument(BlobPath(desc.digest), kMaxManifestBytes));
  if (Sha256Digest(bytes) != desc.digest) {
    return InvalidInput("index blob does not match its digest " + desc.digest);
  }
  PPA_RETURN_IF_ERROR(CheckDeclaredSize(desc, bytes.size(), "index"));
  PPA_ASSIGN_OR_RETURN(OciIndex nested, ParseOciIndex(bytes));
  auto stored = std::make_shared<StoredIndex>();
  stored->document =
      Stored(std::move(bytes), desc.digest, nested.media_type, desc.media_type, "");
  for (const auto& child : nested.manifests) stored->children.push_back(child.digest);
  return std::make_pair(std::move(nested), std::move(stored));
}

// `parent`: the index blob `index` is (null for index.json itself); its
// artifacts are added as they are met.
Status WalkOciIndex(TarballReader& tar, const OciIndex& index,
                    const std::shared_ptr<StoredIndex>& parent,
                    const std::vector<std::string>& inherited_names, const std::string& origin,
                    int depth, std::vector<ImageSource>& out) {
  if (depth > kMaxIndexDepth) return InvalidInput("image indexes nested too deeply");
  for (const auto& desc : index.manifests) {
    std::vector<std::string> names = DescriptorNames(desc);
    if (names.empty()) names = inherited_names;
    if (IsIndexMediaType(desc.media_type)) {
      PPA_RETURN_IF_ERROR(tar.Charge(1, 0));
      PPA_ASSIGN_OR_RETURN(auto nested, ReadIndexBlob(tar, desc));
      PPA_RETURN_IF_ERROR(
          WalkOciIndex(tar, nested.first, nested.second, names, origin, depth + 1, out));
    } else if (parent && IsArtifact(desc)) {
      PPA_RETURN_IF_ERROR(tar.Charge(1, 0));
      PPA_ASSIGN_OR_RETURN(StoredArtifact artifact, ReadArtifact(tar, desc));
      parent->artifacts.push_back(std::move(artifact));
    } else if (IsImageManifestMediaType(desc.media_type) || desc.media_type.empty()) {
      PPA_RETURN_IF_ERROR(tar.Charge(1, 0));
      PPA_ASSIGN_OR_RETURN(ImageSource image, ReadOciImage(tar, desc, names, parent, origin));
      out.push_back(std::move(image));
    }
    // Other artifacts (signatures, artifacts of index.json itself) are not
    // images: skipped.
  }
  return Status::Ok();
}

Result<std::vector<ImageSource>> ReadOciLayout(TarballReader& tar, const std::string& origin) {
  PPA_ASSIGN_OR_RETURN(std::string bytes, tar.ReadDocument("index.json", kMaxManifestBytes));
  PPA_ASSIGN_OR_RETURN(OciIndex index, ParseOciIndex(bytes));
  std::vector<ImageSource> out;
  PPA_RETURN_IF_ERROR(WalkOciIndex(tar, index, nullptr, {}, origin, 0, out));
  return out;
}

bool SameLayerFiles(const ImageSource& a, const ImageSource& b) {
  if (a.layers.size() != b.layers.size()) return false;
  for (size_t i = 0; i < a.layers.size(); ++i) {
    if (a.layers[i].entry != b.layers[i].entry) return false;
  }
  return true;
}

// Gives the docker-save image `img` the manifest (and index) of the OCI
// image of `oci` that has its config and its very layer files: a manifest
// the save carries rather than one it made up (which `img` keeps only if
// its layers are stored compressed, kept_digest.h).
void AttachStoredManifest(ImageSource& img, const std::vector<ImageSource>& oci) {
  if (!img.problem.ok()) return;
  for (const ImageSource& other : oci) {
    if (other.problem.ok() && other.manifest && other.config_digest == img.config_digest &&
        SameLayerFiles(img, other)) {
      img.manifest = other.manifest;
      img.index = other.index;
      return;
    }
  }
}

Result<std::vector<ImageSource>> ReadDockerSave(TarballReader& tar, const std::string& origin) {
  PPA_ASSIGN_OR_RETURN(std::string bytes, tar.ReadDocument("manifest.json", kMaxManifestBytes));
  PPA_ASSIGN_OR_RETURN(auto entries, ParseDockerSaveManifest(bytes));
  bytes = std::string();
  size_t layers = 0;
  for (const auto& entry : entries) layers += entry.layers.size();
  PPA_RETURN_IF_ERROR(tar.Charge(entries.size(), layers));
  std::vector<ImageSource> out;
  for (const auto& entry : entries) out.push_back(ReadDockerSaveEntry(tar, entry, origin));
  // Docker 25+ saves also carry an OCI index whose annotations may name
  // images that manifest.json leaves without RepoTags, and whose manifests
  // are the images' own when they name the same config and layer files.
  if (tar.Has("index.json")) {
    auto oci = ReadOciLayout(tar, origin);
    if (oci.ok()) {
      std::map<std::string, std::vector<std::string>> names_by_config;
      for (const auto& img : *oci) {
        if (!img.names.empty()) names_by_config[img.config_digest] = img.names;
      }
      for (auto& img : out) {
        auto it = names_by_config.find(img.config_digest);
        if (img.names.empty() && it != names_by_config.end()) img.names = it->second;
        AttachStoredManifest(img, *oci);
      }
    }
  }
  return out;
}

}  // namespace

Result<std::string> PrepareImageTarball(const std::string& path, const std::string& scratch_dir,
                                        InflationBudget* budget) {
  PPA_ASSIGN_OR_RETURN(Compression c, DetectFileCompression(path));
  if (c == Compression::kNone) return path;
  std::string out = ScratchName(scratch_dir, path, ".tar");
  PPA_RETURN_IF_ERROR(budget ? DecompressFile(path, out, *budget) : DecompressFile(path, out));
  return out;
}

Result<std::vector<ImageSource>> ReadImageFile(const std::string& path, const std::string& origin,
                                               const std::string& scratch_dir,
                                               InflationBudget* budget) {
  auto tar = PrepareImageTarball(path, scratch_dir, budget);
  if (!tar.ok()) return tar.status().WithContext("image file '" + origin + "'");
  return ReadImageTarball(*tar, origin);
}

Result<std::vector<ImageSource>> ReadImageTarball(const std::string& tar_path,
                                                  const std::string& origin) {
  auto index = TarIndex::Build(tar_path);
  if (!index.ok()) return index.status().WithContext("image file '" + origin + "'");
  TarballReader tar(tar_path, std::move(index).value());
  Result<std::vector<ImageSource>> images =
      tar.Has("manifest.json") ? ReadDockerSave(tar, origin)
      : tar.Has("index.json")  ? ReadOciLayout(tar, origin)
                               : Result<std::vector<ImageSource>>(InvalidInput(
                                     "not an image tarball (no manifest.json or index.json; a "
                                     "'docker export' filesystem is not an image)",
                                     "save images with 'docker save' or 'skopeo copy ... "
                                     "docker-archive:' / 'oci-archive:'"));
  // A Docker 25+ save whose manifest.json is broken still has its OCI index.
  if (!images.ok() && tar.Has("manifest.json") && tar.Has("index.json")) {
    auto oci = ReadOciLayout(tar, origin);
    if (oci.ok() && !oci->empty()) images = std::move(oci);
  }
  if (!images.ok()) return images.status().WithContext("image file '" + origin + "'");
  if (images->empty()) return InvalidInput("image file '" + origin + "' holds no image");
  return images;
}

}  // namespace ppa
