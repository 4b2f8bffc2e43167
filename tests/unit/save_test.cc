// `save`'s pure parts (importer/save/): the sources, the OCI layout of one
// saved image, the archive's manifest.yaml (read back by load's own parser),
// and the exact size of a streamed tar (archive/write/tar_writer.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "archive/manifest/ppa_manifest.h"
#include "archive/write/tar_writer.h"
#include "docker_io/image/digest.h"
#include "archive/tar/tar_index.h"
#include "helm_io/chart.h"
#include "docker_io/image/gzip_isal.h"
#include "importer/save/blob_prefetch.h"
#include "importer/save/partial_archive.h"
#include "importer/save/save_sources.h"
#include "tests/support/process.h"
#include "importer/save/saved_chart.h"
#include "importer/save/saved_image.h"

namespace ppa {
namespace {

std::string D(char c) { return "sha256:" + std::string(64, c); }

TEST(SaveSourcesTest, NamesFilesInNameOrderAndDropsRepeats) {
  const std::vector<std::string> refs = {"reg:5000/org/app:1.0", "reg:5000/org_app:1.0",
                                         "reg:5000/org/app:1.0", "reg:5000/org/app@" + D('a'),
                                         "reg:5000/org/app:2@" + D('b')};
  auto sources = ParseSaveSources(refs);
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 4u);
  EXPECT_EQ((*sources)[0].archive_name, "org/app:1.0");
  EXPECT_EQ((*sources)[0].file, "images/org_app_1.0.tar");
  EXPECT_EQ((*sources)[0].ref.domain, "reg:5000");
  // Tag and digest: pulled by digest, named by tag.
  EXPECT_EQ((*sources)[1].archive_name, "org/app:2");
  EXPECT_EQ((*sources)[1].ref.digest, D('b'));
  EXPECT_EQ((*sources)[2].archive_name, "org/app@" + D('a'));
  EXPECT_EQ((*sources)[2].file, "images/org_app_aaaaaaaaaaaa.tar");
  // Two names, one file name: the later name gets a suffix.
  EXPECT_EQ((*sources)[3].archive_name, "org_app:1.0");
  EXPECT_EQ((*sources)[3].file, "images/org_app_1.0-2.tar");
  // Any order gives the same names and files.
  auto reversed = ParseSaveSources(std::vector<std::string>(refs.rbegin(), refs.rend()));
  ASSERT_TRUE(reversed.ok());
  for (size_t i = 0; i < sources->size(); ++i) {
    EXPECT_EQ((*reversed)[i].file, (*sources)[i].file);
  }
  // The same name from two registries: one would be lost.
  auto clash = ParseSaveSources({"reg:5000/org/app:1.0", "other.example/org/app:1.0"});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("would both be 'org/app:1.0'"), std::string::npos);
}

TEST(SaveSourcesTest, RefusesNamesWithoutARegistryOrOutsideTheGrammar) {
  for (const char* bad : {"org/app:1.0", "app", "reg:5000/Org/App:1", "reg:5000/../x:1",
                          "reg:5000/a:b:c", ""}) {
    auto sources = ParseSaveSources({bad});
    EXPECT_FALSE(sources.ok()) << bad;
    if (!sources.ok()) {
      EXPECT_FALSE(sources.status().hint().empty()) << bad;
    }
  }
}

