#include "archive/inflate/fast_inflate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "archive/inflate/gzip_file_inflater.h"
#include "archive/inflate/inflate_index.h"
#include "archive/tar/libarchive_internal.h"
#include "archive/inflate/parallel_inflate.h"
#include "archive/inflate/stream_window.h"

namespace ppa::internal {
namespace {

// Inflating threads for an archive read from its index.
unsigned InflateWorkers(const InflateIndexOptions& options) {
  unsigned n = options.workers ? options.workers : std::thread::hardware_concurrency();
  return std::clamp(n, 1u, 4u);
}

// One open archive. For gzip, a producer thread inflates ahead into a few
// fixed buffers while libarchive (on the caller's thread) parses and writes
// the previous ones: the two halves of unpacking run on two cores, with
// bounded memory (ChunkPipe::kPipeChunks x kInflateBlock). With an index
// directory, that inflate also writes the archive's inflate index, and an
// archive read again with its index is inflated by ParallelInflate instead.
class FastSource {
 public:
  FastSource(int fd, bool gzip, const InflateIndexOptions* options, InflateReport* report)
      : fd_(fd), report_(report) {
    if (!gzip) {
      raw_.resize(kInflateBlock);
      return;
    }
    if (options && !options->dir.empty() && InflateWorkers(*options) >= 2) UseIndex(*options);
    if (parallel_) return;
    inflater_ = std::make_unique<GzipFileInflater>(fd_, /*read_ahead=*/true);
    inflated_ = std::make_unique<ChunkPipe>([this](Chunk& c) {
      c.size = inflater_->Next(c.data.data(), c.data.size(), &c.error);
      if (c.size < 0) writer_.reset();  // no index of a broken stream
      if (c.size > 0) Record();
    });
  }

  ~FastSource() {
    inflated_.reset();  // joins the inflating thread before the inflater goes
    inflater_.reset();
    if (writer_ && report_ && report_->completed) {
      writer_->Commit();
      report_->checkpoints_written = writer_->count();
    }
    if (parallel_) {
      if (report_) report_->segments_verified = parallel_->segments_verified();
      if (parallel_->missed_checkpoint()) parallel_->index().Discard();
      parallel_.reset();  // joins its workers
    }
    ::close(fd_);
  }

