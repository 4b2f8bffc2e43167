// Memory amplification (README, "Security"). The real `ppa-import load` and
// `inspect` on archives whose manifests, image-tarball documents or chart
// values would take gigabytes once parsed and walked (aliases, flat lists,
// index fan-out, one config named by many images). Each run must end with
// the expected exit status and error, and its peak RSS (the child's
// ru_maxrss from wait4) must stay at or under 256 MiB. The child runs under
// RLIMIT_AS and RLIMIT_CPU so that a regression fails instead of taking the
// machine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "docker_io/image/digest.h"
#include "tests/support/hostile_documents.h"
#include "tests/support/load_fixture.h"
#include "tests/support/peak_rss_process.h"
#include "tests/support/raw_tar.h"
#include "tests/support/registry_server.h"

namespace ppa {
namespace {

using test::RawTarEntry;

// PPA_ASAN_BUILD: the code under test is instrumented though this file is
// not (tests/CMakeLists.txt).
#if defined(__SANITIZE_ADDRESS__) || defined(PPA_ASAN_BUILD)
// AddressSanitizer's shadow memory and quarantine come on top: a gross
// regression (the gigabytes of the issue) still fails.
constexpr uint64_t kPeakBudget = 768ull << 20;
constexpr bool kSanitized = true;
#else
constexpr uint64_t kPeakBudget = 256ull << 20;
constexpr bool kSanitized = false;
#endif

using test::ManifestAliasBomb;
using test::Repeat;

std::string Tgz(const std::vector<RawTarEntry>& entries) {
  return test::Gzip(test::BuildRawTar(entries));
}

// ---------------------------------------------------------------------------
// Hostile documents


std::string BillionLaughs(const std::string& top_key) {
  std::string y = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    y += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + Repeat(prev + ", ", 9) +
         prev + "]\n";
  }
  return y + top_key + ": *l8\n";
}

std::string MergeKeyBomb() {
  std::string y = "b0: &b0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}\n";
  for (int i = 1; i < 8; ++i) {
    y += "b" + std::to_string(i) + ": &b" + std::to_string(i) + "\n";
    for (int k = 0; k < 10; ++k) {
      y += "  k" + std::to_string(k) + ":\n    <<: *b" + std::to_string(i - 1) + "\n";
    }
  }
  return y;
}

// One image of a docker save: a one-file layer and its config, padded with
// a comment of `padding` bytes.
struct SavedImage {
  std::string layer = test::BuildRawTar({{"hello.txt", '0', "hello\n"}});
  std::string Config(size_t padding, const std::string& salt = "") const {
    return R"({"architecture":"amd64","os":"linux","comment":")" + std::string(padding, 'x') +
           salt + R"(","rootfs":{"type":"layers","diff_ids":[")" + Sha256Digest(layer) +
           R"("]}})";
  }
};

// A docker save tarball with `entries` manifest.json entries, all naming
// the same config and `layers_per_entry` times the same layer.
std::string DockerSave(size_t entries, size_t config_padding, size_t layers_per_entry = 1) {
  SavedImage image;
  std::string manifest = "[";
  for (size_t i = 0; i < entries; ++i) {
    manifest += std::string(i ? "," : "") + R"({"Config":"config.json","RepoTags":["org/app:)" +
                std::to_string(i) + R"("],"Layers":[)" +
                Repeat(R"("layer.tar",)", layers_per_entry - 1) + R"("layer.tar"]})";
  }
  manifest += "]";
  return test::BuildRawTar({{"layer.tar", '0', image.layer},
                            {"config.json", '0', image.Config(config_padding)},
                            {"manifest.json", '0', manifest}});
}

std::string Blob(const std::string& bytes) {
  return "blobs/sha256/" + std::string(DigestHex(Sha256Digest(bytes)));
}

std::string Descriptor(const char* media_type, const std::string& bytes) {
  return std::string(R"({"mediaType":")") + media_type + R"(","digest":")" + Sha256Digest(bytes) +
         R"(","size":)" + std::to_string(bytes.size()) + "}";
}

constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";
constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar";

std::string OciIndex(const std::string& child, const char* type, size_t fan_out) {
  const std::string d = Descriptor(type, child);
  return R"({"schemaVersion":2,"manifests":[)" + Repeat(d + ",", fan_out - 1) + d + "]}";
}

