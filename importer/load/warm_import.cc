#include "importer/load/warm_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "archive/tar/tar_index.h"
#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "importer/load/blob_cache.h"

namespace ppa {
namespace {

using Json = nlohmann::json;

// Large blocks: the hash, not the system calls, sets the pace.
constexpr size_t kHashBlock = 4 << 20;

const char* KindName(ItemResult::Kind kind) {
  switch (kind) {
    case ItemResult::Kind::kImage:
      return "image";
    case ItemResult::Kind::kManifestList:
      return "list";
    case ItemResult::Kind::kChart:
      return "chart";
  }
  return "image";
}

std::optional<ItemResult::Kind> KindOf(const std::string& name) {
  if (name == "image") return ItemResult::Kind::kImage;
  if (name == "list") return ItemResult::Kind::kManifestList;
  if (name == "chart") return ItemResult::Kind::kChart;
  return std::nullopt;
}

// The target as users name it: "host:5000", "oci:/dir" (no trailing '/' or ':').
std::string ShownTarget(std::string location) {
  while (!location.empty() && (location.back() == '/' || location.back() == ':')) {
    location.pop_back();
  }
  return location;
}

std::string Describe(const WarmItem& w) {
  return "'" + w.repository + (w.reference.rfind("sha256:", 0) == 0 ? "@" : ":") + w.reference +
         "'";
}

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Result<std::string> FileSha256(const std::string& path, const std::atomic<bool>* stop) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno);
  UniqueFd file(fd);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> block(kHashBlock);
  Sha256 hash;
  for (;;) {
    if (stop && stop->load()) return IoError("hashing '" + path + "' stopped");
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read", path, errno);
    if (n == 0) break;
    hash.Update(block.data(), static_cast<size_t>(n));
  }
  return hash.Finish();
}

namespace {

// Size, modification time and inode of `path`, or "" when it cannot be
// read: what tells that the file was replaced or changed during the run.
std::string FileIdentity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_dev);
}

// `json` as text, or "" when it holds a string that is not UTF-8 (a name
// from a hostile archive, a layout path): such an import is not recorded,
// and runs in full every time.
std::string DumpOrEmpty(const Json& json) {
  try {
    return json.dump();
  } catch (const Json::type_error&) {
    return "";
  }
}

}  // namespace

std::string WarmSettings(const LoadOptions& options, const std::string& target) {
  const ImageOptions& images = options.images;
  std::vector<std::string> architectures = images.architectures;
  std::sort(architectures.begin(), architectures.end());
  // The text is what earlier runs recorded under: keep it byte for byte
  // (WarmImportTest.SettingsTextStaysWhatEarlierRunsRecorded).
  Json settings = {
      {"target", target},
      {"namespace", options.target.target_namespace},
      {"format", static_cast<int>(images.format)},
      {"format_given", images.format_given},
      {"compression", images.compression.Key()},
      {"architectures", architectures},
      {"keep_chart_values", options.charts.keep_values},
      {"charts_oci", options.charts.oci},
  };
  return DumpOrEmpty(settings);
}

std::optional<std::pair<std::string, std::string>> SplitWarmTarget(std::string_view target,
                                                                   std::string_view location) {
  if (location.empty() || target.substr(0, location.size()) != location) return std::nullopt;
  std::string_view rest = target.substr(location.size());
  size_t at = rest.find('@');
  size_t split = at != std::string_view::npos ? at : rest.rfind(':');
  if (split == std::string_view::npos || split == 0 || split + 1 == rest.size()) {
    return std::nullopt;
  }
  std::string_view repo = rest.substr(0, split);
  if (repo.find(':') != std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(repo), std::string(rest.substr(split + 1)));
}

