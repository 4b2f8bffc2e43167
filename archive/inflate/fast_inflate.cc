#include "archive/inflate/fast_inflate.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "archive/inflate/gzip_file_inflater.h"
#include "archive/inflate/inflate_index.h"
#include "archive/inflate/parallel_inflate.h"
#include "archive/inflate/stream_window.h"
#include "archive/tar/libarchive_internal.h"
#include "base/file_util.h"
#include "base/thread_pool.h"

namespace ppa::internal {
namespace {

// Inflating loops for an archive read from its index.
unsigned InflateWorkers(const InflateIndexOptions& options) {
  unsigned n = options.workers ? options.workers : std::thread::hardware_concurrency();
  return std::clamp(n, 1u, 4u);
}

// Standard input read ahead by a loop of the run's pool into a pipe of this
// process, so the readers below take it as any file descriptor: its first
// bytes are read (and kept) before the loop starts, then written to the
// pipe first. Counts the bytes read (InflateReport::input_bytes).
class StdinFeed {
 public:
  static Result<std::unique_ptr<StdinFeed>> Start(InflateReport* report) {
    auto feed = std::unique_ptr<StdinFeed>(new StdinFeed(report));
    int data[2], stop[2];
    if (::pipe2(data, O_CLOEXEC) != 0) return ErrnoError("cannot make a pipe", "stdin", errno);
    feed->read_end_ = data[0];
    feed->write_end_ = data[1];
    if (::pipe2(stop, O_CLOEXEC) != 0) return ErrnoError("cannot make a pipe", "stdin", errno);
    feed->stop_read_ = stop[0];
    feed->stop_write_ = stop[1];
    std::string& head = feed->head_;
    head.resize(kStreamHeadBytes);
    size_t have = 0;
    while (have < head.size()) {
      ssize_t got = ::read(STDIN_FILENO, head.data() + have, head.size() - have);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoError("cannot read", "standard input", errno);
      if (got == 0) break;
      have += static_cast<size_t>(got);
    }
    head.resize(have);
    if (report) {
      report->head = head;
      report->input_bytes = have;
    }
    feed->loop_ = ThreadPool::Here().Start([f = feed.get()] { f->Run(); });
    return feed;
  }

  ~StdinFeed() {
    if (stop_write_ >= 0) (void)!::write(stop_write_, "x", 1);
    loop_.Join();
    for (int fd : {read_end_, write_end_, stop_read_, stop_write_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  const std::string& head() const { return head_; }
  // The read end; the caller owns it from now on.
  int TakeReadEnd() { return std::exchange(read_end_, -1); }

 private:
  explicit StdinFeed(InflateReport* report) : report_(report) {}

  bool WriteAll(const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(write_end_, data, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // the reader is gone (EPIPE)
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  void Run() {
    // A reader that stops early makes writes fail with EPIPE, not kill the
    // process: SIGPIPE is blocked on this thread while the feed runs, then
    // taken off it (the thread is the pool's, and runs other loops later).
    sigset_t pipe_signal, before;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &before);
    Copy();
    const timespec now{};
    while (sigtimedwait(&pipe_signal, nullptr, &now) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &before, nullptr);
  }

  void Copy() {
    std::vector<char> buffer(kInflateBlock);
    bool open = WriteAll(head_.data(), head_.size());
    while (open) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {stop_read_, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[1].revents) break;  // the reader is done
      ssize_t got = ::read(STDIN_FILENO, buffer.data(), buffer.size());
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) break;  // the end (an error reads as the end: truncated)
      if (report_) report_->input_bytes += static_cast<uint64_t>(got);
      open = WriteAll(buffer.data(), static_cast<size_t>(got));
    }
    ::close(std::exchange(write_end_, -1));  // the reader sees the end
  }

  InflateReport* report_;
  std::string head_;
  int read_end_ = -1, write_end_ = -1, stop_read_ = -1, stop_write_ = -1;
  ThreadPool::Loop loop_;
};

// One open archive. For gzip, a producer (a loop) inflates ahead into a few
// fixed buffers while libarchive (on the caller's thread) parses and writes
// the previous ones: the two halves of unpacking run on two cores, with
// bounded memory (ChunkPipe::kPipeChunks x kInflateBlock). With an index
// directory, that inflate also writes the archive's inflate index, and an
// archive read again with its index is inflated by ParallelInflate instead.
class FastSource {
 public:
  FastSource(int fd, bool gzip, const InflateIndexOptions* options, InflateReport* report,
             std::unique_ptr<StdinFeed> feed = nullptr)
      : fd_(fd), report_(report), feed_(std::move(feed)) {
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
    feed_.reset();  // after the read end is closed: its thread stops
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
  std::unique_ptr<StdinFeed> feed_;  // standard input: what fd_ reads from
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

namespace {

// OpenArchiveFast of standard input.
int OpenStdin(struct archive* a, InflateReport* report) {
  auto feed = StdinFeed::Start(report);
  if (!feed.ok()) return SetArchiveStatus(a, feed.status());
  const std::string& head = (*feed)->head();
  const bool gzip = head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
                    static_cast<unsigned char>(head[1]) == 0x8b;
  StreamKind kind = StreamKind::kOther;
  if (!gzip) {
    if (Status window = CheckDecoderWindow("standard input", head); !window.ok()) {
      return SetArchiveStatus(a, window);
    }
    kind = DecoderWindowOf(head)->kind;
    if (kind == StreamKind::kXz) {
      return SetArchiveStatus(
          a, Unsupported("an xz archive cannot be read from standard input: the decoder "
                         "windows of its blocks are only found from its end",
                         "pass the archive file itself, or recompress it with gzip or zstd"));
    }
  }
  int fd = (*feed)->TakeReadEnd();
  int rc = archive_read_open(a, new FastSource(fd, gzip, nullptr, report, std::move(feed).value()),
                             nullptr, ReadCallback, CloseCallback);
  if (rc < ARCHIVE_WARN) return rc;
  if (Status stack = CheckFilterStack(a, "standard input", kind); !stack.ok()) {
    return SetArchiveStatus(a, stack);
  }
  return rc;
}

}  // namespace

int OpenArchiveFast(struct archive* a, const std::string& path, size_t block_size,
                    const InflateIndexOptions* index, InflateReport* report) {
  (void)block_size;  // blocks are kBlock; kept for the archive_read_open_filename shape
  if (IsStdinArchive(path)) return OpenStdin(a, report);
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
