#include "samples/generator/sample_archive.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "archive/write/tar_writer.h"

namespace ppa::samples {
namespace {

using json = nlohmann::json;
using TarEntry = TarWriteEntry;

// Image tarballs and layers end right after their zero blocks; the outer
// archive is padded to a whole record, as tar writes it.
constexpr TarOptions kUnpadded{.mtime = kSampleMtime, .pad_to_record = false};
constexpr TarOptions kPadded{.mtime = kSampleMtime, .pad_to_record = true};

constexpr size_t kChunk = 64 * 1024;
constexpr const char* kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciConfigType = "application/vnd.oci.image.config.v1+json";
constexpr const char* kOciLayerType = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kOciGzipLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";

// ---- layer content ----

// SplitMix64: tiny, fast, good enough for incompressible filler.
uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Status WriteRandomContent(uint64_t seed, uint64_t size, ByteSink& out) {
  uint64_t state = seed;
  std::string buf;
  buf.reserve(kChunk);
  while (size > 0) {
    buf.clear();
    while (buf.size() + 8 <= kChunk && buf.size() < size) {
      const uint64_t r = NextRandom(state);
      buf.append(reinterpret_cast<const char*>(&r), 8);
    }
    if (buf.size() > size) buf.resize(size);
    PPA_RETURN_IF_ERROR(out.Write(buf));
    size -= buf.size();
  }
  return Status::Ok();
}

Status WriteTextContent(uint64_t seed, int file, uint64_t size, ByteSink& out) {
  std::string buf;
  uint64_t line = 0;
  while (size > 0) {
    buf.clear();
    while (buf.size() < kChunk && buf.size() < size) {
      buf += "layer " + std::to_string(seed) + " file " + std::to_string(file) + " line " +
             std::to_string(++line) + ": the quick brown fox jumps over the lazy dog\n";
    }
    if (buf.size() > size) buf.resize(size);
    PPA_RETURN_IF_ERROR(out.Write(buf));
    size -= buf.size();
  }
  return Status::Ok();
}

std::vector<TarEntry> LayerEntries(const LayerSpec& spec) {
  std::vector<TarEntry> entries;
  std::string dir;
  for (size_t start = 0; start < spec.directory.size();) {
    size_t slash = spec.directory.find('/', start);
    if (slash == std::string::npos) slash = spec.directory.size();
    dir = spec.directory.substr(0, slash) + "/";
    entries.push_back(TarEntry::Directory(dir));
    start = slash + 1;
  }
  for (int i = 0; i < spec.file_count; ++i) {
    const std::string name = dir + "file-" + std::to_string(spec.seed) + "-" + std::to_string(i) +
                             (spec.random_content ? ".bin" : ".txt");
    const uint64_t seed = spec.seed * 1000003ULL + static_cast<uint64_t>(i);
    const bool random = spec.random_content;
    const uint64_t size = spec.file_size;
    const uint64_t text_seed = spec.seed;
    entries.push_back(TarEntry::Streamed(name, size, [=](ByteSink& out) {
      return random ? WriteRandomContent(seed, size, out)
                    : WriteTextContent(text_seed, i, size, out);
    }));
  }
  return entries;
}

// ---- naming ----

// "ibmcom/portal:1" -> {"ibmcom/portal", "1"}; no tag -> "latest".
std::pair<std::string, std::string> SplitNameTag(const std::string& ref) {
  const size_t slash = ref.rfind('/');
  const size_t colon = ref.rfind(':');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return {ref, "latest"};
  }
  return {ref.substr(0, colon), ref.substr(colon + 1)};
}

// The fully qualified name Docker 25 writes in io.containerd.image.name.
std::string QualifiedName(const std::string& ref) {
  const size_t slash = ref.find('/');
  const std::string first = slash == std::string::npos ? "" : ref.substr(0, slash);
  const bool has_domain = first.find_first_of(".:") != std::string::npos || first == "localhost";
  if (has_domain) return ref;
  if (slash == std::string::npos) return "docker.io/library/" + ref;
  return "docker.io/" + ref;
}

// ---- image plans ----

struct LayerBlob {
  LayerSpec spec;
  LayerInfo info;
  std::string digest;  // as stored
  uint64_t size = 0;   // as stored
  bool gzip = false;
};

struct ImagePlan {
  const ImageSpec* spec = nullptr;
  std::vector<LayerBlob> layers;
  std::string config;
  std::string config_digest;
  std::string manifest;  // OCI manifest JSON (kDocker25, kOciLayout)
  std::string manifest_digest;
};

std::string LayerKey(const LayerSpec& s) {
  return std::to_string(s.seed) + "|" + std::to_string(s.file_count) + "|" +
         std::to_string(s.file_size) + "|" + (s.random_content ? "r" : "t") + "|" + s.directory;
}

// Streams the layer (gzip'd when asked) into `out`.
Status WriteLayerBlob(const LayerSpec& spec, bool gzip, int level, ByteSink& out) {
  if (!gzip) return WriteLayer(spec, out);
  GzipSink gz(&out, level);
  PPA_RETURN_IF_ERROR(WriteLayer(spec, gz));
  return gz.Close();
}

// Computes digests of each distinct layer once (memoized per tarball).
class LayerCatalog {
 public:
  LayerCatalog(bool gzip, int level) : gzip_(gzip), level_(level) {}

