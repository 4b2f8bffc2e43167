// Verdicts that must never say OK falsely (docs/guarantees.md, "Verified"), the pure parts:
// what --registry names (ParseTarget, ParseRegistryAddress), platform
// filters (ParsePlatformFilter, the plan's filter verdict), the JSON
// report's archive status and schema version, the doubled namespace, which
// chart values are rewritten, and what an archive wrote before exit 3.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "archive/manifest/ppa_manifest.h"
#include "docker_io/target/blob_sink.h"
#include "helm_io/values_rewrite.h"
#include "importer/load/charts_stage.h"
#include "importer/load/pipeline.h"
#include "importer/load/plan.h"
#include "importer/report/run_report.h"
#include "importer/load/written_blobs.h"

namespace ppa {
namespace {

Result<TargetSpec> Parse(const std::string& registry, RegistryOnlyFlags flags = {}) {
  return ParseTarget(registry, "/w/ppa-import", flags);
}

// The bug: "oci://127.0.0.1:5000" was the layout "/127.0.0.1:5000" (exit 0).
TEST(ParseTarget, OciAndDockerSchemesNameARegistry) {
  struct Case {
    std::string text, host, prefix;
    bool plain_http;
  };
  const Case cases[] = {
      {"oci://127.0.0.1:5000", "127.0.0.1:5000", "", false},
      {"oci://reg.example.com/team/", "reg.example.com", "team", false},
      {"docker://127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", false},
      {"DOCKER://reg:443", "reg:443", "", false},
      {"oci://user:pw@reg:5000/p", "reg:5000", "p", false},
      {"http://reg:5000", "reg:5000", "", true},
      {"reg:5000/p", "reg:5000", "p", false},
      {"localhost", "localhost", "", false},
      {"[::1]:5000", "[::1]:5000", "", false},
  };
  for (const auto& c : cases) {
    auto spec = Parse(c.text);
    ASSERT_TRUE(spec.ok()) << c.text << ": " << spec.status().ToString();
    EXPECT_EQ(spec->kind, TargetSpec::Kind::kRegistry) << c.text;
    EXPECT_EQ(spec->registry.endpoint.host, c.host) << c.text;
    EXPECT_EQ(spec->registry.prefix, c.prefix) << c.text;
    EXPECT_EQ(spec->registry.endpoint.plain_http, c.plain_http) << c.text;
  }
}

TEST(ParseTarget, OciWithoutSlashesIsALayout) {
  struct Case {
    std::string text, dir;
  };
  const Case cases[] = {
      {"oci:/srv/layout", "/srv/layout"},
      {"oci:layout", "layout"},
      {"oci:./out/layout", "./out/layout"},
      {"", "/w/ppa-import/oci-layout"},
  };
  for (const auto& c : cases) {
    auto spec = Parse(c.text);
    ASSERT_TRUE(spec.ok()) << c.text << ": " << spec.status().ToString();
    EXPECT_EQ(spec->kind, TargetSpec::Kind::kLayout) << c.text;
    EXPECT_EQ(spec->layout_dir, c.dir) << c.text;
    EXPECT_EQ(spec->default_layout, c.text.empty()) << c.text;
  }
}

// Anything that could mean two things, or that we do not know, is a usage
// error with a hint (exit 2), never a guess.
TEST(ParseTarget, AmbiguousAndUnknownFormsAreRefusedWithAHint) {
  const char* refused[] = {
      "oci:",                               // no directory
      "oci:///srv/layout",                  // a layout or a registry without a host?
      "oci:127.0.0.1:5000",                 // a registry without "//"
      "oci:/srv/layout:latest",             // skopeo's oci:DIR:REF
      "oci:~/layout",                       // the shell did not expand it
      "oci://",                             // no host
      "ftp://reg:21/x",                     // a scheme we do not know
      "oci-archive:/tmp/a.tar",             // skopeo transports
      "dir:/tmp/a",
      "docker-archive:/tmp/a.tar",
      "docker:reg:5000",                    // docker without "//"
      "docker://reg:5000/ns/img:1.0",       // a registry takes no tag
      "reg:5000/ns/img:latest",
      "docker://reg/ns/img@sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      "oci://http://reg:5000",              // two schemes
      "reg:notaport",
  };
  for (const char* text : refused) {
    auto spec = Parse(text);
    ASSERT_FALSE(spec.ok()) << text << " was accepted";
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidInput) << text;
    EXPECT_FALSE(spec.status().hint().empty()) << text << ": " << spec.status().ToString();
  }
}

TEST(ParseTarget, RegistryFlagsWithALayoutAreRefused) {
  TransportOptions insecure;
  insecure.insecure = true;
  TransportOptions ca;
  ca.ca_file = "/etc/ca.pem";
  TransportOptions cert;
  cert.cert_file = "/c.pem";
  cert.key_file = "/k.pem";
  TransportOptions certdir;
  certdir.cert_dir = "/etc/pki/reg";
  TransportOptions none;
  struct Case {
    RegistryOnlyFlags flags;
    std::string named;
  };
  const Case cases[] = {{{true, &none}, "--plain-http"},
                        {{false, &insecure}, "--insecure"},
                        {{false, &ca}, "--ca-file"},
                        {{false, &cert}, "--cert-file"},
                        {{false, &certdir}, "--cert-dir"}};
  for (const std::string layout : {"oci:/srv/layout", ""}) {
    for (const auto& c : cases) {
      auto spec = Parse(layout, c.flags);
      ASSERT_FALSE(spec.ok()) << layout << " " << c.named;
      EXPECT_EQ(spec.status().code(), StatusCode::kInvalidInput);
      EXPECT_NE(spec.status().message().find(c.named), std::string::npos)
          << spec.status().ToString();
    }
    EXPECT_TRUE(Parse(layout, {false, &none}).ok()) << layout;
    // With a ChartMuseum named, the TLS flags are its; --plain-http is not.
    for (const TransportOptions* tls : {&insecure, &ca, &cert, &certdir}) {
      EXPECT_TRUE(Parse(layout, {false, tls, /*tls_server_besides=*/true}).ok()) << layout;
    }
    EXPECT_FALSE(Parse(layout, {true, &none, /*tls_server_besides=*/true}).ok()) << layout;
  }
  // A registry takes them all.
  EXPECT_TRUE(Parse("oci://reg:5000", {true, &insecure}).ok());
}

TEST(DoubledNamespaceWarning, NamesTheResultingPathAndWhatToDrop) {
  RegistryAddress address;
  address.endpoint.host = "reg:5000";
  address.prefix = "portal_prod";
  std::string w = DoubledNamespaceWarning(address, "portal_prod");
  EXPECT_NE(w.find("'reg:5000/portal_prod/portal_prod/...'"), std::string::npos) << w;
  EXPECT_NE(w.find("drop '/portal_prod' from --registry"), std::string::npos) << w;
  address.prefix = "team/portal_prod";
  EXPECT_NE(DoubledNamespaceWarning(address, "portal_prod"), "");
  for (const std::string prefix : {"", "portal", "xportal_prod", "portal_prod/team"}) {
    address.prefix = prefix;
    EXPECT_EQ(DoubledNamespaceWarning(address, "portal_prod"), "") << prefix;
  }
}

TEST(ParsePlatformFilter, ArchOsArchAndVariantNormalizedAsContainerd) {
  struct Case {
    std::string text, os, arch, variant;
  };
  const Case cases[] = {
      {"amd64", "", "amd64", ""},          {"x86_64", "", "amd64", ""},
      {"linux/x86-64", "linux", "amd64", ""}, {"aarch64", "", "arm64", ""},
      {"linux/arm64/v8", "linux", "arm64", "v8"}, {"linux/arm64/8", "linux", "arm64", "v8"},
      {"linux/arm/v7", "linux", "arm", "v7"}, {"linux/arm/7", "linux", "arm", "v7"},
      {"armhf", "", "arm", "v7"},          {"LINUX/PPC64LE", "linux", "ppc64le", ""},
      {"i386", "", "386", ""},
  };
  for (const auto& c : cases) {
    auto f = ParsePlatformFilter(c.text);
    ASSERT_TRUE(f.ok()) << c.text;
    EXPECT_EQ(f->os, c.os) << c.text;
    EXPECT_EQ(f->architecture, c.arch) << c.text;
    EXPECT_EQ(f->variant, c.variant) << c.text;
  }
  for (const char* bad : {"", "linux/", "/amd64", "linux/arm/v7/x", "linux//amd64"}) {
    EXPECT_FALSE(ParsePlatformFilter(bad).ok()) << bad;
  }
}

TEST(PlatformMatches, VariantsAndDefaults) {
  struct Case {
    std::string filter;
    Platform platform;
    bool match;
  };
  const Case cases[] = {
      {"arm64", {"linux", "arm64", ""}, true},
      {"linux/arm64/v8", {"linux", "arm64", ""}, true},  // arm64's default variant
      {"linux/arm64/v8", {"linux", "aarch64", "v8"}, true},
      {"linux/arm64", {"linux", "arm64", "v8"}, true},
      {"linux/arm/v7", {"linux", "arm", ""}, true},      // arm's default variant
      {"linux/arm/v7", {"linux", "arm", "v6"}, false},
      {"linux/arm", {"linux", "arm", "v6"}, true},
      {"amd64", {"linux", "x86_64", ""}, true},
      {"windows/amd64", {"linux", "amd64", ""}, false},
      {"linux/amd64", {"linux", "ppc64le", ""}, false},
  };
  for (const auto& c : cases) {
    auto f = ParsePlatformFilter(c.filter);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(PlatformMatches(*f, c.platform), c.match) << c.filter << " vs "
                                                         << c.platform.ToString();
  }
}

ImageSource Image(std::string name, Platform platform, char digest) {
  ImageSource image;
  image.tarball = "/nonexistent/images.tar";
  image.origin = "images/a.tar";
  image.names = {std::move(name)};
  image.config_digest = "sha256:" + std::string(64, digest);
  image.platform = std::move(platform);
  return image;
}

PlanInput Input(std::vector<std::string> architectures) {
  std::vector<ImageSource> images = {Image("org/app:1-amd64", {"linux", "amd64", ""}, 'a'),
                                     Image("org/app:1-arm", {"linux", "arm", "v7"}, 'b'),
                                     Image("org/db:1", {"linux", "amd64", ""}, 'c')};
  PlanInput input;
  input.root = "/nonexistent";
  input.files = {"images/a.tar"};
  input.target_namespace = "ns";
  input.architectures = std::move(architectures);
  input.read_image_file = [images](const std::string&, const std::string&) {
    return Result<std::vector<ImageSource>>(images);
  };
  return input;
}

// The bug: a filter matching nothing skipped every image and said "OK".
TEST(PlatformFilterVerdict, MatchingNothingFailsTheArchiveNamingItsPlatforms) {
  for (const std::string wanted : {"s390x", "linux/arm64", "linux/arm/v6", "windows/amd64"}) {
    ImportPlan plan = BuildImportPlan(Input({wanted}));
    ASSERT_FALSE(plan.platform_filter.ok()) << wanted;
    EXPECT_EQ(plan.ImageCount(), 0u);
    EXPECT_NE(plan.platform_filter.message().find(wanted), std::string::npos)
        << plan.platform_filter.ToString();
    EXPECT_NE(plan.platform_filter.hint().find("linux/amd64, linux/arm/v7"), std::string::npos)
        << plan.platform_filter.ToString();
  }
}

TEST(PlatformFilterVerdict, PartialMatchImportsWhatMatchesAndWarnsPerEntry) {
  ImportPlan plan = BuildImportPlan(Input({"linux/arm/v7", "s390x"}));
  EXPECT_TRUE(plan.platform_filter.ok()) << plan.platform_filter.ToString();
  EXPECT_EQ(plan.ImageCount(), 1u);
  EXPECT_EQ(plan.skipped_platforms, 2);
  EXPECT_EQ(plan.skipped_repositories, (std::set<std::string>{"ns/org/app", "ns/org/db"}));
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("'s390x' matches no image"), std::string::npos)
      << plan.warnings[0];
  // No filter, or one naming the amd64 images by another spelling.
  EXPECT_EQ(BuildImportPlan(Input({})).ImageCount(), 3u);
  EXPECT_EQ(BuildImportPlan(Input({"x86_64"})).ImageCount(), 2u);
}

