// The two ready-made archives of `ppa-make-sample`: the bundled demo sample
// and the IBM-shaped one. Their contents are documented next to each spec.
#include "samples/generator/sample_archive.h"

namespace ppa::samples {
namespace {

LayerSpec Layer(uint64_t seed, const std::string& dir, int files = 3, uint64_t size = 1024) {
  LayerSpec l;
  l.seed = seed;
  l.directory = dir;
  l.file_count = files;
  l.file_size = size;
  return l;
}

ImageSpec Image(std::vector<std::string> tags, const std::string& arch,
                std::vector<LayerSpec> layers, std::vector<std::string> cmd) {
  ImageSpec i;
  i.repo_tags = std::move(tags);
  i.architecture = arch;
  i.layers = std::move(layers);
  i.cmd = std::move(cmd);
  return i;
}

ImageTarballSpec Tarball(ImageTarballFormat format, bool gzip, std::vector<ImageSpec> images) {
  ImageTarballSpec t;
  t.format = format;
  t.gzip = gzip;
  t.images = std::move(images);
  return t;
}

YamlReference Ref(const std::string& repository, const std::string& pull, const std::string& arch,
                  const std::string& archive) {
  YamlReference r;
  r.repository = repository;
  r.pull_repository = pull;
  r.architecture = arch;
  r.archive = archive;
  return r;
}

// "bash-curl-ssl" -> "bashCurlSsl": a values key usable in Go templates.
std::string CamelCase(const std::string& s) {
  std::string out;
  bool upper = false;
  for (char c : s) {
    if (c == '-') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

std::vector<std::string> Keys(const ChartSpec& chart) {
  std::vector<std::string> keys;
  for (const ChartImage& i : chart.images) keys.push_back(i.repository_key);
  return keys;
}

}  // namespace

// Demo sample: five tarballs, six platform images, two charts.
//   images/portal-2.1.0-amd64.tar.gz    legacy docker save, gzip: ibmcom/portal:2.1.0-amd64
//   images/portal-2.1.0-ppc64le.tar.gz  legacy docker save, gzip: ibmcom/portal:2.1.0-ppc64le
//   images/portal-db-2.1.0.tar          Docker 25+ save, plain: ibmcom/portal-db:2.1.0-amd64
//                                       (base layer identical to portal amd64's)
//   images/portal-worker-2.1.0-oci.tar  OCI layout, gzip layers: ibmcom/portal-worker:2.1.0-amd64
//   images/portal-tools-init-2.1.0.tar.gz  legacy, gzip, two images: ibmcom/portal-tools and
//                                       ibmcom/portal-init :2.1.0-amd64 (one layer symlinked)
// manifest.yaml lists fat images ibmcom/<name>:2.1.0 (portal with amd64 +
// ppc64le references); the portal-db reference has no `archive`, which
// manifest.json supplies (and lists twice). Chart prod is written as
// `file:ibm-portal-prod-1.0.0.tgz` in the yaml.
PpaArchiveSpec DemoSampleSpec() {
  const LayerSpec base_amd64 = Layer(100, "usr/lib/portal-base", 3, 2048);
  const LayerSpec base_ppc64le = Layer(200, "usr/lib/portal-base", 3, 2048);
  const LayerSpec tools_base = Layer(130, "usr/lib/tools-base");
  const LayerSpec shared_config = Layer(133, "etc/portal", 2, 256);

  PpaArchiveSpec spec;
  spec.images = {
      {"images/portal-2.1.0-amd64.tar.gz",
       Tarball(ImageTarballFormat::kDockerLegacy, true,
               {Image({"ibmcom/portal:2.1.0-amd64"}, "amd64",
                      {base_amd64, Layer(101, "opt/portal", 2, 4096)}, {"/opt/portal/start"})})},
      {"images/portal-2.1.0-ppc64le.tar.gz",
       Tarball(ImageTarballFormat::kDockerLegacy, true,
               {Image({"ibmcom/portal:2.1.0-ppc64le"}, "ppc64le",
                      {base_ppc64le, Layer(201, "opt/portal", 2, 4096)}, {"/opt/portal/start"})})},
      {"images/portal-db-2.1.0.tar",
       Tarball(ImageTarballFormat::kDocker25, false,
               {Image({"ibmcom/portal-db:2.1.0-amd64"}, "amd64",
                      {base_amd64, Layer(110, "var/lib/portal-db")}, {"/usr/bin/portal-db"})})},
      {"images/portal-worker-2.1.0-oci.tar",
       Tarball(ImageTarballFormat::kOciLayout, false,
               {Image({"ibmcom/portal-worker:2.1.0-amd64"}, "amd64",
                      {Layer(120, "usr/lib/worker-base"), Layer(121, "opt/worker")},
                      {"/opt/worker/run"})})},
      {"images/portal-tools-init-2.1.0.tar.gz",
       Tarball(ImageTarballFormat::kDockerLegacy, true,
               {Image({"ibmcom/portal-tools:2.1.0-amd64"}, "amd64",
                      {tools_base, Layer(131, "opt/tools"), shared_config}, {"/opt/tools/cli"}),
                Image({"ibmcom/portal-init:2.1.0-amd64"}, "amd64",
                      {tools_base, Layer(132, "opt/init"), shared_config}, {"/opt/init/run"})})},
  };

  ChartSpec prod{"ibm-portal-prod",
                 "1.0.0",
                 "IBM Portal (production)",
                 "2.1.0",
                 {{"image.repository", "ibmcom/portal", "2.1.0"},
                  {"db.image.repository", "ibmcom/portal-db", "2.1.0"},
                  {"worker.image.repository", "ibmcom/portal-worker", "2.1.0"},
                  {"init.image.repository", "ibmcom/portal-init", "2.1.0"}},
                 {},
                 false};
  ChartSpec dev{"ibm-portal-dev",
                "1.0.0",
                "IBM Portal (development)",
                "2.1.0",
                {{"image.repository", "ibmcom/portal", "2.1.0"},
                 {"db.image.repository", "ibmcom/portal-db", "2.1.0"},
                 {"tools.image.repository", "ibmcom/portal-tools", "2.1.0"}},
                {},
                false};
  spec.charts = {{"charts/ibm-portal-prod-1.0.0.tgz", prod},
                 {"charts/ibm-portal-dev-1.0.0.tgz", dev}};

  const std::string up = "cp.icr.io/cp/portal/";
  std::vector<YamlImage> yaml_images = {
      {"ibmcom/portal:2.1.0",
       {Ref("ibmcom/portal:2.1.0-amd64", up + "portal:2.1.0-amd64", "amd64",
            "images/portal-2.1.0-amd64.tar.gz"),
        Ref("ibmcom/portal:2.1.0-ppc64le", up + "portal:2.1.0-ppc64le", "ppc64le",
            "images/portal-2.1.0-ppc64le.tar.gz")}},
      {"ibmcom/portal-db:2.1.0",
       {Ref("ibmcom/portal-db:2.1.0-amd64", up + "portal-db:2.1.0-amd64", "amd64", "")}},
      {"ibmcom/portal-worker:2.1.0",
       {Ref("ibmcom/portal-worker:2.1.0-amd64", up + "portal-worker:2.1.0-amd64", "amd64",
            "images/portal-worker-2.1.0-oci.tar")}},
      {"ibmcom/portal-tools:2.1.0",
       {Ref("ibmcom/portal-tools:2.1.0-amd64", up + "portal-tools:2.1.0-amd64", "amd64",
            "images/portal-tools-init-2.1.0.tar.gz")}},
      {"ibmcom/portal-init:2.1.0",
       {Ref("ibmcom/portal-init:2.1.0-amd64", up + "portal-init:2.1.0-amd64", "amd64",
            "images/portal-tools-init-2.1.0.tar.gz")}},
  };
  spec.manifest_yaml =
      RenderManifestYaml(yaml_images, {{"file:ibm-portal-prod-1.0.0.tgz", Keys(prod)},
                                       {"charts/ibm-portal-dev-1.0.0.tgz", Keys(dev)}});
  spec.manifest_json = RenderManifestJson(
      {{"ibmcom/portal", "2.1.0-amd64", "images/portal-2.1.0-amd64.tar.gz"},
       {"ibmcom/portal", "2.1.0-ppc64le", "images/portal-2.1.0-ppc64le.tar.gz"},
       {"ibmcom/portal-db", "2.1.0-amd64", "images/portal-db-2.1.0.tar"},
       {"ibmcom/portal-worker", "2.1.0-amd64", "images/portal-worker-2.1.0-oci.tar"},
       {"ibmcom/portal-db", "2.1.0-amd64", "images/portal-db-2.1.0.tar"},
       {"ibmcom/portal-tools", "2.1.0-amd64", "images/portal-tools-init-2.1.0.tar.gz"},
       {"ibmcom/portal-init", "2.1.0-amd64", "images/portal-tools-init-2.1.0.tar.gz"}},
      {{"charts/ibm-portal-prod-1.0.0.tgz", Keys(prod)},
       {"charts/ibm-portal-dev-1.0.0.tgz", Keys(dev)}});
  return spec;
}

namespace {

struct IbmShapedImage {
  const char* short_name;  // bluecompute-<short_name>
  const char* tag;         // IBM tag
  const char* upstream;    // RepoTags inside the tarball / pull-repository
  bool repo_tags_null;     // saved with RepoTags: null
  bool json_archive;       // manifest.json names the file
  ImageTarballFormat format;
  bool gzip;  // file is gzip (all are *named* .tar.gz)
};

constexpr ImageTarballFormat kLegacy = ImageTarballFormat::kDockerLegacy;
constexpr ImageTarballFormat kDocker25 = ImageTarballFormat::kDocker25;

const IbmShapedImage kIbmShapedImages[] = {
    {"auth", "0.5.0", "bluecompute/auth:latest", false, true, kLegacy, true},
    {"catalog", "0.5.0", "bluecompute/catalog:latest", false, true, kLegacy, true},
    {"customer", "0.5.0", "bluecompute/customer:latest", false, true, kLegacy, true},
    {"inventory", "0.5.0", "bluecompute/inventory:latest", false, true, kLegacy, true},
    {"orders", "0.5.0", "bluecompute/orders:latest", false, true, kLegacy, true},
    {"web", "0.5.0", "bluecompute/web:latest", false, true, kDocker25, false},
    {"dataloader", "0.5.0", "bluecompute/dataloader:latest", true, true, kLegacy, true},
    {"couchdb", "2.3.0", "couchdb:2.3.0", false, false, kLegacy, true},
    {"elasticsearch", "6.8.0", "docker.elastic.co/elasticsearch/elasticsearch-oss:6.8.0", false,
     true, kDocker25, false},
    {"mysql", "5.7.14", "mysql:5.7.14", false, false, kLegacy, false},
    {"mariadb", "10.1.38", "bitnami/mariadb:10.1.38", false, true, kLegacy, true},
    {"zipkin", "2.12", "openzipkin/zipkin:2.12", true, true, kLegacy, true},
    {"bash-curl-ssl", "0.5.0", "ibmcase/bash-curl-ssl:latest", false, true, kLegacy, true},
    {"busybox", "1.30", "busybox:1.30", false, true, kLegacy, false},
};

}  // namespace

// IBM-shaped sample: fourteen single-platform (linux/amd64) images, each in
// images/bluecompute-<short>.tar.gz, saved under its upstream name (see
// kIbmShapedImages) and listed as ibmcase/bluecompute-<short>:<tag> with one
// reference ibmcase/bluecompute-<short>:<tag>-amd64 whose pull-repository is
// the upstream name. No yaml reference has `archive`; manifest.json (image
// ibmcase/bluecompute-<short>, tag <tag>) supplies it for twelve; couchdb
// and mysql are found only by pull-repository == RepoTags. The chart is at
// charts/bluecompute-ce-0.0.9.tgz but manifest.yaml says
// file:bluecompute-ce-0.0.9.tgz.
PpaArchiveSpec IbmShapedSpec() {
  const LayerSpec java_base = Layer(500, "opt/java", 3, 2048);
  PpaArchiveSpec spec;
  ChartSpec chart{"bluecompute-ce",
                  "0.0.9",
                  "BlueCompute Community Edition",
                  "0.5.0",
                  {},
                  {"ibmcase-couchdb", "ibmcase-mysql"},
                  true};
  std::vector<YamlImage> yaml_images;
  std::vector<JsonImage> json_images;
  uint64_t seed = 600;
  for (const IbmShapedImage& i : kIbmShapedImages) {
    const std::string name = std::string("ibmcase/bluecompute-") + i.short_name;
    const std::string file = std::string("images/bluecompute-") + i.short_name + ".tar.gz";
    const bool microservice = std::string(i.upstream).rfind("bluecompute/", 0) == 0;
    std::vector<LayerSpec> layers;
    layers.push_back(microservice ? java_base : Layer(seed++, "usr/lib/base"));
    layers.push_back(Layer(seed++, std::string("opt/") + i.short_name, 2, 1536));
    std::vector<std::string> tags;
    if (!i.repo_tags_null) tags.push_back(i.upstream);
    spec.images.push_back(
        {file, Tarball(i.format, i.gzip,
                       {Image(tags, "amd64", layers, {std::string("/opt/") + i.short_name})})});
    yaml_images.push_back(
        {name + ":" + i.tag, {Ref(name + ":" + i.tag + "-amd64", i.upstream, "amd64", "")}});
    if (i.json_archive) json_images.push_back({name, i.tag, file});
    chart.images.push_back({CamelCase(i.short_name) + ".image.repository", name, i.tag});
  }
  spec.charts = {{"charts/bluecompute-ce-0.0.9.tgz", chart}};
  spec.manifest_yaml =
      RenderManifestYaml(yaml_images, {{"file:bluecompute-ce-0.0.9.tgz", Keys(chart)}});
  spec.manifest_json =
      RenderManifestJson(json_images, {{"charts/bluecompute-ce-0.0.9.tgz", Keys(chart)}});
  return spec;
}

}  // namespace ppa::samples
