#include "docker_io/gzip_isal.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "archive/vector_state.h"

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

class IsalGzipCompressor : public StreamCompressor {
 public:
  IsalGzipCompressor(int level, ByteConsumer out)
      : out_(std::move(out)), level_buf_(LevelBufSize(level)), buf_(kOutChunk) {
    pending_.reserve(kInBlock);
    isal_deflate_init(&z_);
    z_.level = static_cast<uint32_t>(level);
    z_.level_buf = level_buf_.empty() ? nullptr : level_buf_.data();
    z_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
    z_.gzip_flag = IGZIP_GZIP_NO_HDR;  // our fixed header, ISA-L's trailer
  }

  // ISA-L's output depends on how the input is split into calls, so input
  // is re-blocked into fixed kInBlock pieces: the same bytes always give the
  // same stream, whatever sizes the caller writes.
  Status Write(const char* data, size_t size) override {
    if (!header_written_) {
      PPA_RETURN_IF_ERROR(out_(reinterpret_cast<const char*>(kGzipHeader), sizeof kGzipHeader));
      header_written_ = true;
    }
    while (size > 0) {
      if (pending_.empty() && size >= kInBlock) {  // a whole block: no copy
        PPA_RETURN_IF_ERROR(Deflate(reinterpret_cast<const uint8_t*>(data), kInBlock, false));
        data += kInBlock;
        size -= kInBlock;
        continue;
      }
      size_t take = std::min(size, kInBlock - pending_.size());
      pending_.insert(pending_.end(), data, data + take);
      data += take;
      size -= take;
      if (pending_.size() == kInBlock) PPA_RETURN_IF_ERROR(DeflatePending(false));
    }
    return Status::Ok();
  }

  Status Finish() override {
    if (!header_written_) PPA_RETURN_IF_ERROR(Write(nullptr, 0));
    return DeflatePending(true);
  }

 private:
  // Compresses the pending block (the last one when `finish`).
  Status DeflatePending(bool finish) {
    Status s = Deflate(pending_.data(), pending_.size(), finish);
    pending_.clear();
    return s;
  }

  // Compresses one block of input (the last one when `finish`).
  Status Deflate(const uint8_t* block, size_t size, bool finish) {
    z_.next_in = const_cast<uint8_t*>(block);  // ISA-L does not write through it
    z_.avail_in = static_cast<uint32_t>(size);
    z_.end_of_stream = finish ? 1 : 0;
    return Pump(finish);
  }

  Status Pump(bool finish) {
    while (true) {
      z_.next_out = buf_.data();
      z_.avail_out = static_cast<uint32_t>(buf_.size());
      const int rc = isal_deflate(&z_);
      ClearUpperVectorState();
      if (rc != COMP_OK) return IoError("ISA-L deflate failed");
      size_t have = buf_.size() - z_.avail_out;
      if (have > 0) PPA_RETURN_IF_ERROR(out_(reinterpret_cast<const char*>(buf_.data()), have));
      if (finish ? z_.internal_state.state == ZSTATE_END
                 : (z_.avail_in == 0 && z_.avail_out != 0)) {
        return Status::Ok();
      }
    }
  }

  ByteConsumer out_;
  isal_zstream z_{};
  std::vector<uint8_t> level_buf_;
  std::vector<uint8_t> buf_;
  std::vector<uint8_t> pending_;  // input not yet given to ISA-L (< kInBlock)
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

std::unique_ptr<StreamCompressor> NewIsalGzipCompressor(int isal_level, ByteConsumer out) {
  return std::make_unique<IsalGzipCompressor>(std::clamp(isal_level, 0, 3), std::move(out));
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
