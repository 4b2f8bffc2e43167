// Which images keep their archive digest (docker_io/image/kept_digest.h),
// what the image reader keeps of the archive's manifests and indexes, and
// the manifest then pushed (manifest_builder.h). Issue 21, item 5: an OCI
// image with compressed layers landed under a digest of ours.
#include "docker_io/image/kept_digest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

#include "archive/tar/tar_index.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/image_formats.h"
#include "docker_io/image/manifest_builder.h"
#include "docker_io/image/media_types.h"
#include "tests/support/oci_fixtures.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

std::string Data(const std::string& name) {
  return std::string(PPA_TEST_DATA_DIR) + "/images/" + name;
}

// An image as the reader yields it: a stored manifest of `media_type`
// (none when empty) and one layer per entry of `layers`.
ImageSource Image(const std::string& media_type, std::vector<Compression> layers) {
  ImageSource image;
  for (Compression c : layers) image.layers.push_back(LayerSource{.compression = c});
  if (!media_type.empty()) {
    std::string bytes = "{\"manifest\":\"" + media_type + "\"}";
    image.manifest = StoredDocument{.media_type = media_type,
                                    .digest = Sha256Digest(bytes),
                                    .bytes = std::make_shared<const std::string>(bytes)};
  }
  return image;
}

const std::string kOci(media_types::kOciManifest);
const std::string kDocker(media_types::kDockerManifest);

TEST(DecideImageDigest, KeepsOnlyStoredManifestsOfCompressedLayers) {
  using C = Compression;
  const KeepDigestRules registry{}, layout{.oci_only = true}, format{.format_given = true};
  struct Case {
    const char* what;
    ImageSource image;
    KeepDigestRules rules;
    bool kept;
    const char* reason;  // part of the reason when not kept
  } cases[] = {
      {"OCI, gzip layers", Image(kOci, {C::kGzip, C::kGzip}), registry, true, ""},
      {"OCI, zstd layers", Image(kOci, {C::kZstd}), registry, true, ""},
      {"OCI, gzip and zstd", Image(kOci, {C::kGzip, C::kZstd}), registry, true, ""},
      {"OCI, no layer", Image(kOci, {}), registry, true, ""},
      {"Docker manifest to a registry", Image(kDocker, {C::kGzip}), registry, true, ""},
      {"OCI to a layout", Image(kOci, {C::kGzip}), layout, true, ""},
      {"an uncompressed layer", Image(kOci, {C::kGzip, C::kNone}), registry, false,
       "layer 2 of 2 is stored uncompressed"},
      {"docker save: no manifest", Image("", {C::kGzip}), registry, false, "no registry manifest"},
      {"--format given", Image(kOci, {C::kGzip}), format, false, "--format"},
      {"Docker manifest to a layout", Image(kDocker, {C::kGzip}), layout, false, "OCI layout"},
      {"a media type not pushed as is", Image("application/x-other", {C::kGzip}), registry, false,
       "application/x-other"},
  };
  for (const auto& c : cases) {
    DigestDecision d = DecideImageDigest(c.image, c.rules);
    EXPECT_EQ(d.kept, c.kept) << c.what << ": " << d.reason;
    EXPECT_EQ(d.archive_digest, c.image.manifest ? c.image.manifest->digest : "") << c.what;
    if (c.kept) {
      EXPECT_EQ(d.reason, "") << c.what;
    } else {
      EXPECT_NE(d.reason.find(c.reason), std::string::npos) << c.what << ": " << d.reason;
    }
  }
}

// Two platform images of one index (of `index_type`) naming them both.
struct MultiArch {
  std::vector<ImageSource> images;
  std::shared_ptr<StoredIndex> index = std::make_shared<StoredIndex>();
  explicit MultiArch(const std::string& index_type = std::string(media_types::kOciIndex),
                     Compression second = Compression::kGzip) {
    images = {Image(kOci, {Compression::kGzip}), Image(kOci, {second})};
    images[1].manifest->digest = Sha256Digest("other");
    index->document = {.media_type = index_type,
                       .digest = Sha256Digest("index"),
                       .bytes = std::make_shared<const std::string>("index")};
    for (auto& image : images) {
      index->children.push_back(image.manifest->digest);
      image.index = index;
    }
  }
  std::vector<const ImageSource*> All() const { return {&images[0], &images[1]}; }
};

