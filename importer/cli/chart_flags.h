// Registers the chart flags on the `load` subcommand.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "base/status.h"

#include "importer/load/chart_options.h"

namespace ppa {

// Adds --keep-chart-values, --charts-oci, --force-charts and the
// --chartmuseum-* flags to `load`, writing into `options` (which must
// outlive parsing). --chartmuseum-password-stdin reads one line from
// standard input while parsing; it excludes the registry's --password-stdin
// when that flag is registered first. Environment variables are read later,
// by the Charts stage (ResolveChartMuseumConfig).
void AddChartFlags(CLI::App* load, ChartOptions& options);

// After parsing `load`: notes whether --chartmuseum-password was given on
// the command line itself (not through the environment or the config file),
// the only case that warns about the process list.
void NoteChartSecretsOnCommandLine(const CLI::App& load, ChartOptions& options);

// OK for "" (no ChartMuseum) and for an http:// or https:// URL with a host
// (user info, port and path allowed). kInvalidInput with a hint otherwise: no
// scheme ("charts.example:8080"), another scheme (ftp://), no host, a port
// that is not a number, white space or control characters (pure).
Status ValidateChartMuseumUri(const std::string& uri);

}  // namespace ppa
