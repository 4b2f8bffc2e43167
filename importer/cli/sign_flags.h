// Registers the signing flags on `load` (README, "Signing").
#pragma once

#include <CLI/CLI.hpp>

#include "importer/load/load_options.h"

namespace ppa {

// Adds --sign-by, --sign-key, --sign-passphrase-file, --sign-identity and
// --registries.d, writing into `options` (which must outlive parsing).
void AddSignFlags(CLI::App* load, SignOptions& options);

// The usage errors of the signing flags (pure): --sign-passphrase-file or
// --sign-identity without a signing key; a --sign-identity that is no
// REGISTRY[/PREFIX] (a scheme, a tag or a digest).
Status CheckSignUsage(const SignOptions& options);

}  // namespace ppa
