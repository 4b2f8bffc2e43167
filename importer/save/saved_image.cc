#include "importer/save/saved_image.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <map>
#include <set>

#include "docker_io/image/digest.h"
#include "docker_io/image/image_formats.h"
#include "docker_io/image/json_dump.h"
#include "docker_io/image/media_types.h"

namespace ppa {
namespace {

Result<SavedBlob> BlobOf(const Descriptor& d, const std::string& what) {
  if (!IsValidSha256Digest(d.digest)) {
    return InvalidInput("manifest names a " + what + " without a sha256 digest ('" + d.digest +
                        "')");
  }
  if (!d.size) return InvalidInput("manifest gives " + what + " " + d.digest + " no size");
  return SavedBlob{.digest = d.digest, .size = *d.size};
}

std::string BlobPath(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

void EmitPlatform(YAML::Emitter& out, const Platform& p) {
  out << YAML::Key << "platform" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "os" << YAML::Value << p.os;
  out << YAML::Key << "architecture" << YAML::Value << p.architecture;
  if (!p.variant.empty()) out << YAML::Key << "variant" << YAML::Value << p.variant;
  out << YAML::EndMap;
}

// Whether an index entry is an image (not a BuildKit attestation, which
// says unknown/unknown): what manifest.yaml lists.
bool IsImage(const SavedDocument& d) { return !(d.platform && d.platform->os == "unknown"); }

}  // namespace

uint64_t SavedImage::Bytes() const {
  uint64_t total = top.bytes.size();
  for (const SavedDocument& m : manifests) total += m.bytes.size();
  for (const SavedAttachment& a : attachments) total += a.manifest.bytes.size();
  for (const SavedBlob& b : blobs) total += b.size;
  return total;
}

Result<std::vector<SavedBlob>> ManifestBlobs(const std::string& manifest_json) {
  PPA_ASSIGN_OR_RETURN(ImageManifest manifest, ParseImageManifest(manifest_json));
  std::vector<SavedBlob> blobs;
  PPA_ASSIGN_OR_RETURN(SavedBlob config, BlobOf(manifest.config, "config"));
  blobs.push_back(config);
  for (const Descriptor& layer : manifest.layers) {
    PPA_ASSIGN_OR_RETURN(SavedBlob blob, BlobOf(layer, "layer"));
    blobs.push_back(blob);
  }
  return blobs;
}

Result<std::string> SubsetIndex(const std::string& index_json,
                                const std::vector<std::string>& kept) {
  auto index = nlohmann::ordered_json::parse(index_json, nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object() || !index.contains("manifests") ||
      !index["manifests"].is_array()) {
    return InvalidInput("the index to select platforms from is not an image index");
  }
  nlohmann::ordered_json manifests = nlohmann::ordered_json::array();
  for (const auto& entry : index["manifests"]) {
    if (!entry.is_object() || !entry.contains("digest") || !entry["digest"].is_string()) continue;
    const std::string digest = entry["digest"].get<std::string>();
    if (std::find(kept.begin(), kept.end(), digest) != kept.end()) manifests.push_back(entry);
  }
  index["manifests"] = std::move(manifests);
  return DumpJsonDocument(index);
}

std::vector<std::string> CosignAttachmentTags(const std::string& digest) {
  const std::string stem = "sha256-" + digest.substr(digest.find(':') + 1);
  return {stem + ".att", stem + ".sig"};
}

std::string AttachmentName(const SavedImage& image, const SavedAttachment& attachment) {
  return image.source.ref.path + ":" + attachment.tag;
}

namespace {

// Every digest an image's file holds for it: documents and blobs.
std::vector<std::string> DigestsOf(const SavedImage& image) {
  std::vector<std::string> out = {image.top.digest};
  for (const SavedDocument& m : image.manifests) out.push_back(m.digest);
  for (const SavedAttachment& a : image.attachments) out.push_back(a.manifest.digest);
  for (const SavedBlob& b : image.blobs) out.push_back(b.digest);
  return out;
}

// What one image file may hold, well within what `load` reads from one
// (docker_io/image/image_source.cc: 1024 manifests, 16384 layers, 64 MiB
// of artifacts per file).
constexpr size_t kGroupManifests = 512;
constexpr size_t kGroupBlobs = 8192;
constexpr uint64_t kGroupArtifactBytes = 32 << 20;

struct GroupLoad {
  size_t manifests = 0, blobs = 0;
  uint64_t artifact_bytes = 0;
  GroupLoad& operator+=(const GroupLoad& o) {
    manifests += o.manifests, blobs += o.blobs, artifact_bytes += o.artifact_bytes;
    return *this;
  }
  bool Fits() const {
    return manifests <= kGroupManifests && blobs <= kGroupBlobs &&
           artifact_bytes <= kGroupArtifactBytes;
  }
};

GroupLoad LoadOf(const SavedImage& image) {
  GroupLoad load{.manifests = 1 + image.manifests.size() + image.attachments.size(),
                 .blobs = image.blobs.size() * std::max<size_t>(1, image.manifests.size())};
  for (const SavedAttachment& a : image.attachments) load.artifact_bytes += a.manifest.bytes.size();
  load.artifact_bytes += image.attachment_blob_bytes;  // load reads them whole
  return load;
}

}  // namespace

std::vector<std::vector<const SavedImage*>> GroupBySharedBlobs(std::vector<SavedImage>& images) {
  std::vector<std::vector<size_t>> members;  // by group: image indexes, in order
  std::vector<GroupLoad> loads;
  std::map<std::string, std::set<size_t>> holders;  // digest -> groups holding it
  for (size_t i = 0; i < images.size(); ++i) {
    const std::vector<std::string> digests = DigestsOf(images[i]);
    std::set<size_t> sharing;
    for (const std::string& d : digests) {
      auto it = holders.find(d);
      if (it != holders.end()) sharing.insert(it->second.begin(), it->second.end());
    }
    GroupLoad all = LoadOf(images[i]);
    for (size_t g : sharing) all += loads[g];
    size_t into = members.size();
    if (!sharing.empty() && all.Fits()) {
      // Every group it shares a blob with, and it, become one: each blob once.
      into = *sharing.begin();
      for (auto g = std::next(sharing.begin()); g != sharing.end(); ++g) {
        members[into].insert(members[into].end(), members[*g].begin(), members[*g].end());
        members[*g].clear();
        for (auto& [digest, groups] : holders) {
          if (groups.erase(*g)) groups.insert(into);
        }
      }
      std::sort(members[into].begin(), members[into].end());
      loads[into] = all;
    } else {
      // The first that still has room, else a file of its own: the blobs
      // it shares with the others are then stored in each (load reads no
      // more than its limits from one file).
      for (size_t g : sharing) {
        GroupLoad with = loads[g];
        with += LoadOf(images[i]);
        if (with.Fits()) {
          into = g;
          loads[g] = with;
          break;
        }
      }
      if (into == members.size()) {
        members.emplace_back();
        loads.push_back(LoadOf(images[i]));
      }
    }
    members[into].push_back(i);
    std::sort(members[into].begin(), members[into].end());
    for (const std::string& d : digests) holders[d].insert(into);
  }
  // In the order of their first images, each image named by its group's first.
  std::vector<std::vector<size_t>> ordered;
  for (auto& m : members) {
    if (!m.empty()) ordered.push_back(std::move(m));
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.front() < b.front(); });
  std::vector<std::vector<const SavedImage*>> groups;
  for (const std::vector<size_t>& m : ordered) {
    groups.emplace_back();
    const std::string file = images[m.front()].source.file;
    for (size_t i : m) {
      images[i].source.file = file;
      groups.back().push_back(&images[i]);
    }
  }
  return groups;
}

std::vector<TarWriteEntry> LayoutEntries(const std::vector<const SavedImage*>& images,
                                         const BlobWriter& write_blob) {
  std::vector<TarWriteEntry> entries;
  entries.push_back(TarWriteEntry::File("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  auto descriptor = [](const SavedDocument& d, const std::string& name) {
    return nlohmann::json{
        {"mediaType", d.media_type},
        {"digest", d.digest},
        {"size", d.bytes.size()},
        {"annotations", {{std::string(media_types::kRefNameAnnotation), name}}}};
  };
  nlohmann::json listed = nlohmann::json::array();
  std::set<std::string> attachments;  // two tags of one image share theirs
  for (const SavedImage* image : images) {
    listed.push_back(descriptor(image->top, image->source.archive_name));
    for (const SavedAttachment& a : image->attachments) {
      if (attachments.insert(AttachmentName(*image, a)).second) {
        listed.push_back(descriptor(a.manifest, AttachmentName(*image, a)));
      }
    }
  }
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", std::string(media_types::kOciIndex)},
                          {"manifests", std::move(listed)}};
  entries.push_back(TarWriteEntry::File("index.json", DumpJsonDocument(index)));
  std::set<std::string> written;
  auto add_document = [&](const SavedDocument& d) {
    if (written.insert(d.digest).second) {
      entries.push_back(TarWriteEntry::File(BlobPath(d.digest), d.bytes));
    }
  };
  for (const SavedImage* image : images) {
    add_document(image->top);
    for (const SavedDocument& m : image->manifests) add_document(m);
    for (const SavedAttachment& a : image->attachments) add_document(a.manifest);
  }
  for (const SavedImage* image : images) {
    for (const SavedBlob& blob : image->blobs) {
      if (!written.insert(blob.digest).second) continue;
      entries.push_back(TarWriteEntry::Streamed(BlobPath(blob.digest), blob.size,
                                                [image, blob, write_blob](ByteSink& out) {
                                                  return write_blob(*image, blob, out);
                                                }));
    }
  }
  return entries;
}

std::string SaveManifestYaml(const std::vector<SavedImage>& images,
                             const std::vector<SavedChart>& charts) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "images" << YAML::Value << YAML::BeginSeq;
  std::set<std::string> attachments_listed;
  for (const SavedImage& image : images) {
    const std::string& name = image.source.archive_name;
    out << YAML::BeginMap << YAML::Key << "image" << YAML::Value << name;
    out << YAML::Key << "references" << YAML::Value << YAML::BeginSeq;
    bool listed = false;
    for (const SavedDocument& m : image.manifests) {
      if (!IsImage(m)) continue;
      // By digest: `load` pushes it untagged and finds it by its digest.
      out << YAML::BeginMap << YAML::Key << "repository" << YAML::Value
          << image.source.ref.path + "@" + m.digest;
      if (m.platform && !m.platform->empty()) EmitPlatform(out, *m.platform);
      out << YAML::Key << "archive" << YAML::Value << image.source.file << YAML::EndMap;
      listed = true;
    }
    if (!listed) {
      out << YAML::BeginMap << YAML::Key << "repository" << YAML::Value << name;
      out << YAML::Key << "archive" << YAML::Value << image.source.file << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    for (const SavedAttachment& a : image.attachments) {
      const std::string attachment = AttachmentName(image, a);
      if (!attachments_listed.insert(attachment).second) continue;  // two tags of one image
      out << YAML::BeginMap << YAML::Key << "image" << YAML::Value << attachment;
      out << YAML::Key << "references" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
      out << YAML::Key << "repository" << YAML::Value << attachment;
      out << YAML::Key << "archive" << YAML::Value << image.source.file;
      out << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    }
  }
  out << YAML::EndSeq;
  if (!charts.empty()) {
    out << YAML::Key << "charts" << YAML::Value << YAML::BeginSeq;
    for (const SavedChart& chart : charts) {
      out << YAML::BeginMap << YAML::Key << "archive" << YAML::Value << chart.file << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace ppa