  Result<LayerBlob> Get(const LayerSpec& spec) {
    const std::string key = LayerKey(spec);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    NullSink null;
    HashSink stored(&null);
    std::unique_ptr<GzipSink> gz;
    if (gzip_) gz = std::make_unique<GzipSink>(&stored, level_);
    HashSink plain(gz ? static_cast<ByteSink*>(gz.get()) : &stored);
    PPA_RETURN_IF_ERROR(WriteLayer(spec, plain));
    if (gz) PPA_RETURN_IF_ERROR(gz->Close());
    LayerBlob blob{spec, {plain.Digest(), plain.bytes()}, stored.Digest(), stored.bytes(), gzip_};
    cache_.emplace(key, blob);
    return blob;
  }

 private:
  bool gzip_;
  int level_;
  std::map<std::string, LayerBlob> cache_;
};

json Descriptor(const std::string& media_type, const std::string& digest, uint64_t size) {
  return json{{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

std::string OciManifestJson(const ImagePlan& plan) {
  json layers = json::array();
  for (const LayerBlob& l : plan.layers) {
    layers.push_back(Descriptor(l.gzip ? kOciGzipLayerType : kOciLayerType, l.digest, l.size));
  }
  json m{{"schemaVersion", 2},
         {"mediaType", kOciManifestType},
         {"config", Descriptor(kOciConfigType, plan.config_digest, plan.config.size())},
         {"layers", layers}};
  return m.dump();
}

Result<ImagePlan> PlanImage(const ImageSpec& image, LayerCatalog& catalog) {
  if (image.layers.empty()) return InvalidInput("sample image without layers");
  ImagePlan plan;
  plan.spec = &image;
  std::vector<std::string> diff_ids;
  for (const LayerSpec& ls : image.layers) {
    PPA_ASSIGN_OR_RETURN(LayerBlob blob, catalog.Get(ls));
    diff_ids.push_back(blob.info.diff_id);
    plan.layers.push_back(std::move(blob));
  }
  plan.config = ImageConfigJson(image, diff_ids);
  plan.config_digest = Sha256Of(plan.config);
  plan.manifest = OciManifestJson(plan);
  plan.manifest_digest = Sha256Of(plan.manifest);
  return plan;
}

WrittenImage Describe(const ImagePlan& plan, bool with_manifest) {
  WrittenImage w;
  w.repo_tags = plan.spec->repo_tags;
  w.config_digest = plan.config_digest;
  w.config_json = plan.config;
  if (with_manifest) w.manifest_digest = plan.manifest_digest;
  for (const LayerBlob& l : plan.layers) {
    w.diff_ids.push_back(l.info.diff_id);
    w.layer_digests.push_back(l.digest);
  }
  return w;
}

TarEntry LayerEntry(const std::string& path, const LayerBlob& blob, int level) {
  LayerSpec spec = blob.spec;
  bool gzip = blob.gzip;
  return TarEntry::Streamed(path, blob.size, [spec, gzip, level](ByteSink& out) {
    return WriteLayerBlob(spec, gzip, level, out);
  });
}

json RepoTagsJson(const ImageSpec& image) {
  if (image.repo_tags.empty()) return nullptr;
  return image.repo_tags;
}

// `repositories`: {"name": {"tag": "<top layer id>"}}; "" when no tags.
void AddRepositories(json& repos, const ImageSpec& image, const std::string& top_id) {
  for (const std::string& ref : image.repo_tags) {
    auto [name, tag] = SplitNameTag(ref);
    repos[name][tag] = top_id;
  }
}

// ---- legacy docker save ----

void AddLegacyImage(const ImagePlan& plan, int level, std::vector<TarEntry>& entries,
                    std::set<std::string>& written_ids,
                    std::map<std::string, std::string>& layer_path_by_diff_id, json& manifest,
                    json& repos) {
  std::string parent;
  json layer_paths = json::array();
  for (const LayerBlob& l : plan.layers) {
    const std::string id(HexOf(Sha256Of("v1 " + parent + " " + l.info.diff_id)));
    const std::string path = id + "/layer.tar";
    layer_paths.push_back(path);
    if (written_ids.insert(id).second) {
      json v1{{"id", id},
              {"created", kSampleCreated},
              {"os", plan.spec->os},
              {"container_config", {{"Cmd", plan.spec->cmd}}}};
      if (!parent.empty()) v1["parent"] = parent;
      entries.push_back(TarEntry::Directory(id + "/"));
      entries.push_back(TarEntry::File(id + "/VERSION", "1.0"));
      entries.push_back(TarEntry::File(id + "/json", v1.dump()));
      auto first = layer_path_by_diff_id.find(l.info.diff_id);
      if (first == layer_path_by_diff_id.end()) {
        layer_path_by_diff_id.emplace(l.info.diff_id, path);
        entries.push_back(LayerEntry(path, l, level));
      } else {
        entries.push_back(TarEntry::Symlink(path, "../" + first->second));
      }
    }
    parent = id;
  }
  const std::string config_path = std::string(HexOf(plan.config_digest)) + ".json";
  entries.push_back(TarEntry::File(config_path, plan.config));
  manifest.push_back(
      {{"Config", config_path}, {"RepoTags", RepoTagsJson(*plan.spec)}, {"Layers", layer_paths}});
  AddRepositories(repos, *plan.spec, parent);
}

// ---- Docker 25+ and OCI layout ----

std::string BlobPath(const std::string& digest) {
  return "blobs/sha256/" + std::string(HexOf(digest));
}

void AddBlobOnce(std::vector<TarEntry>& entries, std::set<std::string>& written,
                 const std::string& digest, TarEntry entry) {
  if (written.insert(digest).second) entries.push_back(std::move(entry));
}

void AddLayoutImage(const ImagePlan& plan, ImageTarballFormat format, int level,
                    std::vector<TarEntry>& entries, std::set<std::string>& blobs, json& index,
                    json& manifest, json& repos) {
  for (const LayerBlob& l : plan.layers) {
    AddBlobOnce(entries, blobs, l.digest, LayerEntry(BlobPath(l.digest), l, level));
  }
  AddBlobOnce(entries, blobs, plan.config_digest,
              TarEntry::File(BlobPath(plan.config_digest), plan.config));
  AddBlobOnce(entries, blobs, plan.manifest_digest,
              TarEntry::File(BlobPath(plan.manifest_digest), plan.manifest));
  json desc = Descriptor(kOciManifestType, plan.manifest_digest, plan.manifest.size());
  const ImageSpec& image = *plan.spec;
  if (format == ImageTarballFormat::kOciLayout) {
    desc["platform"] = {{"architecture", image.architecture}, {"os", image.os}};
    if (!image.variant.empty()) desc["platform"]["variant"] = image.variant;
    if (!image.repo_tags.empty()) {
      desc["annotations"] = {{"org.opencontainers.image.ref.name", image.repo_tags[0]}};
    }
    index["manifests"].push_back(desc);
    return;
  }
  // Docker 25+: one index descriptor per tag, plus the legacy manifest.json.
  if (image.repo_tags.empty()) index["manifests"].push_back(desc);
  for (const std::string& ref : image.repo_tags) {
    json tagged = desc;
    tagged["annotations"] = {{"io.containerd.image.name", QualifiedName(ref)},
                             {"org.opencontainers.image.ref.name", SplitNameTag(ref).second}};
    index["manifests"].push_back(tagged);
  }
  json layer_paths = json::array();
  json sources = json::object();
  for (const LayerBlob& l : plan.layers) {
    layer_paths.push_back(BlobPath(l.digest));
    sources[l.info.diff_id] = Descriptor(kOciLayerType, l.digest, l.size);
  }
  manifest.push_back({{"Config", BlobPath(plan.config_digest)},
                      {"RepoTags", RepoTagsJson(image)},
                      {"Layers", layer_paths},
                      {"LayerSources", sources}});
  AddRepositories(repos, image, std::string(HexOf(plan.layers.back().info.diff_id)));
}

Result<std::vector<TarEntry>> ImageTarballEntries(const ImageTarballSpec& spec,
                                                  std::vector<WrittenImage>& written) {
  const bool oci = spec.format == ImageTarballFormat::kOciLayout;
  LayerCatalog catalog(oci, spec.gzip_level);
  std::vector<ImagePlan> plans;
  for (const ImageSpec& image : spec.images) {
    PPA_ASSIGN_OR_RETURN(ImagePlan plan, PlanImage(image, catalog));
    plans.push_back(std::move(plan));
  }
  std::vector<TarEntry> entries;
  json manifest = json::array();
  json repos = json::object();
  if (spec.format == ImageTarballFormat::kDockerLegacy) {
    std::set<std::string> ids;
    std::map<std::string, std::string> layer_paths;
    for (const ImagePlan& p : plans) {
      AddLegacyImage(p, spec.gzip_level, entries, ids, layer_paths, manifest, repos);
    }
  } else {
    std::set<std::string> blobs;
    json index{{"schemaVersion", 2},
               {"mediaType", "application/vnd.oci.image.index.v1+json"},
               {"manifests", json::array()}};
    for (const ImagePlan& p : plans) {
      AddLayoutImage(p, spec.format, spec.gzip_level, entries, blobs, index, manifest, repos);
    }
    entries.push_back(TarEntry::Directory("blobs/"));
    entries.push_back(TarEntry::Directory("blobs/sha256/"));
    entries.push_back(TarEntry::File("index.json", index.dump()));
    entries.push_back(TarEntry::File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  }
  if (!oci) {
    entries.push_back(TarEntry::File("manifest.json", manifest.dump()));
    if (!repos.empty()) entries.push_back(TarEntry::File("repositories", repos.dump()));
  }
  for (const ImagePlan& p : plans) {
    written.push_back(Describe(p, spec.format != ImageTarballFormat::kDockerLegacy));
  }
  return entries;
}

// ---- charts ----

struct ValuesNode {
  std::string name;
  std::vector<ValuesNode> children;
  const ChartImage* image = nullptr;
  int ordinal = 0;
};

ValuesNode& Child(ValuesNode& node, const std::string& name) {
  for (ValuesNode& c : node.children) {
    if (c.name == name) return c;
  }
  node.children.push_back(ValuesNode{name, {}, nullptr, 0});
  return node.children.back();
}

void EmitValues(const ValuesNode& node, int depth, std::string& out) {
  const std::string indent(static_cast<size_t>(depth) * 2, ' ');
  for (const ValuesNode& c : node.children) {
    out += indent + c.name + ":\n";
    if (c.image != nullptr) {
      const std::string in = indent + "  ";
      const std::string leaf =
          c.image->repository_key.substr(c.image->repository_key.rfind('.') + 1);
      // Three spellings, so a rewrite that touches other bytes shows up.
      switch (c.ordinal % 3) {
        case 0:
          out += in + "# Image repository; ppa-import prefixes it with the target registry.\n";
          out += in + leaf + ": " + c.image->repository + "\n";
          break;
        case 1:
          out += in + leaf + ": \"" + c.image->repository + "\"\n";
          break;
        default:
          out += in + leaf + ": " + c.image->repository + "   # pulled by the chart\n";
          break;
      }
      out += in + "tag: \"" + c.image->tag + "\"\n";
      out += in + "pullPolicy: IfNotPresent\n";
    }
    EmitValues(c, depth + 1, out);
  }
}

std::string ChartYaml(const std::string& name, const std::string& version,
                      const std::string& description, const std::string& app_version) {
  return "apiVersion: v2\nname: " + name + "\nversion: " + version +
         "\ndescription: " + description + "\ntype: application\nappVersion: \"" + app_version +
         "\"\n";
}

std::string ValuesPath(const std::string& key) {  // "db.image.repository" -> ".Values.db.image"
  return ".Values." + key.substr(0, key.rfind('.'));
}

std::string DeploymentYaml(const ChartSpec& chart) {
  std::string out =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-" +
      chart.name + "\n  labels:\n    app: " + chart.name +
      "\nspec:\n  replicas: {{ .Values.replicaCount }}\n  selector:\n    matchLabels:\n"
      "      app: " +
      chart.name + "\n  template:\n    metadata:\n      labels:\n        app: " + chart.name +
      "\n    spec:\n      containers:\n";
  int n = 0;
  for (const ChartImage& img : chart.images) {
    const std::string v = ValuesPath(img.repository_key);
    const std::string leaf = img.repository_key.substr(img.repository_key.rfind('.') + 1);
    out += "        - name: c" + std::to_string(n++) + "\n          image: \"{{ " + v + "." + leaf +
           " }}:{{ " + v + ".tag }}\"\n          imagePullPolicy: {{ " + v + ".pullPolicy }}\n";
  }
  return out;
}

std::string ServiceYaml(const std::string& name) {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-" + name +
         "\nspec:\n  type: ClusterIP\n  ports:\n    - port: 80\n      targetPort: 8080\n"
         "  selector:\n    app: " +
         name + "\n";
}

constexpr const char* kHelmIgnore =
    "# Patterns to ignore when building packages.\n.DS_Store\n.git/\n.gitignore\n*.swp\n*.bak\n"
    "*.tmp\n.idea/\n.vscode/\n";

void AddSubchart(const std::string& root, const std::string& sub, const ChartSpec& parent,
                 std::vector<TarEntry>& entries) {
  const std::string dir = root + "charts/" + sub + "/";
  entries.push_back(
      TarEntry::File(dir + "Chart.yaml",
                     ChartYaml(sub, "0.1.0", "Subchart " + sub + " of " + parent.name, "1.0")));
  entries.push_back(TarEntry::File(dir + "values.yaml",
                                   "# Defaults of the " + sub + " subchart.\nreplicaCount: 1\n"));
  entries.push_back(TarEntry::File(dir + "templates/service.yaml", ServiceYaml(sub)));
}

}  // namespace

// ---------------------------------------------------------------- layers

Status WriteLayer(const LayerSpec& spec, ByteSink& out) {
  return WriteTar(LayerEntries(spec), out, kUnpadded);
}

Result<LayerInfo> DescribeLayer(const LayerSpec& spec) {
  HashSink hash;
  PPA_RETURN_IF_ERROR(WriteLayer(spec, hash));
  return LayerInfo{hash.Digest(), hash.bytes()};
}

Result<LayerInfo> WriteLayerFile(const LayerSpec& spec, const std::string& path) {
  PPA_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> file, FileSink::Create(path));
  HashSink hash(file.get());
  PPA_RETURN_IF_ERROR(WriteLayer(spec, hash));
  PPA_RETURN_IF_ERROR(file->Close());
  return LayerInfo{hash.Digest(), hash.bytes()};
}

// ---------------------------------------------------------------- images

std::string ImageConfigJson(const ImageSpec& image, const std::vector<std::string>& diff_ids) {
  json history = json::array();
  for (size_t i = 0; i < diff_ids.size(); ++i) {
    history.push_back({{"created", kSampleCreated},
                       {"created_by", "ppa-make-sample layer " + std::to_string(i)}});
  }
  json config{{"architecture", image.architecture},
              {"os", image.os},
              {"created", kSampleCreated},
              {"config",
               {{"Cmd", image.cmd},
                {"Env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
                {"WorkingDir", "/"}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
              {"history", history}};
  if (!image.variant.empty()) config["variant"] = image.variant;
  return config.dump();
}

Result<std::vector<WrittenImage>> WriteImageTarball(const ImageTarballSpec& spec, ByteSink& out) {
  std::vector<WrittenImage> written;
  PPA_ASSIGN_OR_RETURN(std::vector<TarEntry> entries, ImageTarballEntries(spec, written));
  if (!spec.gzip) {
    PPA_RETURN_IF_ERROR(WriteTar(std::move(entries), out, kUnpadded));
    return written;
  }
  GzipSink gz(&out, spec.gzip_level);
  PPA_RETURN_IF_ERROR(WriteTar(std::move(entries), gz, kUnpadded));
  PPA_RETURN_IF_ERROR(gz.Close());
  return written;
}

Result<std::vector<WrittenImage>> WriteImageTarballFile(const ImageTarballSpec& spec,
                                                        const std::string& path) {
  PPA_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> file, FileSink::Create(path));
  PPA_ASSIGN_OR_RETURN(std::vector<WrittenImage> written, WriteImageTarball(spec, *file));
  PPA_RETURN_IF_ERROR(file->Close());
  return written;
}

// ---------------------------------------------------------------- charts

std::string ChartValuesYaml(const ChartSpec& chart) {
  ValuesNode root;
  int ordinal = 0;
  for (const ChartImage& img : chart.images) {
    ValuesNode* node = &root;
    const std::string& key = img.repository_key;
    const std::string parent = key.substr(0, key.rfind('.'));
    for (size_t start = 0; start <= parent.size();) {
      size_t dot = parent.find('.', start);
      if (dot == std::string::npos) dot = parent.size();
      node = &Child(*node, parent.substr(start, dot - start));
      start = dot + 1;
    }
    node->image = &img;
    node->ordinal = ordinal++;
  }
  std::string out = "# Default values for " + chart.name +
                    ".\n# This is a YAML-formatted file.\n\nreplicaCount: 1\n\n";
  EmitValues(root, 0, out);
  out += "\nservice:\n  type: ClusterIP\n  port: 80\n\nresources: {}\n";
  return out;
}

Result<std::string> BuildChartTgz(const ChartSpec& chart) {
  const std::string root = chart.name + "/";
  std::vector<TarEntry> entries;
  entries.push_back(
      TarEntry::File(root + "Chart.yaml",
                     ChartYaml(chart.name, chart.version, chart.description, chart.app_version)));
  entries.push_back(TarEntry::File(root + "values.yaml", ChartValuesYaml(chart)));
  entries.push_back(TarEntry::File(root + ".helmignore", kHelmIgnore));
  entries.push_back(TarEntry::File(root + "templates/deployment.yaml", DeploymentYaml(chart)));
  if (chart.rich) {
    entries.push_back(TarEntry::File(root + "templates/service.yaml", ServiceYaml(chart.name)));
    entries.push_back(TarEntry::File(root + "templates/_helpers.tpl",
                                     "{{- define \"" + chart.name +
                                         ".fullname\" -}}\n{{ .Release.Name }}-" + chart.name +
                                         "\n{{- end -}}\n"));
    entries.push_back(TarEntry::File(root + "templates/NOTES.txt",
                                     "Thank you for installing " + chart.name + ".\n"));
  }
  for (const std::string& sub : chart.subcharts) AddSubchart(root, sub, chart, entries);
  std::string out;
  StringSink sink(&out);
  GzipSink gz(&sink, 9);
  PPA_RETURN_IF_ERROR(WriteTar(std::move(entries), gz, kUnpadded));
  PPA_RETURN_IF_ERROR(gz.Close());
  return out;
}

// ---------------------------------------------------------------- manifests

std::string RenderManifestYaml(const std::vector<YamlImage>& images,
                               const std::vector<YamlChart>& charts) {
  std::string out = "# PPA archive manifest (generated by ppa-make-sample)\ncharts:\n";
  for (const YamlChart& c : charts) {
    out += "  - archive: " + c.archive + "\n    repository-keys:\n";
    for (const std::string& k : c.repository_keys) out += "      - " + k + "\n";
  }
  out += "images:\n";
  for (const YamlImage& img : images) {
    out += "  - image: " + img.image + "\n    references:\n";
    for (const YamlReference& r : img.references) {
      out += "      - repository: " + r.repository + "\n";
      if (!r.pull_repository.empty()) out += "        pull-repository: " + r.pull_repository + "\n";
      out += "        platform:\n          os: " + r.os +
             "\n          architecture: " + r.architecture + "\n";
      if (!r.variant.empty()) out += "          variant: " + r.variant + "\n";
      if (!r.archive.empty()) out += "        archive: " + r.archive + "\n";
    }
  }
  return out;
}

std::string RenderManifestJson(const std::vector<JsonImage>& images,
                               const std::vector<JsonChart>& charts) {
  json j_charts = json::array();
  for (const JsonChart& c : charts)
    j_charts.push_back({{"archive", c.archive}, {"images", c.images}});
  json j_images = json::array();
  for (const JsonImage& i : images) {
    json e{{"image", i.image}, {"tag", i.tag}};
    if (!i.archive.empty()) e["archive"] = i.archive;
    j_images.push_back(e);
  }
  json m{{"manifest-revision", "1.0"}, {"charts", j_charts}, {"images", j_images}};
  return m.dump(2) + "\n";
}

// ---------------------------------------------------------------- PPA archive

namespace {

// A temporary folder removed (recursively) on destruction.
class ScratchDir {
 public:
  static Result<ScratchDir> Create(const std::string& near) {
    std::string tmpl = near + ".parts-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return ErrnoError("cannot create folder", tmpl, errno);
    return ScratchDir(tmpl);
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

Status CopyFileInto(const std::string& path, ByteSink& out) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return ErrnoError("cannot open", path, errno);
  std::vector<char> buf(kChunk);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) {
    PPA_RETURN_IF_ERROR(out.Write(buf.data(), n));
  }
  if (std::ferror(f.get())) return ErrnoError("cannot read", path, errno);
  return Status::Ok();
}

void AddParentDirs(const std::string& path, std::set<std::string>& dirs) {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    dirs.insert(path.substr(0, slash + 1));
  }
}

}  // namespace

Status WritePpaArchive(const PpaArchiveSpec& spec, const std::string& out_path) {
  PPA_ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Create(out_path));
  std::vector<TarEntry> entries;
  std::set<std::string> dirs;
  int n = 0;
  for (const PpaArchiveSpec::Image& img : spec.images) {
    const std::string staged = scratch.path() + "/image-" + std::to_string(n++);
    PPA_RETURN_IF_ERROR(WriteImageTarballFile(img.tarball, staged).status());
    const uint64_t size = std::filesystem::file_size(staged);
    entries.push_back(TarEntry::Streamed(
        img.path, size, [staged](ByteSink& out) { return CopyFileInto(staged, out); }));
    AddParentDirs(img.path, dirs);
  }
  for (const PpaArchiveSpec::Chart& c : spec.charts) {
    PPA_ASSIGN_OR_RETURN(std::string tgz, BuildChartTgz(c.chart));
    entries.push_back(TarEntry::File(c.path, std::move(tgz)));
    AddParentDirs(c.path, dirs);
  }
  if (spec.manifest_yaml) entries.push_back(TarEntry::File("manifest.yaml", *spec.manifest_yaml));
  if (spec.manifest_json) entries.push_back(TarEntry::File("manifest.json", *spec.manifest_json));
  for (const auto& [path, content] : spec.extra_files)
    entries.push_back(TarEntry::File(path, content));
  for (const std::string& d : dirs) entries.push_back(TarEntry::Directory(d));

  PPA_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> file, FileSink::Create(out_path));
  if (spec.gzip) {
    GzipSink gz(file.get());
    PPA_RETURN_IF_ERROR(WriteTar(std::move(entries), gz, kPadded));
    PPA_RETURN_IF_ERROR(gz.Close());
  } else {
    PPA_RETURN_IF_ERROR(WriteTar(std::move(entries), *file, kPadded));
  }
  return file->Close();
}

}  // namespace ppa::samples