// An OCI layout tarball: index.json fans out `fan_out` times per level
// through `levels` levels of nested indexes down to one image.
std::string OciFanOut(size_t fan_out, int levels) {
  SavedImage image;
  const std::string config = image.Config(0);
  const std::string manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(kManifestType) +
                               R"(","config":)" + Descriptor(kConfigType, config) +
                               R"(,"layers":[)" + Descriptor(kLayerType, image.layer) + "]}";
  std::vector<RawTarEntry> entries = {{"oci-layout", '0', R"({"imageLayoutVersion":"1.0.0"})"},
                                      {Blob(image.layer), '0', image.layer},
                                      {Blob(config), '0', config},
                                      {Blob(manifest), '0', manifest}};
  std::string child = manifest;
  const char* type = kManifestType;
  for (int level = 0; level < levels; ++level) {
    std::string index = OciIndex(child, type, fan_out);
    entries.push_back({Blob(index), '0', index});
    child = index;
    type = kIndexType;
  }
  entries.push_back({"index.json", '0', OciIndex(child, type, fan_out)});
  return test::BuildRawTar(entries);
}

// An OCI layout of `images` images, each with its own config of
// `config_bytes` bytes.
std::string OciDistinctConfigs(size_t images, size_t config_bytes) {
  SavedImage image;
  std::vector<RawTarEntry> entries = {{"oci-layout", '0', R"({"imageLayoutVersion":"1.0.0"})"},
                                      {Blob(image.layer), '0', image.layer}};
  std::string index = R"({"schemaVersion":2,"manifests":[)";
  for (size_t i = 0; i < images; ++i) {
    const std::string config = image.Config(config_bytes, std::to_string(i));
    const std::string manifest = R"({"schemaVersion":2,"mediaType":")" +
                                 std::string(kManifestType) + R"(","config":)" +
                                 Descriptor(kConfigType, config) + R"(,"layers":[)" +
                                 Descriptor(kLayerType, image.layer) + "]}";
    entries.push_back({Blob(config), '0', config});
    entries.push_back({Blob(manifest), '0', manifest});
    std::string d = Descriptor(kManifestType, manifest);
    d.insert(d.size() - 1, R"(,"annotations":{"org.opencontainers.image.ref.name":"org/app:)" +
                               std::to_string(i) + R"("})");
    index += (i ? "," : "") + d;
  }
  entries.push_back({"index.json", '0', index + "]}"});
  return test::BuildRawTar(entries);
}

// A chart archive app/ with `values` as values.yaml (and Chart.yaml).
std::string Chart(const std::string& values, const std::string& chart_yaml = "") {
  return Tgz({{"app/Chart.yaml", '0',
               chart_yaml.empty() ? "apiVersion: v2\nname: app\nversion: 1.0.0\n" : chart_yaml},
              {"app/values.yaml", '0', values}});
}

constexpr char kChartManifest[] =
    "charts:\n  - archive: charts/app.tgz\n    repository-keys: [image.repository]\n";

// ---------------------------------------------------------------------------

struct Expected {
  int exit_code;
  std::vector<std::string> words;  // each must appear in the output
  bool one_error_line = false;     // exactly one "Error: " line (a fatal error)
};

class HostileMemoryTest : public ::testing::Test {
 protected:
  // Runs `command` ("load" or "inspect") on `archive_bytes`; checks the
  // outcome and the peak RSS.
  void Run(const std::string& label, const std::string& command, const std::string& archive_bytes,
           const Expected& expected, const std::string& registry_host = "") {
    const std::string archive = dir_.Join(label + ".tgz");
    test::WriteFileOrDie(archive, archive_bytes);
    std::vector<std::string> argv = {PPA_IMPORT_BINARY, command, archive, "--workdir",
                                     dir_.Join("work")};
    if (command == "load") {
      for (std::string a : {"--namespace", "test_ns", "--registry"}) argv.push_back(a);
      if (registry_host.empty()) {
        argv.push_back("oci:" + dir_.Join("layout"));
      } else {
        argv.push_back(registry_host);
        argv.push_back("--plain-http");
      }
    }
    std::map<std::string, std::string> env = {{"HOME", dir_.path()}};
    uint64_t address_space = 4ull << 30;
    if (kSanitized) {
      const char* asan = std::getenv("ASAN_OPTIONS");
      env["ASAN_OPTIONS"] = std::string(asan ? asan : "") + ":quarantine_size_mb=16";
      address_space = 0;
    }
    test::MeasuredProcess run =
        test::RunMeasured(argv, env, dir_.path(),
                          address_space ? address_space : ~uint64_t{0});
    const std::string output = test::Output(run.result);
    EXPECT_EQ(run.result.exit_code, expected.exit_code) << label << "\n" << output;
    for (const std::string& word : expected.words) {
      EXPECT_NE(output.find(word), std::string::npos)
          << label << ": the output must say '" << word << "'\n" << output;
    }
    if (expected.one_error_line) {
      size_t errors = 0;
      for (size_t at = run.result.stderr_text.find("Error: "); at != std::string::npos;
           at = run.result.stderr_text.find("Error: ", at + 1)) {
        ++errors;
      }
      EXPECT_EQ(errors, 1u) << label << "\n" << run.result.stderr_text;
    }
    EXPECT_LE(run.peak_rss_bytes, kPeakBudget)
        << label << ": peak RSS " << (run.peak_rss_bytes >> 20) << " MiB\n" << output;
    RecordProperty(label + "_peak_rss_mib", std::to_string(run.peak_rss_bytes >> 20));
  }

