// The warm re-import's pure parts: target splitting, the settings key, the
// record's text, and the confirmation against a sink.
#include "importer/load/warm_import.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/thread_pool.h"
#include "docker_io/image/digest.h"

namespace ppa {
namespace {

std::string ReadFileOr(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(WarmImportTest, SplitWarmTargetTable) {
  struct Case {
    std::string target, location;
    bool ok;
    std::string repo, reference;
  };
  const std::string d = "sha256:" + std::string(64, 'b');
  for (const Case& c : std::vector<Case>{
           {"reg:5000/ns/app:1.0", "reg:5000/", true, "ns/app", "1.0"},
           {"oci:/x/lay:ns/app:v1", "oci:/x/lay:", true, "ns/app", "v1"},
           {"reg:5000/ns/app@" + d, "reg:5000/", true, "ns/app", d},
           {"other:5000/ns/app:1.0", "reg:5000/", false, "", ""},
           {"reg:5000/ns/app", "reg:5000/", false, "", ""},
           {"reg:5000/ns/app:", "reg:5000/", false, "", ""},
           {"reg:5000/:1.0", "reg:5000/", false, "", ""},
           {"x", "", false, "", ""},
       }) {
    SCOPED_TRACE(c.target);
    auto got = SplitWarmTarget(c.target, c.location);
    ASSERT_EQ(got.has_value(), c.ok);
    if (c.ok) {
      EXPECT_EQ(got->first, c.repo);
      EXPECT_EQ(got->second, c.reference);
    }
  }
}

TEST(WarmImportTest, SettingsChangeWithEveryOptionThatChangesWhatLands) {
  LoadOptions base;
  base.target.target_namespace = "test_ns";
  const std::string key = WarmSettings(base);
  std::vector<std::pair<const char*, LoadOptions>> changed;
  auto with = [&](const char* name, auto change) {
    LoadOptions o = base;
    change(o);
    changed.emplace_back(name, o);
  };
  with("namespace", [](LoadOptions& o) { o.target.target_namespace = "other_ns"; });
  with("format", [](LoadOptions& o) { o.images.format = ManifestFormat::kOci; });
  with("compression", [](LoadOptions& o) { o.images.compression.algorithm = Compression::kZstd; });
  with("architectures", [](LoadOptions& o) { o.images.architectures = {"linux/amd64"}; });
  with("chart values", [](LoadOptions& o) { o.charts.keep_values = true; });
  with("charts oci", [](LoadOptions& o) { o.charts.oci = true; });
  with("format given", [](LoadOptions& o) { o.images.format_given = true; });
  for (const auto& [name, o] : changed) EXPECT_NE(WarmSettings(o), key) << name;
  // The bug: the key named the registry host only, so an import into
  // host/mirror was taken for one done into host before.
  EXPECT_NE(WarmSettings(base, "127.0.0.1:5000/mirror"), WarmSettings(base, "127.0.0.1:5000"));
  EXPECT_NE(WarmSettings(base, "oci:/tmp/a"), WarmSettings(base, "oci:/tmp/b"));
  // Not UTF-8 (a layout path): no key, so nothing is ever recorded.
  EXPECT_EQ(WarmSettings(base, "oci:/tmp/\xc0\xaf"), "");

  // How, not what: the same key.
  LoadOptions how = base;
  how.work.jobs = 7;
  how.report.quiet = true;
  how.target.transport.timeout_seconds = 99;
  how.target.credentials = Credentials("u", "p");
  how.work.workdir = "/elsewhere";  // chart files missing there are written again
  EXPECT_EQ(WarmSettings(how), key);
  // Architectures in another order.
  LoadOptions a = base, b = base;
  a.images.architectures = {"linux/amd64", "linux/arm64"};
  b.images.architectures = {"linux/arm64", "linux/amd64"};
  EXPECT_EQ(WarmSettings(a), WarmSettings(b));
}

// The key's text is what earlier runs recorded under: a change to it (a
// field renamed, a JSON key spelled differently) makes every existing
// record miss, and each archive is imported in full again.
TEST(WarmImportTest, SettingsTextStaysWhatEarlierRunsRecorded) {
  LoadOptions defaults;
  defaults.target.target_namespace = "test_ns";
  EXPECT_EQ(WarmSettings(defaults, "127.0.0.1:5000"),
            R"({"architectures":[],"charts_oci":false,"compression":"gzip-isal-2-b1m",)"
            R"("format":0,"format_given":false,"keep_chart_values":false,)"
            R"("namespace":"test_ns","target":"127.0.0.1:5000"})");
  LoadOptions every = defaults;
  every.images.format = ManifestFormat::kOci;
  every.images.format_given = true;
  every.images.compression.algorithm = Compression::kZstd;
  every.images.architectures = {"linux/arm64", "linux/amd64"};
  every.charts.keep_values = true;
  every.charts.oci = true;
  EXPECT_EQ(WarmSettings(every, "oci:/tmp/layout"),
            R"({"architectures":["linux/amd64","linux/arm64"],"charts_oci":true,)"
            R"("compression":"zstd-3","format":1,"format_given":true,)"
            R"("keep_chart_values":true,"namespace":"test_ns","target":"oci:/tmp/layout"})");
}

ItemResult Image(const std::string& target, const std::string& digest) {
  ItemResult item;
  item.kind = ItemResult::Kind::kImage;
  item.name = "app";
  item.target = target;
  item.digest = digest;
  item.size = 123;
  item.platform = "linux/amd64";
  return item;
}

// The bug: a name from the archive that is not UTF-8 made the record's
// JSON throw after a successful import (exit 1, "internal error").
TEST(WarmImportTest, ANameThatIsNotUtf8IsNotRecorded) {
  ItemResult image = Image("reg:5000/ns/app:1.0", Sha256Digest("m"));
  image.name = "charts/x\xc0\xaf-1.0.0.tgz";
  auto items = WarmItemsOf({image}, "reg:5000/");
  ASSERT_TRUE(items.ok()) << items.status().message();
  EXPECT_EQ(SerializeWarmItems(*items), "");
}

TEST(WarmImportTest, RecordRoundTripsAndRefusesWhatItCannotConfirm) {
  const std::string d = Sha256Digest("m");
  ItemResult list = Image("reg:5000/ns/app:1.0", d);
  list.kind = ItemResult::Kind::kManifestList;
  auto items = WarmItemsOf({Image("reg:5000/ns/app:1.0-amd64", d), list}, "reg:5000/");
  ASSERT_TRUE(items.ok()) << items.status().message();
  auto parsed = ParseWarmItems(SerializeWarmItems(*items));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].repository, "ns/app");
  EXPECT_EQ((*parsed)[0].reference, "1.0-amd64");
  EXPECT_EQ((*parsed)[0].item.digest, d);
  EXPECT_EQ((*parsed)[0].item.platform, "linux/amd64");
  EXPECT_EQ((*parsed)[1].item.kind, ItemResult::Kind::kManifestList);

