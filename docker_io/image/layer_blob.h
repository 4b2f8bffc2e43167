// The blob pipeline for one layer: one streaming pass over its bytes in the
// image tarball that verifies the diff_id and produces the blob to push.
//
// - uncompressed layer: sha256 of the input (must equal diff_id) while it is
//   compressed (ISA-L gzip, or zstd) to a spool file, hashing the output (the
//   blob digest); with compression "none" the tar itself is the blob;
// - gzip or zstd layer: pushed as stored (no recompression); the pass hashes
//   the stored bytes (blob digest) and the decompressed stream (diff_id).
// A layer with a content_digest (hashed as it was unpacked) is taken to have
// that digest: it is not hashed again, and a pass that only verifies it does
// not read it at all.
// Memory is a few fixed-size buffers, whatever the layer size. Output is
// deterministic: the same layer bytes and level always give the same blob.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/file_util.h"  // UniqueFd
#include "base/status.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/gzip_isal.h"
#include "docker_io/registry/http_transport.h"  // FileBody
#include "docker_io/image/image_source.h"

namespace ppa {

enum class ManifestFormat { kDocker, kOci };

struct CompressionOptions {
  // What uncompressed layers become: kGzip (ISA-L), kZstd or kNone (pushed as
  // tar with the uncompressed media type). Other values are treated as kGzip.
  Compression algorithm = Compression::kGzip;
  int gzip_level = 6;  // 1..9, mapped onto ISA-L levels 0..3 (IsalLevelFor)
  int zstd_level = 3;  // fixed, so the same layer always gives the same blob
  // Where the blocks of a gzip layer are deflated (null: on the calling
  // thread). Changes the speed, never the bytes (not part of Key()).
  TaskRunner runner;
  // "gzip-isal-2-b1m", "zstd-3", "none": names the output bytes (blob cache
  // key).
  std::string Key() const;
};

struct LayerBlob {
  std::string digest;      // of the bytes in `file`
  uint64_t size = 0;
  std::string media_type;  // for the manifest
  std::string diff_id;
  FileBody file;           // where the blob bytes are (tarball range or spool file)
  bool spooled = false;    // `file` is a temporary file of ours
};

// A new spool file in `spool_dir` ("layer-<uuid>.blob"), created (never an
// existing name) and open for writing; mode 0600.
struct SpoolFile {
  std::string path;
  UniqueFd fd;
};
Result<SpoolFile> CreateSpoolFile(const std::string& spool_dir);

// Compresses a layer's bytes, given in order, into a spool file in
// `spool_dir`, hashing the output: the blob of an uncompressed layer whose
// bytes come from elsewhere than a tarball on disk (a layer as it is
// unpacked). The same bytes and options give the same blob as
// PrepareLayerBlob. Not thread-safe.
class SpoolCompressor {
 public:
  // kInvalidInput for compression "none" (the tar itself is the blob then);
  // kIo when the spool file cannot be created.
  static Result<std::unique_ptr<SpoolCompressor>> Create(const std::string& spool_dir,
                                                         ManifestFormat format,
                                                         const CompressionOptions& options);
  // Removes the spool file unless Finish returned it.
  ~SpoolCompressor();
  SpoolCompressor(const SpoolCompressor&) = delete;
  SpoolCompressor& operator=(const SpoolCompressor&) = delete;

  Status Write(const char* data, size_t size);
  // Write(block) that may take the bytes instead of copying them
  // (StreamCompressor::WriteBlock): `block` is left empty.
  Status WriteBlock(std::string& block);
  // The blob: digest and size of the compressed bytes, media type, the spool
  // file. `diff_id` is the caller's to give: the sha256 of what was written.
  Result<LayerBlob> Finish(std::string diff_id);

 private:
  SpoolCompressor(std::string path, UniqueFd out, std::string media_type);

  std::string path_;
  UniqueFd out_;
  std::string media_type_;
  Sha256 hash_;  // of the compressed bytes
  uint64_t size_ = 0;
  std::unique_ptr<StreamCompressor> compressor_;
  bool kept_ = false;
};

// Verifies `layer` of `image` and prepares its blob. Spool files are created
// in `spool_dir`. Errors: kInvalidInput when the content does not match the
// diff_id or the stored digest (naming the layer), kIo on read/write errors.
Result<LayerBlob> PrepareLayerBlob(const ImageSource& image, const LayerSource& layer,
                                   const std::string& spool_dir, ManifestFormat format,
                                   const CompressionOptions& options);

// The blob `layer` became earlier (digest and size from the blob cache): only
// checks the layer's diff_id (one hashing pass, no compression). The result
// has no `file`: a caller that must upload it prepares it again.
Result<LayerBlob> KnownLayerBlob(const ImageSource& image, const LayerSource& layer,
                                 ManifestFormat format, const CompressionOptions& options,
                                 const std::string& digest, uint64_t size);

// A gzip or zstd layer whose stored digest (layer.digest, required) was
// verified earlier to decompress to layer.diff_id (the blob cache says so):
// only hashes the stored bytes against layer.digest, without decompressing.
// The blob is the stored range. kInvalidInput on mismatch or no digest.
Result<LayerBlob> KnownStoredLayerBlob(const ImageSource& image, const LayerSource& layer,
                                       ManifestFormat format);

// A gzip or zstd layer whose diff_id is not known yet (layer.diff_id and
// layer.digest are ignored): one pass that hashes the stored bytes (the
// blob's digest) and the decompressed stream (the blob's diff_id), for a
// layer found before its image's config was read. Checks nothing; the blob
// is the stored range. kInvalidInput when it does not decompress.
Result<LayerBlob> ReadStoredLayerBlob(const ImageSource& image, const LayerSource& layer,
                                      ManifestFormat format);

// Hashes `layer` (uncompressed) and checks it against its diff_id without
// producing a blob: the warm path when the blob cache already knows the
// compressed digest. kInvalidInput on mismatch.
Status VerifyLayerDiffId(const ImageSource& image, const LayerSource& layer);

}  // namespace ppa