TEST(ArchiveStatus, EveryImageFailedIsFailedNotPartial) {
  ItemResult ok;
  ItemResult bad;
  bad.status = InvalidInput("broken");
  ItemResult chart;
  chart.kind = ItemResult::Kind::kChart;
  ItemResult bad_chart = chart;
  bad_chart.status = InvalidInput("broken chart");
  struct Case {
    int exit_code;
    std::vector<ItemResult> items;
    Status fatal;
    std::string status;
  };
  const Case cases[] = {
      {0, {ok, ok}, Status::Ok(), "ok"},
      {0, {}, Status::Ok(), "ok"},
      {1, {ok, bad}, Status::Ok(), "partial"},
      {1, {bad, bad}, Status::Ok(), "failed"},
      {1, {bad}, Status::Ok(), "failed"},
      {1, {bad, bad, chart}, Status::Ok(), "failed"},  // charts extracted, no image landed
      {1, {ok, chart, bad_chart}, Status::Ok(), "partial"},
      {1, {chart, bad_chart}, Status::Ok(), "partial"},  // an archive of charts only
      {1, {bad_chart}, Status::Ok(), "failed"},
      {1, {}, NotFound("no image for s390x"), "failed"},
      {2, {}, InvalidInput("bad target"), "failed"},
      {3, {}, UnsafeArchive("truncated"), "unreadable"},
  };
  for (const auto& c : cases) {
    ArchiveOutcome a;
    a.exit_code = c.exit_code;
    a.items = c.items;
    a.fatal = c.fatal;
    EXPECT_EQ(ArchiveStatus(a), c.status) << c.exit_code << " " << c.items.size();
  }
}

