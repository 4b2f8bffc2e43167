#include "archive/inflate/gzip_file_inflater.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

#include "base/file_util.h"
#include "base/vector_state.h"

namespace ppa::internal {

ChunkPipe::ChunkPipe(std::function<void(Chunk&)> fill) : fill_(std::move(fill)) {
  {
    MutexLock lock(&mu_);
    for (int i = 0; i < kPipeChunks; ++i) free_.push_back(std::make_unique<Chunk>());
  }
  producer_ = ThreadPool::Here().Start([this] { Produce(); });
}

ChunkPipe::~ChunkPipe() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    changed_.SignalAll();
  }
  producer_.Join();
}

const Chunk& ChunkPipe::Next() {
  MutexLock lock(&mu_);
  if (current_) {  // the consumer is done with the previous block
    free_.push_back(std::move(current_));
    changed_.SignalAll();
  }
  while (full_.empty()) changed_.Wait(&mu_);
  current_ = std::move(full_.front());
  full_.pop_front();
  if (current_->size <= 0) full_.push_front(std::make_unique<Chunk>(*current_));  // sticky
  return *current_;
}

void ChunkPipe::Produce() {
  while (true) {
    std::unique_ptr<Chunk> chunk;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && free_.empty()) changed_.Wait(&mu_);
      if (stopping_) return;
      chunk = std::move(free_.front());
      free_.pop_front();
    }
    fill_(*chunk);
    bool last = chunk->size <= 0;
    {
      MutexLock lock(&mu_);
      full_.push_back(std::move(chunk));
      changed_.SignalAll();
    }
    if (last) return;
  }
}

// Reads `size` bytes from the current position of `fd` (fewer at its end);
// -1 on an error.
static long ReadFull(int fd, char* buf, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<long>(got);
}

void ReadInputBlock(int fd, uint64_t block, Chunk& chunk) {
  // Whole blocks, so that block n always starts at n * kInflateBlock and
  // checkpoints taken in one read hold in the next.
  long got = PreadFull(fd, reinterpret_cast<char*>(chunk.data.data()), chunk.data.size(),
                       block * kInflateBlock);
  if (got < 0 && errno == ESPIPE) {
    // A pipe (an archive read from standard input): its blocks come in
    // order, each read whole.
    got = ReadFull(fd, reinterpret_cast<char*>(chunk.data.data()), chunk.data.size());
  }
  chunk.size = got;
  if (got < 0) chunk.error = std::string("read error: ") + std::strerror(errno);
}

namespace {

constexpr size_t kTmpOutAt = offsetof(inflate_state, tmp_out_buffer);

// ISA-L's state with what does not carry over from one call to the next
// cleared: the caller's buffer pointers and sizes (set again before every
// call) and the bytes of the internal output buffer past its valid ones
// (written before they are ever read). Two inflaters in the same canonical
// state produce the same output from the same input. Stored without the
// cleared tail of that buffer.
std::string CanonicalState(const inflate_state& live) {
  inflate_state s;
  std::memcpy(&s, &live, sizeof s);
  s.next_in = nullptr;
  s.next_out = nullptr;
  s.avail_in = 0;
  s.avail_out = 0;
  size_t valid = static_cast<size_t>(s.tmp_out_valid);
  return std::string(reinterpret_cast<const char*>(&s), kTmpOutAt + valid);
}

bool IsMidBlock(const inflate_state& s) {
  switch (s.block_state) {
    case ISAL_BLOCK_NEW_HDR:
    case ISAL_BLOCK_HDR:
    case ISAL_BLOCK_TYPE0:
    case ISAL_BLOCK_CODED:
      return true;
    default:
      return false;
  }
}

// Loads a canonical state read from an index file into `s`, refusing any
// that ISA-L could not have been left in between two calls (the index is a
// cache on disk, so it may be damaged; an accepted state is still only
// trusted once an inflate has arrived at it, see IsAt).
bool LoadCanonicalState(const std::string& bytes, inflate_state* s) {
  if (bytes.size() < kTmpOutAt || bytes.size() > sizeof *s) return false;
  std::memset(static_cast<void*>(s), 0, sizeof *s);
  std::memcpy(static_cast<void*>(s), bytes.data(), bytes.size());
  size_t valid = bytes.size() - kTmpOutAt;
  return s->next_in == nullptr && s->next_out == nullptr &&
         static_cast<size_t>(s->tmp_out_valid) == valid && s->tmp_out_processed >= 0 &&
         s->tmp_out_processed <= s->tmp_out_valid && s->tmp_in_size >= 0 &&
         s->tmp_in_size <= ISAL_DEF_MAX_HDR_SIZE && s->read_in_length >= 0 &&
         s->read_in_length <= 64 && IsMidBlock(*s) && s->wrapper_flag == 1 &&
         s->crc_flag == ISAL_GZIP && s->hist_bits <= ISAL_DEF_MAX_HIST_BITS &&
         s->dict_length <= ISAL_DEF_HIST_SIZE && s->write_overflow_len >= 0 &&
         s->write_overflow_len <= 4 && s->copy_overflow_length >= 0 &&
         s->copy_overflow_length <= 258 && s->copy_overflow_distance >= 0 &&
         s->copy_overflow_distance <= ISAL_DEF_HIST_SIZE &&
         (s->block_state != ISAL_BLOCK_TYPE0 ||
          (s->type0_block_len >= 0 && s->type0_block_len <= 65535));
}

}  // namespace

