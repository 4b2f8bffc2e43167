// `ppa-import save` (README, "Air-gapped sites: save, carry, load"): writes
// a PPA archive from images in registries, so `load` at an air-gapped site
// lands them with the digests they had at the source.
//
// Each image becomes one OCI image layout tarball under images/, holding the
// registry's own manifest or index, platform manifests and blobs byte for
// byte (each digest once per file), and an entry of manifest.yaml. The
// archive is a gzip'd tar written deterministically (archive/write/): the
// same sources give the same bytes (sorted entries, one mtime:
// SOURCE_DATE_EPOCH or 0, owner 0, a gzip header without a timestamp). Blobs
// stream from the registry through the tar and gzip into the output, never
// held whole; the output is FILE (written as FILE.partial, renamed when
// complete, removed on failure) or standard output ("-").
//
// Exit codes as `load`: 0 saved, 1 an image could not be saved (nothing is
// left at FILE), 2 usage.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"

namespace ppa {

struct SaveOptions {
  std::vector<std::string> references;  // REFERENCE arguments
  std::string images_from;              // --images-from FILE: more references, a line each,
                                        // or a PPA manifest.yaml (its images: entries)
  std::string source_registry;          // --source-registry HOST: of names without one
  std::string output;                   // -o/--output FILE, "-": standard output
  std::vector<std::string> architectures;  // --architectures/--platform; empty: every platform
  bool dry_run = false;                 // list what would be saved and its size; write nothing
  bool remove_signatures = false;       // --remove-signatures: leave cosign's .sig/.att tags out
  std::string registries_d;              // --registries.d DIR: where simple signatures are read
  bool quiet = false;                   // -q: no list of what is saved, no progress
  std::vector<std::string> json;        // --json FILE|- (repeatable): the JSON report
  bool plain_http = false;              // --plain-http (every source registry)
  TransportOptions transport;           // TLS options, --timeout
  std::map<std::string, Credentials> credentials;  // by registry host (resolved by the CLI)
  // The seam of in-process tests; null: curl.
  std::function<std::shared_ptr<HttpTransport>(const TransportOptions&)> make_transport;
};

// Moves the references of `options.images_from` (read once, a pipe too; at
// most 16 MiB: a list, or a PPA manifest.yaml whose images: entries are
// taken) into `options.references` and clears it; then gives every image
// name without a registry `options.source_registry`, when set.
Status ReadSaveList(SaveOptions& options);

// The registry hosts of the references `options` names, for the CLI to
// resolve credentials for; kInvalidInput as RunSave would report it.
Result<std::vector<std::string>> SaveSourceHosts(const SaveOptions& options);

int RunSave(const SaveOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ppa
