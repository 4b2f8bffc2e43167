#include "helm_io/helm_oci.h"

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "docker_io/image/digest.h"
#include "docker_io/image/image_reference.h"
#include "docker_io/image/media_types.h"
#include "docker_io/image/json_dump.h"
#include "archive/manifest/bounded_yaml.h"

namespace ppa {
namespace {

using OrderedJson = nlohmann::ordered_json;

// How a Chart.yaml field becomes JSON.
enum class FieldKind { kString, kStringList, kBool, kStringMap, kObjectList };

struct Field {
  const char* key;
  FieldKind kind;
};

// chart.Metadata's fields in Go declaration order (its JSON order).
constexpr Field kMetadataFields[] = {
    {"name", FieldKind::kString},         {"home", FieldKind::kString},
    {"sources", FieldKind::kStringList},  {"version", FieldKind::kString},
    {"description", FieldKind::kString},  {"keywords", FieldKind::kStringList},
    {"maintainers", FieldKind::kObjectList}, {"icon", FieldKind::kString},
    {"apiVersion", FieldKind::kString},   {"condition", FieldKind::kString},
    {"tags", FieldKind::kString},         {"appVersion", FieldKind::kString},
    {"deprecated", FieldKind::kBool},     {"annotations", FieldKind::kStringMap},
    {"kubeVersion", FieldKind::kString},  {"dependencies", FieldKind::kObjectList},
    {"type", FieldKind::kString},
};

// A YAML node as JSON, scalars as strings except booleans Helm types as bool.
OrderedJson ToJson(const YAML::Node& node) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (node.Tag() != "!" && (s == "true" || s == "false")) return s == "true";
    return s;
  }
  if (node.IsSequence()) {
    OrderedJson out = OrderedJson::array();
    for (const auto& item : node) out.push_back(ToJson(item));
    return out;
  }
  if (node.IsMap()) {
    OrderedJson out = OrderedJson::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = ToJson(kv.second);
    return out;
  }
  return nullptr;
}

bool IsEmpty(const OrderedJson& value) {
  return value.is_null() || (value.is_string() && value.get<std::string>().empty()) ||
         (value.is_array() && value.empty()) || (value.is_object() && value.empty()) ||
         (value.is_boolean() && !value.get<bool>());
}

OrderedJson FieldJson(const YAML::Node& node, FieldKind kind) {
  switch (kind) {
    case FieldKind::kString:
      return node.IsScalar() ? OrderedJson(node.Scalar()) : OrderedJson();
    case FieldKind::kBool:
      return node.IsScalar() && node.Scalar() == "true";
    case FieldKind::kStringList: {
      OrderedJson out = OrderedJson::array();
      if (node.IsSequence()) {
        for (const auto& item : node) {
          if (item.IsScalar()) out.push_back(item.Scalar());
        }
      }
      return out;
    }
    case FieldKind::kStringMap: {
      OrderedJson out = OrderedJson::object();
      if (node.IsMap()) {
        for (const auto& kv : node) {
          if (kv.second.IsScalar()) out[kv.first.Scalar()] = kv.second.Scalar();
        }
      }
      return out;
    }
    case FieldKind::kObjectList:
      return node.IsSequence() ? ToJson(node) : OrderedJson();
  }
  return nullptr;
}

OrderedJson Descriptor(std::string_view media_type, const std::string& bytes) {
  OrderedJson d;
  d["mediaType"] = media_type;
  d["digest"] = Sha256Digest(bytes);
  d["size"] = bytes.size();
  return d;
}

// root[key], or a null node when the key is missing (yaml-cpp throws on
// most calls to the invalid node a missing key gives).
YAML::Node Child(const YAML::Node& root, const char* key) {
  const YAML::Node node = root[key];
  return node.IsDefined() ? node : YAML::Node();
}

std::string Text(const YAML::Node& root, const char* key) {
  const YAML::Node node = root[key];
  return node.IsDefined() && node.IsScalar() ? node.Scalar() : std::string();
}

// "name (email)" per maintainer, joined with ", ", as Helm writes authors.
std::string Authors(const YAML::Node& maintainers) {
  std::string out;
  if (!maintainers.IsSequence()) return out;
  for (const auto& m : maintainers) {
    if (!m.IsMap()) continue;
    std::string one = Text(m, "name");
    const std::string email = Text(m, "email");
    if (!email.empty()) one += (one.empty() ? "" : " ") + ("(" + email + ")");
    if (one.empty()) continue;
    if (!out.empty()) out += ", ";
    out += one;
  }
  return out;
}

OrderedJson Annotations(const YAML::Node& root, const std::string& created) {
  std::map<std::string, std::string> a;  // Go marshals maps sorted by key
  auto put = [&a](const std::string& key, const std::string& value) {
    if (!value.empty()) a[key] = value;
  };
  put("org.opencontainers.image.description", Text(root, "description"));
  put("org.opencontainers.image.title", Text(root, "name"));
  put("org.opencontainers.image.version", Text(root, "version"));
  put("org.opencontainers.image.url", Text(root, "home"));
  put("org.opencontainers.image.created", created);
  const YAML::Node sources = Child(root, "sources");
  if (sources.IsSequence() && sources.size() > 0 && sources[0].IsScalar()) {
    put("org.opencontainers.image.source", sources[0].Scalar());
  }
  put("org.opencontainers.image.authors", Authors(Child(root, "maintainers")));
  const YAML::Node custom = Child(root, "annotations");
  if (custom.IsMap()) {
    for (const auto& kv : custom) {
      const std::string key = kv.first.Scalar();
      // Helm keeps its own title and version over the chart's.
      if (key == "org.opencontainers.image.title" || key == "org.opencontainers.image.version") {
        continue;
      }
      if (kv.second.IsScalar()) put(key, kv.second.Scalar());
    }
  }
  OrderedJson out = OrderedJson::object();
  for (const auto& [key, value] : a) out[key] = value;
  return out;
}

