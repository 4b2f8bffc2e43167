#include "archive/fast_inflate.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "archive/vector_state.h"

namespace ppa::internal {
namespace {

constexpr size_t kBlock = 1 << 20;
constexpr int kChunks = 4;  // blocks in flight between two threads

struct Chunk {
  std::vector<uint8_t> data = std::vector<uint8_t>(kBlock);
  ssize_t size = 0;  // 0: end of stream; -1: error
  std::string error;
};

// A few fixed blocks passed from a producer thread, which fills them with
// `fill` (setting size: > 0 bytes, 0 at the end, -1 with error), to one
// consumer thread (Next), so the two run on two cores with bounded memory
// (kChunks x kBlock). The producer stops after the end or an error, which
// Next then returns again and again.
class ChunkPipe {
 public:
  explicit ChunkPipe(std::function<void(Chunk&)> fill) : fill_(std::move(fill)) {
    for (int i = 0; i < kChunks; ++i) free_.push_back(std::make_unique<Chunk>());
    producer_ = std::thread([this] { Produce(); });
  }
  ~ChunkPipe() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    producer_.join();
  }
  ChunkPipe(const ChunkPipe&) = delete;
  ChunkPipe& operator=(const ChunkPipe&) = delete;

  // The next block; valid until the next call.
  const Chunk& Next() {
    std::unique_lock lock(mu_);
    if (current_) {  // the consumer is done with the previous block
      free_.push_back(std::move(current_));
      cv_.notify_all();
    }
    cv_.wait(lock, [this] { return !full_.empty(); });
    current_ = std::move(full_.front());
    full_.pop_front();
    if (current_->size <= 0) full_.push_front(std::make_unique<Chunk>(*current_));  // sticky
    return *current_;
  }

 private:
  void Produce() {
    while (true) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !free_.empty(); });
        if (stopping_) return;
        chunk = std::move(free_.front());
        free_.pop_front();
      }
      fill_(*chunk);
      bool last = chunk->size <= 0;
      {
        std::lock_guard lock(mu_);
        full_.push_back(std::move(chunk));
      }
      cv_.notify_all();
      if (last) return;
    }
  }

  std::function<void(Chunk&)> fill_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Chunk>> free_;
  std::deque<std::unique_ptr<Chunk>> full_;
  std::unique_ptr<Chunk> current_;  // the consumer's
  bool stopping_ = false;
  std::thread producer_;  // last: uses the members above
};

// Reads the file on a thread of its own, a few blocks ahead of the inflating
// thread (the critical one), so the kernel's copies out of the page cache do
// not run on it.
void ReadBlock(int fd, Chunk& chunk) {
  ssize_t n;
  do {
    n = ::read(fd, chunk.data.data(), chunk.data.size());
  } while (n < 0 && errno == EINTR);
  chunk.size = n;
  if (n < 0) chunk.error = std::string("read error: ") + std::strerror(errno);
}

// Reads a gzip file (possibly several members) and inflates it with ISA-L.
// Used by one thread only.
class GzipFileInflater {
 public:
  explicit GzipFileInflater(int fd) : input_([fd](Chunk& c) { ReadBlock(fd, c); }) { Reset(); }