  la_ssize_t Read(struct archive* a, const void** buffer) {
    if (!inflated_ && !parallel_) {
      ssize_t n;
      do {
        n = ::read(fd_, raw_.data(), raw_.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0) archive_set_error(a, errno, "read error: %s", std::strerror(errno));
      *buffer = raw_.data();
      return n;
    }
    const Chunk& chunk = parallel_ ? parallel_->Next() : inflated_->Next();
    if (chunk.size < 0) {
      archive_set_error(a, EILSEQ, "%s", chunk.error.c_str());
      return -1;
    }
    *buffer = chunk.data.data();
    return chunk.size;
  }

 private:
  // Inflates from the archive's index when there is one; else prepares to
  // write it. (Not called with one core: no worker could run beside the
  // reading thread.)
  void UseIndex(const InflateIndexOptions& options) {
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < options.min_archive_bytes) {
      return;
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    std::string name = InflateIndexName(fd_, size);
    if (name.empty()) return;
    std::unique_ptr<InflateIndex> index = InflateIndex::Open(options.dir + "/" + name, size);
    if (index && index->size() > 0) {
      parallel_ = std::make_unique<ParallelInflate>(fd_, std::move(index), InflateWorkers(options));
      return;
    }
    writer_ = InflateIndexWriter::Create(options.dir, name, size);
    spacing_ = std::max<uint64_t>(options.spacing, 1);
    next_checkpoint_ = spacing_;
  }

  // On the inflating thread, after each chunk: a checkpoint every spacing_
  // inflated bytes.
  void Record() {
    if (!writer_ || inflater_->out_offset() < next_checkpoint_) return;
    std::optional<InflateCheckpoint> at = inflater_->Checkpoint();
    if (!at) return;  // between members: at the next chunk
    writer_->Add(*at);
    next_checkpoint_ = inflater_->out_offset() + spacing_;
  }

  int fd_;
  InflateReport* report_;
  std::vector<uint8_t> raw_;                    // not gzip: read as it is
  std::unique_ptr<GzipFileInflater> inflater_;  // used on the inflating thread only
  std::unique_ptr<InflateIndexWriter> writer_;  // likewise, until inflated_ is gone
  uint64_t spacing_ = 0;
  uint64_t next_checkpoint_ = 0;
  std::unique_ptr<ChunkPipe> inflated_;
  std::unique_ptr<ParallelInflate> parallel_;
};

la_ssize_t ReadCallback(struct archive* a, void* data, const void** buffer) {
  return static_cast<FastSource*>(data)->Read(a, buffer);
}

int CloseCallback(struct archive*, void* data) {
  delete static_cast<FastSource*>(data);
  return ARCHIVE_OK;
}

bool IsLzmaFamily(int filter) {
  return filter == ARCHIVE_FILTER_XZ || filter == ARCHIVE_FILTER_LZMA ||
         filter == ARCHIVE_FILTER_LZIP;
}

// The file's own compression, before libarchive sees it: a decoder window
// above kMaxDecoderWindow is refused (archive/inflate/stream_window.h), in every
// block of an xz file. `kind` is what the file starts with.
Status CheckFileWindow(const std::string& path, int fd, StreamKind& kind) {
  std::string head(kStreamHeadBytes, '\0');
  size_t have = 0;
  while (have < head.size()) {
    ssize_t got = ::pread(fd, head.data() + have, head.size() - have, static_cast<off_t>(have));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError("cannot read", path, errno);
    if (got == 0) break;
    have += static_cast<size_t>(got);
  }
  head.resize(have);
  if (have >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b) {
    kind = StreamKind::kOther;  // gzip: inflated here, 32 KiB window
    return Status::Ok();
  }
  PPA_RETURN_IF_ERROR(CheckDecoderWindow(path, head));
  kind = DecoderWindowOf(head)->kind;
  if (kind != StreamKind::kXz) return Status::Ok();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("cannot read", path, errno);
  return CheckXzFile(path, fd, static_cast<uint64_t>(st.st_size));
}

// The filters libarchive stacked on the opened file (index 0 decodes last,
// the last one is the file itself): an xz/lzma/lzip layer that
// CheckFileWindow did not see (inside gzip, or xz inside xz) could ask for
// a 1 GiB dictionary that libarchive's liblzma would grant, so it is
// refused. zstd inside another layer is left to libzstd, which refuses
// windows above 128 MiB by default.
Status CheckFilterStack(struct archive* a, const std::string& path, StreamKind kind) {
  const int count = archive_filter_count(a);
  for (int i = 0; i + 1 < count; ++i) {
    const int filter = archive_filter_code(a, i);
    if (!IsLzmaFamily(filter)) continue;
    const bool checked = i + 2 == count && (kind == StreamKind::kXz || kind == StreamKind::kLzma ||
                                            kind == StreamKind::kLzip);
    if (checked) continue;
    const char* name = archive_filter_name(a, i);
    return UnsafeArchive("'" + path + "': it holds " + (name ? name : "xz") +
                             " data inside another compression, whose dictionary cannot be "
                             "checked before decoding (a memory bomb?)",
                         "compress the archive once (e.g. `xz -9` or `gzip`), not twice");
  }
  return Status::Ok();
}

}  // namespace

int OpenArchiveFast(struct archive* a, const std::string& path, size_t block_size,
                    const InflateIndexOptions* index, InflateReport* report) {
  (void)block_size;  // blocks are kBlock; kept for the archive_read_open_filename shape
  auto opened = OpenForRead(path);  // beneath a confined directory (base/confined.h)
  if (!opened.ok()) {
    archive_set_error(a, EIO, "%s", opened.status().message().c_str());
    return ARCHIVE_FATAL;
  }
  int fd = opened->release();
  unsigned char magic[2] = {0, 0};
  ssize_t got = ::pread(fd, magic, sizeof magic, 0);
  bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  StreamKind kind = StreamKind::kOther;
  if (Status window = CheckFileWindow(path, fd, kind); !window.ok()) {
    ::close(fd);
    return SetArchiveStatus(a, window);
  }
  // libarchive calls CloseCallback (which frees the source) when the reader
  // is closed or freed, also after a failed open.
  int rc = archive_read_open(a, new FastSource(fd, gzip, index, report), nullptr, ReadCallback,
                             CloseCallback);
  if (rc < ARCHIVE_WARN) return rc;
  // archive_read_open has chosen the filters (reading the first bytes
  // through them) but decoded no more than their headers.
  if (Status stack = CheckFilterStack(a, path, kind); !stack.ok()) {
    return SetArchiveStatus(a, stack);
  }
  return rc;
}

}  // namespace ppa::internal
