#include "importer/save/save.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "archive/write/byte_sink.h"
#include "archive/write/tar_writer.h"
#include "base/file_util.h"
#include "base/thread_pool.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/gzip_isal.h"
#include "docker_io/image/image_formats.h"
#include "docker_io/image/media_types.h"
#include "importer/cli/cli.h"
#include "importer/cli/interrupt.h"
#include "importer/load/plan.h"
#include "importer/report/progress.h"
#include "importer/report/display_text.h"
#include "importer/report/report_destinations.h"
#include "importer/report/run_report.h"
#include "docker_io/sign/registries_d.h"
#include "docker_io/sign/signature_store.h"
#include "importer/save/blob_prefetch.h"
#include "importer/save/image_store.h"
#include "importer/save/partial_archive.h"
#include "importer/save/pull_chart.h"
#include "importer/save/save_report.h"
#include "importer/save/save_sources.h"
#include "importer/save/saved_chart.h"
#include "importer/save/saved_image.h"

namespace ppa {
namespace {

// gzip through ISA-L (deterministic: docker_io/image/gzip_isal.h) into `next`.
// The blobs are compressed already: the fastest level. Its 1 MiB blocks are
// deflated on the run's pool, beside the thread that pulls and writes
// (the bytes are the same either way).
class IsalGzipSink : public ByteSink {
 public:
  explicit IsalGzipSink(ByteSink* next)
      : gzip_(NewIsalGzipCompressor(
            IsalLevelFor(1),
            [next](const char* data, size_t size) { return next->Write(data, size); },
            [](std::function<void()> task) { (void)ThreadPool::Here().SubmitLeaf(std::move(task)); })) {}
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override {
    return gzip_->Write(static_cast<const char*>(data), size);
  }
  Status Close() override { return gzip_->Finish(); }

 private:
  std::unique_ptr<StreamCompressor> gzip_;
};

// Passes writes on until `stopped` is set, then drops them: when a blob
// cannot be had, the tar writers still close their entries, padding them
// with zeros, and none of that may reach the partial archive a next run
// reads blobs from (PartialArchive): it must end where the good bytes do.
class UntilStoppedSink : public ByteSink {
 public:
  UntilStoppedSink(ByteSink* next, const bool& stopped) : next_(next), stopped_(stopped) {}
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override {
    return stopped_ ? Status::Ok() : next_->Write(data, size);
  }

 private:
  ByteSink* next_;
  const bool& stopped_;
};

// Writes to the archive file `fd`, asking the kernel to start writing
// each 16 MiB out as soon as it is written (sync_file_range), so the fsync
// that makes the archive durable before its rename does not wait for the
// whole file.
class WriteBehindSink : public ByteSink {
 public:
  WriteBehindSink(int fd, std::string path) : fd_(fd), file_(fd, std::move(path)) {}
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override {
    PPA_RETURN_IF_ERROR(file_.Write(data, size));
    written_ += size;
    if (written_ - flushed_ >= kWindow) {
      // Only a hint: a failure here shows again, and fails, at fsync.
      (void)::sync_file_range(fd_, static_cast<off_t>(flushed_),
                              static_cast<off_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
      flushed_ = written_;
    }
    return Status::Ok();
  }

 private:
  static constexpr uint64_t kWindow = 16 << 20;
  int fd_;
  FdSink file_;
  uint64_t written_ = 0, flushed_ = 0;
};

// The one mtime of every entry: SOURCE_DATE_EPOCH (reproducible-builds.org)
// when it is a number ustar can hold (before 2038), else 0.
int64_t ArchiveMtime() {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr || *epoch == '\0') return 0;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(epoch, &end, 10);
  const bool ok = *end == '\0' && errno == 0 && value >= 0 && value < 0x7fffffff;
  return ok ? value : 0;
}

// What the options name: images and charts.
struct SaveSources {
  std::vector<SaveSource> images;
  std::vector<ChartSource> charts;
};

Result<SaveSources> Sources(const SaveOptions& options) {
  SaveOptions resolved = options;
  PPA_RETURN_IF_ERROR(ReadSaveList(resolved));
  if (resolved.references.empty()) {
    return InvalidInput("nothing to save",
                        "name images (HOST/REPO:TAG) and charts (FILE.tgz, URL, oci://...) "
                        "as arguments or in --images-from FILE");
  }
  for (const std::string& platform : options.architectures) {
    PPA_RETURN_IF_ERROR(ParsePlatformFilter(platform).status());
  }
  if (!options.source_registry.empty()) {
    auto probe = ParseImageReference(options.source_registry + "/x");
    if (!probe.ok() || probe->domain != options.source_registry) {
      return InvalidInput("--source-registry '" + options.source_registry + "' is no registry",
                          "write HOST or HOST:PORT (e.g. icr.io, reg.example.com:5000)");
    }
  }
  SaveSources out;
  std::vector<std::string> images;
  for (std::string& given : resolved.references) {
    if (!IsChartSource(given)) given = WithSourceRegistry(given, options.source_registry);
    if (!IsChartSource(given)) {
      images.push_back(given);
      continue;
    }
    PPA_ASSIGN_OR_RETURN(ChartSource chart, ParseChartSource(given));
    out.charts.push_back(std::move(chart));
  }
  PPA_ASSIGN_OR_RETURN(out.images, ParseSaveSources(images));
  return out;
}

// The repository to pull `ref` from: Docker Hub's one-word names are its
// library/ images.
std::string PullRepository(const ImageReference& ref) {
  if (ref.domain == "docker.io" && ref.path.find('/') == std::string::npos) {
    return "library/" + ref.path;
  }
  return ref.path;
}

// Where the images are read from: the source registries, connected once
// each, and the OCI layouts, opened once each.
class Stores {
 public:
  explicit Stores(const SaveOptions& options) : options_(options) {
    transport_ = options.make_transport ? options.make_transport(options.transport)
                                        : std::shared_ptr<HttpTransport>(
                                              MakeCurlTransport(options.transport));
  }