  // Fills `out` (capacity `cap`) with the next inflated bytes; returns the
  // count, 0 at the clean end of the stream, -1 with `error` set.
  ssize_t Next(uint8_t* out, size_t cap, std::string* error) {
    state_.next_out = out;
    state_.avail_out = static_cast<uint32_t>(cap);
    while (state_.avail_out == cap) {
      if (state_.avail_in == 0 && !eof_) {
        const Chunk& in = input_.Next();
        if (in.size < 0) {
          *error = in.error;
          return -1;
        }
        if (in.size == 0) {
          eof_ = true;
        } else {
          state_.next_in = const_cast<uint8_t*>(in.data.data());  // ISA-L does not write through it
          state_.avail_in = static_cast<uint32_t>(in.size);
        }
      }
      if (member_done_) {
        if (state_.avail_in == 0) {
          if (eof_) return 0;  // clean end after a whole member
          continue;            // read on: another member may follow
        }
        uint8_t* next = state_.next_in;
        uint32_t avail = state_.avail_in;
        Reset();
        state_.next_in = next;
        state_.avail_in = avail;
        state_.next_out = out;
        state_.avail_out = static_cast<uint32_t>(cap);
        member_done_ = false;
      }
      int rc = isal_inflate(&state_);
      ClearUpperVectorState();
      if (rc < 0) {
        *error = "corrupt gzip data (ISA-L error " + std::to_string(rc) + ")";
        return -1;
      }
      if (state_.block_state == ISAL_BLOCK_FINISH) {
        member_done_ = true;
        if (state_.avail_out != cap) break;
        continue;
      }
      if (state_.avail_in == 0 && eof_ && state_.avail_out == cap) {
        *error = "truncated gzip data";
        return -1;
      }
    }
    return static_cast<ssize_t>(cap - state_.avail_out);
  }

 private:
  void Reset() {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
  }

  ChunkPipe input_;
  inflate_state state_{};
  bool eof_ = false;
  bool member_done_ = false;
};

// One open archive. For gzip, a producer thread inflates ahead into a few
// fixed buffers while libarchive (on the caller's thread) parses and writes
// the previous ones: the two halves of unpacking run on two cores, with
// bounded memory (kChunks x kBlock).
class FastSource {
 public:
  FastSource(int fd, bool gzip) : fd_(fd) {
    if (!gzip) {
      raw_.resize(kBlock);
      return;
    }
    inflater_ = std::make_unique<GzipFileInflater>(fd_);
    inflated_ = std::make_unique<ChunkPipe>([this](Chunk& c) {
      c.size = inflater_->Next(c.data.data(), c.data.size(), &c.error);
    });
  }

  ~FastSource() {
    inflated_.reset();  // joins the inflating thread before the inflater goes
    inflater_.reset();
    ::close(fd_);
  }

  la_ssize_t Read(struct archive* a, const void** buffer) {
    if (!inflated_) {
      ssize_t n;
      do {
        n = ::read(fd_, raw_.data(), raw_.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0) archive_set_error(a, errno, "read error: %s", std::strerror(errno));
      *buffer = raw_.data();
      return n;
    }
    const Chunk& chunk = inflated_->Next();
    if (chunk.size < 0) {
      archive_set_error(a, EILSEQ, "%s", chunk.error.c_str());
      return -1;
    }
    *buffer = chunk.data.data();
    return chunk.size;
  }

 private:
  int fd_;
  std::vector<uint8_t> raw_;                     // not gzip: read as it is
  std::unique_ptr<GzipFileInflater> inflater_;   // used on the inflating thread only
  std::unique_ptr<ChunkPipe> inflated_;
};

la_ssize_t ReadCallback(struct archive* a, void* data, const void** buffer) {
  return static_cast<FastSource*>(data)->Read(a, buffer);
}

int CloseCallback(struct archive*, void* data) {
  delete static_cast<FastSource*>(data);
  return ARCHIVE_OK;
}

}  // namespace

int OpenArchiveFast(struct archive* a, const std::string& path, size_t block_size) {
  (void)block_size;  // blocks are kBlock; kept for the archive_read_open_filename shape
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    archive_set_error(a, errno, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
    return ARCHIVE_FATAL;
  }
  unsigned char magic[2] = {0, 0};
  ssize_t got = ::pread(fd, magic, sizeof magic, 0);
  bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  // libarchive calls CloseCallback (which frees the source) when the reader
  // is closed or freed, also after a failed open.
  return archive_read_open(a, new FastSource(fd, gzip), nullptr, ReadCallback, CloseCallback);
}

}  // namespace ppa::internal