TEST(DecideListDigest, KeepsTheIndexOnlyWhenItsChildrenAreExactlyThePushedKeptImages) {
  const KeepDigestRules registry{};
  MultiArch whole;
  DigestDecision kept = DecideListDigest(whole.All(), registry);
  EXPECT_TRUE(kept.kept) << kept.reason;
  EXPECT_EQ(kept.archive_digest, whole.index->document.digest);

  // --architectures (or the PPA manifest) left a platform out.
  DigestDecision one = DecideListDigest({&whole.images[0]}, registry);
  EXPECT_FALSE(one.kept);
  EXPECT_EQ(one.archive_digest, whole.index->document.digest);
  EXPECT_NE(one.reason.find("names 2 manifest(s) and 1"), std::string::npos) << one.reason;

  // The index also names a manifest that is neither a pushed image nor one
  // of its artifacts.
  MultiArch unknown;
  unknown.index->children.push_back(Sha256Digest("something else"));
  EXPECT_FALSE(DecideListDigest(unknown.All(), registry).kept);

  // Its attestations go with it (StoredIndex::artifacts)...
  MultiArch attested;
  attested.index->children.push_back(Sha256Digest("attestation"));
  attested.index->artifacts.push_back(
      {.manifest = {.media_type = std::string(media_types::kOciManifest),
                    .digest = Sha256Digest("attestation"),
                    .bytes = std::make_shared<const std::string>("attestation")}});
  DigestDecision with = DecideListDigest(attested.All(), registry);
  EXPECT_TRUE(with.kept) << with.reason;
  // ... but not without the platform image they describe,
  DigestDecision without = DecideListDigest({&attested.images[0]}, registry);
  EXPECT_FALSE(without.kept);
  EXPECT_NE(without.reason.find("names 2 manifest(s) and 1"), std::string::npos)
      << without.reason;
  // ... nor when its manifest is of a type not pushed as it is, or a Docker
  // manifest for an OCI layout,
  attested.index->artifacts.back().manifest.media_type = "application/vnd.example+json";
  EXPECT_FALSE(DecideListDigest(attested.All(), registry).kept);
  attested.index->artifacts.back().manifest.media_type = std::string(media_types::kDockerManifest);
  EXPECT_TRUE(DecideListDigest(attested.All(), registry).kept);
  EXPECT_FALSE(DecideListDigest(attested.All(), {.oci_only = true}).kept);
  attested.index->artifacts.back().manifest.media_type = std::string(media_types::kOciManifest);
  // ... nor when one cannot be pushed as it is.
  attested.index->artifacts.back().problem = InvalidInput("blob sha256:x is missing");
  DigestDecision broken = DecideListDigest(attested.All(), registry);
  EXPECT_FALSE(broken.kept);
  EXPECT_NE(broken.reason.find("attestation"), std::string::npos) << broken.reason;
  EXPECT_NE(broken.reason.find("sha256:x is missing"), std::string::npos) << broken.reason;

  MultiArch converted(std::string(media_types::kOciIndex), Compression::kNone);
  DigestDecision c = DecideListDigest(converted.All(), registry);
  EXPECT_FALSE(c.kept);
  EXPECT_NE(c.reason.find("converted"), std::string::npos) << c.reason;

  EXPECT_FALSE(DecideListDigest(whole.All(), {.format_given = true}).kept);

  // Platform images of different files (or docker saves): no index to keep.
  MultiArch other;
  DigestDecision mixed = DecideListDigest({&whole.images[0], &other.images[1]}, registry);
  EXPECT_FALSE(mixed.kept);
  EXPECT_EQ(mixed.archive_digest, "");
  ImageSource saved = Image("", {Compression::kNone});
  EXPECT_FALSE(DecideListDigest({&saved}, registry).kept);

  MultiArch docker_list{std::string(media_types::kDockerManifestList)};
  EXPECT_TRUE(DecideListDigest(docker_list.All(), registry).kept);
  EXPECT_FALSE(DecideListDigest(docker_list.All(), {.oci_only = true}).kept);
}

