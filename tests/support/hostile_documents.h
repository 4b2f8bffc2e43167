// Hostile YAML shapes shared by the unit tests of the bounded loaders and
// the integration tests that run them through the real binary.
#pragma once

#include <string>

namespace ppa::test {

// `s` `n` times.
inline std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// The shape measured at 16 GB: one list of `refs` references aliased by
// each of `images` images of a manifest.yaml.
inline std::string ManifestAliasBomb(int refs, int images) {
  std::string y = "refs: &refs\n";
  for (int i = 0; i < refs; ++i) {
    y += "  - {repository: 'org/app:1-" + std::to_string(i) +
         "', platform: {os: linux, architecture: amd64}, archive: images/a.tar}\n";
  }
  y += "images:\n";
  for (int i = 0; i < images; ++i) {
    y += "  - {image: 'org/app" + std::to_string(i) + ":1', references: *refs}\n";
  }
  return y;
}

// A manifest.yaml naming one image (test_image_2.tar of tests/data, linux/amd64)
// stored as `image_archive`, and the chart frobnitz-1.2.3.
inline std::string OneImageManifestYaml(const std::string& image_archive) {
  return "charts:\n"
         "  - archive: charts/frobnitz-1.2.3.tgz\n"
         "images:\n"
         "  - image: bazel/v1/tarball\n"
         "    references:\n"
         "      - repository: bazel/v1/tarball:test_image_2\n"
         "        platform:\n"
         "          os: linux\n"
         "          architecture: amd64\n"
         "        archive: " +
         image_archive + "\n";
}

}  // namespace ppa::test
