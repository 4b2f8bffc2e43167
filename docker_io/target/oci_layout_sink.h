// An OCI image layout directory as a BlobSink: the embedded default target
// when no registry is configured (`ppa-import/oci-layout`), readable by
// skopeo (`oci:DIR:<ref>`), crane, oras and podman.
//
// Layout: `oci-layout`, `blobs/sha256/<hex>`, and `index.json` whose entries
// carry the `org.opencontainers.image.ref.name` annotation "<repo>:<tag>".
// One layout holds every repository (blobs are shared). Thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "docker_io/target/blob_sink.h"

namespace ppa {

// Creates `dir` (and its `oci-layout` marker) when missing; keeps what an
// earlier run stored there.
Result<std::unique_ptr<BlobSink>> MakeOciLayoutSink(const std::string& dir);

}  // namespace ppa