TEST(RenderJsonReport, SchemaVersionAndUntaggedBlobsOfAnUnreadableArchive) {
  RunReport report;
  ArchiveOutcome a;
  a.archive = "a.tgz";
  a.exit_code = 3;
  a.fatal = UnsafeArchive("truncated");
  a.untagged_blobs = {{"reg:5000/ns/org/app", "sha256:" + std::string(64, 'e'), 1234}};
  ArchiveOutcome all_failed;
  all_failed.exit_code = 1;
  ItemResult bad;
  bad.status = InvalidInput("broken");
  all_failed.items = {bad};
  report.archives = {a, all_failed};
  auto j = nlohmann::ordered_json::parse(RenderJsonReport(report));
  EXPECT_EQ(j.begin().key(), "schema_version");
  EXPECT_EQ(j["schema_version"], 1);
  const auto& blobs = j["archives"][0]["untagged_blobs"];
  ASSERT_EQ(blobs.size(), 1u);
  EXPECT_EQ(blobs[0]["repository"], "reg:5000/ns/org/app");
  EXPECT_EQ(blobs[0]["digest"], "sha256:" + std::string(64, 'e'));
  EXPECT_EQ(blobs[0]["size"], 1234);
  EXPECT_EQ(j["archives"][1]["status"], "failed");
  EXPECT_FALSE(j["archives"][1].contains("untagged_blobs"));
}