  // load (to an OCI layout) and inspect, both refusing the archive (exit 3).
  void ExpectArchiveRefused(const std::string& label, const std::string& archive_bytes,
                            const std::vector<std::string>& words) {
    Run(label + "-load", "load", archive_bytes, {3, words, true});
    Run(label + "-inspect", "inspect", archive_bytes, {3, words, true});
  }

  std::string RegistryHost() {
    if (!registry_) {
      auto server = test::RegistryServer::Start();
      EXPECT_TRUE(server.ok()) << server.status().ToString();
      if (server.ok()) registry_ = std::move(server).value();
    }
    return registry_ ? registry_->host() : "127.0.0.1:1";
  }

  test::TempDir dir_{"ppa-hostile-memory"};
  std::unique_ptr<test::RegistryServer> registry_;
};

// --- manifest.yaml: the archive's fault, exit 3 --------------------------

TEST_F(HostileMemoryTest, ManifestYamlReferencesAliasedByEveryImage) {
  // 12 KB of YAML that walked into 16 GB.
  const std::string yaml = ManifestAliasBomb(40, 250);
  ASSERT_LT(yaml.size(), 20'000u);
  ExpectArchiveRefused("yaml-alias-refs", Tgz({{"manifest.yaml", '0', yaml}}),
                       {"manifest.yaml", "limit of 100000 nodes"});
}

TEST_F(HostileMemoryTest, ManifestYamlBillionLaughs) {
  ExpectArchiveRefused("yaml-laughs", Tgz({{"manifest.yaml", '0', BillionLaughs("images")}}),
                       {"manifest.yaml", "limit of 100000 nodes"});
}

TEST_F(HostileMemoryTest, ManifestYamlMergeKeys) {
  ExpectArchiveRefused("yaml-merge", Tgz({{"manifest.yaml", '0', MergeKeyBomb()}}),
                       {"manifest.yaml", "limit of 100000 nodes"});
}

TEST_F(HostileMemoryTest, ManifestYamlFlatListOf60MiB) {
  ExpectArchiveRefused("yaml-flat-60m",
                       Tgz({{"manifest.yaml", '0', "images:\n" + Repeat("- a\n", 15 << 20)}}),
                       {"manifest.yaml", "limit of 8388608 bytes"});
}

TEST_F(HostileMemoryTest, ManifestYamlFlatListUnderTheByteLimit) {
  ExpectArchiveRefused("yaml-flat-7m",
                       Tgz({{"manifest.yaml", '0', "images:\n" + Repeat("- a\n", 7 << 18)}}),
                       {"manifest.yaml", "limit of 100000 nodes"});
}

TEST_F(HostileMemoryTest, ManifestYamlDeepNesting) {
  ExpectArchiveRefused(
      "yaml-deep",
      Tgz({{"manifest.yaml", '0', "images: " + Repeat("[", 1500) + Repeat("]", 1500) + "\n"}}),
      {"manifest.yaml", "limit of 64 levels"});
}

TEST_F(HostileMemoryTest, ManifestYamlBigScalarAliased) {
  const std::string yaml = "r: &r '" + std::string(1 << 20, 'x') + "'\nimages:\n" +
                           Repeat("  - {image: *r}\n", 40);
  ExpectArchiveRefused("yaml-big-scalar", Tgz({{"manifest.yaml", '0', yaml}}),
                       {"manifest.yaml", "limit of 16777216 bytes of values"});
}

// --- manifest.json (PPA): the archive's fault, exit 3 ---------------------

TEST_F(HostileMemoryTest, ManifestJsonOf60MiB) {
  // 1.09 GB in `inspect`.
  const std::string entry = R"({"image":"org/a","tag":"1","archive":"images/a.tar"},)";
  const std::string json =
      R"({"images":[)" + Repeat(entry, (60 << 20) / entry.size()) + R"({"image":"z"}]})";
  ExpectArchiveRefused("json-60m", Tgz({{"manifest.json", '0', json}}),
                       {"manifest.json", "limit of 16777216 bytes"});
}

TEST_F(HostileMemoryTest, ManifestJsonManyValuesUnderTheByteLimit) {
  const std::string json = R"({"images":[)" + Repeat("{},", 1'000'000) + "{}]}";
  ExpectArchiveRefused("json-values", Tgz({{"manifest.json", '0', json}}),
                       {"manifest.json", "limit of 200000 values"});
}

TEST_F(HostileMemoryTest, ManifestJsonDeepNesting) {
  const std::string json = R"({"images":)" + Repeat("[", 100000) + Repeat("]", 100000) + "}";
  ExpectArchiveRefused("json-deep", Tgz({{"manifest.json", '0', json}}),
                       {"manifest.json", "limit of 64 levels"});
}

TEST_F(HostileMemoryTest, ManifestJsonBesideAGoodManifestYaml) {
  const std::string json = R"({"charts":[)" + Repeat(R"({"archive":"c"},)", 300'000) + "{}]}";
  ExpectArchiveRefused("json-beside-yaml",
                       Tgz({{"manifest.yaml", '0', "images: []\n"}, {"manifest.json", '0', json}}),
                       {"manifest.json", "limit of 200000 values"});
}

TEST_F(HostileMemoryTest, ManifestJsonObjectOfManyKeys) {
  std::string json = R"({"images":[],"x":{)";
  for (int i = 0; i < 150'000; ++i) json += "\"k" + std::to_string(i) + "\":0,";
  json += "\"end\":0}}";
  ExpectArchiveRefused("json-keys", Tgz({{"manifest.json", '0', json}}),
                       {"manifest.json", "limit of 200000 values"});
}

// --- image tarballs: that image file fails (exit 1), others go on ---------

TEST_F(HostileMemoryTest, OciIndexFanOutOf40PerLevel) {
  // 1.5 GiB in 20 s.
  Run("oci-fan-out", "load", Tgz({{"images/fan.tar", '0', OciFanOut(40, 3)}}),
      {1, {"images/fan.tar", "limit of 1024 image manifests"}});
  Run("oci-fan-out-inspect", "inspect", Tgz({{"images/fan.tar", '0', OciFanOut(40, 3)}}),
      {1, {"images/fan.tar", "limit of 1024 image manifests"}});
}

TEST_F(HostileMemoryTest, OciIndexFanOutOfOneWideIndex) {
  Run("oci-wide", "load", Tgz({{"images/wide.tar", '0', OciFanOut(3000, 0)}}),
      {1, {"images/wide.tar", "limit of 1024 image manifests"}});
}

TEST_F(HostileMemoryTest, OneBigConfigNamedBy300SaveEntriesIsSharedAndImported) {
  // 16 MiB per reference before: now one buffer, and the images import.
  Run("shared-config", "load", Tgz({{"images/many.tar", '0', DockerSave(300, 15 << 20)}}),
      {0, {"org/app:299"}});
}

TEST_F(HostileMemoryTest, DockerSaveWithTooManyEntries) {
  Run("save-entries", "load", Tgz({{"images/many.tar", '0', DockerSave(2000, 10)}}),
      {1, {"images/many.tar", "limit of 1024 image manifests"}});
}

TEST_F(HostileMemoryTest, DockerSaveEntriesTimesLayers) {
  Run("save-layers", "load", Tgz({{"images/layers.tar", '0', DockerSave(100, 10, 500)}}),
      {1, {"images/layers.tar", "limit of 16384 layers"}});
}

TEST_F(HostileMemoryTest, ManyDistinctBigConfigs) {
  // 12 images of 12 MiB configs each, in one file: the configs held in
  // memory are bounded, the images past the bound fail.
  Run("distinct-configs", "load", Tgz({{"images/big.tar", '0', OciDistinctConfigs(12, 12 << 20)}}),
      {1, {"image configs held in memory past the limit"}});
}

TEST_F(HostileMemoryTest, ImageConfigWithTooManyValues) {
  SavedImage image;
  const std::string config = R"({"architecture":"amd64","os":"linux","history":[)" +
                             Repeat("{},", 300'000) + R"({}],"rootfs":{"diff_ids":[")" +
                             Sha256Digest(image.layer) + R"("]}})";
  const std::string tar =
      test::BuildRawTar({{"layer.tar", '0', image.layer},
                         {"config.json", '0', config},
                         {"manifest.json", '0',
                          R"([{"Config":"config.json","RepoTags":["org/a:1"],"Layers":["layer.tar"]}])"}});
  Run("config-values", "load", Tgz({{"images/a.tar", '0', tar}}),
      {1, {"image config has more than the limit of 200000 values"}});
}