TEST(SaveSourcesTest, OciLayoutSourcesNeedANameWithATag) {
  auto sources = ParseSaveSources({"oci:/srv/layout:org/app:1.0", "oci:rel/dir:org/db@" + D('a'),
                                   "oci:/srv/layout:org/app:1.0"});
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  ASSERT_EQ(sources->size(), 2u);
  EXPECT_EQ((*sources)[0].archive_name, "org/app:1.0");
  EXPECT_EQ((*sources)[0].layout_dir, "/srv/layout");
  EXPECT_EQ((*sources)[0].layout_ref, "org/app:1.0");
  EXPECT_EQ((*sources)[0].ref.domain, "");
  EXPECT_EQ((*sources)[1].layout_dir, "rel/dir");
  EXPECT_EQ((*sources)[1].archive_name, "org/db@" + D('a'));
  // A bare tag, as skopeo writes layouts: named after the folder.
  auto bare = ParseSaveSources({"oci:/srv/app-layout/:v1.2"});
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ((*bare)[0].archive_name, "app-layout:v1.2");
  EXPECT_EQ((*bare)[0].layout_ref, "v1.2");
  auto dotted = ParseSaveSources({"oci:/srv/app/sub/..:v1"});
  ASSERT_TRUE(dotted.ok()) << dotted.status().ToString();
  EXPECT_EQ((*dotted)[0].archive_name, "app:v1");
  // '.' is the current folder, named as such.
  const std::string here = std::filesystem::current_path().filename().string();
  auto current = ParseSaveSources({"oci:.:latest"});
  if (ParseImageReference(here + ":latest").ok()) {
    ASSERT_TRUE(current.ok()) << current.status().ToString();
    EXPECT_EQ((*current)[0].archive_name, here + ":latest");
  } else {
    EXPECT_FALSE(current.ok());
  }
  for (const char* bad : {"oci:/srv/layout", "oci:/srv/layout:", "oci::org/app:1",
                          "oci:/srv/layout:app/x", "oci:/srv/layout:Org/App:1",
                          "oci:/srv/Upper:latest"}) {
    EXPECT_FALSE(ParseSaveSources({bad}).ok()) << bad;
  }
  // The same name from a layout and a registry: one would be lost.
  EXPECT_FALSE(ParseSaveSources({"oci:/srv/l:org/app:1", "reg:5000/org/app:1"}).ok());
}

TEST(SaveSourcesTest, ListFilesSkipBlankLinesAndComments) {
  EXPECT_EQ(ListFileReferences("# mirror list\n\nreg/a:1\n  reg/b:2  \r\n#reg/c:3\nreg/d:4").value(),
            (std::vector<std::string>{"reg/a:1", "reg/b:2", "reg/d:4"}));
  EXPECT_TRUE(ListFileReferences("")->empty());
}

// A PPA manifest.yaml as the list: each entry's image (a multi-arch
// entry's index), its charts left out; names without a registry get
// --source-registry's.
TEST(SaveSourcesTest, APpaManifestListsItsImagesAndTheSourceRegistryCompletesThem) {
  auto listed = ListFileReferences(R"(images:
- image: cp/portal:2.1.0
  references:
  - {repository: cp/portal:2.1.0-amd64, platform: {os: linux, architecture: amd64}}
  - {repository: cp/portal:2.1.0-ppc64le, platform: {os: linux, architecture: ppc64le}}
- image: icr.io/cpopen/db:1
  references: [{repository: icr.io/cpopen/db:1}]
- image: icr.io/cpopen/db:sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig
  references: [{repository: icr.io/cpopen/db:sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig}]
charts:
- archive: charts/portal-2.1.0.tgz
)");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(*listed, (std::vector<std::string>{"cp/portal:2.1.0", "icr.io/cpopen/db:1"}));
  EXPECT_EQ(WithSourceRegistry("cp/portal:2.1.0", "reg:5000"), "reg:5000/cp/portal:2.1.0");
  EXPECT_EQ(WithSourceRegistry("icr.io/cpopen/db:1", "reg:5000"), "icr.io/cpopen/db:1");
  EXPECT_EQ(WithSourceRegistry("oci:/l:cp/a:1", "reg:5000"), "oci:/l:cp/a:1");
  EXPECT_EQ(WithSourceRegistry("oci://r/c:1", "reg:5000"), "oci://r/c:1");
  EXPECT_EQ(WithSourceRegistry("cp/portal:2.1.0", ""), "cp/portal:2.1.0");
  EXPECT_FALSE(ListFileReferences("images: []\n").ok());
  EXPECT_FALSE(ListFileReferences("images:\n- image: [unclosed\n").ok());
}

