#include "docker_io/layer_blob.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "archive/file_util.h"
#include "docker_io/digest.h"
#include "docker_io/media_types.h"

namespace ppa {
namespace {

constexpr size_t kChunk = 1 << 20;

// Reads a byte range of a file sequentially.
class RangeReader {
 public:
  RangeReader(int fd, uint64_t offset, uint64_t size) : fd_(fd), pos_(offset), left_(size) {}
  // Returns the bytes read into `buf` (0 at the end of the range).
  Result<size_t> Read(char* buf, size_t cap, const std::string& what) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(cap, left_));
    if (want == 0) return size_t{0};
    ssize_t n;
    do {
      n = ::pread(fd_, buf, want, static_cast<off_t>(pos_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoError("cannot read", what, errno);
    if (n == 0) return InvalidInput("'" + what + "' is truncated");
    pos_ += static_cast<uint64_t>(n);
    left_ -= static_cast<uint64_t>(n);
    return static_cast<size_t>(n);
  }

 private:
  int fd_;
  uint64_t pos_;
  uint64_t left_;
};

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

struct DeflateEnd {
  void operator()(z_stream* z) const noexcept { deflateEnd(z); delete z; }
};
struct InflateEnd {
  void operator()(z_stream* z) const noexcept { inflateEnd(z); delete z; }
};
struct ZstdDStreamFree {
  void operator()(ZSTD_DStream* z) const noexcept { ZSTD_freeDStream(z); }
};

// A streaming decompressor that feeds the uncompressed bytes to a hash.
class Decompressor {
 public:
  virtual ~Decompressor() = default;
  virtual Status Feed(const char* data, size_t size, Sha256& uncompressed) = 0;
  virtual Status Finish() = 0;
};

class GzipDecompressor : public Decompressor {
 public:
  GzipDecompressor() : z_(new z_stream{}), out_(kChunk) {
    if (inflateInit2(z_.get(), 15 + 16) != Z_OK) init_failed_ = true;
  }
  Status Feed(const char* data, size_t size, Sha256& hash) override {
    if (init_failed_) return IoError("zlib inflate initialisation failed");
    z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_->avail_in = static_cast<uInt>(size);
    while (z_->avail_in > 0) {
      if (ended_) {  // concatenated gzip members are one stream
        if (inflateReset(z_.get()) != Z_OK) return InvalidInput("corrupt gzip stream");
        ended_ = false;
      }
      z_->next_out = reinterpret_cast<Bytef*>(out_.data());
      z_->avail_out = static_cast<uInt>(out_.size());
      int rc = inflate(z_.get(), Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return InvalidInput(std::string("corrupt gzip stream: ") + (z_->msg ? z_->msg : "error"));
      }
      hash.Update(out_.data(), out_.size() - z_->avail_out);
      if (rc == Z_STREAM_END) ended_ = true;
      if (rc == Z_BUF_ERROR && z_->avail_out != 0) break;
    }
    return Status::Ok();
  }
  Status Finish() override {
    // Drain what inflate still holds.
    return ended_ ? Status::Ok() : InvalidInput("gzip stream is truncated");
  }

 private:
  std::unique_ptr<z_stream, InflateEnd> z_;
  std::vector<char> out_;
  bool ended_ = false;
  bool init_failed_ = false;
};

class ZstdDecompressor : public Decompressor {
 public:
  ZstdDecompressor() : z_(ZSTD_createDStream()), out_(ZSTD_DStreamOutSize()) {
    ZSTD_initDStream(z_.get());
  }
  Status Feed(const char* data, size_t size, Sha256& hash) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      last_ = ZSTD_decompressStream(z_.get(), &out, &in);
      if (ZSTD_isError(last_)) {
        return InvalidInput(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(last_));
      }
      hash.Update(out_.data(), out.pos);
    }
    // Flush output still buffered inside the decoder.
    while (true) {
      ZSTD_inBuffer empty{nullptr, 0, 0};
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_decompressStream(z_.get(), &out, &empty);
      if (ZSTD_isError(rc)) return InvalidInput("corrupt zstd stream");
      if (out.pos == 0) break;  // nothing was pending: keep the last hint
      last_ = rc;
      hash.Update(out_.data(), out.pos);
      if (out.pos < out.size) break;
    }
    return Status::Ok();
  }
  Status Finish() override {
    return last_ == 0 ? Status::Ok() : InvalidInput("zstd stream is truncated");
  }

