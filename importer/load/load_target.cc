#include "importer/load/load_target.h"

#include <string>
#include <utility>

#include "base/file_util.h"
#include "importer/cli/credentials.h"

namespace ppa {
namespace {

// The target `spec` names, with the credentials and TLS settings of
// `target`; a dry run's target writes nothing.
Result<TargetConfig> ConfigOf(const TargetSpec& spec, const TargetOptions& target, bool dry_run) {
  TargetConfig config{.kind = TargetKind::kLayout,
                      .layout_dir = spec.layout_dir,
                      .transport = target.transport,
                      .dry_run = dry_run,
                      .make_transport = target.make_transport};
  if (spec.kind == TargetSpec::Kind::kRegistry) {
    config.kind = TargetKind::kRegistry;
    config.endpoint = spec.registry.endpoint;
    config.prefix = spec.registry.prefix;
    PPA_ASSIGN_OR_RETURN(config.credentials, TargetCredentials(spec.registry, target));
  }
  return config;
}

}  // namespace

Result<Credentials> TargetCredentials(const RegistryAddress& address,
                                      const TargetOptions& target) {
  if (!target.credentials.empty() || !target.credentials.source.empty()) {
    return target.credentials;
  }
  CredentialRequest request{.host = address.endpoint.host,
                            .repository_path = address.prefix,
                            .userinfo = address.userinfo};
  if (!target.target_namespace.empty()) {
    request.repository_path +=
        (request.repository_path.empty() ? "" : "/") + target.target_namespace;
  }
  PPA_ASSIGN_OR_RETURN(ResolvedCredentials resolved,
                       ResolveCredentials(request, DefaultCredentialIo()));
  return std::move(resolved.credentials);
}

Result<std::unique_ptr<Target>> OpenLoadTarget(const LoadOptions& options, Reporter& reporter) {
  const TargetOptions& target = options.target;
  PPA_ASSIGN_OR_RETURN(
      TargetSpec spec,
      ParseTarget(target.registry, options.work.workdir,
                  {.plain_http = target.plain_http,
                   .transport = &target.transport,
                   .tls_server_besides = !options.charts.chartmuseum_uri.empty()}));
  if (spec.kind == TargetSpec::Kind::kRegistry) {
    std::string doubled = DoubledNamespaceWarning(spec.registry, target.target_namespace);
    if (!doubled.empty()) reporter.Warning(doubled);
  }
  if (spec.default_layout) {
    reporter.Progress(std::string("No registry configured (--registry, PPA_IMPORT_REGISTRY): ") +
                      (options.dry_run ? "would write" : "writing") +
                      " images to the OCI image layout '" + AbsolutePath(spec.layout_dir) + "'.");
  }
  PPA_ASSIGN_OR_RETURN(TargetConfig config, ConfigOf(spec, target, options.dry_run));
  return Target::Open(std::move(config));
}

}  // namespace ppa