Result<std::vector<ImageSource>> ReadLayout(const test::OciTestLayout& layout,
                                            const test::TempDir& dir) {
  std::string path = dir.Join("layout.tar");
  test::WriteFileOrDie(path, layout.Tar());
  return ReadImageTarball(path, "images/layout.tar");
}

TEST(ReadImageTarball, KeepsTheStoredManifestOfAnOciImage) {
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout = test::OciSingleImageLayout(
      {.layers = {test::GzipTestLayer("a", "1"), test::GzipTestLayer("b", "2")},
       .name = "kept/gzip:1"});
  auto images = ReadLayout(layout, dir);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 1u);
  const ImageSource& image = images->front();
  ASSERT_TRUE(image.problem.ok()) << image.problem.ToString();
  ASSERT_TRUE(image.manifest.has_value());
  EXPECT_EQ(image.manifest->digest, layout.manifests[0]);
  EXPECT_EQ(*image.manifest->bytes, layout.blobs.at(layout.manifests[0]));
  EXPECT_EQ(image.manifest->media_type, kOci);
  EXPECT_EQ(image.index, nullptr) << "index.json is the layout's, never pushed";
  EXPECT_TRUE(DecideImageDigest(image, {}).kept);
}

TEST(ReadImageTarball, KeepsTheIndexBlobOfAMultiArchImage) {
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout =
      test::OciMultiArchLayout({{.architecture = "amd64",
                                 .layers = {test::GzipTestLayer("a", "amd")},
                                 .name = "m/x:1-amd64"},
                                {.architecture = "arm64",
                                 .layers = {test::GzipTestLayer("a", "arm")},
                                 .name = "m/x:1-arm64"}},
                               "m/x:1");
  auto images = ReadLayout(layout, dir);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 2u);
  std::vector<const ImageSource*> children;
  for (const auto& image : *images) {
    ASSERT_TRUE(image.problem.ok()) << image.problem.ToString();
    ASSERT_NE(image.index, nullptr);
    EXPECT_EQ(image.index->document.digest, layout.index);
    EXPECT_EQ(*image.index->document.bytes, layout.blobs.at(layout.index));
    EXPECT_EQ(image.index->children, layout.manifests);
    children.push_back(&image);
  }
  EXPECT_EQ(images->front().index, images->back().index) << "one index, shared";
  EXPECT_TRUE(DecideListDigest(children, {}).kept);
  BuiltManifest list =
      ManifestListToPush(children, DecideListDigest(children, {}), ManifestFormat::kDocker, {});
  EXPECT_EQ(Sha256Digest(list.body), layout.index);
  EXPECT_EQ(list.media_type, std::string(media_types::kOciIndex));
}

// BuildKit's attestations are artifacts of their index, never images: the
// file holds its two platform images, and each attestation's manifest and
// blobs are found and checked against their digests.
TEST(ReadImageTarball, BuildKitAttestationsAreArtifactsOfTheirIndex) {
  test::TempDir dir("ppa-kept");
  auto attested = [] {
    return test::OciMultiArchLayout(
        {{.architecture = "amd64", .layers = {test::GzipTestLayer("a", "amd")}},
         {.architecture = "arm64", .layers = {test::GzipTestLayer("a", "arm")}}},
        "m/x:1", std::string(media_types::kOciIndex), /*attested=*/true);
  };
  test::OciTestLayout layout = attested();
  auto images = ReadLayout(layout, dir);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 2u);
  for (const auto& image : *images) {
    EXPECT_TRUE(image.problem.ok()) << image.problem.ToString();
    EXPECT_NE(image.platform.architecture, "unknown");
  }
  const StoredIndex& index = *images->front().index;
  ASSERT_EQ(index.artifacts.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const StoredArtifact& a = index.artifacts[i];
    EXPECT_TRUE(a.problem.ok()) << a.problem.ToString();
    EXPECT_EQ(a.manifest.digest, layout.attestations[i]);
    EXPECT_EQ(*a.manifest.bytes, layout.blobs.at(layout.attestations[i]));
    EXPECT_EQ(a.manifest.media_type, kOci);
    ASSERT_EQ(a.blobs.size(), 2u);  // config and in-toto statement
    for (const auto& blob : a.blobs) {
      auto bytes = ReadFileRange(a.tarball, blob.offset, blob.size);
      ASSERT_TRUE(bytes.ok());
      EXPECT_EQ(Sha256Digest(*bytes), blob.digest);
    }
  }
  std::vector<const ImageSource*> children = {&(*images)[0], &(*images)[1]};
  EXPECT_TRUE(DecideListDigest(children, {}).kept);

  // A statement changed after its manifest was written, or gone: the
  // attestation cannot be pushed as it is, so the index is not kept; the
  // images still are.
  for (bool remove : {false, true}) {
    test::OciTestLayout broken = attested();
    const std::string statement = [&] {
      for (const auto& [digest, bytes] : broken.blobs) {
        if (bytes.find("in-toto.io/Statement") != std::string::npos) return digest;
      }
      return std::string();
    }();
    ASSERT_FALSE(statement.empty());
    if (remove) {
      broken.blobs.erase(statement);
    } else {
      broken.blobs[statement] += " ";
    }
    test::TempDir d("ppa-kept");
    auto read = ReadLayout(broken, d);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    ASSERT_EQ(read->size(), 2u);
    EXPECT_TRUE(read->front().problem.ok()) << read->front().problem.ToString();
    const StoredIndex& idx = *read->front().index;
    ASSERT_EQ(idx.artifacts.size(), 2u);
    EXPECT_EQ(std::count_if(idx.artifacts.begin(), idx.artifacts.end(),
                            [](const StoredArtifact& a) { return !a.problem.ok(); }),
              1)
        << (remove ? "removed" : "changed");
    DigestDecision d2 = DecideListDigest({&(*read)[0], &(*read)[1]}, {});
    EXPECT_FALSE(d2.kept);
    EXPECT_NE(d2.reason.find("attestation"), std::string::npos) << d2.reason;
  }
}

