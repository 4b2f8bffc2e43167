// Internal: libarchive handles and return-code checks. Include from .cc
// files only; libarchive types never appear in a public header.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "base/status.h"

namespace ppa::internal {

struct ArchiveReadDeleter {
  void operator()(struct archive* a) const noexcept { archive_read_free(a); }
};
using ArchiveReader = std::unique_ptr<struct archive, ArchiveReadDeleter>;

struct ArchiveWriteDeleter {
  void operator()(struct archive* a) const noexcept { archive_write_free(a); }
};
using ArchiveWriter = std::unique_ptr<struct archive, ArchiveWriteDeleter>;

struct ArchiveEntryDeleter {
  void operator()(struct archive_entry* e) const noexcept { archive_entry_free(e); }
};
using ArchiveEntryPtr = std::unique_ptr<struct archive_entry, ArchiveEntryDeleter>;

// Turns a libarchive return code into a Status. ARCHIVE_WARN is logged and
// treated as success; ARCHIVE_FAILED and ARCHIVE_FATAL become errors whose
// message is "<what>: <archive_error_string>". `code` picks the Status code.
// An error set with SetArchiveStatus comes back as that Status unchanged.
Status CheckArchive(struct archive* a, int rc, const std::string& what,
                    StatusCode code = StatusCode::kInvalidInput);

// Records `status` (not OK) as the reader's error, so that a refusal made
// inside a callback or an open function keeps its code and hint through
// CheckArchive; returns ARCHIVE_FATAL.
int SetArchiveStatus(struct archive* a, const Status& status);

// A reader for any tar flavour, with every compression filter (detected by
// magic bytes, never by name).
ArchiveReader NewTarReader();

// A reader that only removes a whole-file compression (gzip, zstd, xz,
// bzip2) and returns the raw bytes as one entry.
ArchiveReader NewRawReader();

}  // namespace ppa::internal
