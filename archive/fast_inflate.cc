#include "archive/fast_inflate.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ppa::internal {
namespace {

constexpr size_t kBlock = 1 << 20;
constexpr int kChunks = 4;  // blocks in flight between two threads

struct Chunk {
  std::vector<uint8_t> data = std::vector<uint8_t>(kBlock);
  ssize_t size = 0;  // 0: end of stream; -1: error
  std::string error;
};

// Reads a file sequentially on a thread of its own, a few blocks ahead of
// its consumer, so that the kernel's copies out of the page cache do not
// slow down the (single, critical) inflating thread. Next() is for one
// consumer thread.
class ReadAheadFile {
 public:
  explicit ReadAheadFile(int fd) : fd_(fd) {
    for (int i = 0; i < kChunks; ++i) free_.push_back(std::make_unique<Chunk>());
    reader_ = std::thread([this] { Read(); });
  }
  ~ReadAheadFile() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    reader_.join();
  }
  ReadAheadFile(const ReadAheadFile&) = delete;
  ReadAheadFile& operator=(const ReadAheadFile&) = delete;

  // The next block, valid until the next call: its size, 0 at the end of the
  // file, -1 with `error` set.
  ssize_t Next(const uint8_t** data, std::string* error) {
    std::unique_lock lock(mu_);
    if (current_) {
      free_.push_back(std::move(current_));
      cv_.notify_all();
    }
    cv_.wait(lock, [this] { return !full_.empty(); });
    current_ = std::move(full_.front());
    full_.pop_front();
    if (current_->size <= 0) full_.push_front(std::make_unique<Chunk>(*current_));  // sticky
    *data = current_->data.data();
    if (current_->size < 0) *error = current_->error;
    return current_->size;
  }

 private:
  void Read() {
    while (true) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !free_.empty(); });
        if (stopping_) return;
        chunk = std::move(free_.front());
        free_.pop_front();
      }
      ssize_t n;
      do {
        n = ::read(fd_, chunk->data.data(), chunk->data.size());
      } while (n < 0 && errno == EINTR);
      chunk->size = n;
      if (n < 0) chunk->error = std::string("read error: ") + std::strerror(errno);
      {
        std::lock_guard lock(mu_);
        full_.push_back(std::move(chunk));
      }
      cv_.notify_all();
      if (n <= 0) return;
    }
  }

  int fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Chunk>> free_;
  std::deque<std::unique_ptr<Chunk>> full_;
  std::unique_ptr<Chunk> current_;  // the consumer's
  bool stopping_ = false;
  std::thread reader_;  // last: uses the members above
};

// Reads a gzip file (possibly several members) and inflates it with ISA-L.
// Used by one thread only.
class GzipFileInflater {
 public:
  explicit GzipFileInflater(int fd) : input_(fd) { Reset(); }

  // Fills `out` (capacity `cap`) with the next inflated bytes; returns the
  // count, 0 at the clean end of the stream, -1 with `error` set.
  ssize_t Next(uint8_t* out, size_t cap, std::string* error) {
    state_.next_out = out;
    state_.avail_out = static_cast<uint32_t>(cap);
    while (state_.avail_out == cap) {
      if (state_.avail_in == 0 && !eof_) {
        const uint8_t* data = nullptr;
        ssize_t n = input_.Next(&data, error);
        if (n < 0) return -1;
        if (n == 0) {
          eof_ = true;
        } else {
          state_.next_in = const_cast<uint8_t*>(data);  // ISA-L does not write through it
          state_.avail_in = static_cast<uint32_t>(n);
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

  ReadAheadFile input_;
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
  FastSource(int fd, bool gzip) : fd_(fd), gzip_(gzip) {
    if (!gzip_) {
      raw_.resize(kBlock);
      return;
    }
    for (int i = 0; i < kChunks; ++i) free_.push_back(std::make_unique<Chunk>());
    producer_ = std::thread([this] { Produce(); });
  }

  ~FastSource() {
    if (producer_.joinable()) {
      {
        std::lock_guard lock(mu_);
        stopping_ = true;
      }
      cv_.notify_all();
      producer_.join();
    }
    ::close(fd_);
  }

  la_ssize_t Read(struct archive* a, const void** buffer) {
    if (!gzip_) {
      ssize_t n;
      do {
        n = ::read(fd_, raw_.data(), raw_.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0) archive_set_error(a, errno, "read error: %s", std::strerror(errno));
      *buffer = raw_.data();
      return n;
    }
    std::unique_lock lock(mu_);
    if (current_) {  // libarchive is done with the previous block
      free_.push_back(std::move(current_));
      cv_.notify_all();
    }
    cv_.wait(lock, [this] { return !full_.empty(); });
    current_ = std::move(full_.front());
    full_.pop_front();
    if (current_->size < 0) {
      archive_set_error(a, EILSEQ, "%s", current_->error.c_str());
      full_.push_front(std::make_unique<Chunk>(*current_));  // repeat the error if asked again
      return -1;
    }
    if (current_->size == 0) full_.push_front(std::make_unique<Chunk>(*current_));  // sticky EOF
    *buffer = current_->data.data();
    return current_->size;
  }

 private:
  void Produce() {
    GzipFileInflater inflater(fd_);
    while (true) {
      std::unique_ptr<Chunk> chunk;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !free_.empty(); });
        if (stopping_) return;
        chunk = std::move(free_.front());
        free_.pop_front();
      }
      chunk->size = inflater.Next(chunk->data.data(), chunk->data.size(), &chunk->error);
      bool last = chunk->size <= 0;
      {
        std::lock_guard lock(mu_);
        full_.push_back(std::move(chunk));
      }
      cv_.notify_all();
      if (last) return;
    }
  }

  int fd_;
  bool gzip_;
  std::vector<uint8_t> raw_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Chunk>> free_;
  std::deque<std::unique_ptr<Chunk>> full_;
  std::unique_ptr<Chunk> current_;
  bool stopping_ = false;
  std::thread producer_;
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