// An attestation is no way around the file's limits: a blob it names many
// times is checked and pushed once, and its blobs count as layers, so a
// manifest naming thousands fails the file as an image's would.
TEST(ReadImageTarball, AttestationBlobsCountAgainstTheFilesLimits) {
  auto layout_naming = [](size_t times) {
    test::OciTestLayout layout = test::OciMultiArchLayout(
        {{.architecture = "amd64", .layers = {test::GzipTestLayer("a", "amd")}}}, "m/x:1");
    const std::string statement = layout.Add(R"({"_type":"https://in-toto.io/Statement/v0.1"})");
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (size_t i = 0; i < times; ++i) {
      layers.push_back(test::TestDescriptor("application/vnd.in-toto+json", statement,
                                            layout.blobs.at(statement).size()));
    }
    const std::string config = layout.Add("{}");
    nlohmann::ordered_json manifest = {
        {"schemaVersion", 2},
        {"mediaType", media_types::kOciManifest},
        {"config", test::TestDescriptor(std::string(media_types::kOciConfig), config, 2)},
        {"layers", layers}};
    const std::string bytes = manifest.dump();
    const std::string digest = layout.Add(bytes);
    auto desc = test::TestDescriptor(std::string(media_types::kOciManifest), digest, bytes.size());
    desc["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"}};
    // A new index naming the image and the attestation.
    nlohmann::ordered_json index = nlohmann::json::parse(layout.blobs.at(layout.index));
    index["manifests"].push_back(desc);
    const std::string index_bytes = index.dump();
    layout.index = layout.Add(index_bytes);
    auto top = test::TestDescriptor(std::string(media_types::kOciIndex), layout.index,
                                    index_bytes.size());
    top["annotations"] = {{std::string(media_types::kRefNameAnnotation), "m/x:1"}};
    layout.index_json = nlohmann::ordered_json{{"schemaVersion", 2}, {"manifests", {top}}}.dump();
    return layout;
  };
  test::TempDir dir("ppa-kept");
  auto twice = ReadLayout(layout_naming(3), dir);
  ASSERT_TRUE(twice.ok()) << twice.status().ToString();
  ASSERT_EQ(twice->size(), 1u);
  const StoredIndex& index = *twice->front().index;
  ASSERT_EQ(index.artifacts.size(), 1u);
  EXPECT_TRUE(index.artifacts[0].problem.ok()) << index.artifacts[0].problem.ToString();
  EXPECT_EQ(index.artifacts[0].blobs.size(), 2u);  // the config and the statement, once

  test::TempDir dir2("ppa-kept");
  auto many = ReadLayout(layout_naming(20000), dir2);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("layers"), std::string::npos) << many.status().ToString();
}

