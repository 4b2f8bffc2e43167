#include "archive/libarchive_internal.h"

#include <spdlog/spdlog.h>

namespace ppa::internal {

Status CheckArchive(struct archive* a, int rc, const std::string& what, StatusCode code) {
  if (rc == ARCHIVE_OK || rc == ARCHIVE_EOF) return Status::Ok();
  const char* err = archive_error_string(a);
  std::string detail = err ? err : "unknown libarchive error";
  if (rc == ARCHIVE_WARN) {
    spdlog::debug("{}: {}", what, detail);
    return Status::Ok();
  }
  return Status(code, what + ": " + detail);
}

ArchiveReader NewTarReader() {
  ArchiveReader a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  return a;
}

ArchiveReader NewRawReader() {
  ArchiveReader a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  return a;
}

}  // namespace ppa::internal