std::string Manifest(const std::string& config, const std::vector<std::string>& layers) {
  nlohmann::json m = {{"schemaVersion", 2},
                      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                      {"config",
                       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", config},
                        {"size", 7}}},
                      {"layers", nlohmann::json::array()}};
  for (const auto& l : layers) {
    m["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+zstd"},
                           {"digest", l},
                           {"size", 1000}});
  }
  return m.dump();
}

TEST(SavedImageTest, ManifestBlobsNeedDigestsAndSizes) {
  auto blobs = ManifestBlobs(Manifest(D('c'), {D('1'), D('2')}));
  ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
  ASSERT_EQ(blobs->size(), 3u);
  EXPECT_EQ((*blobs)[0].digest, D('c'));
  EXPECT_EQ((*blobs)[0].size, 7u);
  EXPECT_EQ((*blobs)[2].size, 1000u);
  auto no_size = nlohmann::json::parse(Manifest(D('c'), {D('1')}));
  no_size["layers"][0].erase("size");
  EXPECT_FALSE(ManifestBlobs(no_size.dump()).ok());
  auto bad_digest = nlohmann::json::parse(Manifest(D('c'), {D('1')}));
  bad_digest["layers"][0]["digest"] = "sha256:../../etc/passwd";
  EXPECT_FALSE(ManifestBlobs(bad_digest.dump()).ok());
  EXPECT_FALSE(ManifestBlobs(R"({"manifests":[]})").ok());
}

TEST(SavedImageTest, SubsetIndexKeepsOnlyTheChosenManifestsAndEverythingElse) {
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
      R"({"digest":")" + D('1') + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}},)"
      R"({"digest":")" + D('2') + R"(","size":2,"platform":{"os":"linux","architecture":"arm64"}}],)"
      R"("annotations":{"x":"y"}})";
  auto subset = SubsetIndex(index, {D('2')});
  ASSERT_TRUE(subset.ok());
  auto j = nlohmann::json::parse(*subset);
  ASSERT_EQ(j["manifests"].size(), 1u);
  EXPECT_EQ(j["manifests"][0]["digest"], D('2'));
  EXPECT_EQ(j["annotations"]["x"], "y");
  // Field order is kept: the document reads as the registry's did.
  EXPECT_LT(subset->find("schemaVersion"), subset->find("manifests"));
  EXPECT_FALSE(SubsetIndex("[]", {}).ok());
}

// A multi-arch image sharing a layer between its platforms.
SavedImage MultiArch() {
  SavedImage image;
  auto sources = ParseSaveSources({"reg:5000/org/app:1.0"});
  image.source = (*sources)[0];
  image.top = {.media_type = "application/vnd.oci.image.index.v1+json",
               .digest = Sha256Digest("index"),
               .bytes = "index"};
  image.manifests = {
      {.media_type = "application/vnd.oci.image.manifest.v1+json",
       .digest = Sha256Digest("m1"),
       .bytes = "m1",
       .platform = Platform{"linux", "amd64", ""}},
      {.media_type = "application/vnd.oci.image.manifest.v1+json",
       .digest = Sha256Digest("m2"),
       .bytes = "m2",
       .platform = Platform{"linux", "arm64", "v8"}},
      // A BuildKit attestation: an artifact of the index, no platform image.
      {.media_type = "application/vnd.oci.image.manifest.v1+json",
       .digest = Sha256Digest("att"),
       .bytes = "att",
       .platform = Platform{"unknown", "unknown", ""}}};
  image.blobs = {{D('1'), 3}, {D('2'), 1025}, {D('3'), 0}};
  return image;
}

