#include "docker_io/image/gzip_isal.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <future>
#include <string>
#include <vector>

#include "base/vector_state.h"

namespace ppa {
namespace {

constexpr size_t kOutChunk = 1 << 20;
constexpr size_t kInBlock = 1 << 20;  // deflate input block (fixed: part of the output format)

// gzip member header: magic, CM=deflate, no flags, mtime 0, XFL 0, OS 3 (Unix).
constexpr unsigned char kGzipHeader[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};

size_t LevelBufSize(int level) {
  switch (level) {
    case 0:
      return 0;
    case 1:
      return ISAL_DEF_LVL1_DEFAULT;
    case 2:
      return ISAL_DEF_LVL2_DEFAULT;
    default:
      return ISAL_DEF_LVL3_DEFAULT;
  }
}

// The gzip stream is deflated in fixed kInBlock blocks of input, each on its
// own (a fresh ISA-L stream primed with the kDictSize bytes before it, ending
// byte-aligned with a sync flush, the last one with the final block), so the
// blocks can be deflated on several threads at once and still concatenate to
// the same bytes. The CRC and size of the trailer are taken as the input
// comes, in order.
class IsalGzipCompressor : public StreamCompressor {
 public:
  IsalGzipCompressor(int level, ByteConsumer out, TaskRunner runner)
      : level_(level), out_(std::move(out)), runner_(std::move(runner)) {
    pending_.reserve(kInBlock);
  }

  ~IsalGzipCompressor() override {
    for (auto& job : in_flight_) job->finished.wait();  // their tasks hold only the Job
  }

  Status Write(const char* data, size_t size) override {
    if (!header_written_) {
      PPA_RETURN_IF_ERROR(out_(reinterpret_cast<const char*>(kGzipHeader), sizeof kGzipHeader));
      header_written_ = true;
    }
    crc_ = crc32_gzip_refl(crc_, reinterpret_cast<const unsigned char*>(data), size);
    total_ += size;
    while (size > 0) {
      size_t take = std::min(size, kInBlock - pending_.size());
      pending_.append(data, take);
      data += take;
      size -= take;
      if (pending_.size() == kInBlock) PPA_RETURN_IF_ERROR(Submit(false));
    }
    return Status::Ok();
  }

  // A whole block, at a block boundary, is taken without a copy: `block`
  // gets an emptied buffer of an earlier block in exchange.
  Status WriteBlock(std::string& block) override {
    if (!pending_.empty() || block.size() != kInBlock || !header_written_) {
      PPA_RETURN_IF_ERROR(Write(block.data(), block.size()));
      block.clear();
      return Status::Ok();
    }
    crc_ =
        crc32_gzip_refl(crc_, reinterpret_cast<const unsigned char*>(block.data()), block.size());
    total_ += block.size();
    pending_.swap(block);  // block gets pending_'s empty buffer
    return Submit(false);
  }

  Status Finish() override {
    if (!header_written_) PPA_RETURN_IF_ERROR(Write(nullptr, 0));
    PPA_RETURN_IF_ERROR(Submit(true));
    while (!in_flight_.empty()) PPA_RETURN_IF_ERROR(EmitOldest());
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) {
      trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
      trailer[4 + i] = static_cast<unsigned char>(total_ >> (8 * i));
    }
    return out_(reinterpret_cast<const char*>(trailer), sizeof trailer);
  }

 private:
  // Deflates the pending block (on the runner when there is one), primed
  // with the end of the block before it.
  // One block on its way: its input (and the dictionary before it) and
  // where its output goes. The buffers are reused for later blocks.
  struct Job {
    std::string dict, input;
    std::vector<char> output;  // grows, never shrinks: no zeroing once big enough
    size_t output_size = 0;
    Status status;
    // Ready once the task has filled output and status. The task owns the
    // promise: a Job is reused while its last task may still be returning
    // from set_value.
    std::future<void> finished;
  };

