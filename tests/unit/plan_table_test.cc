// The import plan, table-driven (importer/load/plan.h, BuildImportPlan): each
// row is one archive (its PPA manifest, its image files and what they hold)
// and the flags that shape the plan (--registry prefix, --namespace,
// --architectures), with the whole plan it must give, rendered line by line.
// The rules the rows pin are those of docs/naming.md: the PPA manifest's name
// is the target, never the name inside the tarball; docker.io/ and library/
// are dropped; a multi-arch entry is a manifest list over its platform images;
// --architectures leaves out platform images and says which repositories get
// none; each problem fails its own item. The hostile-name classes are in
// plan_names_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "archive/manifest/ppa_manifest.h"
#include "importer/load/plan.h"

namespace ppa {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

// An image inside an image file: its RepoTags and its config's platform.
struct TarImage {
  std::vector<std::string> names;
  std::string arch = "amd64";
  std::string problem;  // non-empty: the image is unusable (e.g. a layer missing)
  std::string manifest_digest;  // non-empty: the file holds its manifest, of this digest
};

// An image file of the archive: the images it holds, or why it is unreadable.
struct ImageFile {
  std::vector<TarImage> images;
  std::string unreadable;
};

struct Row {
  const char* what;
  std::optional<PpaManifest> manifest;      // nullopt: the archive has none
  std::map<std::string, ImageFile> images;  // archive-relative path -> content
  std::vector<std::string> other_files;     // charts and such
  std::string prefix;                       // --registry HOST/PREFIX's PREFIX
  std::string ns = "ns";
  std::vector<std::string> architectures;
  // The plan, rendered by Render below. A line ending in "..." matches any
  // line that starts with the text before it.
  std::vector<std::string> want;
};

PpaImageReference Ref(std::string repository, std::string archive, std::string arch = "",
                      std::string pull = "") {
  std::optional<Platform> platform;
  if (!arch.empty()) platform = Platform{.os = "linux", .architecture = arch, .variant = ""};
  return {.repository = std::move(repository),
          .pull_repository = std::move(pull),
          .platform = std::move(platform),
          .archive = std::move(archive)};
}

PpaImage Entry(std::string image, std::vector<PpaImageReference> refs) {
  return {.image = std::move(image), .references = std::move(refs)};
}

// A one-platform entry named like its only reference.
PpaImage Single(std::string name, std::string archive, std::string pull = "") {
  return Entry(name, {Ref(name, std::move(archive), "", std::move(pull))});
}

PpaManifest Manifest(std::vector<PpaImage> images, std::vector<PpaChart> charts = {}) {
  return {.images = std::move(images), .charts = std::move(charts), .warnings = {}};
}

std::string TargetText(const ImageTarget& t) {
  return t.repository + (t.tag.empty() ? std::string("@digest") : ":" + t.tag);
}

// The plan as lines: one per group, one per platform image below it, one
// per chart, then the filter's verdict, the skipped repositories and the
// warnings.
std::vector<std::string> Render(const ImportPlan& plan) {
  std::vector<std::string> out;
  for (const auto& g : plan.groups) {
    std::string line = "group " + g.name;
    if (g.list_target) line += " list " + TargetText(*g.list_target);
    if (!g.problem.ok()) line += " ! " + g.problem.message();
    out.push_back(line);
    for (const auto& i : g.images) {
      line = "  " + i.name;
      if (!i.problem.ok()) {
        line += " ! " + i.problem.message();
      } else {
        line += " -> " + TargetText(i.target);
        if (i.platform) line += " (" + i.platform->ToString() + ")";
        if (i.source) line += " from " + i.source->origin + " " + i.source->names.at(0);
        // The image picked is of another platform than the one planned.
        if (i.source && i.platform && !i.source->platform.empty() &&
            i.source->platform.architecture != i.platform->architecture) {
          line += " [image is " + i.source->platform.ToString() + "]";
        }
      }
      out.push_back(line);
    }
  }
  for (const auto& c : plan.charts) {
    out.push_back("chart " + c.name +
                  (c.problem.ok() ? " at " + c.path : " ! " + c.problem.message()));
  }
  if (!plan.platform_filter.ok()) out.push_back("filter ! " + plan.platform_filter.message());
  if (plan.skipped_platforms > 0) {
    std::string line = "skipped " + std::to_string(plan.skipped_platforms);
    for (const auto& r : plan.skipped_repositories) line += " " + r;
    out.push_back(line);
  }
  for (const auto& w : plan.warnings) out.push_back("warning " + w);
  return out;
}

bool LineMatches(const std::string& want, const std::string& got) {
  if (want.size() >= 3 && want.compare(want.size() - 3, 3, "...") == 0) {
    return got.rfind(want.substr(0, want.size() - 3), 0) == 0;
  }
  return want == got;
}

std::string Join(const std::vector<std::string>& lines) {
  std::ostringstream s;
  for (const auto& l : lines) s << "\n    " << l;
  return s.str();
}

ImportPlan Plan(const Row& row) {
  PlanInput input;
  input.root = "/archive";
  for (const auto& [rel, file] : row.images) input.files.push_back(rel);
  for (const auto& f : row.other_files) input.files.push_back(f);
  input.manifest = row.manifest;
  input.registry_prefix = row.prefix;
  input.target_namespace = row.ns;
  input.architectures = row.architectures;
  std::map<std::string, ImageFile> files = row.images;
  input.read_image_file = [files](const std::string&, const std::string& rel) {
    const ImageFile& file = files.at(rel);
    if (!file.unreadable.empty()) {
      return Result<std::vector<ImageSource>>(InvalidInput(file.unreadable));
    }
    std::vector<ImageSource> out;
    for (const auto& img : file.images) {
      ImageSource source;
      source.tarball = "/archive/" + rel;
      source.origin = rel;
      source.names = img.names;
      source.config_digest = kDigest;
      source.platform = Platform{.os = "linux", .architecture = img.arch, .variant = ""};
      if (!img.problem.empty()) source.problem = InvalidInput(img.problem);
      if (!img.manifest_digest.empty()) {
        source.manifest = StoredDocument{.media_type = "application/vnd.oci.image.manifest.v1+json",
                                         .digest = img.manifest_digest,
                                         .bytes = std::make_shared<const std::string>()};
      }
      out.push_back(std::move(source));
    }
    return Result<std::vector<ImageSource>>(std::move(out));
  };
  return BuildImportPlan(input);
}

// Three image files: a two-platform image and one single-platform image.
std::map<std::string, ImageFile> PlatformFiles() {
  return {
      {"images/p-amd64.tar", {.images = {{.names = {"up/platform:1.0-amd64"}, .arch = "amd64"}}}},
      {"images/p-ppc64le.tar",
       {.images = {{.names = {"up/platform:1.0-ppc64le"}, .arch = "ppc64le"}}}},
      {"images/app.tar", {.images = {{.names = {"up/app:2.0"}, .arch = "amd64"}}}},
  };
}

PpaManifest PlatformManifest() {
  return Manifest({
      Entry("ibmcom/platform:1.0",
            {Ref("ibmcom/platform:1.0-amd64", "images/p-amd64.tar", "amd64"),
             Ref("ibmcom/platform-ppc:1.0-ppc64le", "images/p-ppc64le.tar", "ppc64le")}),
      Single("ibmcom/app:2.0", "images/app.tar"),
  });
}

const std::vector<Row>& Rows() {
  static const std::vector<Row> rows = {
      // ---- naming: where a name goes ----
      {.what = "the manifest's name below the namespace, not the tarball's RepoTags",
       .manifest = Manifest({Single("ibmcom/portal:2.1.0", "images/portal.tar")}),
       .images = {{"images/portal.tar", {.images = {{.names = {"upstream/portal:v2"}}}}}},
       .want = {"group ibmcom/portal:2.1.0",
                "  ibmcom/portal:2.1.0 -> ns/ibmcom/portal:2.1.0 (linux/amd64) from "
                "images/portal.tar upstream/portal:v2"}},
      {.what = "a --registry prefix goes before the namespace",
       .manifest = Manifest({Single("ibmcom/portal:2.1.0", "images/portal.tar")}),
       .images = {{"images/portal.tar", {.images = {{.names = {"ibmcom/portal:2.1.0"}}}}}},
       .prefix = "team/mirror",
       .want = {"group ibmcom/portal:2.1.0",
                "  ibmcom/portal:2.1.0 -> team/mirror/ns/ibmcom/portal:2.1.0 (linux/amd64) from "
                "images/portal.tar ibmcom/portal:2.1.0"}},
      {.what = "a prefix with slashes around it and no namespace",
       .manifest = Manifest({Single("ibmcom/portal:2.1.0", "images/portal.tar")}),
       .images = {{"images/portal.tar", {.images = {{.names = {"x:1"}}}}}},
       .prefix = "/mirror/",
       .ns = "",
       .want = {"group ibmcom/portal:2.1.0",
                "  ibmcom/portal:2.1.0 -> mirror/ibmcom/portal:2.1.0 (linux/amd64) from "
                "images/portal.tar x:1"}},
      {.what = "docker.io/ and library/ are dropped, another registry host too",
       .manifest = Manifest({Single("docker.io/library/busybox:1.36", "images/a.tar"),
                             Single("docker.io/ibmcom/tool:3", "images/a.tar"),
                             Single("quay.io/vendor/agent:4", "images/a.tar")}),
       .images = {{"images/a.tar", {.images = {{.names = {"busybox:1.36"}}}}}},
       .want = {"group docker.io/library/busybox:1.36",
                "  docker.io/library/busybox:1.36 -> ns/busybox:1.36 (linux/amd64) from "
                "images/a.tar busybox:1.36",
                "group docker.io/ibmcom/tool:3",
                "  docker.io/ibmcom/tool:3 -> ns/ibmcom/tool:3 (linux/amd64) from images/a.tar "
                "busybox:1.36",
                "group quay.io/vendor/agent:4",
                "  quay.io/vendor/agent:4 -> ns/vendor/agent:4 (linux/amd64) from images/a.tar "
                "busybox:1.36"}},
      {.what = "a name without a tag is 'latest'; a digest-only name is pushed by digest",
       .manifest = Manifest({Single("ibmcom/plain", "images/a.tar"),
                             Single("ibmcom/pinned@" + kDigest, "images/a.tar")}),
       .images = {{"images/a.tar", {.images = {{.names = {"x:1"}}}}}},
       .want = {"group ibmcom/plain",
                "  ibmcom/plain -> ns/ibmcom/plain:latest (linux/amd64) from images/a.tar x:1",
                "group ibmcom/pinned@" + kDigest,
                "  ibmcom/pinned@" + kDigest +
                    " -> ns/ibmcom/pinned@digest (linux/amd64) from "
                    "images/a.tar x:1"}},
      {.what = "a namespace or prefix outside the grammar fails every item",
       .manifest = Manifest({Single("ibmcom/portal:2.1.0", "images/a.tar")}),
       .images = {{"images/a.tar", {.images = {{.names = {"x:1"}}}}}},
       .prefix = "Team",
       .want = {"group ibmcom/portal:2.1.0",
                "  ibmcom/portal:2.1.0 ! invalid image name 'ibmcom/portal:2.1.0': its target "
                "'Team/ns/ibmcom/portal' is no repository name..."}},
      {.what = "a tag outside the grammar fails its item only",
       .manifest = Manifest(
           {Single("ibmcom/a:-bad", "images/a.tar"), Single("ibmcom/b:1", "images/a.tar")}),
       .images = {{"images/a.tar", {.images = {{.names = {"x:1"}}}}}},
       .want = {"group ibmcom/a:-bad", "  ibmcom/a:-bad ! invalid image name 'ibmcom/a:-bad'...",
                "group ibmcom/b:1",
                "  ibmcom/b:1 -> ns/ibmcom/b:1 (linux/amd64) from images/a.tar x:1"}},

      // ---- naming: which image of the archive a reference means ----
      {.what = "no file named: the tarball holding the reference's name",
       .manifest = Manifest({Single("ibmcom/app:1", "")}),
       .images = {{"images/other.tar", {.images = {{.names = {"ibmcom/other:1"}}}}},
                  {"images/app.tar", {.images = {{.names = {"docker.io/ibmcom/app:1"}}}}}},
       .want = {"group ibmcom/app:1",
                "  ibmcom/app:1 -> ns/ibmcom/app:1 (linux/amd64) from images/app.tar "
                "docker.io/ibmcom/app:1"}},
      {.what = "no file named: the pull-repository's name when the repository is in none",
       .manifest = Manifest({Single("ibmcom/app:1", "", "docker.io/vendor/app:1.0")}),
       .images = {{"images/app.tar", {.images = {{.names = {"vendor/app:1.0"}}}}}},
       .want = {"group ibmcom/app:1",
                "  ibmcom/app:1 -> ns/ibmcom/app:1 (linux/amd64) from images/app.tar "
                "vendor/app:1.0"}},
      {.what = "no file named and no tarball holds either name",
       .manifest = Manifest({Single("ibmcom/app:1", "", "vendor/app:1.0")}),
       .images = {{"images/app.tar", {.images = {{.names = {"vendor/app:2.0"}}}}}},
       .want = {"group ibmcom/app:1",
                "  ibmcom/app:1 ! no image file for 'ibmcom/app:1': no manifest names one and no "
                "tarball holds an image named 'ibmcom/app:1' or 'vendor/app:1.0'"}},
      {.what = "a file of several images: the one named like the repository, else pull-repository",
       .manifest = Manifest({Single("ibmcom/one:1", "images/multi.tar"),
                             Single("ibmcom/two:1", "images/multi.tar", "vendor/two:9"),
                             Single("ibmcom/three:1", "images/multi.tar")}),
       .images = {{"images/multi.tar",
                   {.images = {{.names = {"vendor/two:9"}}, {.names = {"ibmcom/one:1"}}}}}},
       .want = {"group ibmcom/one:1",
                "  ibmcom/one:1 -> ns/ibmcom/one:1 (linux/amd64) from images/multi.tar "
                "ibmcom/one:1",
                "group ibmcom/two:1",
                "  ibmcom/two:1 -> ns/ibmcom/two:1 (linux/amd64) from images/multi.tar "
                "vendor/two:9",
                "group ibmcom/three:1",
                "  ibmcom/three:1 ! image file 'images/multi.tar' holds 2 images and none is "
                "named 'ibmcom/three:1'"}},
      {.what = "a missing, an unreadable and a broken image file fail their item alone",
       .manifest = Manifest({Single("ibmcom/gone:1", "images/gone.tar"),
                             Single("ibmcom/junk:1", "images/junk.tar"),
                             Single("ibmcom/broken:1", "images/broken.tar"),
                             Single("ibmcom/fine:1", "images/fine.tar")}),
       .images = {{"images/junk.tar", {.unreadable = "not an image tarball"}},
                  {"images/broken.tar",
                   {.images = {{.names = {"x:1"}, .problem = "layer 2 is missing"}}}},
                  {"images/fine.tar", {.images = {{.names = {"x:1"}}}}}},
       .want = {"group ibmcom/gone:1",
                "  ibmcom/gone:1 ! image file 'images/gone.tar' named by the manifest is not in "
                "the archive",
                "group ibmcom/junk:1", "  ibmcom/junk:1 ! not an image tarball",
                "group ibmcom/broken:1",
                "  ibmcom/broken:1 ! image file 'images/broken.tar': layer 2 is missing",
                "group ibmcom/fine:1",
                "  ibmcom/fine:1 -> ns/ibmcom/fine:1 (linux/amd64) from images/fine.tar x:1"}},
      {.what = "the same target twice is imported once, with a warning",
       .manifest = Manifest({Single("ibmcom/app:1", "images/a.tar"),
                             Single("docker.io/ibmcom/app:1", "images/a.tar")}),
       .images = {{"images/a.tar", {.images = {{.names = {"x:1"}}}}}},
       .want = {"group ibmcom/app:1",
                "  ibmcom/app:1 -> ns/ibmcom/app:1 (linux/amd64) from images/a.tar x:1",
                "warning 'docker.io/ibmcom/app:1' is listed more than once; imported once"}},

      // ---- no PPA manifest: the tarballs' own names ----
      {.what = "without a manifest every image goes under each of its RepoTags",
       .images = {{"images/a.tar",
                   {.images = {{.names = {"vendor/app:1", "docker.io/library/app:latest"}},
                               {.names = {}}}}},
                  {"images/b.tar", {.unreadable = "not an image tarball"}}},
       .other_files = {"charts/c-1.0.0.tgz", "charts/readme.txt", "other/x.tgz"},
       .want = {"group vendor/app:1",
                "  vendor/app:1 -> ns/vendor/app:1 (linux/amd64) from images/a.tar vendor/app:1",
                "group docker.io/library/app:latest",
                "  docker.io/library/app:latest -> ns/app:latest (linux/amd64) from images/a.tar "
                "vendor/app:1",
                "group images/a.tar",
                "  images/a.tar ! an image in 'images/a.tar' has no name and no manifest names it",
                "group images/b.tar", "  images/b.tar ! not an image tarball",
                "chart charts/c-1.0.0.tgz at /archive/charts/c-1.0.0.tgz"}},

      // ---- multi-arch grouping ----
      {.what = "a fat manifest: a list over its platform images, each under its own tag",
       .manifest = PlatformManifest(),
       .images = PlatformFiles(),
       .want = {"group ibmcom/platform:1.0 list ns/ibmcom/platform:1.0",
                "  ibmcom/platform:1.0-amd64 -> ns/ibmcom/platform:1.0-amd64 (linux/amd64) from "
                "images/p-amd64.tar up/platform:1.0-amd64",
                "  ibmcom/platform-ppc:1.0-ppc64le -> ns/ibmcom/platform-ppc:1.0-ppc64le "
                "(linux/ppc64le) from images/p-ppc64le.tar up/platform:1.0-ppc64le",
                "group ibmcom/app:2.0",
                "  ibmcom/app:2.0 -> ns/ibmcom/app:2.0 (linux/amd64) from images/app.tar "
                "up/app:2.0"}},
      {.what = "a platform image named like its list is pushed by digest; the list takes the tag",
       .manifest = Manifest(
           {Entry("ibmcom/platform:1.0",
                  {Ref("ibmcom/platform:1.0", "images/p-amd64.tar", "amd64"),
                   Ref("ibmcom/platform:1.0-ppc64le", "images/p-ppc64le.tar", "ppc64le")})}),
       .images = PlatformFiles(),
       .want = {"group ibmcom/platform:1.0 list ns/ibmcom/platform:1.0",
                "  ibmcom/platform:1.0 -> ns/ibmcom/platform@digest (linux/amd64) from "
                "images/p-amd64.tar up/platform:1.0-amd64",
                "  ibmcom/platform:1.0-ppc64le -> ns/ibmcom/platform:1.0-ppc64le (linux/ppc64le) "
                "from images/p-ppc64le.tar up/platform:1.0-ppc64le"}},
      {.what = "one reference named unlike its entry: a list of one platform",
       .manifest = Manifest(
           {Entry("ibmcom/app:2.0", {Ref("ibmcom/app:2.0-amd64", "images/app.tar", "amd64")})}),
       .images = PlatformFiles(),
       .want = {"group ibmcom/app:2.0 list ns/ibmcom/app:2.0",
                "  ibmcom/app:2.0-amd64 -> ns/ibmcom/app:2.0-amd64 (linux/amd64) from "
                "images/app.tar up/app:2.0"}},
      {.what = "no platform in the manifest: the image config's",
       .manifest = Manifest(
           {Entry("ibmcom/platform:1.0", {Ref("ibmcom/platform:1.0-a", "images/p-amd64.tar"),
                                          Ref("ibmcom/platform:1.0-p", "images/p-ppc64le.tar")})}),
       .images = PlatformFiles(),
       .want = {"group ibmcom/platform:1.0 list ns/ibmcom/platform:1.0",
                "  ibmcom/platform:1.0-a -> ns/ibmcom/platform:1.0-a (linux/amd64) from "
                "images/p-amd64.tar up/platform:1.0-amd64",
                "  ibmcom/platform:1.0-p -> ns/ibmcom/platform:1.0-p (linux/ppc64le) from "
                "images/p-ppc64le.tar up/platform:1.0-ppc64le"}},
      {.what = "a multi-arch tarball whose platform images share its name: each reference "
               "gets the image of its platform",
       .manifest = Manifest(
           {Entry("ibmcom/fat:1", {Ref("ibmcom/fat:1-amd64", "images/fat.tar", "amd64", "up/fat:1"),
                                   Ref("ibmcom/fat:1-ppc64le", "images/fat.tar", "ppc64le",
                                       "up/fat:1"),
                                   Ref("ibmcom/fat:1-s390x", "images/fat.tar", "s390x",
                                       "up/fat:1")})}),
       .images = {{"images/fat.tar",
                   {.images = {{.names = {"up/fat:1"}, .arch = "amd64"},
                               {.names = {"up/fat:1"}, .arch = "ppc64le"},
                               {.names = {"up/fat:1"}, .arch = "s390x"}}}}},
       .want = {"group ibmcom/fat:1 list ns/ibmcom/fat:1",
                "  ibmcom/fat:1-amd64 -> ns/ibmcom/fat:1-amd64 (linux/amd64) from images/fat.tar "
                "up/fat:1",
                "  ibmcom/fat:1-ppc64le -> ns/ibmcom/fat:1-ppc64le (linux/ppc64le) from "
                "images/fat.tar up/fat:1",
                "  ibmcom/fat:1-s390x -> ns/ibmcom/fat:1-s390x (linux/s390x) from images/fat.tar "
                "up/fat:1"}},
      {.what = "a multi-arch tarball without names: the reference's platform picks the image",
       .manifest = Manifest(
           {Entry("ibmcom/fat:1", {Ref("ibmcom/fat:1-amd64", "images/fat.tar", "amd64"),
                                   Ref("ibmcom/fat:1-ppc64le", "images/fat.tar", "ppc64le"),
                                   Ref("ibmcom/fat:1-arm64", "images/fat.tar", "arm64")})}),
       .images = {{"images/fat.tar",
                   {.images = {{.names = {"x"}, .arch = "ppc64le"},
                               {.names = {"x"}, .arch = "amd64"}}}}},
       .want = {"group ibmcom/fat:1 list ns/ibmcom/fat:1",
                "  ibmcom/fat:1-amd64 -> ns/ibmcom/fat:1-amd64 (linux/amd64) from images/fat.tar x",
                "  ibmcom/fat:1-ppc64le -> ns/ibmcom/fat:1-ppc64le (linux/ppc64le) from "
                "images/fat.tar x",
                "  ibmcom/fat:1-arm64 ! image file 'images/fat.tar' holds 2 images and none is "
                "named 'ibmcom/fat:1-arm64' (linux/arm64)"}},
      {.what = "references by digest pick the image of that manifest digest, same platform or not",
       .manifest = Manifest(
           {Entry("org/win:1", {Ref("org/win@sha256:" + std::string(64, '1'), "images/w.tar",
                                    "amd64"),
                                Ref("org/win@sha256:" + std::string(64, '2'), "images/w.tar",
                                    "amd64"),
                                Ref("org/win@sha256:" + std::string(64, '3'), "images/w.tar",
                                    "amd64")})}),
       .images = {{"images/w.tar",
                   {.images = {{.names = {"org/win:1"},
                                .manifest_digest = "sha256:" + std::string(64, '2')},
                               {.names = {"org/win:1"},
                                .manifest_digest = "sha256:" + std::string(64, '1')}}}}},
       .want = {"group org/win:1 list ns/org/win:1",
                "  org/win@sha256:" + std::string(64, '1') +
                    " -> ns/org/win@digest (linux/amd64) from images/w.tar org/win:1",
                "  org/win@sha256:" + std::string(64, '2') +
                    " -> ns/org/win@digest (linux/amd64) from images/w.tar org/win:1",
                "  org/win@sha256:" + std::string(64, '3') + " ! image file 'images/w.tar'..."}},
      {.what = "images sharing a name and a reference without a platform: refused, not guessed",
       .manifest = Manifest({Single("up/fat:1", "images/fat.tar")}),
       .images = {{"images/fat.tar",
                   {.images = {{.names = {"up/fat:1"}, .arch = "amd64"},
                               {.names = {"up/fat:1"}, .arch = "ppc64le"}}}}},
       .want = {"group up/fat:1",
                "  up/fat:1 ! image file 'images/fat.tar' holds several images named 'up/fat:1': "
                "which one the reference means is unclear"}},
      {.what = "--architectures amd64 leaves out the ppc64le image and names its repository",
       .manifest = PlatformManifest(),
       .images = PlatformFiles(),
       .architectures = {"amd64"},
       .want = {"group ibmcom/platform:1.0 list ns/ibmcom/platform:1.0",
                "  ibmcom/platform:1.0-amd64 -> ns/ibmcom/platform:1.0-amd64 (linux/amd64) from "
                "images/p-amd64.tar up/platform:1.0-amd64",
                "group ibmcom/app:2.0",
                "  ibmcom/app:2.0 -> ns/ibmcom/app:2.0 (linux/amd64) from images/app.tar "
                "up/app:2.0",
                "skipped 1 ns/ibmcom/platform-ppc"}},
      {.what = "--architectures linux/ppc64le drops a whole entry that has no such image",
       .manifest = PlatformManifest(),
       .images = PlatformFiles(),
       .architectures = {"linux/ppc64le"},
       .want = {"group ibmcom/platform:1.0 list ns/ibmcom/platform:1.0",
                "  ibmcom/platform-ppc:1.0-ppc64le -> ns/ibmcom/platform-ppc:1.0-ppc64le "
                "(linux/ppc64le) from images/p-ppc64le.tar up/platform:1.0-ppc64le",
                "skipped 2 ns/ibmcom/app ns/ibmcom/platform"}},
      {.what = "--architectures x86_64 and aarch64 are amd64 and arm64; arm64 matches no image",
       .manifest = PlatformManifest(),
       .images = PlatformFiles(),
       .architectures = {"x86_64", "aarch64"},
       .want = {"group ibmcom/platform:1.0 list ns/ibmcom/platform:1.0",
                "  ibmcom/platform:1.0-amd64 -> ns/ibmcom/platform:1.0-amd64 (linux/amd64) from "
                "images/p-amd64.tar up/platform:1.0-amd64",
                "group ibmcom/app:2.0",
                "  ibmcom/app:2.0 -> ns/ibmcom/app:2.0 (linux/amd64) from images/app.tar "
                "up/app:2.0",
                "skipped 1 ns/ibmcom/platform-ppc",
                "warning --architectures/--platform 'aarch64' matches no image of this archive "
                "(it has linux/amd64, linux/ppc64le)"}},
      {.what = "--architectures linux/arm64/v8 matches an arm64 image that names no variant",
       .manifest = Manifest(
           {Entry("ibmcom/agent:1", {Ref("ibmcom/agent:1-arm64", "images/arm.tar", "arm64"),
                                     Ref("ibmcom/agent:1-amd64", "images/app.tar", "amd64")})}),
       .images = {{"images/arm.tar", {.images = {{.names = {"a:1"}, .arch = "arm64"}}}},
                  {"images/app.tar", {.images = {{.names = {"b:1"}}}}}},
       .architectures = {"linux/arm64/v8"},
       .want = {"group ibmcom/agent:1 list ns/ibmcom/agent:1",
                "  ibmcom/agent:1-arm64 -> ns/ibmcom/agent:1-arm64 (linux/arm64) from "
                "images/arm.tar a:1",
                "skipped 1 ns/ibmcom/agent"}},
      {.what = "--architectures matching nothing fails the archive and names its platforms",
       .manifest = PlatformManifest(),
       .images = PlatformFiles(),
       .architectures = {"s390x"},
       .want = {"filter ! no image of this archive is for the platform(s) asked for "
                "(--architectures/--platform: s390x)",
                "skipped 3 ns/ibmcom/app ns/ibmcom/platform ns/ibmcom/platform-ppc"}},
      {.what = "an item without a known platform stays (to fail) under --architectures",
       .manifest = Manifest({Single("ibmcom/gone:1", "images/gone.tar"),
                             Single("ibmcom/app:2.0", "images/app.tar")}),
       .images = PlatformFiles(),
       .architectures = {"amd64"},
       .want = {"group ibmcom/gone:1",
                "  ibmcom/gone:1 ! image file 'images/gone.tar' named by the manifest is not in "
                "the archive",
                "group ibmcom/app:2.0",
                "  ibmcom/app:2.0 -> ns/ibmcom/app:2.0 (linux/amd64) from images/app.tar "
                "up/app:2.0"}},

      // ---- charts ----
      {.what = "a chart path that is wrong falls back to charts/<basename>; a missing one fails",
       .manifest =
           Manifest({}, {PpaChart{.archive = "stale/dir/c-1.0.0.tgz", .repository_keys = {}},
                         PpaChart{.archive = "charts/none-1.0.0.tgz", .repository_keys = {}}}),
       .other_files = {"charts/c-1.0.0.tgz"},
       .want = {"chart charts/c-1.0.0.tgz at /archive/charts/c-1.0.0.tgz",
                "chart charts/none-1.0.0.tgz ! chart 'charts/none-1.0.0.tgz' is not in the "
                "archive..."}},
  };
  return rows;
}

class PlanTable : public ::testing::TestWithParam<size_t> {};

TEST_P(PlanTable, GivesTheExpectedPlan) {
  const Row& row = Rows().at(GetParam());
  std::vector<std::string> got = Render(Plan(row));
  bool same = got.size() == row.want.size();
  for (size_t i = 0; same && i < got.size(); ++i) same = LineMatches(row.want[i], got[i]);
  EXPECT_TRUE(same) << row.what << "\n  want:" << Join(row.want) << "\n  got:" << Join(got);
}

// Each case is named after its row: "r07_no_file_named_the_tarball_holding...".
std::string RowName(const ::testing::TestParamInfo<size_t>& info) {
  std::string name = (info.param < 10 ? "r0" : "r") + std::to_string(info.param) + "_";
  for (char c : std::string(Rows().at(info.param).what)) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      name += c;
    } else if (name.back() != '_') {
      name += '_';
    }
  }
  name.resize(std::min<size_t>(name.size(), 64));
  while (name.back() == '_') name.pop_back();
  return name;
}

INSTANTIATE_TEST_SUITE_P(Rows, PlanTable, ::testing::Range<size_t>(0, Rows().size()), RowName);

}  // namespace
}  // namespace ppa