TEST(SavedImageTest, LayoutHoldsEachDocumentAndBlobOnceAndIsExactlyItsSize) {
  SavedImage image = MultiArch();
  int fetched = 0;
  BlobWriter write = [&](const SavedImage&, const SavedBlob& blob, ByteSink& out) {
    ++fetched;
    return out.Write(std::string(blob.size, 'x'));
  };
  std::vector<TarWriteEntry> entries = LayoutEntries({&image}, write);
  std::set<std::string> paths;
  for (const auto& e : entries) EXPECT_TRUE(paths.insert(e.path).second) << e.path;
  EXPECT_TRUE(paths.count("oci-layout"));
  EXPECT_TRUE(paths.count("blobs/sha256/" + Sha256Digest("index").substr(7)));
  EXPECT_TRUE(paths.count("blobs/sha256/" + Sha256Digest("att").substr(7)));
  EXPECT_EQ(paths.size(), 2u + 4u + 3u);
  for (const auto& e : entries) {
    if (e.path != "index.json") continue;
    auto index = nlohmann::json::parse(e.data);
    ASSERT_EQ(index["manifests"].size(), 1u);
    EXPECT_EQ(index["manifests"][0]["digest"], image.top.digest);
    EXPECT_EQ(index["manifests"][0]["size"], 5);
    EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
              "org/app:1.0");
  }
  auto size = TarStreamSize(entries);
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  std::string tar;
  StringSink sink(&tar);
  ASSERT_TRUE(WriteTar(entries, sink, {.mtime = 0, .pad_to_record = false}).ok());
  EXPECT_EQ(tar.size(), *size);
  EXPECT_EQ(fetched, 3);
}

TEST(TarStreamSizeTest, IsWhatTheWriterWritesOrRefused) {
  for (uint64_t n : {0u, 1u, 511u, 512u, 513u, 70000u}) {
    std::vector<TarWriteEntry> entries = {
        TarWriteEntry::File("a", std::string(n, 'a')),
        TarWriteEntry::Directory("d"),
        TarWriteEntry::Streamed("d/b", n, [n](ByteSink& out) {
          return out.Write(std::string(n, 'b'));
        })};
    auto size = TarStreamSize(entries);
    ASSERT_TRUE(size.ok());
    std::string tar;
    StringSink sink(&tar);
    ASSERT_TRUE(WriteTar(entries, sink, {.mtime = 12345, .pad_to_record = false}).ok());
    EXPECT_EQ(tar.size(), *size) << n;
    // Each entry's data is where TarContentOffsets says, in the order the
    // writer puts them (by path: "z" is written first though given last).
    entries.push_back(TarWriteEntry::File("0", "zero"));
    auto offsets = TarContentOffsets(entries);
    ASSERT_TRUE(offsets.ok());
    tar.clear();
    ASSERT_TRUE(WriteTar(entries, sink, {.mtime = 12345, .pad_to_record = false}).ok());
    EXPECT_EQ(tar.substr((*offsets)[3], 4), "zero");
    EXPECT_EQ((*offsets)[3], 512u);
    EXPECT_EQ(tar.substr((*offsets)[0], n), std::string(n, 'a')) << n;
    EXPECT_EQ(tar.substr((*offsets)[2], n), std::string(n, 'b')) << n;
  }
  // A producer that fails: the error is the producer's, and what was
  // written before it is in the stream as it was (the writer then closes
  // the archive with zeros, which save drops: UntilStoppedSink).
  {
    std::string cut;
    StringSink cut_sink(&cut);
    Status failed = WriteTar(
        {TarWriteEntry::File("a", std::string(1000, 'a')),
         TarWriteEntry::Streamed("b", 1 << 20,
                                 [](ByteSink& out) -> Status {
                                   PPA_RETURN_IF_ERROR(out.Write(std::string(700, 'b')));
                                   return NetworkError("reset");
                                 })},
        cut_sink, {.mtime = 0, .pad_to_record = false});
    EXPECT_EQ(failed.code(), StatusCode::kNetwork);
    ASSERT_GE(cut.size(), 512u + 1024u + 512u + 700u);
    EXPECT_EQ(cut.substr(512 + 1024 + 512, 700), std::string(700, 'b'));
  }
  // A path ustar cannot hold: a pax header whose size libarchive decides.
  EXPECT_FALSE(TarStreamSize({TarWriteEntry::File(std::string(100, 'p'), "x")}).ok());
  EXPECT_FALSE(TarStreamSize({TarWriteEntry::File("caf\xc3\xa9", "x")}).ok());
  auto never = [](ByteSink&) { return Status::Ok(); };
  EXPECT_FALSE(TarStreamSize({TarWriteEntry::Streamed("big", uint64_t{1} << 33, never)}).ok());
  EXPECT_TRUE(TarStreamSize({TarWriteEntry::Streamed("big", (uint64_t{1} << 33) - 1, never)}).ok());
}