// The bug: a chart's values were pointed at repositories that got no image
// (left out by --architectures).
TEST(ChartValues, OnlyRepositoriesThatGotAnImageAreRewritten) {
  ImportPlan plan = BuildImportPlan(Input({"arm"}));
  ItemResult arm;
  arm.name = "org/app:1-arm";
  std::set<std::string> unimported = UnimportedRepositories(plan, {arm});
  EXPECT_EQ(unimported, (std::set<std::string>{"ns/org/db"}));
  arm.status = InvalidInput("push failed");
  EXPECT_EQ(UnimportedRepositories(plan, {arm}),
            (std::set<std::string>{"ns/org/app", "ns/org/db"}));

  const std::string values = "app:\n  repository: org/app\ndb:\n  repository: org/db\n"
                             "other:\n  repository: elsewhere/img\n";
  auto refuse = [&](const std::string& value) -> std::string {
    return unimported.count("ns/" + value) ? "not imported" : "";
  };
  auto out = RewriteValuesRepositories(
      values, {"app.repository", "db.repository", "other.repository"}, "reg:5000/ns/", refuse);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->rewritten, 2);
  EXPECT_NE(out->text.find("repository: reg:5000/ns/org/app\n"), std::string::npos) << out->text;
  EXPECT_NE(out->text.find("repository: org/db\n"), std::string::npos) << out->text;
  EXPECT_NE(out->text.find("repository: reg:5000/ns/elsewhere/img\n"), std::string::npos);
  ASSERT_EQ(out->warnings.size(), 1u);
  EXPECT_NE(out->warnings[0].find("'db.repository' names 'org/db', not imported"),
            std::string::npos)
      << out->warnings[0];
}

