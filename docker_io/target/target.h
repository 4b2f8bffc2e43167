// Target: where one run writes, resolved once (README, "Where images go").
//
// A run has exactly one Target. It holds what the writes need: the kind
// (a registry or an OCI image layout directory, and whether this is a dry
// run), the registry's address, the resolved credentials, the TLS and
// timeout settings and the BlobSink every write goes through. Layers,
// configs, manifests, manifest lists and Helm OCI charts all land through
// sink(); nothing else in the program makes a RegistryClient of its own
// for a write.
//
// Thread-safety: Open is called once, before any worker starts; after it,
// every method is const or thread-safe (the sink and the client are), so
// one Target is shared by every archive of the run.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "docker_io/registry/http_transport.h"
#include "docker_io/registry/registry_client.h"
#include "docker_io/target/blob_sink.h"

namespace ppa {

// Makes the run's HTTP transport from the TLS and timeout settings. The
// seam for tests of the whole load without a server (a fake transport);
// null means MakeCurlTransport.
using TransportFactory =
    std::function<std::shared_ptr<HttpTransport>(const TransportOptions& options)>;

enum class TargetKind {
  kRegistry,  // an OCI distribution registry (--registry HOST...)
  kLayout,    // an OCI image layout directory (--registry oci:DIR, or none)
};

// Everything a Target is made from, resolved by the caller (importer/load/
// load_target.h: flags, environment, credential files).
struct TargetConfig {
  TargetKind kind = TargetKind::kLayout;
  RegistryEndpoint endpoint;  // kRegistry: host[:port] and plain HTTP or not
  std::string prefix;         // kRegistry: path below the host; may be empty
  std::string layout_dir;     // kLayout: the directory (made absolute by Open)
  Credentials credentials;    // kRegistry: resolved once (importer/cli/credentials.h)
  // TLS files, --insecure and --timeout: the registry's, and those of any
  // other server the run talks to (a ChartMuseum) through transport().
  TransportOptions transport;
  bool dry_run = false;  // every write is checked and reported, none is made
  TransportFactory make_transport;  // null: MakeCurlTransport(transport)
};

class Target {
 public:
  // Opens the target: a registry is connected and asked once, with the
  // credentials, whether it answers as a registry and accepts them (GET
  // /v2/), so a wrong password is one clear failure, not one per image;
  // its error names the registry. A layout directory is created (with its
  // `oci-layout` marker and index.json) unless this is a dry run, which
  // writes nothing anywhere.
  static Result<std::unique_ptr<Target>> Open(TargetConfig config);

  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  TargetKind kind() const { return config_.kind; }
  bool is_registry() const { return config_.kind == TargetKind::kRegistry; }
  bool dry_run() const { return config_.dry_run; }
  // The registry's host ("" for a layout) and path prefix.
  const RegistryEndpoint& endpoint() const { return config_.endpoint; }
  const std::string& prefix() const { return config_.prefix; }
  // The layout directory, absolute ("" for a registry).
  const std::string& layout_dir() const { return config_.layout_dir; }
  const Credentials& credentials() const { return config_.credentials; }
  const TransportOptions& transport_options() const { return config_.transport; }

  // The run's one HTTP transport (made on first use, then shared): the
  // registry's, and a ChartMuseum's with the same TLS settings.
  std::shared_ptr<HttpTransport> transport() const;
  // The registry client every registry write goes through; null for a
  // layout. Shared by every thread of the run.
  std::shared_ptr<RegistryClient> registry() const { return client_; }

  // The sink every write goes through: the registry's or the layout's, or
  // in a dry run one that writes nothing (docker_io/target/blob_sink.h).
  BlobSink& sink() const { return dry_run_sink_ ? *dry_run_sink_ : *sink_; }

  // How users name the target: "host:port[/prefix]" or "oci:DIR".
  std::string Describe() const;
  // How users name repository `repo` of it: "host:port/repo" or "oci:DIR:repo".
  std::string Locate(const std::string& repo) const { return sink().Locate(repo); }

 private:
  explicit Target(TargetConfig config) : config_(std::move(config)) {}
  Status Connect();
  Status OpenLayout();

  TargetConfig config_;
  mutable std::once_flag transport_once_;
  mutable std::shared_ptr<HttpTransport> transport_;  // set once, under transport_once_
  std::shared_ptr<RegistryClient> client_;            // kRegistry only
  std::unique_ptr<BlobSink> sink_;                    // may be null in a dry run of a layout
  std::unique_ptr<BlobSink> dry_run_sink_;            // dry runs: wraps sink_
};

}  // namespace ppa
