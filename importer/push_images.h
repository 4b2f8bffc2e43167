// The Images stage: every planned image is verified and pushed layer by
// layer, then its config, then its manifest (last, after every blob it
// references is confirmed); then the manifest lists of multi-arch entries.
// One bad image fails alone: the others still land, and nothing is tagged for
// a failed image.
#pragma once

#include <string>

#include "docker_io/blob_sink.h"
#include "docker_io/layer_blob.h"
#include "importer/plan.h"
#include "importer/report.h"

namespace ppa {

struct PushOptions {
  ManifestFormat format = ManifestFormat::kDocker;
  CompressionOptions compression;
  std::string spool_dir;  // temporary compressed layers (inside the work dir)
};

void PushImages(const ImportPlan& plan, BlobSink& sink, const PushOptions& options,
                Reporter& reporter);

}  // namespace ppa