namespace {

// A list's platform images pushed to other repositories were copied into
// the list's: their blobs are there too, and are confirmed there.
void AddCopiedChildBlobs(std::vector<WarmItem>& items) {
  for (WarmItem& list : items) {
    if (list.item.kind != ItemResult::Kind::kManifestList) continue;
    std::set<std::string> blobs(list.blobs.begin(), list.blobs.end());
    for (const std::string& child : list.children) {
      for (const WarmItem& image : items) {
        if (image.item.kind != ItemResult::Kind::kImage || image.item.digest != child ||
            image.repository == list.repository) {
          continue;
        }
        for (const std::string& blob : image.blobs) {
          if (blobs.insert(blob).second) list.blobs.push_back(blob);
        }
        break;
      }
    }
  }
}

}  // namespace

Result<std::vector<WarmItem>> WarmItemsOf(const std::vector<ItemResult>& items,
                                          const std::string& location) {
  std::vector<WarmItem> out;
  for (const ItemResult& item : items) {
    WarmItem w{.item = item};
    if (item.kind != ItemResult::Kind::kChart) {
      auto split = SplitWarmTarget(item.target, location);
      if (!split || !IsValidSha256Digest(item.digest)) {
        return Unsupported("'" + item.target + "' is not confirmable in this target");
      }
      w.repository = split->first;
      w.reference = split->second;
      for (const BlobResult& blob : item.blobs) w.blobs.push_back(blob.digest);
      w.item.blobs.clear();  // the report's per-blob actions were this run's
      w.children = item.children;
      out.push_back(std::move(w));
      continue;
    }
    for (const std::string& destination : item.destinations) {
      if (destination.rfind("oci://", 0) == 0) {  // a Helm OCI chart
        auto split = SplitWarmTarget(std::string_view(destination).substr(6), location);
        if (!split || !IsValidSha256Digest(item.digest)) {
          return Unsupported("chart '" + destination + "' is not confirmable in this target");
        }
        w.repository = split->first;
        w.reference = split->second;
      } else if (destination == item.target) {  // the file in the charts folder
        PPA_ASSIGN_OR_RETURN(w.chart_sha256, FileSha256(destination));
        w.chart_file = destination.substr(destination.rfind('/') + 1);
      } else {
        return Unsupported("chart copy '" + destination + "' is not confirmable");
      }
    }
    out.push_back(std::move(w));
  }
  AddCopiedChildBlobs(out);
  return out;
}

std::string SerializeWarmItems(const std::vector<WarmItem>& items) {
  Json list = Json::array();
  for (const WarmItem& w : items) {
    const ItemResult& i = w.item;
    list.push_back({{"kind", KindName(i.kind)},
                    {"name", i.name},
                    {"target", i.target},
                    {"digest", i.digest},
                    {"size", i.size},
                    {"source", i.source},
                    {"platform", i.platform},
                    {"config_digest", i.config_digest},
                    {"chart_name", i.chart_name},
                    {"chart_version", i.chart_version},
                    {"destinations", i.destinations},
                    {"repository", w.repository},
                    {"reference", w.reference},
                    {"chart_file", w.chart_file},
                    {"chart_sha256", w.chart_sha256},
                    {"blobs", w.blobs},
                    {"children", w.children}});
  }
  return DumpOrEmpty(Json{{"version", 1}, {"items", list}});
}

