#include "archive/fast_inflate.h"

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

#include "archive/file_util.h"
#include "archive/gzip_file_inflater.h"
#include "archive/inflate_index.h"
#include "archive/parallel_inflate.h"

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

}  // namespace

int OpenArchiveFast(struct archive* a, const std::string& path, size_t block_size,
                    const InflateIndexOptions* index, InflateReport* report) {
  (void)block_size;  // blocks are kBlock; kept for the archive_read_open_filename shape
  auto opened = OpenForRead(path);  // beneath a confined directory (archive/confined.h)
  if (!opened.ok()) {
    archive_set_error(a, EIO, "%s", opened.status().message().c_str());
    return ARCHIVE_FATAL;
  }
  int fd = opened->release();
  unsigned char magic[2] = {0, 0};
  ssize_t got = ::pread(fd, magic, sizeof magic, 0);
  bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  // libarchive calls CloseCallback (which frees the source) when the reader
  // is closed or freed, also after a failed open.
  return archive_read_open(a, new FastSource(fd, gzip, index, report), nullptr, ReadCallback, CloseCallback);
}

}  // namespace ppa::internal
