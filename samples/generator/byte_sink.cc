#include "samples/generator/byte_sink.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <cerrno>
#include <vector>

namespace ppa::samples {
namespace {

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

std::string ToHex(const unsigned char* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

constexpr size_t kGzipChunk = 64 * 1024;

}  // namespace

// ---- HashSink ----

struct HashSink::Impl {
  std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> ctx{EVP_MD_CTX_new()};
  std::string digest;
};

HashSink::HashSink(ByteSink* next) : impl_(std::make_unique<Impl>()), next_(next) {
  EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr);
}
HashSink::~HashSink() = default;

Status HashSink::Write(const void* data, size_t size) {
  EVP_DigestUpdate(impl_->ctx.get(), data, size);
  bytes_ += size;
  if (next_ != nullptr) return next_->Write(data, size);
  return Status::Ok();
}

Status HashSink::Close() {
  if (impl_->digest.empty()) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(impl_->ctx.get(), md, &len);
    impl_->digest = "sha256:" + ToHex(md, len);
  }
  return Status::Ok();
}

std::string HashSink::Digest() {
  (void)Close();
  return impl_->digest;
}

// ---- GzipSink ----

struct GzipSink::Impl {
  z_stream zs{};
  bool initialized = false;
  bool finished = false;
  std::vector<unsigned char> out = std::vector<unsigned char>(kGzipChunk);
  ~Impl() {
    if (initialized) deflateEnd(&zs);
  }
};

GzipSink::GzipSink(ByteSink* next, int level) : impl_(std::make_unique<Impl>()), next_(next) {
  // windowBits 15 + 16 selects the gzip wrapper; zlib writes mtime 0, no name.
  impl_->initialized =
      deflateInit2(&impl_->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}
GzipSink::~GzipSink() = default;

Status GzipSink::Deflate(int flush) {
  z_stream& zs = impl_->zs;
  for (;;) {
    zs.next_out = impl_->out.data();
    zs.avail_out = static_cast<uInt>(impl_->out.size());
    const int rc = deflate(&zs, flush);
    if (rc == Z_STREAM_ERROR) return IoError("zlib deflate failed");
    const size_t produced = impl_->out.size() - zs.avail_out;
    if (produced > 0) PPA_RETURN_IF_ERROR(next_->Write(impl_->out.data(), produced));
    if (flush == Z_FINISH) {
      if (rc == Z_STREAM_END) return Status::Ok();
    } else if (zs.avail_in == 0 && zs.avail_out != 0) {
      return Status::Ok();
    }
  }
}

Status GzipSink::Write(const void* data, size_t size) {
  if (!impl_->initialized) return IoError("zlib deflateInit2 failed");
  if (impl_->finished) return IoError("gzip write after close");
  const auto* p = static_cast<const unsigned char*>(data);
  while (size > 0) {
    // avail_in is 32-bit; feed big writes in slices.
    const size_t n = size < (1u << 30) ? size : (1u << 30);
    impl_->zs.next_in = const_cast<unsigned char*>(p);
    impl_->zs.avail_in = static_cast<uInt>(n);
    PPA_RETURN_IF_ERROR(Deflate(Z_NO_FLUSH));
    p += n;
    size -= n;
  }
  return Status::Ok();
}

Status GzipSink::Close() {
  if (!impl_->initialized) return IoError("zlib deflateInit2 failed");
  if (impl_->finished) return Status::Ok();
  impl_->finished = true;
  impl_->zs.next_in = nullptr;
  impl_->zs.avail_in = 0;
  return Deflate(Z_FINISH);
}

std::string Sha256Of(std::string_view data) {
  HashSink h;
  (void)h.Write(data);
  return h.Digest();
}

std::string_view HexOf(std::string_view digest) {
  const size_t colon = digest.find(':');
  return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

}  // namespace ppa::samples