  Status Submit(bool last) {
    std::shared_ptr<Job> job = NewJob();
    job->input.swap(pending_);  // pending_ gets the job's old, empty buffer
    pending_.clear();
    pending_.reserve(kInBlock);
    job->dict.swap(dict_);
    dict_.assign(job->input, job->input.size() - std::min(job->input.size(), kDictSize));
    auto done = std::make_shared<std::promise<void>>();
    job->finished = done->get_future();
    auto run = [level = level_, job, last, done] {
      // Whatever happens, the block ends with a status (a leaf task's
      // exception would otherwise be lost, and the block read as done).
      try {
        Result<size_t> size = DeflateBlock(level, job->dict, job->input, last, job->output);
        job->status = size.status();
        job->output_size = size.ok() ? *size : 0;
      } catch (const std::exception& e) {
        job->status = IoError(std::string("cannot compress a block: ") + e.what());
        job->output_size = 0;
      }
      done->set_value();
    };
    if (!runner_) {
      run();
      Status emitted = Emit(*job);
      spare_.push_back(std::move(job));
      return emitted;
    }
    in_flight_.push_back(job);
    runner_(std::move(run));
    while (in_flight_.size() > kMaxInFlight) PPA_RETURN_IF_ERROR(EmitOldest());
    return Status::Ok();
  }

  std::shared_ptr<Job> NewJob() {
    if (spare_.empty()) return std::make_shared<Job>();
    std::shared_ptr<Job> job = std::move(spare_.back());
    spare_.pop_back();
    return job;
  }

  Status EmitOldest() {
    std::shared_ptr<Job> job = std::move(in_flight_.front());
    in_flight_.pop_front();
    job->finished.wait();
    Status s = Emit(*job);
    spare_.push_back(std::move(job));
    return s;
  }

  Status Emit(const Job& job) {
    PPA_RETURN_IF_ERROR(job.status);
    return out_(job.output.data(), job.output_size);
  }

  static constexpr size_t kDictSize = 32 << 10;  // deflate's window
  static constexpr size_t kMaxInFlight = 4;      // blocks deflating at once, per stream

  const int level_;
  ByteConsumer out_;
  TaskRunner runner_;
  std::string pending_;  // input not yet submitted (< kInBlock)
  std::string dict_;     // the last kDictSize bytes submitted
  std::deque<std::shared_ptr<Job>> in_flight_;
  std::vector<std::shared_ptr<Job>> spare_;
  uint32_t crc_ = 0;
  uint64_t total_ = 0;
  bool header_written_ = false;
};

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};

class ZstdCompressor : public StreamCompressor {
 public:
  ZstdCompressor(int level, ByteConsumer out)
      : out_(std::move(out)), cctx_(ZSTD_createCCtx()), buf_(ZSTD_CStreamOutSize()) {
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(cctx_.get(), ZSTD_c_contentSizeFlag, 0);
  }
  Status Write(const char* data, size_t size) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) PPA_RETURN_IF_ERROR(Step(&in, ZSTD_e_continue));
    return Status::Ok();
  }
  Status Finish() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (true) {
      size_t left = 0;
      PPA_RETURN_IF_ERROR(Step(&in, ZSTD_e_end, &left));
      if (left == 0) return Status::Ok();
    }
  }

 private:
  Status Step(ZSTD_inBuffer* in, ZSTD_EndDirective mode, size_t* left = nullptr) {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_.get(), &out, in, mode);
    if (ZSTD_isError(rc)) return IoError(std::string("zstd failed: ") + ZSTD_getErrorName(rc));
    if (left) *left = rc;
    if (out.pos > 0) return out_(buf_.data(), out.pos);
    return Status::Ok();
  }

  ByteConsumer out_;
  std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree> cctx_;
  std::vector<char> buf_;
};

}  // namespace

int IsalLevelFor(int gzip_level) {
  if (gzip_level <= 2) return 0;
  if (gzip_level <= 5) return 1;
  if (gzip_level <= 8) return 2;
  return 3;
}

