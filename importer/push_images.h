// The Images stage: every planned image is verified and pushed layer by
// layer, then its config, then its manifest (last, after every blob it
// references is confirmed); then the manifest lists of multi-arch entries.
// One bad image fails alone: the others still land, and nothing is tagged for
// a failed image.
#pragma once

#include <string>

#include "docker_io/blob_sink.h"
#include "docker_io/layer_blob.h"
#include "importer/blob_cache.h"
#include "importer/plan.h"
#include "importer/progress.h"
#include "importer/report.h"

namespace ppa {

struct PushOptions {
  ManifestFormat format = ManifestFormat::kDocker;
  CompressionOptions compression;
  std::string spool_dir;  // temporary compressed layers (inside the work dir)
  // Layers verified/compressed concurrently (<= 0: the number of cores).
  // Uploads and manifests stay on the calling thread, in plan order.
  int jobs = 0;
  BlobCache* cache = nullptr;  // not owned; null: no blob cache
  ProgressDisplay* progress = nullptr;  // not owned; null: no progress lines
};

// Thread-safety: runs worker threads internally; `sink` must be thread-safe
// (every BlobSink is); `reporter` is only used from the calling thread.
void PushImages(const ImportPlan& plan, BlobSink& sink, const PushOptions& options,
                Reporter& reporter);

}  // namespace ppa
