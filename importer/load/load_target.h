// The run's Target (docker_io/target/target.h) from `load`'s options:
// --registry parsed (ParseTarget), the credentials resolved in the order
// of importer/cli/credentials.h, the TLS settings, then the target opened
// (a registry connected and pinged once, a layout directory created).
#pragma once

#include <memory>

#include "base/status.h"
#include "docker_io/target/target.h"
#include "importer/load/pipeline.h"
#include "importer/report/report.h"

namespace ppa {

// The credentials the target uses: those the CLI resolved (`target.
// credentials`); a caller that did not resolve them (source still empty)
// gets the same resolution without the flags: user info in --registry,
// IBMCLOUD_API_KEY, then the auth files, for the repositories below
// `target.target_namespace`.
Result<Credentials> TargetCredentials(const RegistryAddress& address,
                                      const TargetOptions& target);

// ParseTarget, the doubled-namespace warning, then Target::Open; a default
// layout target (no --registry) is announced through `reporter`. Reads
// `options.target`, the work directory (where the default layout is), the
// ChartMuseum URI (the TLS flags apply to it) and --dry-run. Errors:
// kInvalidInput for a usage error (exit 2), else the connection's.
Result<std::unique_ptr<Target>> OpenLoadTarget(const LoadOptions& options, Reporter& reporter);

}  // namespace ppa
