// Registers the chart flags on the `load` subcommand.
#pragma once

#include <CLI/CLI.hpp>

#include "importer/chart_options.h"

namespace ppa {

// Adds --keep-chart-values, --charts-oci, --force-charts and the
// --chartmuseum-* flags to `load`, writing into `options` (which must
// outlive parsing). --chartmuseum-password-stdin reads one line from
// standard input while parsing; it excludes the registry's --password-stdin
// when that flag is registered first. Environment variables are read later,
// by the Charts stage (ResolveChartMuseumConfig).
void AddChartFlags(CLI::App* load, ChartOptions& options);

}  // namespace ppa
