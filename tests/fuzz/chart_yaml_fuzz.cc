// Fuzzes ParseChartYaml and IsValidChartVersion. Asserts that an accepted
// Chart.yaml satisfies the documented requirements on name, version and
// apiVersion.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "helm_io/chart.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)ppa::IsValidChartVersion(input);

  ppa::Result<ppa::ChartMetadata> chart = ppa::ParseChartYaml(input);
  if (!chart.ok()) {
    PPA_FUZZ_CHECK(chart.status().code() == ppa::StatusCode::kInvalidInput);
    return 0;
  }
  const std::string& name = chart->name;
  PPA_FUZZ_CHECK(!name.empty() && name != "." && name != "..");
  PPA_FUZZ_CHECK(name.find('/') == std::string::npos && name.find('\\') == std::string::npos);
  PPA_FUZZ_CHECK(ppa::IsValidChartVersion(chart->version));
  PPA_FUZZ_CHECK(chart->api_version == "v1" || chart->api_version == "v2");
  return 0;
}
