// Internal: opens a libarchive reader on a file, removing a gzip layer with
// ISA-L (several times faster than the zlib inside libarchive) and handing
// libarchive the inflated bytes through a read callback: one pass over the
// archive, no temporary file. Inflating runs on a helper thread, a few
// 1 MiB blocks ahead of libarchive, so unpacking uses two cores with bounded
// memory; a gzip file read again with its inflate index is inflated on
// several threads (archive/inflate/parallel_inflate.h). Files that are not gzip are
// passed through unchanged, so libarchive's own filters (zstd, xz, bzip2)
// still apply. Include from .cc files only.
#pragma once

#include <archive.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "archive/tar/unpack.h"

namespace ppa::internal {

// What the inflate of an archive did with its index, known once the reader
// is closed.
struct InflateReport {
  InflateReport() = default;
  // Movable (a report is returned with what it belongs to); input_bytes is
  // read once, when no thread writes it any more.
  InflateReport(InflateReport&& other) noexcept
      : completed(other.completed),
        checkpoints_written(other.checkpoints_written),
        segments_verified(other.segments_verified),
        head(std::move(other.head)),
        input_bytes(other.input_bytes.load()) {}
  // Set by the caller before it closes the reader when the archive was read
  // as a whole and accepted: only then is an index written on the way kept
  // (no index of an archive refused halfway, such as a decompression bomb).
  bool completed = false;
  size_t checkpoints_written = 0;  // an index was written with this many
  size_t segments_verified = 0;    // inflated in parallel from the index
  // Standard input (kStdinArchive) only, filled in as it is read: its first
  // bytes (up to kStreamHeadBytes, for error messages) and the count read
  // so far (from the reading thread; for the inflation limit).
  std::string head;
  std::atomic<uint64_t> input_bytes{0};
};

// Like archive_read_open_filename(a, path, block_size): returns ARCHIVE_OK
// or ARCHIVE_FATAL (with archive_error_string set). The reader owns the
// open file until archive_read_close/free. With `index`, a gzip archive's
// inflate index is written or used (archive/inflate/parallel_inflate.h); `report`
// (optional) is filled in when the reader is closed or freed, so it must
// outlive the reader. A file whose xz/lzma/zstd decoder would need a window
// above kMaxDecoderWindow (archive/inflate/stream_window.h), or that hides an xz
// layer inside another compression, is refused before anything is decoded,
// with an error CheckArchive turns into that kUnsafeArchive Status.
// `path` kStdinArchive reads standard input as a stream (a thread of the
// reader's own reads ahead from it; no index; an xz stream is refused, its
// later blocks cannot be checked before they are decoded).
int OpenArchiveFast(struct archive* a, const std::string& path, size_t block_size,
                    const InflateIndexOptions* index = nullptr, InflateReport* report = nullptr);

}  // namespace ppa::internal