// --- chart values and Chart.yaml: that chart fails (exit 1) ---------------

TEST_F(HostileMemoryTest, ValuesYamlFlatListOf5MiBInA4KBChart) {
  // 2.3 GB before.
  const std::string chart = Chart("image:\n  repository: org/a\nlist:\n" + Repeat("- a\n", (5 << 18) - 64));
  ASSERT_LT(chart.size(), 16u << 10);
  Run("values-flat", "load",
      Tgz({{"manifest.yaml", '0', kChartManifest}, {"charts/app.tgz", '0', chart}}),
      {1, {"values.yaml", "limit of 100000 nodes"}}, RegistryHost());
}

TEST_F(HostileMemoryTest, ValuesYamlBillionLaughs) {
  Run("values-laughs", "load",
      Tgz({{"manifest.yaml", '0', kChartManifest},
           {"charts/app.tgz", '0', Chart("image: {repository: org/a}\n" + BillionLaughs("x"))}}),
      {1, {"values.yaml", "limit of 100000 nodes"}}, RegistryHost());
}

TEST_F(HostileMemoryTest, ValuesYamlMergeKeys) {
  Run("values-merge", "load",
      Tgz({{"manifest.yaml", '0', kChartManifest},
           {"charts/app.tgz", '0', Chart("image: {repository: org/a}\n" + MergeKeyBomb())}}),
      {1, {"values.yaml", "limit of 100000 nodes"}}, RegistryHost());
}