GzipFileInflater::GzipFileInflater(int fd, bool read_ahead) : GzipFileInflater(fd, 0, read_ahead) {
  Reset();
}

GzipFileInflater::GzipFileInflater(int fd, uint64_t first_block, bool read_ahead)
    : fd_(fd), map_(MappedFile::Map(fd)), next_block_(first_block) {
  if (read_ahead && !map_.data()) {
    ahead_ = std::make_unique<ChunkPipe>(
        [fd, block = first_block](Chunk& c) mutable { ReadInputBlock(fd, block++, c); });
  }
}

GzipFileInflater::~GzipFileInflater() = default;

bool GzipFileInflater::CanResume(const InflateCheckpoint& at) {
  auto state = std::make_unique<inflate_state>();
  return LoadCanonicalState(at.state, state.get());
}

std::unique_ptr<GzipFileInflater> GzipFileInflater::Resume(int fd, const InflateCheckpoint& at) {
  // At a block's end (avail_in 0) the next call reads the block after it.
  uint64_t first = at.avail_in > 0 ? at.block : at.block + 1;
  std::unique_ptr<GzipFileInflater> r(new GzipFileInflater(fd, first, false));
  if (!LoadCanonicalState(at.state, &r->state_)) return nullptr;
  if (at.avail_in > 0) r->resume_pos_ = at.pos;
  r->out_offset_ = at.out_offset;
  return r;
}

void GzipFileInflater::Reset() {
  isal_inflate_init(&state_);
  state_.crc_flag = ISAL_GZIP;
}

bool GzipFileInflater::FetchMapped(std::string* error) {
  const uint64_t offset = next_block_ * kInflateBlock;
  if (next_block_ > 0) map_.Release(offset - kInflateBlock, kInflateBlock);  // read already
  const uint64_t size =
      offset < map_.size() ? std::min<uint64_t>(kInflateBlock, map_.size() - offset) : 0;
  if (!map_.Populate(offset, size)) {
    *error = "the archive changed while it was read";
    return false;
  }
  in_data_ = map_.data() + offset;
  in_size_ = static_cast<ssize_t>(size);
  return true;
}

bool GzipFileInflater::FetchInput(std::string* error) {
  if (map_.data()) {
    if (!FetchMapped(error)) return false;
  } else {
    const Chunk* in = &direct_;
    if (ahead_) {
      in = &ahead_->Next();
    } else {
      ReadInputBlock(fd_, next_block_, direct_);
    }
    if (in->size < 0) {
      *error = in->error;
      return false;
    }
    in_data_ = in->data.data();
    in_size_ = in->size;
  }
  ++next_block_;
  uint32_t skip = 0;
  if (resume_pos_) {  // the rest of the block a checkpoint stood in
    skip = *resume_pos_;
    resume_pos_.reset();
    if (in_size_ <= static_cast<ssize_t>(skip)) {
      *error = "the archive changed while it was read";
      return false;
    }
  }
  if (in_size_ == 0) {
    eof_ = true;
  } else {
    state_.next_in = const_cast<uint8_t*>(in_data_) + skip;  // ISA-L does not write through it
    state_.avail_in = static_cast<uint32_t>(in_size_) - skip;
  }
  return true;
}

ssize_t GzipFileInflater::Next(uint8_t* out, size_t cap, std::string* error) {
  state_.next_out = out;
  state_.avail_out = static_cast<uint32_t>(cap);
  while (state_.avail_out == cap) {
    if (state_.avail_in == 0 && !eof_ && !FetchInput(error)) return -1;
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
  size_t produced = cap - state_.avail_out;
  out_offset_ += produced;
  return static_cast<ssize_t>(produced);
}

std::optional<InflateCheckpoint> GzipFileInflater::Checkpoint() const {
  if (eof_ || member_done_ || in_size_ <= 0 || state_.wrapper_flag != 1 || !IsMidBlock(state_)) {
    return std::nullopt;
  }
  InflateCheckpoint at;
  at.out_offset = out_offset_;
  at.block = next_block_ - 1;
  at.avail_in = state_.avail_in;
  at.pos = static_cast<uint32_t>(in_size_) - state_.avail_in;
  at.state = CanonicalState(state_);
  return at;
}

bool GzipFileInflater::IsAt(const InflateCheckpoint& at) const {
  if (out_offset_ != at.out_offset) return false;
  std::optional<InflateCheckpoint> here = Checkpoint();
  return here && here->block == at.block && here->pos == at.pos &&
         here->avail_in == at.avail_in && here->state == at.state;
}

}  // namespace ppa::internal