Result<std::vector<WarmItem>> ParseWarmItems(std::string_view text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.value("version", 0) != 1 || !doc.contains("items") ||
      !doc["items"].is_array()) {
    return InvalidInput("the warm re-import record is not one this version wrote");
  }
  std::vector<WarmItem> out;
  try {
    for (const Json& j : doc["items"]) {
      std::optional<ItemResult::Kind> kind = KindOf(j.at("kind").get<std::string>());
      if (!kind) return InvalidInput("the warm re-import record names an unknown kind");
      WarmItem w;
      w.item.kind = *kind;
      w.item.name = j.at("name").get<std::string>();
      w.item.target = j.at("target").get<std::string>();
      w.item.digest = j.at("digest").get<std::string>();
      w.item.size = j.at("size").get<uint64_t>();
      w.item.source = j.at("source").get<std::string>();
      w.item.platform = j.at("platform").get<std::string>();
      w.item.config_digest = j.at("config_digest").get<std::string>();
      w.item.chart_name = j.at("chart_name").get<std::string>();
      w.item.chart_version = j.at("chart_version").get<std::string>();
      w.item.destinations = j.at("destinations").get<std::vector<std::string>>();
      w.repository = j.at("repository").get<std::string>();
      w.reference = j.at("reference").get<std::string>();
      w.chart_file = j.at("chart_file").get<std::string>();
      w.chart_sha256 = j.at("chart_sha256").get<std::string>();
      w.blobs = j.at("blobs").get<std::vector<std::string>>();
      // Absent from records of versions that did not confirm list children.
      w.children = j.value("children", std::vector<std::string>());
      w.item.children = w.children;  // the report's `manifests` of a list
      out.push_back(std::move(w));
    }
  } catch (const Json::exception&) {
    return InvalidInput("the warm re-import record is damaged");
  }
  return out;
}

Status RestoreWarmCharts(
    std::vector<WarmItem>& items, const std::string& charts_dir,
    const std::function<std::optional<std::string>(const std::string&)>& load) {
  for (WarmItem& w : items) {
    if (w.chart_file.empty()) continue;
    if (w.chart_file.find('/') != std::string::npos || w.chart_file.rfind('.', 0) == 0) {
      return InvalidInput("the warm re-import record names chart file '" + w.chart_file + "'");
    }
    const std::string path = charts_dir + "/" + w.chart_file;
    Result<std::string> now = FileSha256(path);
    if (!now.ok() || *now != w.chart_sha256) {
      std::optional<std::string> bytes = load(w.chart_sha256);
      if (!bytes || Sha256Digest(*bytes) != w.chart_sha256) {
        return NotFound("chart file '" + path + "' is " + (now.ok() ? "different" : "missing"));
      }
      PPA_RETURN_IF_ERROR(MakeDirs(charts_dir));
      PPA_RETURN_IF_ERROR(WriteFileAtomic(path, *bytes));
    }
    for (std::string& destination : w.item.destinations) {
      if (destination == w.item.target) destination = path;
    }
    w.item.target = path;
  }
  return Status::Ok();
}

Status ConfirmWarmItems(const std::vector<WarmItem>& items, BlobSink& sink) {
  for (const WarmItem& w : items) {
    if (w.repository.empty()) continue;
    PPA_ASSIGN_OR_RETURN(std::optional<std::string> digest,
                         sink.TaggedManifest(w.repository, w.reference));
    if (!digest) return NotFound(Describe(w) + " is not in the target");
    if (*digest != w.item.digest) {
      return NotFound(Describe(w) + " now names " + *digest + " (recorded " + w.item.digest + ")");
    }
    for (const std::string& child : w.children) {
      PPA_ASSIGN_OR_RETURN(std::optional<std::string> listed,
                           sink.TaggedManifest(w.repository, child));
      if (!listed) {
        return NotFound("platform manifest " + child.substr(0, 19) + " of " + Describe(w) +
                        " is not in the target");
      }
    }
    for (const std::string& blob : w.blobs) {
      PPA_ASSIGN_OR_RETURN(bool present, sink.HasBlob(w.repository, blob));
      if (!present) {
        return NotFound("blob " + blob.substr(0, 19) + " of " + Describe(w) +
                        " is not in the target");
      }
    }
  }
  return Status::Ok();
}

