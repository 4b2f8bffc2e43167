#include "helm_io/chart_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <utility>

#include "archive/tar/libarchive_internal.h"
#include "archive/tar/tar_index.h"

namespace ppa {
namespace {

using internal::ArchiveReader;
using internal::ArchiveWriter;
using ArchiveEntry = internal::ArchiveEntryPtr;

// Upper bound on what one package may hold in memory (the validation limit
// is 100 MiB unpacked; this only guards against surprises).
constexpr uint64_t kMaxPackageBytes = 128ull << 20;

std::string ArchiveError(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

// libarchive return code -> Status; ARCHIVE_WARN is logged, not fatal.
Status Check(struct archive* a, int rc, const char* what) {
  if (rc == ARCHIVE_OK) return Status::Ok();
  if (rc == ARCHIVE_WARN) {
    spdlog::warn("chart package: {}: {}", what, ArchiveError(a));
    return Status::Ok();
  }
  return InvalidInput(std::string("chart package: ") + what + ": " + ArchiveError(a));
}

std::string_view Normalized(std::string_view name) {
  while (name.starts_with("./")) name.remove_prefix(2);
  return name;
}

Status ReadData(struct archive* a, ChartEntry& entry, uint64_t& total) {
  std::array<char, 64 * 1024> buffer;
  while (true) {
    const la_ssize_t n = archive_read_data(a, buffer.data(), buffer.size());
    if (n == 0) return Status::Ok();
    if (n < 0) return InvalidInput("chart package: cannot read '" + entry.name + "': " +
                                   ArchiveError(a));
    total += static_cast<uint64_t>(n);
    if (total > kMaxPackageBytes) return InvalidInput("chart package is too large");
    entry.data.append(buffer.data(), static_cast<size_t>(n));
  }
}

Status WriteEntry(struct archive* a, const ChartEntry& e) {
  ArchiveEntry entry(archive_entry_new());
  if (!entry) return IoError("chart package: out of memory");
  archive_entry_set_pathname(entry.get(), e.name.c_str());
  archive_entry_set_filetype(entry.get(), e.is_dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(entry.get(), static_cast<mode_t>(e.mode & 0777));
  archive_entry_set_size(entry.get(), e.is_dir ? 0 : static_cast<la_int64_t>(e.data.size()));
  archive_entry_set_mtime(entry.get(), kRepackMtime, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  PPA_RETURN_IF_ERROR(Check(a, archive_write_header(a, entry.get()), "write header"));
  if (e.is_dir || e.data.empty()) return Status::Ok();
  const la_ssize_t n = archive_write_data(a, e.data.data(), e.data.size());
  if (n < 0 || static_cast<size_t>(n) != e.data.size()) {
    return InvalidInput("chart package: write data: " + ArchiveError(a));
  }
  return Status::Ok();
}

Result<ArchiveWriter> OpenWriter(std::string& out, size_t& used) {
  ArchiveWriter writer(archive_write_new());
  if (!writer) return IoError("chart package: out of memory");
  struct archive* a = writer.get();
  PPA_RETURN_IF_ERROR(Check(a, archive_write_add_filter_gzip(a), "gzip filter"));
  // No timestamp in the gzip header, maximum compression: stable bytes.
  PPA_RETURN_IF_ERROR(Check(a, archive_write_set_filter_option(a, "gzip", "timestamp", nullptr),
                            "gzip timestamp"));
  PPA_RETURN_IF_ERROR(
      Check(a, archive_write_set_filter_option(a, "gzip", "compression-level", "9"), "gzip level"));
  PPA_RETURN_IF_ERROR(Check(a, archive_write_set_format_pax_restricted(a), "tar format"));
  PPA_RETURN_IF_ERROR(Check(a, archive_write_set_bytes_in_last_block(a, 1), "block size"));
  PPA_RETURN_IF_ERROR(
      Check(a, archive_write_open_memory(a, out.data(), out.size(), &used), "open"));
  return writer;
}

}  // namespace

const ChartEntry* ChartPackage::Find(std::string_view name) const {
  for (const ChartEntry& e : entries) {
    if (Normalized(e.name) == Normalized(name)) return &e;
  }
  return nullptr;
}

ChartEntry* ChartPackage::Find(std::string_view name) {
  return const_cast<ChartEntry*>(std::as_const(*this).Find(name));
}

Result<ChartPackage> ParseChartPackage(std::string_view bytes) {
  ArchiveReader reader(archive_read_new());
  if (!reader) return IoError("chart package: out of memory");
  struct archive* a = reader.get();
  PPA_RETURN_IF_ERROR(Check(a, archive_read_support_filter_gzip(a), "gzip support"));
  PPA_RETURN_IF_ERROR(Check(a, archive_read_support_format_tar(a), "tar support"));
  PPA_RETURN_IF_ERROR(Check(a, archive_read_open_memory(a, bytes.data(), bytes.size()), "open"));
  ChartPackage chart;
  uint64_t total = 0;
  while (true) {
    struct archive_entry* header = nullptr;
    const int rc = archive_read_next_header(a, &header);
    if (rc == ARCHIVE_EOF) break;
    PPA_RETURN_IF_ERROR(Check(a, rc, "read header"));
    ChartEntry entry;
    const char* name = archive_entry_pathname(header);
    entry.name = name != nullptr ? name : "";
    entry.is_dir = archive_entry_filetype(header) == AE_IFDIR;
    if (!entry.is_dir && archive_entry_filetype(header) != AE_IFREG) {
      return InvalidInput("chart package: entry '" + entry.name + "' is not a file or directory");
    }
    entry.mode = static_cast<int>(archive_entry_perm(header));
    entry.mtime = archive_entry_mtime(header);
    if (!entry.is_dir) PPA_RETURN_IF_ERROR(ReadData(a, entry, total));
    chart.entries.push_back(std::move(entry));
  }
  return chart;
}

Result<ChartPackage> ReadChartPackage(const std::string& path) {
  PPA_ASSIGN_OR_RETURN(std::string bytes, ReadSmallFile(path, kMaxPackageBytes));
  Result<ChartPackage> chart = ParseChartPackage(bytes);
  if (!chart.ok()) return chart.status().WithContext("chart '" + path + "'");
  return chart;
}

Result<std::string> WriteChartPackage(const ChartPackage& chart) {
  // Room for the worst case: tar headers plus incompressible data.
  size_t capacity = 64 * 1024;
  for (const ChartEntry& e : chart.entries) capacity += e.data.size() + e.name.size() + 2048;
  std::string out(capacity + capacity / 100, '\0');
  size_t used = 0;
  PPA_ASSIGN_OR_RETURN(ArchiveWriter writer, OpenWriter(out, used));
  for (const ChartEntry& e : chart.entries) PPA_RETURN_IF_ERROR(WriteEntry(writer.get(), e));
  PPA_RETURN_IF_ERROR(Check(writer.get(), archive_write_close(writer.get()), "close"));
  out.resize(used);
  return out;
}

}  // namespace ppa
