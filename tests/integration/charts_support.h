// Shared pieces of the charts integration tests: archives with public Helm
// test charts, generated charts with repository-keys and hostile charts,
// and the real `helm` client (fetched by scripts/fetch_helm.sh).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "samples/generator/sample_archive.h"
#include "tests/support/load_fixture.h"
#include "tests/support/raw_tar.h"

namespace ppa::test {

// A chart with images whose values.yaml keys are listed in the manifest.
// With `subchart`, a directory subchart "mysql" under charts/ (the
// generator does not list it in Chart.yaml, so `helm lint` objects to it).
inline samples::ChartSpec AppChart(const std::string& version = "1.0.0",
                                   const std::string& description = "Blue Compute",
                                   bool subchart = true) {
  return samples::ChartSpec{"bluecompute",
                            version,
                            description,
                            "0.5.0",
                            {{"auth.image.repository", "ibmcase/bluecompute-auth", "0.5.0"},
                             {"web.image.repository", "ibmcase/bluecompute-web", "0.5.0"}},
                            subchart ? std::vector<std::string>{"mysql"}
                                     : std::vector<std::string>{},
                            true};
}

inline std::string TestDataChart(const std::string& name) {
  auto bytes = ReadFileToString(std::string(PPA_TEST_DATA_DIR) + "/charts/" + name);
  EXPECT_TRUE(bytes.ok()) << name;
  return bytes.ok() ? *bytes : std::string();
}

// The app chart plus Helm's own test charts; with `bad`, a zero-byte chart
// and one whose entries try to escape.
inline samples::PpaArchiveSpec ChartsArchive(const samples::ChartSpec& app, bool bad = false) {
  samples::PpaArchiveSpec spec;
  spec.charts = {{"charts/" + app.name + "-" + app.version + ".tgz", app}};
  std::string yaml = "# charts only\ncharts:\n  - archive: file:" + app.name + "-" + app.version +
                     ".tgz\n    repository-keys:\n      - auth.image.repository\n"
                     "      - web.image.repository\n      - missing.image.repository\n";
  for (const char* name : {"frobnitz-1.2.3.tgz", "compressedchart-0.1.0.tgz"}) {
    spec.extra_files.emplace_back(std::string("charts/") + name, TestDataChart(name));
    yaml += std::string("  - archive: charts/") + name + "\n";
  }
  if (bad) {
    spec.extra_files.emplace_back("charts/empty-0.1.0.tgz", "");
    spec.extra_files.emplace_back(
        "charts/escape-0.1.0.tgz",
        Gzip(BuildRawTar({{"escape/Chart.yaml", '0', "apiVersion: v2\nname: escape\nversion: 0.1.0\n"},
                          {"escape/../../evil.txt", '0', "boom"}})));
    yaml += "  - archive: charts/empty-0.1.0.tgz\n  - archive: charts/escape-0.1.0.tgz\n";
  }
  spec.manifest_yaml = yaml;
  return spec;
}

// The helm binary: $PPA_HELM, else <build>/tools/helm-v3.17.3/helm; "" if none.
inline std::string FindHelm() {
  if (const char* env = std::getenv("PPA_HELM"); env != nullptr && access(env, X_OK) == 0) {
    return env;
  }
  const std::filesystem::path binary(PPA_IMPORT_BINARY);
  const auto candidate = binary.parent_path().parent_path() / "tools/helm-v3.17.3/helm";
  if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  return "";
}

// Runs helm with its config, cache and data in `home` (never the user's).
inline ProcessResult RunHelm(const std::string& helm, const std::string& home,
                             std::vector<std::string> args) {
  args.insert(args.begin(), helm);
  return RunProcess(args, std::nullopt,
                    {{"HOME", home},
                     {"HELM_CONFIG_HOME", home + "/config"},
                     {"HELM_CACHE_HOME", home + "/cache"},
                     {"HELM_DATA_HOME", home + "/data"},
                     {"HELM_REGISTRY_CONFIG", home + "/registry.json"}});
}

}  // namespace ppa::test