 private:
  std::unique_ptr<ZSTD_DStream, ZstdDStreamFree> z_;
  std::vector<char> out_;
  size_t last_ = 1;
};

Status Mismatch(const LayerSource& layer, const char* what, const std::string& want,
                const std::string& got) {
  return InvalidInput("layer '" + layer.entry + "' does not match its " + what + " (expected " +
                      want + ", content is " + got + ")");
}

std::string MediaTypeFor(Compression c, ManifestFormat format) {
  if (c == Compression::kZstd) return std::string(media_types::kOciLayerZstd);
  return std::string(format == ManifestFormat::kOci ? media_types::kOciLayerGzip
                                                    : media_types::kDockerLayerGzip);
}

// Compressed layer: push as stored; verify both digests on the way.
Result<LayerBlob> VerifyCompressedLayer(int fd, const ImageSource& image, const LayerSource& layer,
                                        ManifestFormat format) {
  std::unique_ptr<Decompressor> dec;
  if (layer.compression == Compression::kGzip) {
    dec = std::make_unique<GzipDecompressor>();
  } else {
    dec = std::make_unique<ZstdDecompressor>();
  }
  Sha256 stored, uncompressed;
  RangeReader reader(fd, layer.offset, layer.size);
  std::vector<char> buf(kChunk);
  while (true) {
    PPA_ASSIGN_OR_RETURN(size_t n, reader.Read(buf.data(), buf.size(), image.origin));
    if (n == 0) break;
    stored.Update(buf.data(), n);
    Status s = dec->Feed(buf.data(), n, uncompressed);
    if (!s.ok()) return s.WithContext("layer '" + layer.entry + "'");
  }
  Status s = dec->Finish();
  if (!s.ok()) return s.WithContext("layer '" + layer.entry + "'");
  LayerBlob blob;
  blob.digest = stored.Finish();
  blob.diff_id = uncompressed.Finish();
  if (blob.diff_id != layer.diff_id) return Mismatch(layer, "diff_id", layer.diff_id, blob.diff_id);
  if (!layer.digest.empty() && blob.digest != layer.digest) {
    return Mismatch(layer, "digest", layer.digest, blob.digest);
  }
  blob.size = layer.size;
  blob.media_type = MediaTypeFor(layer.compression, format);
  blob.file = FileBody{image.tarball, layer.offset, layer.size};
  return blob;
}

// Uncompressed layer: hash it while gzip-compressing it into a spool file.
Result<LayerBlob> CompressLayer(int fd, const ImageSource& image, const LayerSource& layer,
                                const std::string& spool_dir, ManifestFormat format,
                                const CompressionOptions& options) {
  std::string spool = spool_dir + "/layer-" + NewUuid() + ".gz";
  int out_fd = ::open(spool.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out_fd < 0) return ErrnoError("cannot create", spool, errno);
  UniqueFd out(out_fd);
  auto fail = [&](Status s) {
    ::unlink(spool.c_str());
    return s;
  };

  std::unique_ptr<z_stream, DeflateEnd> z(new z_stream{});
  // windowBits 15 + 16: a gzip wrapper with no name and mtime 0, so the
  // output depends only on the input and the level.
  if (deflateInit2(z.get(), options.gzip_level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return fail(IoError("zlib deflate initialisation failed"));
  }
  Sha256 uncompressed, compressed;
  RangeReader reader(fd, layer.offset, layer.size);
  std::vector<char> in(kChunk), zout(kChunk);
  uint64_t out_size = 0;
  auto pump = [&](int flush) -> Status {
    int rc;
    do {
      z->next_out = reinterpret_cast<Bytef*>(zout.data());
      z->avail_out = static_cast<uInt>(zout.size());
      rc = deflate(z.get(), flush);
      if (rc == Z_STREAM_ERROR) return IoError("zlib deflate failed");
      size_t have = zout.size() - z->avail_out;
      compressed.Update(zout.data(), have);
      out_size += have;
      PPA_RETURN_IF_ERROR(WriteAll(out.get(), zout.data(), have, spool));
    } while (z->avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    return Status::Ok();
  };
  while (true) {
    auto n = reader.Read(in.data(), in.size(), image.origin);
    if (!n.ok()) return fail(n.status());
    if (*n == 0) break;
    uncompressed.Update(in.data(), *n);
    z->next_in = reinterpret_cast<Bytef*>(in.data());
    z->avail_in = static_cast<uInt>(*n);
    Status s = pump(Z_NO_FLUSH);
    if (!s.ok()) return fail(s);
  }
  Status s = pump(Z_FINISH);
  if (!s.ok()) return fail(s);

  LayerBlob blob;
  blob.diff_id = uncompressed.Finish();
  if (blob.diff_id != layer.diff_id) {
    return fail(Mismatch(layer, "diff_id", layer.diff_id, blob.diff_id));
  }
  if (!layer.digest.empty() && layer.digest != blob.diff_id) {
    return fail(Mismatch(layer, "digest", layer.digest, blob.diff_id));
  }
  blob.digest = compressed.Finish();
  blob.size = out_size;
  blob.media_type = MediaTypeFor(Compression::kGzip, format);
  blob.file = FileBody{spool, 0, out_size};
  blob.spooled = true;
  return blob;
}

}  // namespace

Result<LayerBlob> PrepareLayerBlob(const ImageSource& image, const LayerSource& layer,
                                   const std::string& spool_dir, ManifestFormat format,
                                   const CompressionOptions& options) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(image.tarball));
  if (layer.compression == Compression::kNone) {
    return CompressLayer(fd.get(), image, layer, spool_dir, format, options);
  }
  return VerifyCompressedLayer(fd.get(), image, layer, format);
}

}  // namespace ppa
