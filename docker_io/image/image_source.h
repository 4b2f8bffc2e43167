// ImageSource: what an image tarball holds, read without extracting it.
//
// An image file (docker save in any of its layouts, or an OCI image layout
// tarball; whole-file compressed or not) is indexed once; each image in it is
// described by its config bytes and, per layer, the byte range of the layer
// inside the tarball, its compression and the diff_id it must hash to.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "archive/manifest/ppa_manifest.h"
#include "base/status.h"
#include "archive/tar/unpack.h"  // InflationBudget

namespace ppa {

struct LayerSource {
  std::string entry;        // path inside the tarball, for messages
  uint64_t offset = 0;      // byte range inside the tarball file
  uint64_t size = 0;
  Compression compression = Compression::kNone;  // kNone, kGzip or kZstd
  std::string diff_id;      // sha256 of the uncompressed layer (from the config)
  std::string digest;       // sha256 of the stored bytes when the source says so, else ""
  // sha256 of the stored bytes when they were already hashed on their way
  // into the tarball (RangeDigests), else "": a pass over the layer then
  // uses it instead of hashing them again.
  std::string content_digest;
};

// A registry document (image manifest or index) exactly as the archive holds
// it, its digest verified: what is pushed when an image keeps its digest
// (docker_io/image/kept_digest.h).
struct StoredDocument {
  std::string media_type;  // the document's own mediaType, else its descriptor's
  std::string digest;      // sha256 of `bytes`, the digest the archive names it by
  std::shared_ptr<const std::string> bytes;  // never null
};

// A manifest an index names that is no platform image: a BuildKit
// attestation (annotation `vnd.docker.reference.type`, platform
// unknown/unknown, in-toto layers). Pushed as it is, with its blobs, when
// its index keeps its digest (kept_digest.h); else left out with the index.
struct StoredArtifact {
  struct Blob {
    std::string digest;
    uint64_t offset = 0;  // its byte range in `tarball`
    uint64_t size = 0;
  };
  StoredDocument manifest;
  std::string tarball;      // the image file its blobs are in
  std::vector<Blob> blobs;  // its config, then its layers
  // Not OK when it cannot be pushed as it is (a blob missing, larger than
  // kMaxArtifactBlobBytes, or not matching its digest).
  Status problem;
};

// The most bytes a blob of an artifact may have (each is read whole), and
// the most the distinct blobs of all artifacts of one image file may have.
inline constexpr uint64_t kMaxArtifactBlobBytes = 16 << 20;
inline constexpr uint64_t kMaxArtifactBytesPerFile = 64 << 20;

// An image index (manifest list) blob of the archive and what it references.
struct StoredIndex {
  StoredDocument document;
  // The digest of every manifest it references (images, and artifacts such
  // as attestations), in its order.
  std::vector<std::string> children;
  // The artifacts among them, in their order.
  std::vector<StoredArtifact> artifacts;
};

struct ImageSource {
  std::string tarball;  // uncompressed tar file on disk holding the image
  std::string origin;   // the image file as the archive names it, for messages
  std::vector<std::string> names;  // RepoTags / ref.name annotations (may be empty)
  // The exact config bytes: one immutable buffer per distinct config of the
  // tarball, shared by every image (and copy) that uses it. Null when
  // `problem` was set before the config was read.
  std::shared_ptr<const std::string> config;
  std::string config_digest;
  Platform platform;               // from the config
  std::vector<LayerSource> layers; // base layer first
  // The image manifest the archive holds for this image: set for an OCI
  // layout (index.json and blobs), and for a docker save whose index.json
  // leads to a manifest of the same config and layer files (Docker 25+,
  // BuildKit); unset for a docker save without one (Docker makes no
  // registry manifest: one is built).
  std::optional<StoredDocument> manifest;
  // The index blob that names `manifest`, when the image was reached
  // through one (a multi-arch image); shared by its platform images. Null
  // for an image listed by index.json (the layout's index, never pushed).
  std::shared_ptr<const StoredIndex> index;
  // Set when the manifest is an OCI artifact, no image (IsArtifactManifest:
  // cosign's .sig and .att, a Helm chart): it is pushed as it is, its
  // blobs read from `tarball` and checked again against their digests;
  // `layers`, `config` and `platform` are then empty.
  std::shared_ptr<const StoredArtifact> artifact;
  // Not OK when this image is unusable (missing layer, diff_id count
  // mismatch...). The image fails alone; others in the tarball still import.
  Status problem;
};

// Makes an uncompressed tar from an image file: returns `path` itself when
// it is a plain tar, else inflates it once to a new file in `scratch_dir`,
// charging the archive's `budget` (archive/tar/unpack.h; null: a limit of the
// file's own).
Result<std::string> PrepareImageTarball(const std::string& path, const std::string& scratch_dir,
                                        InflationBudget* budget = nullptr);

// Reads every image of the (uncompressed) tarball at `tar_path`. `origin`
// names the file in messages. Fails as a whole only when the file is not an
// image tarball at all (no manifest.json nor index.json: e.g. a `docker
// export` filesystem tarball) or its top-level documents are broken.
Result<std::vector<ImageSource>> ReadImageTarball(const std::string& tar_path,
                                                  const std::string& origin);

// Both steps for the image file at `path` (named `origin` in messages):
// PrepareImageTarball into `scratch_dir`, then ReadImageTarball.
Result<std::vector<ImageSource>> ReadImageFile(const std::string& path, const std::string& origin,
                                               const std::string& scratch_dir,
                                               InflationBudget* budget = nullptr);

}  // namespace ppa