  // Another target, no digest, a chart sent to a ChartMuseum: not recordable.
  EXPECT_FALSE(WarmItemsOf({Image("other:1/ns/app:1", d)}, "reg:5000/").ok());
  EXPECT_FALSE(WarmItemsOf({Image("reg:5000/ns/app:1", "")}, "reg:5000/").ok());
  ItemResult chart;
  chart.kind = ItemResult::Kind::kChart;
  chart.target = "/nonexistent/c.tgz";
  chart.destinations = {"https://museum.example"};
  EXPECT_FALSE(WarmItemsOf({chart}, "reg:5000/").ok());

  for (const char* damaged : {"", "{}", "[1]", R"({"version":2,"items":[]})",
                              R"({"version":1,"items":[{"kind":"image"}]})",
                              R"({"version":1,"items":[{"kind":"boat"}]})"}) {
    EXPECT_FALSE(ParseWarmItems(damaged).ok()) << damaged;
  }
}

// A sink whose tags are a map.
class TagSink : public BlobSink {
 public:
  std::map<std::string, std::string> tags;  // "repo:ref" -> digest
  std::set<std::string> blobs;              // "repo@digest"
  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override {
    return blobs.count(repo + "@" + digest) > 0;
  }
  Status PutBlob(const std::string&, const BlobUpload&) override { return Status::Ok(); }
  Status PutBlobBytes(const std::string&, const std::string&, const std::string&) override {
    return Status::Ok();
  }
  Result<std::string> PutManifest(const std::string&, const std::string&, const std::string&,
                                  const std::string&) override {
    return std::string();
  }
  Result<std::optional<std::string>> TaggedManifest(const std::string& repo,
                                                    const std::string& ref) override {
    auto it = tags.find(repo + ":" + ref);
    if (it == tags.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  std::string Locate(const std::string& repo) const override { return "reg:5000/" + repo; }
};

TEST(WarmImportTest, ConfirmWarmItemsTable) {
  const std::string d1 = Sha256Digest("one"), d2 = Sha256Digest("two");
  const std::string layer = Sha256Digest("layer");
  ItemResult b = Image("reg:5000/ns/b:2", d2);
  b.blobs.push_back(BlobResult{.digest = layer, .size = 5});
  auto items = WarmItemsOf({Image("reg:5000/ns/a:1", d1), b}, "reg:5000/");
  ASSERT_TRUE(items.ok());
  ASSERT_EQ((*items)[1].blobs, std::vector<std::string>{layer});
  EXPECT_TRUE((*items)[1].item.blobs.empty());
  struct Case {
    const char* name;
    std::map<std::string, std::string> tags;
    bool ok;
    std::string why;
    bool blob_lost = false;
  };
  for (const Case& c : std::vector<Case>{
           {"all there", {{"ns/a:1", d1}, {"ns/b:2", d2}}, true, ""},
           {"one deleted", {{"ns/a:1", d1}}, false, "'ns/b:2' is not in the target"},
           {"one moved",
            {{"ns/a:1", d1}, {"ns/b:2", d1}},
            false,
            "'ns/b:2' now names " + d1 + " (recorded " + d2 + ")"},
           {"a blob lost",
            {{"ns/a:1", d1}, {"ns/b:2", d2}},
            false,
            "blob " + layer.substr(0, 19) + " of 'ns/b:2' is not in the target",
            true},
       }) {
    SCOPED_TRACE(c.name);
    TagSink sink;
    sink.tags = c.tags;
    if (!c.blob_lost) sink.blobs.insert("ns/b@" + layer);
    Status got = ConfirmWarmItems(*items, sink);
    EXPECT_EQ(got.ok(), c.ok);
    if (!c.ok) {
      EXPECT_EQ(got.message(), c.why);
    }
  }
}

// The bug: a list's tag was confirmed, not the platform manifests it lists
// in its repository; with one of them deleted the tag still stood, the run
// ended warm, and pulling that platform through the list failed. A platform
// image pushed to another repository is copied into the list's with its
// blobs, which are confirmed there too.
TEST(WarmImportTest, AListIsConfirmedWithThePlatformManifestsAndBlobsInItsRepository) {
  const std::string amd = Sha256Digest("amd"), ppc = Sha256Digest("ppc");
  const std::string list_digest = Sha256Digest("list");
  const std::string amd_layer = Sha256Digest("amd-layer"), ppc_layer = Sha256Digest("ppc-layer");
  ItemResult amd_image = Image("reg:5000/ns/fat:1-amd64", amd);  // the list's own repository
  amd_image.blobs.push_back(BlobResult{.digest = amd_layer, .size = 5});
  ItemResult ppc_image = Image("reg:5000/ns/fat-ppc:1", ppc);  // another: copied
  ppc_image.blobs.push_back(BlobResult{.digest = ppc_layer, .size = 5});
  ItemResult list = Image("reg:5000/ns/fat:1", list_digest);
  list.kind = ItemResult::Kind::kManifestList;
  list.children = {amd, ppc};
  auto items = WarmItemsOf({amd_image, ppc_image, list}, "reg:5000/");
  ASSERT_TRUE(items.ok()) << items.status().message();
  EXPECT_EQ((*items)[2].children, (std::vector<std::string>{amd, ppc}));
  EXPECT_EQ((*items)[2].blobs, std::vector<std::string>{ppc_layer}) << "only the copied child's";
  auto parsed = ParseWarmItems(SerializeWarmItems(*items));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[2].children, (*items)[2].children);
  EXPECT_EQ((*parsed)[2].blobs, (*items)[2].blobs);

  auto sink_with = [&](bool amd_in_list_repo, bool ppc_in_list_repo, bool ppc_layer_there) {
    TagSink sink;
    sink.tags = {{"ns/fat:1-amd64", amd}, {"ns/fat-ppc:1", ppc}, {"ns/fat:1", list_digest}};
    if (amd_in_list_repo) sink.tags["ns/fat:" + amd] = amd;
    if (ppc_in_list_repo) sink.tags["ns/fat:" + ppc] = ppc;
    sink.blobs = {"ns/fat@" + amd_layer, "ns/fat-ppc@" + ppc_layer};
    if (ppc_layer_there) sink.blobs.insert("ns/fat@" + ppc_layer);
    return sink;
  };
  TagSink all = sink_with(true, true, true);
  EXPECT_TRUE(ConfirmWarmItems(*parsed, all).ok());
  TagSink copy_gone = sink_with(true, false, true);
  Status got = ConfirmWarmItems(*parsed, copy_gone);
  EXPECT_EQ(got.message(),
            "platform manifest " + ppc.substr(0, 19) + " of 'ns/fat:1' is not in the target");
  TagSink own_gone = sink_with(false, true, true);
  EXPECT_FALSE(ConfirmWarmItems(*parsed, own_gone).ok());
  TagSink blob_gone = sink_with(true, true, false);
  EXPECT_EQ(ConfirmWarmItems(*parsed, blob_gone).message(),
            "blob " + ppc_layer.substr(0, 19) + " of 'ns/fat:1' is not in the target");

  // A record written before children were recorded still reads (and
  // confirms what it holds).
  std::string old = SerializeWarmItems(*items);
  auto doc = nlohmann::json::parse(old);
  for (auto& item : doc["items"]) item.erase("children");
  auto older = ParseWarmItems(doc.dump());
  ASSERT_TRUE(older.ok()) << older.status().message();
  EXPECT_TRUE((*older)[2].children.empty());
}

TEST(WarmImportTest, RestoreWarmChartsKeepsOrWritesTheRecordedFile) {
  char tmpl[] = "/tmp/warm_charts_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/charts";
  const std::string chart = "chart bytes", sha = Sha256Digest(chart);
  auto item = [&](const std::string& old_dir) {
    WarmItem w;
    w.item.kind = ItemResult::Kind::kChart;
    w.item.target = old_dir + "/app-1.0.0.tgz";
    w.item.destinations = {w.item.target, "oci://reg/ns/charts/app:1.0.0"};
    w.chart_file = "app-1.0.0.tgz";
    w.chart_sha256 = sha;
    return std::vector<WarmItem>{w};
  };
  int loads = 0;
  auto load = [&](const std::string& wanted) -> std::optional<std::string> {
    ++loads;
    if (wanted == sha) return chart;
    return std::nullopt;
  };
  // Missing (another work directory): written from the kept bytes.
  std::vector<WarmItem> items = item("/old/workdir/charts");
  ASSERT_TRUE(RestoreWarmCharts(items, dir, load).ok());
  EXPECT_EQ(ReadFileOr(dir + "/app-1.0.0.tgz"), chart);
  EXPECT_EQ(items[0].item.target, dir + "/app-1.0.0.tgz");
  EXPECT_EQ(items[0].item.destinations[0], dir + "/app-1.0.0.tgz");
  EXPECT_EQ(items[0].item.destinations[1], "oci://reg/ns/charts/app:1.0.0");
  EXPECT_EQ(loads, 1);
  // There as recorded: kept, nothing loaded.
  items = item(dir);
  ASSERT_TRUE(RestoreWarmCharts(items, dir, load).ok());
  EXPECT_EQ(loads, 1);
  // Changed there: written again.
  std::ofstream(dir + "/app-1.0.0.tgz") << "edited";
  ASSERT_TRUE(RestoreWarmCharts(items, dir, load).ok());
  EXPECT_EQ(ReadFileOr(dir + "/app-1.0.0.tgz"), chart);
  // Missing and not kept: not warm.
  std::filesystem::remove(dir + "/app-1.0.0.tgz");
  items[0].chart_sha256 = Sha256Digest("other");
  Status got = RestoreWarmCharts(items, dir, load);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(got.message(), "chart file '" + dir + "/app-1.0.0.tgz' is missing");
  // A record naming a path outside the folder is refused.
  items = item(dir);
  items[0].chart_file = "../escape.tgz";
  EXPECT_FALSE(RestoreWarmCharts(items, dir, load).ok());
  std::filesystem::remove_all(tmpl);
}

TEST(WarmImportTest, FileSha256IsTheContentHash) {
  char name[] = "/tmp/warm_import_test_XXXXXX";
  int fd = mkstemp(name);
  ASSERT_GE(fd, 0);
  close(fd);
  // More than one 4 MiB block.
  std::string content(9 << 20, 'x');
  content[5 << 20] = 'y';
  std::ofstream(name, std::ios::binary) << content;
  Result<std::string> got = FileSha256(name);
  std::remove(name);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Sha256Digest(content));
  EXPECT_FALSE(FileSha256("/nonexistent/archive.tgz").ok());
}

// A first import has no record to look up: its archive is hashed as a task
// of the run's pool beside the import, and Record waits for that hash. The
// next run finds the record under the archive's content hash. A run that
// records nothing stops its hash; a stopped hash says so.
TEST(WarmImportTest, AFirstImportHashesItsArchiveOnThePoolBesideTheImport) {
  char dir[] = "/tmp/warm_pool_test_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string root = dir;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved = xdg ? xdg : "";
  setenv("XDG_CACHE_HOME", (root + "/cache").c_str(), 1);
  const std::string archive = root + "/app.tgz";
  std::string content(6 << 20, 'a');
  content[3 << 20] = 'b';
  std::ofstream(archive, std::ios::binary) << content;
  const std::string d = Sha256Digest("m");
  TagSink sink;
  sink.tags["ns/app:1.0"] = d;
  LoadOptions options;
  options.target.target_namespace = "ns";
  options.work.workdir = root;
  {
    ThreadPool pool(2);
    pool.Submit([&] {
          WarmImport first(archive, sink, "reg:5000", options);
          first.Record(0, {Image("reg:5000/ns/app:1.0", d)});
        })
        .get();
    // Destroyed without recording (a failed import): its hash stops, and
    // the pool shuts down.
    pool.Submit([&] { WarmImport failed(archive + ".other", sink, "reg:5000", options); }).get();
  }
  WarmImport second(archive, sink, "reg:5000", options);
  std::ostringstream out, err;
  Reporter reporter(out, err, /*quiet=*/false);
  EXPECT_TRUE(second.Done(reporter)) << out.str() << err.str();
  EXPECT_NE(out.str().find("(archive " + Sha256Digest(content) + ")"), std::string::npos)
      << out.str();

  std::atomic<bool> stop{true};
  Result<std::string> stopped = FileSha256(archive, &stop);
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("stopped"), std::string::npos);
  if (saved.empty()) {
    unsetenv("XDG_CACHE_HOME");
  } else {
    setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace ppa
