#include "archive/tar/libarchive_internal.h"

#include <spdlog/spdlog.h>

namespace ppa::internal {
namespace {

// archive_errno values no system call returns: kStatusErrno + a StatusCode,
// set by SetArchiveStatus, with "<message>\x1f<hint>" as the error string.
constexpr int kStatusErrno = 0x5afe00;
constexpr char kHintSeparator = '\x1f';

}  // namespace

int SetArchiveStatus(struct archive* a, const Status& status) {
  std::string text = status.message() + kHintSeparator + status.hint();
  archive_set_error(a, kStatusErrno + static_cast<int>(status.code()), "%s", text.c_str());
  return ARCHIVE_FATAL;
}

Status CheckArchive(struct archive* a, int rc, const std::string& what, StatusCode code) {
  if (rc == ARCHIVE_OK || rc == ARCHIVE_EOF) return Status::Ok();
  const char* err = archive_error_string(a);
  std::string detail = err ? err : "unknown libarchive error";
  const int set = archive_errno(a) - kStatusErrno;
  if (set > static_cast<int>(StatusCode::kOk) &&
      set <= static_cast<int>(StatusCode::kUnsafeArchive)) {
    size_t cut = detail.find(kHintSeparator);
    if (cut == std::string::npos) return Status(static_cast<StatusCode>(set), detail);
    return Status(static_cast<StatusCode>(set), detail.substr(0, cut), detail.substr(cut + 1));
  }
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
