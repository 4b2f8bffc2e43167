#include "helm_io/chart.h"

#include <archive.h>
#include <archive_entry.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "archive/manifest/bounded_yaml.h"
#include "base/file_util.h"

namespace ppa {
namespace {

constexpr char kChartYaml[] = "Chart.yaml";

// ---------------------------------------------------------------------------
// Chart.yaml

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsIdentifierChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

// Calls `check` on each '.'-separated part of `s`; false if any fails.
template <typename Check>
bool AllParts(std::string_view s, Check check, size_t* count = nullptr) {
  size_t n = 0;
  while (true) {
    const size_t dot = s.find('.');
    if (!check(s.substr(0, dot))) return false;
    ++n;
    if (dot == std::string_view::npos) break;
    s.remove_prefix(dot + 1);
  }
  if (count != nullptr) *count = n;
  return true;
}

// A numeric version part that fits in 64 bits, as Helm's semver library parses it.
bool IsVersionNumber(std::string_view part) {
  constexpr std::string_view kMax = "18446744073709551615";
  if (!IsDigits(part)) return false;
  while (part.size() > 1 && part[0] == '0') part.remove_prefix(1);
  return part.size() < kMax.size() || (part.size() == kMax.size() && part <= kMax);
}

bool IsPrereleasePart(std::string_view part) {
  if (part.empty()) return false;
  for (char c : part) {
    if (!IsIdentifierChar(c)) return false;
  }
  return !(IsDigits(part) && part.size() > 1 && part[0] == '0');  // no leading zeros
}

bool IsBuildPart(std::string_view part) {
  if (part.empty()) return false;
  for (char c : part) {
    if (!IsIdentifierChar(c)) return false;
  }
  return true;
}

// A name that is one plain path component: usable as a file or folder name.
bool IsPlainFileName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

// A text field of Chart.yaml as written; "" when missing or null.
Result<std::string> TextField(const YAML::Node& root, const char* key) {
  const YAML::Node node = root[key];
  if (!node.IsDefined() || node.IsNull()) return std::string();
  if (!node.IsScalar()) {
    return InvalidInput(std::string(kChartYaml) + ": '" + key + "' must be a text value");
  }
  return node.Scalar();
}

Result<ChartMetadata> ChartMetadataFrom(const YAML::Node& root) {
  if (!root.IsMap()) return InvalidInput(std::string(kChartYaml) + ": must be a YAML mapping");
  ChartMetadata md;
  PPA_ASSIGN_OR_RETURN(md.api_version, TextField(root, "apiVersion"));
  PPA_ASSIGN_OR_RETURN(md.name, TextField(root, "name"));
  PPA_ASSIGN_OR_RETURN(md.version, TextField(root, "version"));
  PPA_ASSIGN_OR_RETURN(md.app_version, TextField(root, "appVersion"));
  PPA_ASSIGN_OR_RETURN(md.description, TextField(root, "description"));
  if (md.api_version.empty()) md.api_version = "v1";
  if (md.api_version != "v1" && md.api_version != "v2") {
    return InvalidInput(std::string(kChartYaml) + ": apiVersion '" + md.api_version +
                        "' is not supported (expected v1 or v2)");
  }
  if (md.name.empty()) return InvalidInput(std::string(kChartYaml) + ": 'name' is required");
  if (!IsPlainFileName(md.name)) {
    return InvalidInput(std::string(kChartYaml) + ": name '" + md.name +
                        "' is invalid (must be a plain file name)");
  }
  if (md.version.empty()) {
    return InvalidInput(std::string(kChartYaml) + ": 'version' is required");
  }
  if (!IsValidChartVersion(md.version)) {
    return InvalidInput(std::string(kChartYaml) + ": version '" + md.version +
                        "' is not a valid SemVer version");
  }
  return md;
}

// ---------------------------------------------------------------------------
// Chart archives

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const noexcept { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ArchiveReadDeleter>;

constexpr size_t kReadBlock = 64 * 1024;

// What the scan has seen so far.
struct ChartScan {
  std::string top_dir;
  uint64_t total = 0;
  bool has_chart_yaml = false;
  std::string chart_yaml;
};

std::string ArchiveError(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

Status NotGzipTar(const std::string& label, const std::string& detail) {
  return InvalidInput(label + " is not a gzip'd tar archive" +
                      (detail.empty() ? std::string() : " (" + detail + ")"));
}

// Opens the chart file, beneath the work directory when it is in one
// (base/confined.h): it exists, is a regular file and is not empty.
Result<UniqueFd> OpenChartFile(const std::string& path, const std::string& label) {
  auto fd = OpenForRead(path);
  if (!fd.ok()) {
    if (fd.status().code() == StatusCode::kNotFound) return NotFound(label + " does not exist");
    if (fd.status().code() == StatusCode::kUnsafeArchive) return fd.status().WithContext(label);
    return IoError(label + " cannot be read: " + fd.status().message());
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return InvalidInput(label + " is not a file");
  if (st.st_size == 0) return NotGzipTar(label, "the file is empty");
  return fd;
}

// libarchive reads the chart through these, from a descriptor it owns.
struct ChartFileSource {
  UniqueFd fd;
  std::string buffer = std::string(kReadBlock, '\0');
};

la_ssize_t ReadChartBlock(struct archive*, void* data, const void** block) {
  auto* source = static_cast<ChartFileSource*>(data);
  ssize_t got;
  do {
    got = ::read(source->fd.get(), source->buffer.data(), source->buffer.size());
  } while (got < 0 && errno == EINTR);
  *block = source->buffer.data();
  return got;
}

int CloseChartFile(struct archive*, void* data) {
  delete static_cast<ChartFileSource*>(data);
  return ARCHIVE_OK;
}

// The entry name (UTF-8 when the locale cannot convert it), or "".
std::string EntryName(struct archive_entry* entry) {
  if (const char* name = archive_entry_pathname(entry)) return name;
  if (const char* name = archive_entry_pathname_utf8(entry)) return name;
  return {};
}

// Splits an entry name into components, dropping empty and "." ones.
// Absolute names and ".." components are unsafe; "\" counts as a separator.
Result<std::vector<std::string>> EntryComponents(std::string name, const std::string& label) {
  if (name.empty()) return InvalidInput(label + ": an entry has no name");
  for (char& c : name) {
    if (c == '\\') c = '/';
  }
  const bool drive = name.size() >= 2 && name[1] == ':' &&
                     ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'));
  if (name[0] == '/' || drive) {
    return UnsafeArchive(label + ": entry '" + name + "' has an absolute path");
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    std::string part = name.substr(start, slash - start);
    if (part == "..") return UnsafeArchive(label + ": entry '" + name + "' contains '..'");
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = slash + 1;
  }
  return parts;
}

// Regular files and directories only: links and devices have no place in a chart.
Status CheckEntryType(struct archive_entry* entry, const std::string& name,
                      const std::string& label) {
  if (archive_entry_hardlink(entry) != nullptr) {
    return UnsafeArchive(label + ": entry '" + name + "' is a hard link");
  }
  switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
    case AE_IFDIR:
      return Status::Ok();
    case AE_IFLNK:
      return UnsafeArchive(label + ": entry '" + name + "' is a symbolic link");
    default:
      return UnsafeArchive(label + ": entry '" + name + "' is not a regular file or directory");
  }
}

// Places the entry under the one top directory.
Status CheckTopDir(const std::vector<std::string>& parts, bool is_dir, const std::string& name,
                   const std::string& label, ChartScan& scan) {
  if (parts.empty()) {
    if (is_dir) return Status::Ok();  // "./"
    return InvalidInput(label + ": entry '" + name + "' has no file name");
  }
  if (parts.size() == 1 && !is_dir) {
    return InvalidInput(label + ": file '" + name + "' is outside the chart's top directory");
  }
  if (scan.top_dir.empty()) {
    scan.top_dir = parts[0];
  } else if (parts[0] != scan.top_dir) {
    return InvalidInput(label + " has more than one top directory ('" + scan.top_dir + "' and '" +
                        parts[0] + "')");
  }
  return Status::Ok();
}

// Reads the entry's data, counting it against the limits; keeps it in
// `keep` when not null.
Status ReadEntryData(struct archive* a, const std::string& name, const std::string& label,
                     const ChartLimits& limits, ChartScan& scan, std::string* keep) {
  std::array<char, kReadBlock> buffer;
  uint64_t file_bytes = 0;
  while (true) {
    const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
    if (n == 0) return Status::Ok();
    if (n < 0) {
      return InvalidInput(label + ": cannot read entry '" + name + "': " + ArchiveError(a));
    }
    file_bytes += static_cast<uint64_t>(n);
    scan.total += static_cast<uint64_t>(n);
    if (file_bytes > limits.max_file_bytes) {
      return InvalidInput(label + ": file '" + name + "' is larger than the limit of " +
                          std::to_string(limits.max_file_bytes) + " bytes");
    }
    if (scan.total > limits.max_total_bytes) {
      return InvalidInput(label + " unpacks to more than the limit of " +
                          std::to_string(limits.max_total_bytes) + " bytes");
    }
    if (keep != nullptr) keep->append(buffer.data(), static_cast<size_t>(n));
  }
}

Status ScanEntry(struct archive* a, struct archive_entry* entry, const std::string& label,
                 const ChartLimits& limits, ChartScan& scan) {
  const std::string name = EntryName(entry);
  PPA_ASSIGN_OR_RETURN(const std::vector<std::string> parts, EntryComponents(name, label));
  PPA_RETURN_IF_ERROR(CheckEntryType(entry, name, label));
  const bool is_dir = archive_entry_filetype(entry) == AE_IFDIR;
  PPA_RETURN_IF_ERROR(CheckTopDir(parts, is_dir, name, label, scan));
  if (is_dir) return Status::Ok();
  const bool is_chart_yaml = parts.size() == 2 && parts[1] == kChartYaml;
  std::string* keep = nullptr;
  if (is_chart_yaml) {
    scan.has_chart_yaml = true;
    scan.chart_yaml.clear();  // a later copy wins, as it would on extraction
    keep = &scan.chart_yaml;
  }
  return ReadEntryData(a, name, label, limits, scan, keep);
}

// Checks that `reader` opened a gzip-compressed tar.
Result<ArchiveReader> CheckGzipTar(ArchiveReader reader, int open_rc, const std::string& label) {
  if (open_rc != ARCHIVE_OK) return NotGzipTar(label, ArchiveError(reader.get()));
  if (archive_filter_code(reader.get(), 0) != ARCHIVE_FILTER_GZIP) {
    return NotGzipTar(label, "not gzip-compressed");
  }
  return reader;
}

// A libarchive reader of gzip'd tars.
Result<ArchiveReader> NewChartReader(const std::string& label) {
  ArchiveReader reader(archive_read_new());
  if (!reader) return IoError(label + ": out of memory");
  if (archive_read_support_filter_gzip(reader.get()) != ARCHIVE_OK ||
      archive_read_support_format_tar(reader.get()) != ARCHIVE_OK) {
    return Unsupported(label +
                       ": libarchive lacks gzip or tar support: " + ArchiveError(reader.get()));
  }
  return reader;
}

// Opens `path` for reading as a gzip-compressed tar.
Result<ArchiveReader> OpenChart(const std::string& path, const std::string& label) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenChartFile(path, label));
  PPA_ASSIGN_OR_RETURN(ArchiveReader reader, NewChartReader(label));
  // libarchive frees the source (closing the file) also after a failed open.
  const int rc = archive_read_open(reader.get(), new ChartFileSource{std::move(fd)}, nullptr,
                                   ReadChartBlock, CloseChartFile);
  return CheckGzipTar(std::move(reader), rc, label);
}

// Reads every entry of an opened chart and checks it (InspectChartArchive).
Result<ChartInfo> InspectOpenedChart(ArchiveReader reader, const std::string& label,
                                     const ChartLimits& limits) {
  ChartScan scan;
  bool first = true;
  while (true) {
    struct archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc == ARCHIVE_WARN) {
      spdlog::warn("{}: {}", label, ArchiveError(reader.get()));
    } else if (rc != ARCHIVE_OK) {
      if (first) return NotGzipTar(label, ArchiveError(reader.get()));
      return InvalidInput(label + " is corrupt: " + ArchiveError(reader.get()));
    }
    first = false;
    PPA_RETURN_IF_ERROR(ScanEntry(reader.get(), entry, label, limits, scan));
  }
  if (scan.top_dir.empty()) return InvalidInput(label + " contains no files");
  if (!scan.has_chart_yaml) {
    return InvalidInput(label + " has no '" + scan.top_dir + "/" + kChartYaml + "'");
  }
  Result<ChartMetadata> metadata = ParseChartYaml(scan.chart_yaml);
  if (!metadata.ok()) return metadata.status().WithContext(label);
  return ChartInfo{std::move(metadata).value(), scan.top_dir, scan.total};
}

}  // namespace

