// The Charts stage: each chart is validated as Helm would load it and
// written to the charts folder. A bad chart fails alone.
#pragma once

#include <string>

#include "importer/plan.h"
#include "importer/report.h"

namespace ppa {

struct ChartsOptions {
  std::string charts_dir;  // ppa-import/charts (absolute)
  bool dry_run = false;
};

void HandleCharts(const ImportPlan& plan, const ChartsOptions& options, Reporter& reporter);

}  // namespace ppa