TEST(SavedImageTest, ManifestYamlIsReadByLoadAsTheRegistryHadIt) {
  SavedImage multi = MultiArch();
  SavedImage single;
  single.source = (*ParseSaveSources({"reg:5000/org/db@" + D('f')}))[0];
  single.top = {.media_type = "application/vnd.oci.image.manifest.v1+json",
                .digest = D('f'),
                .bytes = "{}"};
  auto parsed = ParsePpaManifestYaml(SaveManifestYaml({multi, single}, {}));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->images.size(), 2u);
  const PpaImage& m = parsed->images[0];
  EXPECT_EQ(m.image, "org/app:1.0");
  // One reference per platform image, by digest; the attestation is none.
  ASSERT_EQ(m.references.size(), 2u);
  EXPECT_EQ(m.references[0].repository, "org/app@" + Sha256Digest("m1"));
  EXPECT_EQ(m.references[0].archive, "images/org_app_1.0.tar");
  ASSERT_TRUE(m.references[1].platform.has_value());
  EXPECT_EQ(m.references[1].platform->ToString(), "linux/arm64/v8");
  const PpaImage& s = parsed->images[1];
  EXPECT_EQ(s.image, "org/db@" + D('f'));
  ASSERT_EQ(s.references.size(), 1u);
  EXPECT_EQ(s.references[0].repository, "org/db@" + D('f'));
  EXPECT_FALSE(s.references[0].platform.has_value());
}

// Images that share a blob (a base layer, a manifest two tags name) go
// into one image file, so each blob is stored once; the others keep theirs.
TEST(SavedImageTest, ImagesSharingABlobShareAFileAndEachBlobIsWrittenOnce) {
  auto image = [](const std::string& ref, const std::string& top,
                  std::vector<SavedBlob> blobs) {
    SavedImage i;
    auto parsed = ParseSaveSources({"reg:5000/" + ref});
    EXPECT_TRUE(parsed.ok()) << ref;
    i.source = parsed->at(0);
    i.top = {.media_type = "application/vnd.oci.image.manifest.v1+json",
             .digest = Sha256Digest(top),
             .bytes = top};
    i.blobs = std::move(blobs);
    return i;
  };
  std::vector<SavedImage> images = {
      image("r/a:1", "ma", {{D('c'), 1}, {D('b'), 100}}),  // b: the shared base layer
      image("r/b:1", "mb", {{D('d'), 1}, {D('e'), 5}}),
      image("r/c:1", "mc", {{D('f'), 1}, {D('b'), 100}}),
      image("r/d:1", "mb", {{D('d'), 1}, {D('e'), 5}}),  // r/b:1 under another name
  };
  auto groups = GroupBySharedBlobs(images);
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups[0].size(), 2u);
  EXPECT_EQ(groups[0][1]->source.archive_name, "r/c:1");
  EXPECT_EQ(images[2].source.file, images[0].source.file);
  EXPECT_EQ(images[3].source.file, "images/r_b_1.tar");
  EXPECT_EQ(images[0].source.file, "images/r_a_1.tar");
  int written_b = 0;
  BlobWriter write = [&](const SavedImage&, const SavedBlob& blob, ByteSink& out) {
    written_b += blob.digest == D('b');
    return out.Write(std::string(blob.size, 'x'));
  };
  std::vector<TarWriteEntry> entries = LayoutEntries(groups[0], write);
  std::string tar;
  StringSink sink(&tar);
  ASSERT_TRUE(WriteTar(entries, sink, {.mtime = 0, .pad_to_record = false}).ok());
  EXPECT_EQ(written_b, 1);
  for (const auto& e : entries) {
    if (e.path != "index.json") continue;
    auto index = nlohmann::json::parse(e.data);
    ASSERT_EQ(index["manifests"].size(), 2u);  // both images, by name
    EXPECT_EQ(index["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"], "r/c:1");
  }
  // manifest.yaml points both images at the shared file.
  auto parsed = ParsePpaManifestYaml(SaveManifestYaml(images, {}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->images[2].references[0].archive, "images/r_a_1.tar");
}

