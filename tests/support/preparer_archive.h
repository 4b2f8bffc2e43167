// An unpacked archive for the tests of the layer preparer and what drives
// it (AheadOfUnpack, spool release, blob-ready signals): the plan input that
// reads image files through a LayerPreparer as the Unpack stage hands them
// over, and a one-image archive to feed it.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "importer/load/layer_preparer.h"
#include "importer/load/plan.h"
#include "samples/generator/sample_archive.h"
#include "tests/support/raw_tar.h"  // WriteFileOrDie

namespace ppa::test {

// The plan input of the unpacked archive at `root` (target namespace "ns"),
// whose image files `preparer` reads.
inline PlanInput PreparerPlanInput(const std::string& root, const std::string& scratch,
                                   LayerPreparer& preparer) {
  return PlanInput{.root = root,
                   .scratch_dir = scratch,
                   .target_namespace = "ns",
                   .read_image_file = [&preparer](const std::string& path, const std::string& rel) {
                     return preparer.ImageFile(path, rel);
                   }};
}

// Writes `root`/images/app.tar, a legacy docker save of "ibmcom/app:1.0"
// (linux/amd64, two layers), and `root`/manifest.yaml naming it as the amd64
// image of "ibmcom/app:1.0"; returns the image written.
inline samples::WrittenImage WriteOneAppArchive(const std::string& root) {
  std::filesystem::create_directories(root + "/images");
  samples::ImageSpec app{{"ibmcom/app:1.0"},
                         "linux",
                         "amd64",
                         "",
                         {"/bin/sh"},
                         {samples::LayerSpec{1, 20, 4096}, samples::LayerSpec{2, 10, 2048}}};
  samples::ImageTarballSpec spec{samples::ImageTarballFormat::kDockerLegacy, false, 6, {app}};
  auto written = samples::WriteImageTarballFile(spec, root + "/images/app.tar");
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  samples::YamlReference ref{"ibmcom/app:1.0-amd64", "", "linux", "amd64", "", "images/app.tar"};
  WriteFileOrDie(root + "/manifest.yaml",
                 samples::RenderManifestYaml({{"ibmcom/app:1.0", {ref}}}, {}));
  return written.ok() ? written->front() : samples::WrittenImage{};
}

}  // namespace ppa::test