bool IsValidChartVersion(std::string_view version) {
  if (!version.empty() && version[0] == 'v') version.remove_prefix(1);
  const size_t plus = version.find('+');
  if (plus != std::string_view::npos) {
    if (!AllParts(version.substr(plus + 1), IsBuildPart)) return false;
    version = version.substr(0, plus);
  }
  const size_t dash = version.find('-');
  if (dash != std::string_view::npos) {
    if (!AllParts(version.substr(dash + 1), IsPrereleasePart)) return false;
    version = version.substr(0, dash);
  }
  size_t numbers = 0;
  return AllParts(version, IsVersionNumber, &numbers) && numbers >= 1 && numbers <= 3;
}

Result<ChartMetadata> ParseChartYaml(std::string_view text) {
  PPA_ASSIGN_OR_RETURN(const YAML::Node root, LoadBoundedYaml(text, kChartYaml));
  try {
    return ChartMetadataFrom(root);
  } catch (const YAML::Exception& e) {
    return InvalidInput(std::string(kChartYaml) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidInput(std::string(kChartYaml) + ": " + e.what());
  }
}

Result<ChartInfo> InspectChartArchive(const std::string& path, const ChartLimits& limits) {
  const std::string label = "chart '" + path + "'";
  PPA_ASSIGN_OR_RETURN(ArchiveReader reader, OpenChart(path, label));
  return InspectOpenedChart(std::move(reader), label, limits);
}

Result<ChartInfo> InspectChartBytes(std::string_view bytes, const std::string& label,
                                    const ChartLimits& limits) {
  if (bytes.empty()) return NotGzipTar(label, "it is empty");
  PPA_ASSIGN_OR_RETURN(ArchiveReader reader, NewChartReader(label));
  const int rc = archive_read_open_memory(reader.get(), bytes.data(), bytes.size());
  PPA_ASSIGN_OR_RETURN(reader, CheckGzipTar(std::move(reader), rc, label));
  return InspectOpenedChart(std::move(reader), label, limits);
}

}  // namespace ppa