// What a stopped run left: the gzip'd start of a stream. Blobs wholly in it
// are read back with their digests checked, forward only; anything past
// where it was cut, or behind what was read, is not offered.
TEST(PartialArchiveTest, OffersOnlyWholeBlobsItHoldsAndChecksThem) {
  test::TempDir dir("ppa-partial");
  std::string stream(3000, 'h');                            // headers and such
  const std::string blob_a(200000, 'a'), blob_b(4000, 'b');  // at 3000 and 203000
  stream += blob_a + std::string(500, 'p') + blob_b;
  std::string gz;
  auto compressor = NewIsalGzipCompressor(0, [&](const char* d, size_t n) {
    gz.append(d, n);
    return Status::Ok();
  });
  ASSERT_TRUE(compressor->Write(stream.data(), stream.size()).ok());
  ASSERT_TRUE(compressor->Finish().ok());
  // Cut inside blob_b: the stream holds blob_a whole, blob_b not.
  ASSERT_TRUE(test::WriteStringToFile(dir.Join("x.partial"), gz.substr(0, gz.size() - 40)).ok());
  auto partial = PartialArchive::Open(dir.Join("x.partial"));
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  PartialArchive& p = **partial;
  EXPECT_LT(p.usable(), stream.size());
  EXPECT_GE(p.usable(), 203500u);
  EXPECT_FALSE(p.Holds(203500, blob_b.size()));
  ASSERT_TRUE(p.Holds(3000, blob_a.size()));
  std::string got;
  auto into = [&](std::string_view d) {
    got.append(d);
    return Status::Ok();
  };
  ASSERT_TRUE(p.Read(3000, blob_a.size(), Sha256Digest(blob_a), into).ok());
  EXPECT_EQ(got, blob_a);
  EXPECT_EQ(p.blobs_reused(), 1);
  EXPECT_FALSE(p.Holds(3000, 10)) << "behind what was read";
  // Bytes that do not match the digest they should have: an error.
  auto again = PartialArchive::Open(dir.Join("x.partial"));
  ASSERT_TRUE(again.ok());
  Status wrong = (*again)->Read(3000, blob_a.size(), Sha256Digest("other"), into);
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidInput);
  // No file, no gzip, a link: nothing, nothing usable, refused.
  EXPECT_EQ(PartialArchive::Open(dir.Join("none")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(test::WriteStringToFile(dir.Join("junk"), std::string(5000, 'j')).ok());
  auto junk = PartialArchive::Open(dir.Join("junk"));
  ASSERT_TRUE(junk.ok());
  EXPECT_EQ((*junk)->usable(), 0u);
  ASSERT_EQ(::symlink(dir.Join("x.partial").c_str(), dir.Join("link").c_str()), 0);
  EXPECT_FALSE(PartialArchive::Open(dir.Join("link")).ok());
}

// Small blobs are pulled ahead, in order, within the budget; a big one is
// left to stream; a failed pull is the writer's failure when it takes it.
TEST(BlobPrefetcherTest, PullsSmallBlobsAheadWithinItsBudget) {
  std::vector<BlobPrefetcher::Blob> order = {
      {D('1'), 10}, {D('2'), 1000}, {D('3'), 10}, {D('4'), 10}, {D('5'), 10}, {D('6'), 10}};
  std::atomic<int> pulls{0}, in_flight{0}, most{0};
  std::atomic<uint64_t> held{0}, most_held{0};
  {
    BlobPrefetcher ahead(
        order,
        [&](const BlobPrefetcher::Blob& blob) -> Result<std::string> {
          ++pulls;
          const int now = ++in_flight;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          const uint64_t h = held += blob.size;
          uint64_t seen_h = most_held.load();
          while (h > seen_h && !most_held.compare_exchange_weak(seen_h, h)) {
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          --in_flight;
          if (blob.digest == D('5')) return NetworkError("reset");
          return std::string(blob.size, blob.digest.back());
        },
        /*max_blob=*/100, /*budget=*/25, /*parallel=*/2);
    // A blob stops counting as held when the writer asks for it (before
    // Take returns, the prefetcher may start the next pulls).
    auto take = [&](char c) {
      held -= 10;
      return ahead.Take(D(c));
    };
    auto first = take('1');
    ASSERT_TRUE(first && first->ok());
    EXPECT_EQ(**first, std::string(10, '1'));
    EXPECT_FALSE(ahead.Take(D('2'))) << "over max_blob: streamed by the writer";
    for (char c : {'3', '4'}) {
      auto got = take(c);
      ASSERT_TRUE(got && got->ok());
      EXPECT_EQ(**got, std::string(10, c));
    }
    auto failed = take('5');
    ASSERT_TRUE(failed);
    EXPECT_FALSE(failed->ok());
    EXPECT_FALSE(ahead.Take(D('9'))) << "never announced";
  }  // waits for the pull of 6, not taken
  EXPECT_LE(most.load(), 2);
  EXPECT_LE(most_held.load(), 25u);
  EXPECT_EQ(pulls.load(), 5);  // never the big one
}

// A base layer all of 600 images share would make one file past what load
// reads from one: a file takes at most 512 manifests, the rest go to
// another, which stores the base layer again.
TEST(SavedImageTest, AGroupStaysWithinWhatLoadReadsFromOneFile) {
  std::vector<SavedImage> images;
  for (int n = 0; n < 600; ++n) {
    SavedImage i;
    char name[32];
    std::snprintf(name, sizeof name, "reg:5000/r/a%03d:1", n);
    i.source = ParseSaveSources({name})->at(0);
    i.top = {.media_type = "application/vnd.oci.image.manifest.v1+json",
             .digest = Sha256Digest(name),
             .bytes = name};
    i.blobs = {{D('b'), 100}, {Sha256Digest(std::string(name) + "config"), 10}};
    images.push_back(std::move(i));
  }
  auto groups = GroupBySharedBlobs(images);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].size(), 512u);
  EXPECT_EQ(groups[1].size(), 88u);
  EXPECT_EQ(images[511].source.file, "images/r_a000_1.tar");
  EXPECT_EQ(images[512].source.file, "images/r_a512_1.tar");
}

