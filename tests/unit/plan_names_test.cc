// docs/archives.md, "Naming the targets": the plan carries, per item, the first problem found.
// An invalid name (RepoTags or index annotations without a PPA manifest;
// repository, pull-repository or fat-manifest name with one) fails its item
// with "invalid image name", leaves its target empty, and is not hidden by
// a later step that finds the image itself fine (the bug: the RepoTags
// parse problem was overwritten with the image's OK, and the image went to
// "/v2//blobs/...").
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "archive/manifest/ppa_manifest.h"
#include "importer/load/plan.h"

namespace ppa {
namespace {

ImageSource Image(std::vector<std::string> names, std::string config_digest) {
  ImageSource image;
  image.tarball = "/nonexistent/images.tar";
  image.origin = "images/a.tar";
  image.names = std::move(names);
  image.config_digest = std::move(config_digest);
  image.platform = Platform{"linux", "amd64", ""};
  return image;
}

PlanInput Input(std::vector<ImageSource> images) {
  PlanInput input;
  input.root = "/nonexistent";
  input.files = {"images/a.tar"};
  input.target_namespace = "test_ns";
  input.read_image_file = [images](const std::string&, const std::string&) {
    return Result<std::vector<ImageSource>>(images);
  };
  return input;
}

const PlannedImage* Find(const ImportPlan& plan, const std::string& name) {
  for (const auto& g : plan.groups) {
    for (const auto& i : g.images) {
      if (i.name == name) return &i;
    }
  }
  return nullptr;
}

const char* const kHostileRepoTags[] = {
    "Upper/case:1", "/abs:1",     "//double:1", "a//b:1", "../escape:1", "a/../../b:1",
    "a/./b:1",      "a?b:1",      "a#b:1",      "a b:1",  "%2e%2e/x:1",  "a\x1b]0;x:1",
    "x:../../t",    "x/y:t/../u", "a/:1",       "_a:1",   "a@sha256:12", ":1",
};

TEST(PlanNames, InvalidRepoTagsFailTheirItemWithoutAManifest) {
  std::vector<std::string> names(std::begin(kHostileRepoTags), std::end(kHostileRepoTags));
  names.push_back("good/app:1.0");
  ImportPlan plan = BuildImportPlan(Input({Image(names, "sha256:" + std::string(64, 'c'))}));
  ASSERT_EQ(plan.ImageCount(), names.size());
  for (const char* bad : kHostileRepoTags) {
    const PlannedImage* item = Find(plan, bad);
    ASSERT_NE(item, nullptr) << bad;
    ASSERT_FALSE(item->problem.ok()) << "not reported: " << bad;
    EXPECT_EQ(item->problem.message().rfind("invalid image name '", 0), 0u)
        << item->problem.message();
    EXPECT_TRUE(item->target.repository.empty()) << bad << " -> " << item->target.repository;
  }
  const PlannedImage* good = Find(plan, "good/app:1.0");
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->problem.ok()) << good->problem.message();
  EXPECT_EQ(good->target.repository, "test_ns/good/app");
  EXPECT_EQ(good->target.tag, "1.0");
}

// The name's problem stays first even when the image is unusable too.
TEST(PlanNames, NameProblemIsNotOverwrittenByTheImageProblem) {
  ImageSource broken = Image({"/abs:1"}, "sha256:" + std::string(64, 'd'));
  broken.problem = InvalidInput("layer missing");
  ImportPlan plan = BuildImportPlan(Input({broken}));
  const PlannedImage* item = Find(plan, "/abs:1");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(item->problem.message().rfind("invalid image name '/abs:1'", 0), 0u)
      << item->problem.message();
}

TEST(PlanNames, ItemProblemKeepsTheFirst) {
  ItemProblem p;
  EXPECT_TRUE(p.ok());
  p.Add(Status::Ok());
  EXPECT_TRUE(p.ok());
  p.Add(InvalidInput("first"));
  p.Add(Status::Ok());
  p.Add(NotFound("second"));
  EXPECT_EQ(p.message(), "first");
  EXPECT_EQ(static_cast<const Status&>(p).code(), StatusCode::kInvalidInput);
}

// With a PPA manifest: its repository, pull-repository and fat-manifest
// names are checked; the valid entries of the same manifest still plan.
TEST(PlanNames, InvalidManifestNamesFailTheirItem) {
  PpaManifest manifest;
  auto single = [](std::string name, std::string pull = "") {
    return PpaImage{name, {PpaImageReference{name, pull, std::nullopt, "images/a.tar"}}};
  };
  manifest.images = {
      single("Org/App:1"),
      single("org/../app:1"),
      single("/org/app:1"),
      single("org/app:1?x"),
      single("org/app:2", "docker.io/Evil/../x:1"),
      single("good/app:1.0", "docker.io/vendor/app:1.0"),
      PpaImage{"Fat/List:1",
               {PpaImageReference{"org/ok:1-amd64", "", Platform{"linux", "amd64", ""},
                                  "images/a.tar"}}},
  };
  PlanInput input = Input({Image({"vendor/app:1.0"}, "sha256:" + std::string(64, 'e'))});
  input.manifest = manifest;
  ImportPlan plan = BuildImportPlan(input);
  for (const char* bad : {"Org/App:1", "org/../app:1", "/org/app:1", "org/app:1?x", "org/app:2"}) {
    const PlannedImage* item = Find(plan, bad);
    ASSERT_NE(item, nullptr) << bad;
    ASSERT_FALSE(item->problem.ok()) << bad;
    EXPECT_EQ(item->problem.message().rfind("invalid image name '", 0), 0u)
        << item->problem.message();
  }
  const PlannedImage* good = Find(plan, "good/app:1.0");
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->problem.ok()) << good->problem.message();
  // The fat manifest's own name is invalid: the list fails, its valid
  // platform image still goes.
  const PlannedGroup* fat = nullptr;
  for (const auto& g : plan.groups) {
    if (g.name == "Fat/List:1") fat = &g;
  }
  ASSERT_NE(fat, nullptr);
  EXPECT_FALSE(fat->problem.ok());
  EXPECT_FALSE(fat->list_target.has_value());
  EXPECT_EQ(fat->problem.message().rfind("invalid image name 'Fat/List:1'", 0), 0u);
  ASSERT_EQ(fat->images.size(), 1u);
  EXPECT_TRUE(fat->images[0].problem.ok()) << fat->images[0].problem.message();
}

}  // namespace
}  // namespace ppa