WarmImport::WarmImport(const std::string& archive, BlobSink& sink, const std::string& target,
                       const LoadOptions& options)
    : sink_(sink) {
  enabled_ = !options.work.no_blob_cache && !options.dry_run &&
             options.charts.chartmuseum_uri.empty() && archive != "-" && IsRegularFile(archive);
  if (!enabled_) return;
  cache_path_ = BlobCache::DefaultPath();
  location_ = sink.Locate("");
  settings_ = WarmSettings(options, target);
  if (settings_.empty()) {  // not UTF-8: never recorded
    enabled_ = false;
    return;
  }
  archive_ = archive;
  file_identity_ = FileIdentity(archive);
  charts_dir_ = AbsolutePath(options.work.workdir) + "/charts";  // as PrepareWorkspace makes it
  if (cache_path_.empty()) {
    enabled_ = false;
    return;
  }
  BlobCache cache(cache_path_);
  // Nothing recorded for this target and these options: no record to find,
  // the archive is hashed only if its import succeeds (Record).
  if (!cache.HasImports(location_, settings_)) {
    pool_ = ThreadPool::Current();
    if (!pool_) return;  // hashed in Record
    stop_hashing_ = std::make_shared<std::atomic<bool>>(false);
    hashing_ = pool_->Submit(
        [archive, stop = stop_hashing_] { return FileSha256(archive, stop.get()); });
    return;
  }
  Result<std::string> hashed = FileSha256(archive);
  if (!hashed.ok()) {
    enabled_ = false;  // the full import reports an unreadable archive
    return;
  }
  archive_sha256_ = *hashed;
  recorded_ = cache.LookupImport(archive_sha256_, location_, settings_);
}

WarmImport::~WarmImport() {
  if (stop_hashing_) *stop_hashing_ = true;
}

bool WarmImport::Done(Reporter& reporter) {
  if (!enabled_ || !recorded_) return false;
  Result<std::vector<WarmItem>> items = ParseWarmItems(*recorded_);
  Status confirmed = items.ok() ? ConfirmWarmItems(*items, sink_) : items.status();
  if (confirmed.ok()) {
    BlobCache cache(cache_path_);
    confirmed = RestoreWarmCharts(*items, charts_dir_, [&cache](const std::string& sha256) {
      return cache.LoadFile(sha256);
    });
  }
  if (!confirmed.ok()) {
    reporter.Progress("Imported before, but " + confirmed.message() + ": importing in full.");
    return false;
  }
  int images = 0, charts = 0;
  for (const WarmItem& w : *items) {
    images += w.item.kind == ItemResult::Kind::kImage;
    charts += w.item.kind == ItemResult::Kind::kChart;
  }
  reporter.Progress("Already imported: " + std::to_string(images) + " image(s)" +
                    (charts > 0 ? " and " + std::to_string(charts) + " chart(s)" : "") +
                    " at their recorded digests in " + ShownTarget(location_) + " (archive " +
                    archive_sha256_ + "); nothing to do.");
  for (const WarmItem& w : *items) reporter.Record(w.item);
  done_ = true;
  return true;
}

void WarmImport::Record(int exit_code, const std::vector<ItemResult>& items) {
  if (!enabled_ || done_ || exit_code != 0 || items.empty()) return;
  for (const ItemResult& item : items) {
    if (!item.status.ok()) return;
  }
  Result<std::vector<WarmItem>> warm = WarmItemsOf(items, location_);
  if (!warm.ok()) return;  // confirmable only in part: every run imports in full
  // Replaced or changed during the run: its hash says nothing of what was
  // imported.
  if (file_identity_.empty() || FileIdentity(archive_) != file_identity_) return;
  if (archive_sha256_.empty()) {
    Result<std::string> hashed =
        hashing_.valid() ? pool_->Await(std::move(hashing_)) : FileSha256(archive_);
    if (!hashed.ok()) return;
    archive_sha256_ = *hashed;
  }
  const std::string record = SerializeWarmItems(*warm);
  if (record.empty()) return;  // a name that is not UTF-8: not recorded
  BlobCache cache(cache_path_);
  for (const ItemResult& item : items) {  // the chart files, to write them again
    if (item.kind != ItemResult::Kind::kChart) continue;
    Result<std::string> bytes = ReadSmallFile(item.target);
    if (!bytes.ok()) return;
    cache.StoreFile(Sha256Digest(*bytes), *bytes);
  }
  cache.RecordImport(archive_sha256_, location_, settings_, record);
}

}  // namespace ppa
