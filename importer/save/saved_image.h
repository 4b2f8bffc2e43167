// One saved image as `save` stores it (README, "Air-gapped sites"): the
// registry's own manifest or index, its platform manifests and their blobs,
// laid out as an OCI image layout tarball, and the archive's manifest.yaml
// entry that names it. Pure functions, no I/O: the blobs' bytes are streamed
// by the caller's BlobWriter.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "archive/manifest/ppa_manifest.h"  // Platform
#include "archive/write/tar_writer.h"
#include "base/status.h"
#include "importer/save/save_sources.h"
#include "importer/save/saved_chart.h"

namespace ppa {

// A manifest or index, byte for byte as the registry serves it.
struct SavedDocument {
  std::string media_type;
  std::string digest;  // sha256 of `bytes`
  std::string bytes;
  std::optional<Platform> platform;  // an index's platform entry for it
};

// A config or layer blob, by its descriptor.
struct SavedBlob {
  std::string digest;
  uint64_t size = 0;
};

// A cosign artifact attached to a saved image by tag: its signatures
// (sha256-<hex>.sig) or attestations (sha256-<hex>.att), as cosign stores
// them next to the image in the same repository.
struct SavedAttachment {
  std::string tag;        // "sha256-<hex>.sig"
  SavedDocument manifest;
};

// A simple signature (containers-signature(5)) of one of the image's
// manifests, as the source keeps it.
struct SavedSimpleSignature {
  std::string digest;  // the manifest it signs
  std::string bytes;
};

struct SavedImage {
  SaveSource source;
  SavedDocument top;                     // what the reference names
  std::vector<SavedDocument> manifests;  // an index's manifests (those kept), in its order
  // Cosign's signatures and attestations of `top` and of `manifests`, in
  // tag order; their blobs are in `blobs`, of `attachment_blob_bytes` in all.
  std::vector<SavedAttachment> attachments;
  uint64_t attachment_blob_bytes = 0;
  // Simple signatures of `top` and `manifests`, in the source's order.
  std::vector<SavedSimpleSignature> simple_signatures;
  std::vector<SavedBlob> blobs;          // every config and layer, each digest once
  // The index was rebuilt to list only the platforms kept (--platform): its
  // digest is not the registry's.
  bool index_rebuilt = false;

  uint64_t Bytes() const;  // documents and blobs: what the image file holds
};

// Writes blob `blob` of `image` (exactly blob.size bytes) into `out`.
using BlobWriter =
    std::function<Status(const SavedImage& image, const SavedBlob& blob, ByteSink& out)>;

// Reads a manifest's blobs (config, then layers), in order. kInvalidInput
// for a manifest that is none, or a descriptor without a valid sha256
// digest or a size.
Result<std::vector<SavedBlob>> ManifestBlobs(const std::string& manifest_json);

// The index `index_json` with only the manifests whose digests are in
// `kept` (order kept, every other field as it was): what --platform
// saves for a multi-arch image. kInvalidInput when it is no index.
Result<std::string> SubsetIndex(const std::string& index_json,
                                const std::vector<std::string>& kept);

// The tags cosign attaches to the image manifest or index `digest`:
// sha256-<hex>.sig (signatures) and sha256-<hex>.att (attestations).
std::vector<std::string> CosignAttachmentTags(const std::string& digest);

// The name an attachment has in the archive: the image's repository and
// the attachment's tag ("org/app:sha256-<hex>.sig").
std::string AttachmentName(const SavedImage& image, const SavedAttachment& attachment);

// Groups `images` (sorted by archive name) so that no blob is stored twice:
// images that share a config, layer or manifest (directly or through
// others) go into one image file, the file of the first of them, which
// each image's `source.file` then names. A file holds at most 512
// manifests, 8192 layer references and 32 MiB of cosign artifacts (half
// what `load` reads from one): past that an image goes to another file and
// the blobs it shares are stored in both. Returns the groups, each in name
// order, in the order of their first images. Pure.
std::vector<std::vector<const SavedImage*>> GroupBySharedBlobs(std::vector<SavedImage>& images);

// The entries of one image file, an OCI layout tarball of the images of a
// group: oci-layout, index.json (for each image its top document, its
// ref.name annotation the archive name, then each attachment under
// AttachmentName) and blobs/sha256/<hex> for every document and blob,
// each digest once in the file.
std::vector<TarWriteEntry> LayoutEntries(const std::vector<const SavedImage*>& images,
                                         const BlobWriter& write_blob);

// The archive's manifest.yaml: one `images:` entry per image, named by its
// archive name. An index lists one reference per platform image, each named
// by its digest ("org/app@sha256:..."), with its platform: `load` pushes
// those untagged and the index under the entry's name, keeping its digest
// (however many platforms it has). Each attachment is an entry of its own,
// named AttachmentName, so `load` lands it at the tag cosign looks for.
// Then one `charts:` entry per chart (`archive: charts/NAME-VERSION.tgz`).
std::string SaveManifestYaml(const std::vector<SavedImage>& images,
                             const std::vector<SavedChart>& charts);

}  // namespace ppa