// load reads at most 64 MiB of artifacts (signatures, attestations) from
// one file: images with big attestations spread over files.
TEST(SavedImageTest, BigAttestationsSpreadOverFiles) {
  std::vector<SavedImage> images;
  for (int n = 0; n < 20; ++n) {
    SavedImage i;
    const std::string name = "reg:5000/r/b" + std::to_string(10 + n) + ":1";
    i.source = ParseSaveSources({name})->at(0);
    i.top = {.media_type = "application/vnd.oci.image.manifest.v1+json",
             .digest = Sha256Digest(name),
             .bytes = name};
    i.blobs = {{D('b'), 100}, {Sha256Digest(name + "statement"), 4 << 20}};
    i.attachments = {{.tag = "sha256-x.att", .manifest = {.digest = Sha256Digest(name + "att"),
                                                          .bytes = "{}"}}};
    i.attachment_blob_bytes = 4 << 20;
    images.push_back(std::move(i));
  }
  auto groups = GroupBySharedBlobs(images);
  ASSERT_GE(groups.size(), 3u);
  for (const auto& g : groups) EXPECT_LE(g.size(), 8u);
}

TEST(SavedChartTest, SourcesAreChartsByTheirFormAndParsedStrictly) {
  for (const char* chart : {"oci://reg:5000/charts/app:1.0.0", "https://cm.example.com/charts/a-1.tgz",
                            "http://127.0.0.1:8080/charts/a-1.tgz", "./a-1.0.0.tgz", "a.tar.gz"}) {
    EXPECT_TRUE(IsChartSource(chart)) << chart;
  }
  for (const char* image : {"reg:5000/org/app:1.0", "reg/app@" "sha256:00", "oci-reg/app:tgz"}) {
    EXPECT_FALSE(IsChartSource(image)) << image;
  }
  auto oci = ParseChartSource("oci://reg:5000/charts/app:1.0.0_build");
  ASSERT_TRUE(oci.ok()) << oci.status().ToString();
  EXPECT_EQ(oci->kind, ChartSource::Kind::kOci);
  EXPECT_EQ(oci->ref.path, "charts/app");
  EXPECT_EQ(oci->ref.tag, "1.0.0_build");
  EXPECT_EQ(ChartSourceHost(*oci), "reg:5000");
  auto url = ParseChartSource("https://cm.example.com:8443/team/charts/a-1.tgz");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->kind, ChartSource::Kind::kUrl);
  EXPECT_EQ(ChartSourceHost(*url), "cm.example.com:8443");
  EXPECT_EQ(ChartSourceHost(*ParseChartSource("a-1.tgz")), "");
  // No version, no registry, credentials or a query in a URL: refused.
  for (const char* bad : {"oci://reg:5000/charts/app", "oci://charts/app:1.0.0",
                          "https://user:pw@cm.example.com/charts/a-1.tgz",
                          "https://cm.example.com/charts/a-1.tgz?x=1", "https://cm.example.com",
                          "oci://reg:5000/Charts/App:1"}) {
    auto parsed = ParseChartSource(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().message().find("pw"), std::string::npos);
    }
  }
}