TEST(ReadImageTarball, IndexBlobNotMatchingItsDigestFailsTheFile) {
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout = test::OciMultiArchLayout(
      {{.layers = {test::GzipTestLayer("a", "1")}, .name = "m/x:1-amd64"}}, "m/x:1");
  layout.blobs[layout.index] += " ";
  auto images = ReadLayout(layout, dir);
  ASSERT_FALSE(images.ok());
  EXPECT_NE(images.status().message().find("does not match its digest"), std::string::npos)
      << images.status().ToString();
}

// A manifest kept byte for byte must name its blobs with their true sizes:
// one that states others lands as an image no client can pull. Each blob a
// descriptor names (layer, config, manifest) fails its image; an index blob
// whose size is wrong fails the file, as its digest would.
TEST(ReadImageTarball, DescriptorSizesOtherThanTheBlobsFailTheImage) {
  auto layer = [](std::optional<size_t> declared) {
    test::OciTestLayer l = test::GzipTestLayer("a", "1");
    l.declared_size = declared;
    return l;
  };
  const size_t stored = test::GzipTestLayer("a", "1").stored.size();
  struct Case {
    const char* what;
    test::OciTestImage image;
    const char* problem;  // "" when the image is fine
  } cases[] = {
      {"true sizes", {.layers = {layer(std::nullopt)}}, ""},
      {"a layer said one byte larger", {.layers = {layer(stored + 1)}}, "layer sha256:"},
      {"a layer said empty", {.layers = {layer(0)}}, "layer sha256:"},
      {"a layer said 2^64-1 bytes", {.layers = {layer(SIZE_MAX)}}, "layer sha256:"},
      {"the config said smaller",
       {.layers = {layer(std::nullopt)}, .config_declared_size = 10},
       "config sha256:"},
      {"the manifest said larger",
       {.layers = {layer(std::nullopt)}, .manifest_declared_size = 1 << 20},
       "manifest sha256:"},
  };
  for (const auto& c : cases) {
    test::TempDir dir("ppa-kept");
    auto images = ReadLayout(test::OciSingleImageLayout(c.image), dir);
    ASSERT_TRUE(images.ok()) << c.what << ": " << images.status().ToString();
    ASSERT_EQ(images->size(), 1u) << c.what;
    const ImageSource& image = images->front();
    if (std::string(c.problem).empty()) {
      EXPECT_TRUE(image.problem.ok()) << c.what << ": " << image.problem.ToString();
      EXPECT_TRUE(image.manifest.has_value()) << c.what;
      continue;
    }
    ASSERT_FALSE(image.problem.ok()) << c.what;
    EXPECT_NE(image.problem.message().find(c.problem), std::string::npos)
        << c.what << ": " << image.problem.ToString();
    EXPECT_NE(image.problem.message().find("its descriptor says"), std::string::npos)
        << c.what << ": " << image.problem.ToString();
    EXPECT_FALSE(image.manifest.has_value()) << c.what << ": never kept";
  }
}

TEST(ReadImageTarball, IndexBlobOfAnotherSizeThanItsDescriptorFailsTheFile) {
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout = test::OciMultiArchLayout(
      {{.layers = {test::GzipTestLayer("a", "1")}, .name = "m/x:1-amd64"}}, "m/x:1");
  auto index_json = nlohmann::json::parse(layout.index_json);
  index_json["manifests"][0]["size"] = layout.blobs.at(layout.index).size() - 1;
  layout.index_json = index_json.dump();
  auto images = ReadLayout(layout, dir);
  ASSERT_FALSE(images.ok());
  EXPECT_NE(images.status().message().find("its descriptor says"), std::string::npos)
      << images.status().ToString();
}

// The size is required by the OCI specification, but a descriptor without
// one names no wrong size: the image reads (and may keep its digest).
TEST(ReadImageTarball, DescriptorsWithoutASizeAreRead) {
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout = test::OciMultiArchLayout(
      {{.layers = {test::GzipTestLayer("a", "1")}, .name = "m/x:1-amd64"}}, "m/x:1");
  auto index_json = nlohmann::json::parse(layout.index_json);
  index_json["manifests"][0].erase("size");
  layout.index_json = index_json.dump();
  auto images = ReadLayout(layout, dir);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  EXPECT_TRUE(images->front().problem.ok()) << images->front().problem.ToString();
}