Result<YAML::Node> LoadChartYaml(std::string_view chart_yaml) {
  try {
    PPA_ASSIGN_OR_RETURN(YAML::Node root, LoadBoundedYaml(chart_yaml, "Chart.yaml"));
    if (!root.IsMap()) return InvalidInput("Chart.yaml: must be a YAML mapping");
    return root;
  } catch (const YAML::Exception& e) {
    return InvalidInput("Chart.yaml: " + e.msg);
  }
}

}  // namespace

Result<std::string> HelmConfigJson(std::string_view chart_yaml) {
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadChartYaml(chart_yaml));
  try {
    OrderedJson config = OrderedJson::object();
    for (const Field& f : kMetadataFields) {
      const YAML::Node node = root[f.key];
      if (!node.IsDefined() || node.IsNull()) continue;
      OrderedJson value = FieldJson(node, f.kind);
      if (!IsEmpty(value)) config[f.key] = std::move(value);
    }
    return DumpJsonDocument(config);
  } catch (const YAML::Exception& e) {
    return InvalidInput("Chart.yaml: " + e.msg);
  }
}

std::string HelmOciTag(std::string_view version) {
  std::string tag(version);
  for (char& c : tag) {
    if (c == '+') c = '_';
  }
  return tag;
}

Result<HelmOciTarget> HelmChartTarget(std::string_view prefix, std::string_view target_namespace,
                                      std::string_view name, std::string_view version) {
  std::string why = name.find('/') != std::string_view::npos ? "'/' is not allowed in a chart name"
                                                             : RepositoryPathProblem(name);
  if (!why.empty()) {
    return InvalidInput(
        "invalid chart name '" + std::string(name) + "': " + why,
        "with --charts-oci a chart's name becomes an OCI repository name: lowercase letters and "
        "digits, with '.', '_', '__' or '-' only between them; rename the chart in its "
        "Chart.yaml, or leave out --charts-oci");
  }
  HelmOciTarget target{JoinRepository(prefix, target_namespace, "charts/" + std::string(name)),
                       HelmOciTag(version)};
  PPA_RETURN_IF_ERROR(CheckTag(target.tag));
  PPA_RETURN_IF_ERROR(CheckRepositoryName(target.repository));
  return target;
}

Result<HelmOciManifest> BuildHelmOciManifest(const HelmChartArtifact& chart) {
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadChartYaml(chart.chart_yaml));
  HelmOciManifest out;
  PPA_ASSIGN_OR_RETURN(out.config, HelmConfigJson(chart.chart_yaml));
  out.tag = HelmOciTag(Text(root, "version"));
  OrderedJson manifest;
  manifest["schemaVersion"] = 2;
  manifest["mediaType"] = media_types::kOciManifest;
  manifest["config"] = Descriptor(helm_media_types::kConfig, out.config);
  manifest["layers"] = OrderedJson::array();
  manifest["layers"].push_back(Descriptor(helm_media_types::kChartContent, chart.chart_tgz));
  if (chart.provenance) {
    manifest["layers"].push_back(Descriptor(helm_media_types::kProvenance, *chart.provenance));
  }
  try {
    manifest["annotations"] = Annotations(root, chart.created);
  } catch (const YAML::Exception& e) {
    return InvalidInput("Chart.yaml: " + e.msg);
  }
  out.manifest = DumpJsonDocument(manifest);
  return out;
}

Result<HelmPushResult> PushHelmChart(BlobPusher& pusher, const std::string& repo,
                                     const HelmChartArtifact& chart) {
  PPA_ASSIGN_OR_RETURN(const HelmOciManifest built, BuildHelmOciManifest(chart));
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadChartYaml(chart.chart_yaml));
  PPA_RETURN_IF_ERROR(HelmChartTarget("", "", Text(root, "name"), Text(root, "version")).status());
  PPA_RETURN_IF_ERROR(CheckRepositoryName(repo));
  PPA_RETURN_IF_ERROR(CheckTag(built.tag));
  PPA_RETURN_IF_ERROR(pusher.Push(repo, MemoryBlob(built.config)).status());
  PPA_RETURN_IF_ERROR(pusher.Push(repo, MemoryBlob(chart.chart_tgz)).status());
  if (chart.provenance) PPA_RETURN_IF_ERROR(pusher.Push(repo, MemoryBlob(*chart.provenance)).status());
  const std::string digest = Sha256Digest(built.manifest);
  PPA_ASSIGN_OR_RETURN(std::string stored,
                       pusher.sink().PutManifest(repo, built.tag,
                                                 std::string(media_types::kOciManifest),
                                                 built.manifest));
  if (stored != digest) {
    return InvalidInput("the target stored the chart manifest for '" + repo + "' as " + stored +
                        " but it is " + digest);
  }
  return HelmPushResult{.reference = repo + ":" + built.tag,
                        .digest = digest,
                        .manifest_size = built.manifest.size()};
}

}  // namespace ppa