TEST(SavedChartTest, ArrangeSortsKeepsOneOfEachAndRefusesTwoPackagesOfOneVersion) {
  auto chart = [](const std::string& name, const std::string& given, char digest) {
    SavedChart c{.source = {.given = given}, .metadata = {.name = name, .version = "1.0.0"},
                 .digest = D(digest)};
    c.file = ChartFileName(c.metadata);
    return c;
  };
  auto arranged = ArrangeCharts({chart("web", "web.tgz", 'a'), chart("db", "db.tgz", 'b'),
                                 chart("web", "oci://r/web:1.0.0", 'a')});
  ASSERT_TRUE(arranged.ok());
  ASSERT_EQ(arranged->size(), 2u);
  EXPECT_EQ((*arranged)[0].file, "charts/db-1.0.0.tgz");
  EXPECT_EQ((*arranged)[1].file, "charts/web-1.0.0.tgz");
  auto clash = ArrangeCharts({chart("web", "web.tgz", 'a'), chart("web", "other/web.tgz", 'c')});
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("different packages"), std::string::npos);
}

TEST(SavedChartTest, ChartsInMemoryAreCheckedAsChartFilesAre) {
  EXPECT_FALSE(InspectChartBytes("", "chart 'x'").ok());
  EXPECT_FALSE(InspectChartBytes("plain text", "chart 'x'").ok());
  auto frobnitz = ReadSmallFile(std::string(PPA_TEST_DATA_DIR) + "/charts/frobnitz-1.2.3.tgz");
  ASSERT_TRUE(frobnitz.ok());
  auto info = InspectChartBytes(*frobnitz, "chart 'x'");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->metadata.name, "frobnitz");
  EXPECT_EQ(info->metadata.version, "1.2.3");
  auto cut = InspectChartBytes(frobnitz->substr(0, frobnitz->size() / 2), "chart 'x'");
  EXPECT_FALSE(cut.ok());
}

}  // namespace
}  // namespace ppa