  // The clients charts are read through: the registries', and one per
  // chart repository URL with its host's credentials.
  ppa::ChartClients ChartClients() {
    return {.registry = [this](const std::string& host) { return Registry(host); },
            .repository = [this](const std::string& url) {
              ChartMuseumConfig config{.uri = url};
              auto found = options_.credentials.find(ChartSourceHost(
                  ChartSource{.kind = ChartSource::Kind::kUrl, .location = url}));
              if (found != options_.credentials.end()) {
                config.username = found->second.username;
                config.password = found->second.password;
              }
              return std::make_unique<ChartMuseumClient>(std::move(config), transport_);
            }};
  }

  Result<ImageStore*> For(const SaveSource& source) {
    if (!source.layout_dir.empty()) {
      auto [it, added] = layouts_.try_emplace(source.layout_dir);
      if (added) it->second = std::make_unique<LayoutStore>(source.layout_dir);
      return it->second.get();
    }
    PPA_ASSIGN_OR_RETURN(RegistryClient * client, Registry(source.ref.domain));
    auto [it, added] = stores_.try_emplace(source.ref.domain);
    if (added) it->second = std::make_unique<RegistryStore>(client);
    return it->second.get();
  }

  // The simple signatures of manifest `digest` of `source`'s image, where
  // containers/image reads them: the registry's signature API when it
  // offers one, else the lookaside registries.d names for the image (a
  // web server's or a folder), else none. At most kMaxSignaturesRead each.
  Result<std::vector<StoredSignature>> SimpleSignatures(const SaveSource& source,
                                                        const std::string& digest) {
    if (!source.layout_dir.empty()) return std::vector<StoredSignature>();
    PPA_ASSIGN_OR_RETURN(RegistryClient * client, Registry(source.ref.domain));
    const std::string repo = PullRepository(source.ref);
    if (client->supports_signatures()) {
      return MakeRegistrySignatureStore(clients_.at(source.ref.domain))->List(repo, digest);
    }
    std::optional<std::string> url =
        LookasideForReading(registries_d_, source.ref.domain + "/" + repo);
    if (!url) return std::vector<StoredSignature>();
    if (url->rfind("http://", 0) == 0 || url->rfind("https://", 0) == 0) {
      return MakeHttpLookasideReader(transport_, *url)->List(repo, digest);
    }
    PPA_ASSIGN_OR_RETURN(std::string dir, LookasideDirectory(*url));
    return MakeLookasideStore(dir)->List(repo, digest);
  }

  Status LoadRegistriesDConfig() {
    Result<RegistriesD> config = LoadRegistriesD(RegistriesDDirectory(options_.registries_d));
    if (!config.ok()) {
      return config.status().WithContext("registries.d").WithHint(
          "fix the file, or point --registries.d at another directory");
    }
    registries_d_ = std::move(*config);
    return Status::Ok();
  }

  Result<RegistryClient*> Registry(const std::string& host) {
    auto it = clients_.find(host);
    if (it != clients_.end()) return it->second.get();
    auto found = options_.credentials.find(host);
    // Docker Hub answers the API at registry-1.docker.io.
    const std::string endpoint = host == "docker.io" ? "registry-1.docker.io" : host;
    auto client = std::make_shared<RegistryClient>(
        RegistryEndpoint{.host = endpoint, .plain_http = options_.plain_http},
        found == options_.credentials.end() ? Credentials() : found->second, transport_);
    Status ping = client->Ping();
    if (!ping.ok()) return ping.WithContext("registry '" + host + "'");
    return clients_.emplace(host, std::move(client)).first->second.get();
  }