class MemorySink : public BlobSink {
 public:
  Result<bool> HasBlob(const std::string&, const std::string&) override { return false; }
  Status PutBlob(const std::string&, const BlobUpload&) override { return Status::Ok(); }
  Status PutBlobBytes(const std::string&, const std::string&, const std::string&) override {
    return Status::Ok();
  }
  Result<bool> MountBlob(const std::string&, const std::string&, const std::string& from) override {
    return !from.empty();
  }
  Result<std::string> PutManifest(const std::string&, const std::string&, const std::string&,
                                  const std::string&) override {
    return std::string("sha256:m");
  }
  std::string Locate(const std::string& repo) const override { return "reg:5000/" + repo; }
};

TEST(RecordingSink, RecordsEveryBlobOnceAndCountsManifests) {
  MemorySink inner;
  RecordingSink sink(inner);
  BlobUpload layer{"sha256:l", 100, {}, {}};
  ASSERT_TRUE(sink.PutBlob("ns/a", layer).ok());
  ASSERT_TRUE(sink.PutBlob("ns/a", layer).ok());
  ASSERT_TRUE(sink.MountBlob("ns/a", "sha256:c", "").ok());  // not mounted: nothing recorded
  ASSERT_TRUE(sink.PutBlobBytes("ns/a", "sha256:c", "{}").ok());
  ASSERT_TRUE(sink.MountBlob("ns/b", "sha256:l", "ns/a").ok());
  EXPECT_EQ(sink.manifests(), 0);
  auto written = sink.written();
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[0].repository, "reg:5000/ns/a");
  EXPECT_EQ(written[0].size, 100u);
  EXPECT_EQ(written[1].size, 2u);
  EXPECT_EQ(written[2].repository, "reg:5000/ns/b");
  EXPECT_EQ(written[2].size, 100u);  // a mount: the size it was sent with
  ASSERT_TRUE(sink.PutManifest("ns/a", "1", "t", "{}").ok());
  EXPECT_EQ(sink.manifests(), 1);
}

}  // namespace
}  // namespace ppa