Result<size_t> DeflateBlock(int isal_level, std::string_view dict, std::string_view block,
                            bool last, std::vector<char>& out) {
  const int level = std::clamp(isal_level, 0, 3);
  thread_local std::vector<uint8_t> level_buf;
  level_buf.resize(LevelBufSize(level));
  auto z = std::make_unique<isal_zstream>();
  isal_deflate_init(z.get());
  z->level = static_cast<uint32_t>(level);
  z->level_buf = level_buf.empty() ? nullptr : level_buf.data();
  z->level_buf_size = static_cast<uint32_t>(level_buf.size());
  z->gzip_flag = IGZIP_DEFLATE;
  if (!dict.empty() &&
      isal_deflate_set_dict(z.get(), reinterpret_cast<uint8_t*>(const_cast<char*>(dict.data())),
                            static_cast<uint32_t>(dict.size())) != COMP_OK) {
    return IoError("ISA-L refused a deflate dictionary");
  }
  z->next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(block.data()));  // only read
  z->avail_in = static_cast<uint32_t>(block.size());
  z->end_of_stream = last ? 1 : 0;
  z->flush = last ? NO_FLUSH : SYNC_FLUSH;
  // More than deflate ever needs (zeroed only when it grows).
  out.resize(std::max(out.size(), block.size() + block.size() / 16 + 1024));
  size_t used = 0;
  while (true) {
    if (used == out.size()) out.resize(out.size() * 2);
    z->next_out = reinterpret_cast<uint8_t*>(out.data() + used);
    z->avail_out = static_cast<uint32_t>(out.size() - used);
    const int rc = isal_deflate(z.get());
    ClearUpperVectorState();
    if (rc != COMP_OK) return IoError("ISA-L deflate failed");
    used = out.size() - z->avail_out;
    const bool done =
        last ? z->internal_state.state == ZSTATE_END : z->avail_in == 0 && z->avail_out != 0;
    if (done) break;
  }
  return used;
}

std::unique_ptr<StreamCompressor> NewIsalGzipCompressor(int isal_level, ByteConsumer out,
                                                        TaskRunner runner) {
  return std::make_unique<IsalGzipCompressor>(std::clamp(isal_level, 0, 3), std::move(out),
                                              std::move(runner));
}

std::unique_ptr<StreamCompressor> NewZstdCompressor(int level, ByteConsumer out) {
  return std::make_unique<ZstdCompressor>(level, std::move(out));
}

struct IsalGunzip::Impl {
  explicit Impl(ByteConsumer consumer) : out(std::move(consumer)), buf(kOutChunk) { Reset(); }
  void Reset() {
    isal_inflate_init(&state);
    state.crc_flag = ISAL_GZIP;
  }
  ByteConsumer out;
  inflate_state state{};
  std::vector<uint8_t> buf;
  bool member_done = false;  // the last member ended exactly at the input's end so far
  bool started = false;
};

IsalGunzip::IsalGunzip(ByteConsumer out) : impl_(std::make_unique<Impl>(std::move(out))) {}
IsalGunzip::~IsalGunzip() = default;

Status IsalGunzip::Feed(const char* data, size_t size) {
  inflate_state& s = impl_->state;
  s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data));
  s.avail_in = static_cast<uint32_t>(size);
  while (s.avail_in > 0 || (impl_->started && !impl_->member_done)) {
    if (impl_->member_done) {  // another member follows
      uint8_t* next = s.next_in;
      uint32_t avail = s.avail_in;
      impl_->Reset();
      s.next_in = next;
      s.avail_in = avail;
      impl_->member_done = false;
    }
    impl_->started = true;
    s.next_out = impl_->buf.data();
    s.avail_out = static_cast<uint32_t>(impl_->buf.size());
    int rc = isal_inflate(&s);
    ClearUpperVectorState();
    if (rc < 0) return InvalidInput("corrupt gzip stream (ISA-L error " + std::to_string(rc) + ")");
    size_t have = impl_->buf.size() - s.avail_out;
    if (have > 0) {
      PPA_RETURN_IF_ERROR(impl_->out(reinterpret_cast<const char*>(impl_->buf.data()), have));
    }
    if (s.block_state == ISAL_BLOCK_FINISH) {
      impl_->member_done = true;
      continue;
    }
    if (s.avail_in == 0 && s.avail_out != 0) break;  // needs more input
  }
  return Status::Ok();
}

Status IsalGunzip::Finish() {
  if (!impl_->started || !impl_->member_done) return InvalidInput("gzip stream is truncated");
  return Status::Ok();
}

}  // namespace ppa
