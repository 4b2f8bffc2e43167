#include "importer/load/load_target.h"

#include <string>
#include <utility>

#include "base/file_util.h"
#include "importer/cli/credentials.h"

namespace ppa {
namespace {

// The target `spec` names, with the credentials and TLS settings of `options`.
Result<TargetConfig> ConfigOf(const TargetSpec& spec, const LoadOptions& options) {
  TargetConfig config{.kind = TargetKind::kLayout,
                      .layout_dir = spec.layout_dir,
                      .transport = options.transport,
                      .dry_run = options.dry_run,
                      .make_transport = options.make_transport};
  if (spec.kind == TargetSpec::Kind::kRegistry) {
    config.kind = TargetKind::kRegistry;
    config.endpoint = spec.registry.endpoint;
    config.prefix = spec.registry.prefix;
    PPA_ASSIGN_OR_RETURN(config.credentials, TargetCredentials(spec.registry, options));
  }
  return config;
}

}  // namespace

Result<Credentials> TargetCredentials(const RegistryAddress& address, const LoadOptions& options) {
  if (!options.credentials.empty() || !options.credentials.source.empty()) {
    return options.credentials;
  }
  CredentialRequest request{.host = address.endpoint.host,
                            .repository_path = address.prefix,
                            .userinfo = address.userinfo};
  if (!options.target_namespace.empty()) {
    request.repository_path +=
        (request.repository_path.empty() ? "" : "/") + options.target_namespace;
  }
  PPA_ASSIGN_OR_RETURN(ResolvedCredentials resolved,
                       ResolveCredentials(request, DefaultCredentialIo()));
  return std::move(resolved.credentials);
}

Result<std::unique_ptr<Target>> OpenLoadTarget(const LoadOptions& options, Reporter& reporter) {
  PPA_ASSIGN_OR_RETURN(
      TargetSpec spec,
      ParseTarget(options.registry, options.workdir,
                  {.plain_http = options.plain_http,
                   .transport = &options.transport,
                   .tls_server_besides = !options.charts.chartmuseum_uri.empty()}));
  if (spec.kind == TargetSpec::Kind::kRegistry) {
    std::string doubled = DoubledNamespaceWarning(spec.registry, options.target_namespace);
    if (!doubled.empty()) reporter.Warning(doubled);
  }
  if (spec.default_layout) {
    reporter.Progress(std::string("No registry configured (--registry, PPA_IMPORT_REGISTRY): ") +
                      (options.dry_run ? "would write" : "writing") +
                      " images to the OCI image layout '" + AbsolutePath(spec.layout_dir) + "'.");
  }
  PPA_ASSIGN_OR_RETURN(TargetConfig config, ConfigOf(spec, options));
  return Target::Open(std::move(config));
}

}  // namespace ppa