 private:
  const SaveOptions& options_;
  std::shared_ptr<HttpTransport> transport_;
  std::map<std::string, std::shared_ptr<RegistryClient>> clients_;
  std::map<std::string, std::unique_ptr<RegistryStore>> stores_;
  std::map<std::string, std::unique_ptr<LayoutStore>> layouts_;
  RegistriesD registries_d_;
};

Result<SavedDocument> Pull(ImageStore& client, const std::string& repo,
                           const std::string& reference) {
  PPA_ASSIGN_OR_RETURN(PulledManifest pulled, client.GetManifest(repo, reference));
  return SavedDocument{.media_type = pulled.descriptor.media_type,
                       .digest = pulled.descriptor.digest,
                       .bytes = std::move(pulled.body)};
}

void AddBlobs(const std::vector<SavedBlob>& blobs, std::set<std::string>& seen,
              std::vector<SavedBlob>& out) {
  for (const SavedBlob& b : blobs) {
    if (seen.insert(b.digest).second) out.push_back(b);
  }
}

// Limits on what one index may make `save` pull and hold: a hostile
// registry cannot make it hold more than kMaxIndexManifests manifests of at
// most kMaxManifestBytes each (4 MiB), nor more than kMaxImageDocumentBytes
// of documents for one image.
constexpr size_t kMaxIndexManifests = 1024;
constexpr uint64_t kMaxImageDocumentBytes = 64 << 20;

// Whether index entry `d` goes into the archive under --platform `filters`
// (empty: all). A BuildKit attestation goes with the image it attests.
bool Wanted(const Descriptor& d, const std::vector<std::string>& filters,
            const std::set<std::string>& kept_images) {
  if (filters.empty()) return true;
  if (d.platform && d.platform->os == "unknown") {
    auto ref = d.annotations.find("vnd.docker.reference.digest");
    return ref != d.annotations.end() && kept_images.count(ref->second) > 0;
  }
  return d.platform && PlatformWanted(filters, *d.platform);
}

std::string PlatformsOf(const OciIndex& index) {
  std::string platforms;
  for (const Descriptor& d : index.manifests) {
    if (d.platform && d.platform->os != "unknown") {
      platforms += (platforms.empty() ? "" : ", ") + d.platform->ToString();
    }
  }
  return platforms.empty() ? "none named" : platforms;
}

// The manifests of `index` to save, pulled: each digest once, platform
// images before the attestations that name them.
Result<std::vector<SavedDocument>> PullIndexManifests(ImageStore& client,
                                                      const std::string& repo,
                                                      const OciIndex& index,
                                                      const std::vector<std::string>& filters) {
  if (index.manifests.size() > kMaxIndexManifests) {
    return InvalidInput("its index names " + std::to_string(index.manifests.size()) +
                        " manifests; at most " + std::to_string(kMaxIndexManifests) +
                        " are saved");
  }
  std::vector<SavedDocument> out;
  std::set<std::string> kept;
  uint64_t bytes = 0;
  for (int pass = 0; pass < 2; ++pass) {  // images, then attestations
    for (const Descriptor& d : index.manifests) {
      const bool attestation = d.platform && d.platform->os == "unknown";
      if (attestation != (pass == 1) || kept.count(d.digest) || !Wanted(d, filters, kept)) {
        continue;
      }
      if (!IsImageManifestMediaType(d.media_type)) {
        return InvalidInput("its index names " + d.digest + " of type '" + d.media_type +
                            "': only image manifests are saved from an index");
      }
      PPA_ASSIGN_OR_RETURN(SavedDocument manifest, Pull(client, repo, d.digest));
      if (d.size && *d.size != manifest.bytes.size()) {
        return InvalidInput("its index gives manifest " + d.digest + " " +
                            std::to_string(*d.size) + " bytes; the registry serves " +
                            std::to_string(manifest.bytes.size()));
      }
      bytes += manifest.bytes.size();
      if (bytes > kMaxImageDocumentBytes) {
        return InvalidInput("its manifests pass " + HumanBytes(kMaxImageDocumentBytes));
      }
      manifest.platform = d.platform;
      kept.insert(d.digest);
      out.push_back(std::move(manifest));
    }
  }
  // In the index's own order.
  std::vector<SavedDocument> ordered;
  for (const Descriptor& d : index.manifests) {
    for (SavedDocument& m : out) {
      if (m.digest == d.digest && !m.bytes.empty()) ordered.push_back(std::move(m));
    }
  }
  return ordered;
}

// Cosign's signatures and attestations of the image's manifests, pulled
// with their blobs: the tags cosign gives them (sha256-<hex>.sig, .att),
// for the top document (unless the index was rebuilt: nothing signed it)
// and each platform image. A tag the registry lacks is skipped.
Status PullAttachments(ImageStore& client, const std::string& repo, SavedImage& image,
                       std::set<std::string>& seen) {
  std::vector<std::string> digests;
  if (!image.index_rebuilt) digests.push_back(image.top.digest);
  for (const SavedDocument& m : image.manifests) digests.push_back(m.digest);
  uint64_t bytes = 0;
  for (const std::string& digest : digests) {
    for (const std::string& tag : CosignAttachmentTags(digest)) {
      PPA_ASSIGN_OR_RETURN(std::optional<ManifestDescriptor> found, client.HeadManifest(repo, tag));
      if (!found) continue;
      PPA_ASSIGN_OR_RETURN(SavedDocument manifest, Pull(client, repo, tag));
      if (IsIndexMediaType(manifest.media_type)) {
        return InvalidInput("its cosign tag " + tag + " is an index; cosign writes a manifest");
      }
      bytes += manifest.bytes.size();
      if (bytes > kMaxImageDocumentBytes) {
        return InvalidInput("its cosign manifests pass " + HumanBytes(kMaxImageDocumentBytes));
      }
      PPA_ASSIGN_OR_RETURN(auto blobs, ManifestBlobs(manifest.bytes));
      for (const SavedBlob& b : blobs) image.attachment_blob_bytes += b.size;
      AddBlobs(blobs, seen, image.blobs);
      image.attachments.push_back({.tag = tag, .manifest = std::move(manifest)});
    }
  }
  std::sort(image.attachments.begin(), image.attachments.end(),
            [](const SavedAttachment& a, const SavedAttachment& b) { return a.tag < b.tag; });
  return Status::Ok();
}

// The documents of one source and the blobs they name: a manifest and its
// config and layers, or an index, the manifests of the platforms kept and
// theirs.
Result<SavedImage> PullImageDocuments(ImageStore& client, const SaveSource& source,
                                      const std::vector<std::string>& filters) {
  const std::string repo = PullRepository(source.ref);
  const std::string reference = !source.layout_ref.empty() ? source.layout_ref
                                : source.ref.digest.empty()   ? source.ref.tag
                                                              : source.ref.digest;
  SavedImage image{.source = source};
  PPA_ASSIGN_OR_RETURN(image.top, Pull(client, repo, reference));
  std::set<std::string> seen;
  if (!IsIndexMediaType(image.top.media_type)) {
    PPA_ASSIGN_OR_RETURN(auto blobs, ManifestBlobs(image.top.bytes));
    AddBlobs(blobs, seen, image.blobs);
    return image;
  }
  PPA_ASSIGN_OR_RETURN(OciIndex index, ParseOciIndex(image.top.bytes));
  PPA_ASSIGN_OR_RETURN(image.manifests, PullIndexManifests(client, repo, index, filters));
  bool images_kept = false;
  for (const SavedDocument& m : image.manifests) {
    PPA_ASSIGN_OR_RETURN(auto blobs, ManifestBlobs(m.bytes));
    AddBlobs(blobs, seen, image.blobs);
    images_kept = images_kept || !(m.platform && m.platform->os == "unknown");
  }
  if (!images_kept && filters.empty()) {
    return InvalidInput("its index " + image.top.digest + " names no image");
  }
  if (!images_kept) {
    return InvalidInput("none of its platforms is one --platform selects",
                        "its platforms: " + PlatformsOf(index));
  }
  std::vector<std::string> kept;
  for (const SavedDocument& m : image.manifests) kept.push_back(m.digest);
  const bool dropped = std::any_of(index.manifests.begin(), index.manifests.end(),
                                   [&](const Descriptor& d) {
                                     return std::find(kept.begin(), kept.end(), d.digest) ==
                                            kept.end();
                                   });
  if (dropped) {
    PPA_ASSIGN_OR_RETURN(image.top.bytes, SubsetIndex(image.top.bytes, kept));
    image.top.digest = Sha256Digest(image.top.bytes);
    image.index_rebuilt = true;
    // Named by digest, it is named by the new index's.
    if (source.ref.tag.empty()) image.source.archive_name = source.ref.path + "@" + image.top.digest;
  }
  return image;
}

// The simple signatures of the image's manifests (the top one, unless the
// index was rebuilt, and each platform image), at most 4 MiB in all.
Status PullSimpleSignatures(Stores& stores, SavedImage& image) {
  std::vector<std::string> digests;
  if (!image.index_rebuilt) digests.push_back(image.top.digest);
  for (const SavedDocument& m : image.manifests) digests.push_back(m.digest);
  uint64_t bytes = 0;
  for (const std::string& digest : digests) {
    PPA_ASSIGN_OR_RETURN(std::vector<StoredSignature> found,
                         stores.SimpleSignatures(image.source, digest));
    for (StoredSignature& signature : found) {
      bytes += signature.bytes.size();
      if (bytes > (4 << 20)) {
        return InvalidInput("its simple signatures pass 4 MiB");
      }
      image.simple_signatures.push_back({.digest = digest, .bytes = std::move(signature.bytes)});
    }
  }
  return Status::Ok();
}

// An image and, unless --remove-signatures, cosign's artifacts of it and
// its simple signatures.
Result<SavedImage> PullImage(ImageStore& client, Stores& stores, const SaveSource& source,
                             const SaveOptions& options) {
  PPA_ASSIGN_OR_RETURN(SavedImage image, PullImageDocuments(client, source, options.architectures));
  if (options.remove_signatures) return image;
  std::set<std::string> seen;
  for (const SavedBlob& b : image.blobs) seen.insert(b.digest);
  PPA_RETURN_IF_ERROR(PullAttachments(client, PullRepository(source.ref), image, seen));
  PPA_RETURN_IF_ERROR(PullSimpleSignatures(stores, image));
  return image;
}

// Reads a chart's package again as the archive is written.
using ChartReader = std::function<Result<std::string>(const SavedChart& chart)>;

// The outer archive: its entries, and where each blob's bytes start in its
// tar stream (what a partial archive is read by: PartialArchive).
// A blob as the archive holds it: in which image file, and where its
// bytes start in the archive's tar stream (none when a name of the archive
// needs a pax header, 100 bytes or more, or a file is 8 GiB or more: their
// headers' sizes are libarchive's to decide, and such an archive is not
// resumed from a partial one). A blob two files share is placed twice.
struct PlacedBlob {
  std::string file;
  SavedBlob blob;
  std::optional<uint64_t> offset;
};

// Where a placed blob is looked up: its file and digest.
std::string PlaceKey(const std::string& file, const std::string& digest) {
  return file + "\n" + digest;
}

// The outer archive: its entries, and its blobs in the order they are
// written.
struct ArchiveLayout {
  std::vector<TarWriteEntry> entries;
  std::vector<PlacedBlob> blobs;
};

// The outer archive's entries: manifest.yaml, charts/ and the chart
// packages (read again as they are written) with their provenance files,
// images/ and one layout tarball per group of images sharing blobs
// (GroupBySharedBlobs, which names each image's file), streamed.
Result<ArchiveLayout> ArchiveEntries(std::vector<SavedImage>& images,
                                     const std::vector<SavedChart>& charts,
                                     const BlobWriter& write_blob, const ChartReader& read_chart,
                                     int64_t mtime) {
  const std::vector<std::vector<const SavedImage*>> groups = GroupBySharedBlobs(images);
  ArchiveLayout layout;
  std::vector<TarWriteEntry>& entries = layout.entries;
  entries.push_back(TarWriteEntry::File("manifest.yaml", SaveManifestYaml(images, charts)));
  if (!charts.empty()) entries.push_back(TarWriteEntry::Directory("charts"));
  for (const SavedChart& chart : charts) {
    entries.push_back(TarWriteEntry::Streamed(chart.file, chart.size, [&chart, read_chart](ByteSink& out) {
      PPA_ASSIGN_OR_RETURN(std::string bytes, read_chart(chart));
      return out.Write(bytes.data(), bytes.size());
    }));
    if (chart.provenance) entries.push_back(TarWriteEntry::File(chart.file + ".prov", *chart.provenance));
  }
  if (images.empty()) return layout;
  // Simple signatures as skopeo lays out a lookaside, below signatures/:
  // <repository>@sha256=<hex>/signature-N.
  std::set<std::string> folders;
  for (const SavedImage& image : images) {
    std::map<std::string, int> counts;
    for (const SavedSimpleSignature& signature : image.simple_signatures) {
      const int n = ++counts[signature.digest];
      const std::string path =
          LookasidePath("signatures", image.source.ref.path, signature.digest, n);
      if (folders.insert(path).second) entries.push_back(TarWriteEntry::File(path, signature.bytes));
    }
  }
  entries.push_back(TarWriteEntry::Directory("images"));
  // Per image file: its entry in `entries`, and its blobs' offsets in it.
  std::vector<std::pair<size_t, std::map<std::string, uint64_t>>> inner_offsets;
  std::map<std::string, uint64_t> sizes;  // of each blob
  for (const std::vector<const SavedImage*>& group : groups) {
    std::vector<TarWriteEntry> inner = LayoutEntries(group, write_blob);
    PPA_ASSIGN_OR_RETURN(uint64_t size, TarStreamSize(inner));
    PPA_ASSIGN_OR_RETURN(std::vector<uint64_t> offsets, TarContentOffsets(inner));
    std::map<std::string, uint64_t> blobs;
    for (size_t i = 0; i < inner.size(); ++i) {
      constexpr std::string_view kBlobs = "blobs/sha256/";
      if (inner[i].producer && inner[i].path.rfind(kBlobs, 0) == 0) {
        blobs["sha256:" + inner[i].path.substr(kBlobs.size())] = offsets[i];
        sizes["sha256:" + inner[i].path.substr(kBlobs.size())] = inner[i].size;
      }
    }
    inner_offsets.emplace_back(entries.size(), std::move(blobs));
    auto shared = std::make_shared<std::vector<TarWriteEntry>>(std::move(inner));
    entries.push_back(TarWriteEntry::Streamed(group.front()->source.file, size, [shared, mtime](ByteSink& out) {
      return WriteTar(*shared, out, {.mtime = mtime, .pad_to_record = false});
    }));
  }
  // The image files in the order WriteTar writes them (by path), each
  // file's blobs in its own order.
  std::stable_sort(inner_offsets.begin(), inner_offsets.end(), [&](const auto& a, const auto& b) {
    return entries[a.first].path < entries[b.first].path;
  });
  Result<std::vector<uint64_t>> outer = TarContentOffsets(entries);
  for (const auto& [entry, blobs] : inner_offsets) {
    std::map<uint64_t, std::string> by_offset;
    for (const auto& [digest, offset] : blobs) by_offset[offset] = digest;
    for (const auto& [offset, digest] : by_offset) {
      PlacedBlob placed{.file = entries[entry].path, .blob = {.digest = digest, .size = sizes[digest]}};
      if (outer.ok()) placed.offset = (*outer)[entry] + offset;
      layout.blobs.push_back(std::move(placed));
    }
  }
  return layout;
}

// Checks, before anything is pulled, that `output` can become the archive:
// not a directory, in a directory that exists.
Status CheckOutput(const std::string& output) {
  if (output == "-") return Status::Ok();
  std::error_code ec;
  if (std::filesystem::is_directory(output, ec)) {
    return InvalidInput("-o " + output + " is a directory", "name the archive file to write");
  }
  const std::filesystem::path parent = std::filesystem::path(output).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
    return InvalidInput("-o " + output + ": folder " + parent.string() + " does not exist",
                        "create it, or name a file in an existing folder");
  }
  return Status::Ok();
}

// The files of `-o FILE`: FILE.partial, what a run that stopped left (read
// for its blobs: PartialArchive), and the file being written: FILE.partial
// itself, or FILE.partial.new beside an earlier one.
struct OutputFiles {
  std::string partial;
  std::string writing;
  UniqueFd fd;
  std::unique_ptr<PartialArchive> earlier;  // null: none
};

// Creates the file to write: never an existing file, never through a link;
// a new file's mode (0666 less the umask), as `>` would give it.
Result<UniqueFd> CreateNew(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoError("cannot create", path, errno);
  return UniqueFd(fd);
}

Result<OutputFiles> OpenOutputFiles(const std::string& output) {
  OutputFiles files{.partial = output + ".partial"};
  Result<std::unique_ptr<PartialArchive>> earlier = PartialArchive::Open(files.partial);
  if (earlier.ok()) {
    files.earlier = std::move(*earlier);
    files.writing = files.partial + ".new";
    ::unlink(files.writing.c_str());  // a leftover of a run that stopped while resuming
  } else if (earlier.status().code() == StatusCode::kNotFound) {
    files.writing = files.partial;
  } else {
    return earlier.status();
  }
  PPA_ASSIGN_OR_RETURN(files.fd, CreateNew(files.writing));
  return files;
}

// Writes the archive to `options.output`: standard output, or FILE through
// OutputFiles, synced and renamed to FILE when complete. After a failure
// (`stopped` set by what could not get a blob) FILE.partial stays for the
// next run (KeepLongerPartial), unless what it held proved wrong
// (`corrupt_partial`): then it is removed.
Status WriteArchive(const SaveOptions& options, const std::vector<TarWriteEntry>& entries,
                    int64_t mtime, OutputFiles* files, const bool& corrupt_partial,
                    const bool& stopped) {
  // Unpadded, so unbuffered: after a failure the partial archive holds
  // every byte written before it (PartialArchive).
  const TarOptions outer{.mtime = mtime, .pad_to_record = false};
  if (options.output == "-") {
    FdSink stdout_sink(STDOUT_FILENO, "standard output");
    IsalGzipSink gz(&stdout_sink);
    UntilStoppedSink until_stopped(&gz, stopped);
    PPA_RETURN_IF_ERROR(WriteTar(entries, until_stopped, outer));
    return gz.Close();
  }
  KeepPartialOnInterrupt(files->writing, files->partial);
  Status written = [&]() -> Status {
    WriteBehindSink file(files->fd.get(), files->writing);
    IsalGzipSink gz(&file);
    UntilStoppedSink until_stopped(&gz, stopped);
    Status tar = WriteTar(entries, until_stopped, outer);
    // Closed after a failure too: the partial file then holds all it can.
    Status closed = gz.Close();
    PPA_RETURN_IF_ERROR(tar);
    PPA_RETURN_IF_ERROR(closed);
    if (::fsync(files->fd.get()) != 0) return ErrnoError("cannot sync", files->writing, errno);
    return Status::Ok();
  }();
  if (written.ok() && std::rename(files->writing.c_str(), options.output.c_str()) != 0) {
    written = ErrnoError("cannot rename to " + options.output, files->writing, errno);
  }
  if (written.ok()) {
    if (files->earlier) ::unlink(files->partial.c_str());
  } else if (corrupt_partial) {
    ::unlink(files->writing.c_str());
    ::unlink(files->partial.c_str());
  } else {
    KeepLongerPartial(files->writing, files->partial);
    written = written.WithHint("run the same command again to go on: the blobs written to " +
                               files->partial + " are not pulled again (delete it to start over)");
  }
  KeepPartialOnInterrupt("", "");
  return written;
}

// "2 image(s) and 1 chart(s)".
std::string Counted(size_t images, size_t charts) {
  std::string text = std::to_string(images) + " image(s)";
  if (charts > 0) text += " and " + std::to_string(charts) + " chart(s)";
  return text;
}

// One line per image and chart saved (or, in a dry run, to be saved);
// returns their bytes in all.
uint64_t PrintPlan(std::ostream& summary, const std::vector<SavedImage>& images,
                   const std::vector<SavedChart>& charts, bool dry_run) {
  const char* verb = dry_run ? "would save  " : "saving  ";
  uint64_t total = 0;
  for (const SavedImage& image : images) {
    total += image.Bytes();
    summary << verb << image.source.archive_name << " " << image.top.digest
            << (image.index_rebuilt ? " (new index)" : "") << "  " << HumanBytes(image.Bytes())
            << "  from " << image.source.given << "\n";
    for (const SavedAttachment& a : image.attachments) {
      summary << "  with " << AttachmentName(image, a) << " " << a.manifest.digest << "\n";
    }
    if (!image.simple_signatures.empty()) {
      summary << "  with " << image.simple_signatures.size() << " simple signature(s)\n";
    }
  }
  for (const SavedChart& chart : charts) {
    total += chart.size + (chart.provenance ? chart.provenance->size() : 0);
    summary << verb << chart.file << " " << chart.digest << (chart.provenance ? " (+ .prov)" : "")
            << "  " << HumanBytes(chart.size) << "  from " << chart.source.given << "\n";
  }
  return total;
}

// The blobs the archive gets, by digest and size: the progress display's
// work.
std::map<std::string, uint64_t> BlobWork(const std::vector<SavedImage>& images) {
  std::map<std::string, uint64_t> work;
  for (const SavedImage& image : images) {
    for (const SavedBlob& blob : image.blobs) work.emplace(blob.digest, blob.size);
  }
  return work;
}

// The prefetcher of the blobs the archive gets from their sources, in the
// order it is written (`order`), leaving out those the partial archive
// holds. Sources are resolved here, on the writer's thread: the pulls only
// use them.
Result<std::unique_ptr<BlobPrefetcher>> StartPrefetch(const std::vector<SavedImage>& images,
                                                      Stores& stores,
                                                      const std::vector<PlacedBlob>& order,
                                                      const PartialArchive* earlier) {
  struct Source {
    ImageStore* store;
    std::string repo;
  };
  auto sources = std::make_shared<std::map<std::string, Source>>();
  for (const SavedImage& image : images) {
    PPA_ASSIGN_OR_RETURN(ImageStore * store, stores.For(image.source));
    for (const SavedBlob& blob : image.blobs) {
      sources->emplace(blob.digest, Source{store, PullRepository(image.source.ref)});
    }
  }
  std::vector<BlobPrefetcher::Blob> ahead;
  for (const PlacedBlob& placed : order) {
    if (earlier && placed.offset && earlier->Holds(*placed.offset, placed.blob.size)) continue;
    ahead.push_back({placed.blob.digest, placed.blob.size});
  }
  return std::make_unique<BlobPrefetcher>(
      std::move(ahead), [sources](const BlobPrefetcher::Blob& blob) -> Result<std::string> {
        const Source& source = sources->at(blob.digest);
        std::string bytes;
        bytes.reserve(blob.size);
        PPA_RETURN_IF_ERROR(source.store->GetBlob(source.repo, blob.digest, blob.size,
                                                  [&bytes](std::string_view data) {
                                                    bytes.append(data);
                                                    return Status::Ok();
                                                  }));
        return bytes;
      });
}

}  // namespace