TEST(ReadImageTarball, UncompressedOciLayersAreConverted) {
  test::TempDir dir("ppa-kept");
  auto images = ReadLayout(
      test::OciSingleImageLayout({.layers = {test::TarTestLayer("a", "1")}, .name = "kept/tar:1"}),
      dir);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_TRUE(images->front().manifest.has_value());
  DigestDecision d = DecideImageDigest(images->front(), {});
  EXPECT_FALSE(d.kept);
  EXPECT_NE(d.reason.find("uncompressed"), std::string::npos) << d.reason;
}

// The issue's example: BuildKit's OCI tarball (it also holds a
// manifest.json) keeps sha256:7b9a57..., an OCI layout with a gzip layer
// its digest; docker saves have no registry manifest of their own.
TEST(ReadImageTarball, PublicFixturesKeepTheirDigestOnlyWithAStoredCompressedImage) {
  struct Case {
    const char* file;
    bool kept;
    const char* archive_digest;  // "" for none
  } cases[] = {
      {"buildkit-oci.tar", true,
       "sha256:7b9a5714cfff1338d3db0d7433fc2394b6ddb3cd17a43aa3f71ae52a47a3935a"},
      {"oci-registry-name.tar.gz", true,
       "sha256:ff1abe159f09a5fed8fd9b648ab35196b521925b109df26a94d9cf06721ae5e4"},
      {"test_image_2.tar", false, ""},
      {"test_bundle.tar", false, ""},
      // Docker 25's save: an index.json that lists no manifest.
      {"hello-world-v25.tar", false, ""},
  };
  for (const auto& c : cases) {
    test::TempDir dir("ppa-kept");
    auto tar = PrepareImageTarball(Data(c.file), dir.path());
    ASSERT_TRUE(tar.ok()) << c.file;
    auto images = ReadImageTarball(*tar, c.file);
    ASSERT_TRUE(images.ok()) << c.file << ": " << images.status().ToString();
    DigestDecision d = DecideImageDigest(images->front(), {});
    EXPECT_EQ(d.kept, c.kept) << c.file << ": " << d.reason;
    EXPECT_EQ(d.archive_digest, c.archive_digest) << c.file;
  }
}

TEST(ImageManifestToPush, PushesTheStoredBytesOnlyOverTheBlobsTheyName) {
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout =
      test::OciSingleImageLayout({.layers = {test::GzipTestLayer("a", "1")}, .name = "k/x:1"});
  auto images = ReadLayout(layout, dir);
  ASSERT_TRUE(images.ok());
  const ImageSource& image = images->front();
  BlobRef config{std::string(media_types::kDockerConfig), image.config_digest,
                 image.config->size()};
  const std::string& stored_layer = layout.blobs.begin()->first;  // any digest of the layout
  std::vector<BlobRef> layers = {
      {std::string(media_types::kDockerLayerGzip), image.layers[0].digest, image.layers[0].size}};
  DigestDecision kept = DecideImageDigest(image, {});
  auto pushed = ImageManifestToPush(image, kept, ManifestFormat::kDocker, config, layers);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(Sha256Digest(pushed->body), layout.manifests[0]);
  EXPECT_EQ(pushed->media_type, kOci);
  // Not kept: a manifest of ours, in the format asked for.
  auto built = ImageManifestToPush(image, DecideImageDigest(image, {.format_given = true}),
                                   ManifestFormat::kDocker, config, layers);
  ASSERT_TRUE(built.ok());
  EXPECT_NE(Sha256Digest(built->body), layout.manifests[0]);
  EXPECT_EQ(built->media_type, kDocker);
  // Blobs other than those the stored manifest names: refused.
  layers[0].digest = stored_layer == image.layers[0].digest ? Sha256Digest("x") : stored_layer;
  EXPECT_FALSE(ImageManifestToPush(image, kept, ManifestFormat::kDocker, config, layers).ok());
}

