// The blob pipeline for one layer: one streaming pass over its bytes in the
// image tarball that verifies the diff_id and produces the blob to push.
//
// - uncompressed layer: sha256 of the input (must equal diff_id) while it is
//   gzip-compressed to a spool file, hashing the output (the blob digest);
// - gzip or zstd layer: pushed as stored (no recompression); the pass hashes
//   the stored bytes (blob digest) and the decompressed stream (diff_id).
// Memory is a few fixed-size buffers, whatever the layer size. Output is
// deterministic: the same layer bytes and level always give the same blob.
#pragma once

#include <cstdint>
#include <string>

#include "archive/status.h"
#include "docker_io/http_transport.h"  // FileBody
#include "docker_io/image_source.h"

namespace ppa {

enum class ManifestFormat { kDocker, kOci };

struct CompressionOptions {
  int gzip_level = 6;  // 1..9
};

struct LayerBlob {
  std::string digest;      // of the bytes in `file`
  uint64_t size = 0;
  std::string media_type;  // for the manifest
  std::string diff_id;
  FileBody file;           // where the blob bytes are (tarball range or spool file)
  bool spooled = false;    // `file` is a temporary file of ours
};

// Verifies `layer` of `image` and prepares its blob. Spool files are created
// in `spool_dir`. Errors: kInvalidInput when the content does not match the
// diff_id or the stored digest (naming the layer), kIo on read/write errors.
Result<LayerBlob> PrepareLayerBlob(const ImageSource& image, const LayerSource& layer,
                                   const std::string& spool_dir, ManifestFormat format,
                                   const CompressionOptions& options);

}  // namespace ppa