TEST_F(HostileMemoryTest, ValuesYamlDeepNesting) {
  Run("values-deep", "load",
      Tgz({{"manifest.yaml", '0', kChartManifest},
           {"charts/app.tgz", '0',
            Chart("image: {repository: org/a}\nx: " + Repeat("[", 1500) + Repeat("]", 1500))}}),
      {1, {"values.yaml", "limit of 64 levels"}}, RegistryHost());
}

TEST_F(HostileMemoryTest, ValuesYamlMapsOfAliasedMaps) {
  std::string values = "image: {repository: org/a}\nm0: &m0 {a: x, b: y}\n";
  for (int i = 1; i < 8; ++i) {
    values += "m" + std::to_string(i) + ": &m" + std::to_string(i) + " {";
    for (int k = 0; k < 10; ++k) {
      values += std::string(k ? ", " : "") + "k" + std::to_string(k) + ": *m" +
                std::to_string(i - 1);
    }
    values += "}\n";
  }
  Run("values-maps", "load",
      Tgz({{"manifest.yaml", '0', kChartManifest}, {"charts/app.tgz", '0', Chart(values)}}),
      {1, {"values.yaml", "limit of 100000 nodes"}}, RegistryHost());
}

TEST_F(HostileMemoryTest, ChartYamlBillionLaughs) {
  const std::string chart_yaml =
      "apiVersion: v2\nname: app\nversion: 1.0.0\n" + BillionLaughs("annotations");
  Run("chart-yaml-laughs", "load",
      Tgz({{"manifest.yaml", '0', kChartManifest},
           {"charts/app.tgz", '0', Chart("image: {repository: org/a}\n", chart_yaml)}}),
      {1, {"Chart.yaml", "limit of 100000 nodes"}}, RegistryHost());
}

}  // namespace
}  // namespace ppa