// A manifest of an OCI artifact (no image config, or a layer that is no
// filesystem layer) is no image: the reader keeps it whole, to be pushed as
// it is, never its "layers" to compress. Cosign's signatures are the case
// `save` meets: their JSON payloads as layers.
TEST(ReadImageTarball, ArtifactManifestsArePushedAsTheyAre) {
  auto manifest = [](const std::string& config_type, const std::string& layer_type) {
    return ParseImageManifest(R"({"schemaVersion":2,"mediaType":")" + std::string(kOci) +
                              R"(","config":{"mediaType":")" + config_type +
                              R"(","digest":"sha256:)" + std::string(64, 'a') +
                              R"(","size":1},"layers":[{"mediaType":")" + layer_type +
                              R"(","digest":"sha256:)" + std::string(64, 'b') + R"(","size":1}]})")
        .value();
  };
  const std::string config(media_types::kOciConfig);
  EXPECT_FALSE(IsArtifactManifest(manifest(config, std::string(media_types::kOciLayerGzip))));
  EXPECT_FALSE(IsArtifactManifest(manifest(config, std::string(media_types::kOciLayerTar))));
  EXPECT_FALSE(IsArtifactManifest(
      manifest(std::string(media_types::kDockerConfig),
               "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")));
  EXPECT_FALSE(IsArtifactManifest(manifest("", "")));
  // A tar under another name is still an image's layer.
  EXPECT_FALSE(IsArtifactManifest(manifest(config, "application/octet-stream")));
  EXPECT_FALSE(IsArtifactManifest(manifest(config, "application/x-tar")));
  EXPECT_TRUE(IsArtifactManifest(manifest(config, "application/vnd.in-toto+json")));
  EXPECT_TRUE(IsArtifactManifest(manifest(config, "text/spdx")));
  EXPECT_TRUE(IsArtifactManifest(manifest(config, "application/vnd.dev.cosign.simplesigning.v1+json")));
  EXPECT_TRUE(IsArtifactManifest(manifest("application/vnd.cncf.helm.config.v1+json",
                                          "application/vnd.cncf.helm.chart.content.v1.tar+gzip")));

  // In a layout: a cosign signature beside its image.
  test::TempDir dir("ppa-kept");
  test::OciTestLayout layout = test::OciSingleImageLayout(
      {.layers = {test::GzipTestLayer("a", "1")}, .name = "m/x:1"});
  const std::string payload = R"({"critical":{}})";
  const std::string payload_digest = layout.Add(payload);
  const std::string sig_config = layout.Add(R"({"rootfs":{"type":"layers","diff_ids":[")" +
                                            payload_digest + R"("]}})");
  const std::string sig = R"({"schemaVersion":2,"mediaType":")" + std::string(kOci) +
                          R"(","config":{"mediaType":")" + config + R"(","digest":")" +
                          sig_config + R"(","size":)" +
                          std::to_string(layout.blobs[sig_config].size()) +
                          R"(},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":")" +
                          payload_digest + R"(","size":)" + std::to_string(payload.size()) + "}]}";
  const std::string sig_digest = layout.Add(sig);
  auto index = nlohmann::json::parse(layout.index_json);
  index["manifests"].push_back({{"mediaType", kOci},
                                {"digest", sig_digest},
                                {"size", sig.size()},
                                {"annotations",
                                 {{"org.opencontainers.image.ref.name", "m/x:sha256-abc.sig"}}}});
  layout.index_json = index.dump();
  auto images = ReadLayout(layout, dir);
  ASSERT_TRUE(images.ok()) << images.status().ToString();
  ASSERT_EQ(images->size(), 2u);
  const ImageSource& signature = (*images)[1];
  EXPECT_TRUE(signature.problem.ok()) << signature.problem.ToString();
  ASSERT_TRUE(signature.artifact);
  EXPECT_TRUE(signature.layers.empty());
  EXPECT_EQ(signature.manifest->digest, sig_digest);
  EXPECT_EQ(*signature.artifact->manifest.bytes, sig);
  EXPECT_EQ(signature.artifact->blobs.size(), 2u);
  EXPECT_FALSE((*images)[0].artifact);

  // A payload changed after its manifest was written fails the artifact.
  layout.blobs[payload_digest] = R"({"critical":{"x":1}})";
  auto changed = ReadLayout(layout, dir);
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE((*changed)[1].problem.ok());
}

}  // namespace
}  // namespace ppa