Result<std::vector<std::string>> SaveSourceHosts(const SaveOptions& options) {
  PPA_ASSIGN_OR_RETURN(SaveSources sources, Sources(options));
  std::set<std::string> hosts;
  for (const SaveSource& s : sources.images) {
    if (s.layout_dir.empty()) hosts.insert(s.ref.domain);
  }
  for (const ChartSource& c : sources.charts) {
    if (const std::string host = ChartSourceHost(c); !host.empty()) hosts.insert(host);
  }
  return std::vector<std::string>(hosts.begin(), hosts.end());
}

Status ReadSaveList(SaveOptions& options) {
  if (options.images_from.empty()) return Status::Ok();
  std::ifstream in(options.images_from, std::ios::binary);
  if (!in) return ErrnoError("cannot read", options.images_from, errno);
  constexpr size_t kMaxListBytes = 16 << 20;
  std::string text(kMaxListBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxListBytes) {
    return InvalidInput("--images-from " + options.images_from + " is over 16 MiB",
                        "split the list into several archives");
  }
  Result<std::vector<std::string>> listed = ListFileReferences(text);
  if (!listed.ok()) return listed.status().WithContext("--images-from " + options.images_from);
  for (std::string& ref : *listed) options.references.push_back(std::move(ref));
  options.images_from.clear();
  return Status::Ok();
}

int RunSave(const SaveOptions& options, std::ostream& out, std::ostream& err) {
  const ReportDestinations json = ReportDestinationsOf(options.json);
  SaveReport report{.started = NowRfc3339(), .output = options.output, .dry_run = options.dry_run};
  // Ends the run: the error (if any) on stderr, the report to --json.
  auto finish = [&](int code, const Status& error) {
    if (!error.ok()) PrintError(err, error);
    report.exit_code = code;
    report.error = error;
    report.finished = NowRfc3339();
    WriteReportTo(
        json, [&](int indent) { return SaveReportJson(report, indent); }, out,
        [&](const Status& failed) { PrintError(err, failed); });
    return code;
  };
  Result<SaveSources> sources = Sources(options);
  Status usage = sources.ok() ? CheckOutput(options.output) : sources.status();
  if (usage.ok() && options.output == "-" && json.to_stdout) {
    usage = InvalidInput("-o - and --json - both write to standard output",
                         "write the report to a file: --json FILE");
  }
  if (usage.ok() && options.output == "-" && !options.dry_run && ::isatty(STDOUT_FILENO)) {
    usage = InvalidInput("-o - writes the archive to standard output, which is a terminal",
                         "redirect it (> FILE, | ppa-import load - ...) or name a file");
  }
  if (!usage.ok()) return finish(kExitUsage, usage);
  // What was (or would be) saved goes to stdout, unless the archive or the
  // report alone does; -q leaves it out.
  std::ostringstream discarded;
  std::ostream& summary = options.quiet                                   ? discarded
                          : options.output == "-" || json.stdout_only() ? err
                                                                          : out;
  Stores stores(options);
  if (Status config = stores.LoadRegistriesDConfig(); !config.ok()) {
    return finish(kExitUsage, config);
  }
  ChartClients chart_clients = stores.ChartClients();
  std::vector<SavedImage> images;
  for (const SaveSource& source : sources->images) {
    Result<ImageStore*> store = stores.For(source);
    Result<SavedImage> image = store.ok() ? PullImage(**store, stores, source, options) : store.status();
    if (!image.ok()) return finish(kExitItemFailed, image.status().WithContext(source.given));
    images.push_back(std::move(*image));
  }
  std::vector<SavedChart> pulled;
  for (const ChartSource& source : sources->charts) {
    Result<SavedChart> chart = PullChart(source, chart_clients);
    if (!chart.ok()) return finish(kExitItemFailed, chart.status().WithContext(source.given));
    pulled.push_back(std::move(*chart));
  }
  Result<std::vector<SavedChart>> charts = ArrangeCharts(std::move(pulled));
  if (!charts.ok()) return finish(kExitUsage, charts.status());
  // The archive does not depend on the order the sources were given in.
  std::sort(images.begin(), images.end(), [](const SavedImage& a, const SavedImage& b) {
    return a.source.archive_name < b.source.archive_name;
  });
  const int64_t mtime = ArchiveMtime();
  ProgressDisplay progress(options.quiet || json.stdout_only() ? ProgressMode::kOff
                           : ProgressDisplay::TerminalAttached() && options.output != "-"
                               ? ProgressMode::kTerminal
                               : ProgressMode::kLog,
                           stderr, &summary, LogIntervalFromEnvironment());
  progress.SetSaving(true);
  int shown = -1;  // the archive on the display, from when its blobs are written
  // A partial archive of an earlier run (-o FILE), and where each blob lies
  // in the tar stream: a blob it holds is read from it, not pulled again;
  // the others in that order are pulled ahead (BlobPrefetcher).
  OutputFiles files;
  std::map<std::string, uint64_t> offsets;  // PlaceKey -> tar stream offset
  bool corrupt_partial = false;
  std::unique_ptr<BlobPrefetcher> prefetcher;  // set once the layout is known
  bool stopped = false;  // a blob or chart could not be had: nothing more is written
  auto write_one = [&](const SavedImage& image, const SavedBlob& blob, ByteSink& sink) -> Status {
    uint64_t written = 0;
    auto pass_on = [&](std::string_view data) {
      written += data.size();
      progress.Credit(shown, blob.digest, written);
      return sink.Write(data);
    };
    auto at = offsets.find(PlaceKey(image.source.file, blob.digest));
    if (files.earlier && at != offsets.end() && files.earlier->Holds(at->second, blob.size)) {
      Status read = files.earlier->Read(at->second, blob.size, blob.digest, pass_on);
      corrupt_partial = corrupt_partial || read.code() == StatusCode::kInvalidInput;
      return read;
    }
    if (prefetcher) {
      if (std::optional<Result<std::string>> ahead = prefetcher->Take(blob.digest)) {
        if (!ahead->ok()) return ahead->status();
        return pass_on(**ahead);
      }
    }
    PPA_ASSIGN_OR_RETURN(ImageStore * store, stores.For(image.source));
    return store->GetBlob(PullRepository(image.source.ref), blob.digest, blob.size, pass_on);
  };
  BlobWriter write_blob = [&](const SavedImage& image, const SavedBlob& blob,
                              ByteSink& sink) -> Status {
    Status got = write_one(image, blob, sink);
    stopped = stopped || !got.ok();
    return got;
  };
  ChartReader read_chart = [&](const SavedChart& chart) {
    Result<std::string> got = ReadChartAgain(chart, chart_clients);
    stopped = stopped || !got.ok();
    return got;
  };
  // Laid out (sizes known, images grouped) before a blob is pulled, in a
  // dry run too.
  Result<ArchiveLayout> layout = ArchiveEntries(images, *charts, write_blob, read_chart, mtime);
  for (const SavedImage& image : images) report.images.push_back(&image);
  for (const SavedChart& chart : *charts) report.charts.push_back(&chart);
  const uint64_t total = PrintPlan(summary, images, *charts, options.dry_run);
  const std::string counted = Counted(images.size(), charts->size()) + ", " + HumanBytes(total);
  if (!layout.ok()) return finish(kExitItemFailed, layout.status());
  if (options.dry_run) {
    summary << counted << " in all\n";
    return finish(kExitOk, Status::Ok());
  }
  if (options.output != "-") {
    Result<OutputFiles> opened = OpenOutputFiles(options.output);
    if (!opened.ok()) return finish(kExitItemFailed, opened.status());
    files = std::move(*opened);
  }
  for (const PlacedBlob& placed : layout->blobs) {
    if (placed.offset) offsets[PlaceKey(placed.file, placed.blob.digest)] = *placed.offset;
  }
  if (files.earlier) {
    // Only the blobs whose bytes it holds right are read from it.
    std::map<uint64_t, PartialArchive::Blob> expected;
    for (const PlacedBlob& placed : layout->blobs) {
      if (placed.offset) expected[*placed.offset] = {placed.blob.digest, placed.blob.size};
    }
    Status checked = files.earlier->Check(expected);
    if (!checked.ok()) {
      ::unlink(files.writing.c_str());
      return finish(kExitItemFailed, checked);
    }
  }
  Result<std::unique_ptr<BlobPrefetcher>> ahead =
      StartPrefetch(images, stores, layout->blobs, files.earlier.get());
  if (!ahead.ok()) {
    if (!files.writing.empty()) ::unlink(files.writing.c_str());  // still empty
    return finish(kExitItemFailed, ahead.status());
  }
  prefetcher = std::move(*ahead);
  shown = progress.BeginArchive(options.output == "-" ? "" : options.output, 0, 0);
  progress.Planned(shown, BlobWork(images));
  Status written =
      WriteArchive(options, layout->entries, mtime, &files, corrupt_partial, stopped);
  prefetcher.reset();  // waits for pulls still in flight after a failure
  progress.EndArchive(shown);
  if (!written.ok()) return finish(kExitItemFailed, written);
  if (files.earlier) {
    summary << "resumed from " << files.partial << ": " << files.earlier->blobs_reused()
            << " blob(s), " << HumanBytes(files.earlier->bytes_reused()) << ", not pulled again\n";
  }
  summary << "saved " << counted << ", to "
          << (options.output == "-" ? "standard output" : options.output) << "\n";
  return finish(kExitOk, Status::Ok());
}

}  // namespace ppa
