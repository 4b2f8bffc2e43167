#include "docker_io/image/layer_blob.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <vector>

#include "base/file_util.h"
#include "archive/inflate/stream_window.h"
#include "docker_io/image/digest.h"
#include "docker_io/image/gzip_isal.h"
#include "docker_io/image/media_types.h"

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

// gzip through ISA-L: several times faster than zlib's inflate.
class GzipDecompressor : public Decompressor {
 public:
  GzipDecompressor()
      : gunzip_([this](const char* data, size_t size) {
          hash_->Update(data, size);
          return Status::Ok();
        }) {}
  Status Feed(const char* data, size_t size, Sha256& hash) override {
    hash_ = &hash;
    return gunzip_.Feed(data, size);
  }
  Status Finish() override { return gunzip_.Finish(); }

 private:
  Sha256* hash_ = nullptr;
  IsalGunzip gunzip_;
};

class ZstdDecompressor : public Decompressor {
 public:
  ZstdDecompressor() : z_(ZSTD_createDStream()), out_(ZSTD_DStreamOutSize()) {
    ZSTD_initDStream(z_.get());
    // libzstd's default limit is 128 MiB (windowLog 27); a layer asking for
    // more than kMaxDecoderWindow fails instead of growing a window that
    // large (archive/inflate/stream_window.h).
    ZSTD_DCtx_setParameter(z_.get(), ZSTD_d_windowLogMax, kMaxDecoderWindowLog);
  }
  Status Feed(const char* data, size_t size, Sha256& hash) override {
    ZSTD_inBuffer in{data, size, 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      last_ = ZSTD_decompressStream(z_.get(), &out, &in);
      if (ZSTD_isError(last_)) {
        if (ZSTD_getErrorCode(last_) == ZSTD_error_frameParameter_windowTooLarge) {
          return UnsafeArchive(
              "zstd layer: its window is above the " +
                  std::to_string(kMaxDecoderWindow >> 20) +
                  " MiB this tool allows (a memory bomb?)",
              "recompress the layer with default zstd settings (no --long, no --ultra -22)");
        }
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

// Passes the bytes of `layer` (as stored in the tarball) to `each`, in
// chunks of kChunk, in order: the one read loop every pass over a layer uses.
Status ForEachChunk(int fd, const ImageSource& image, const LayerSource& layer,
                    const std::function<Status(const char*, size_t)>& each) {
  RangeReader reader(fd, layer.offset, layer.size);
  std::vector<char> buf(kChunk);
  while (true) {
    PPA_ASSIGN_OR_RETURN(size_t n, reader.Read(buf.data(), buf.size(), image.origin));
    if (n == 0) return Status::Ok();
    PPA_RETURN_IF_ERROR(each(buf.data(), n));
  }
}

std::string MediaTypeFor(Compression c, ManifestFormat format) {
  if (c == Compression::kZstd) return std::string(media_types::kOciLayerZstd);
  if (c == Compression::kNone) {
    return std::string(format == ManifestFormat::kOci ? media_types::kOciLayerTar
                                                      : media_types::kDockerLayerTar);
  }
  return std::string(format == ManifestFormat::kOci ? media_types::kOciLayerGzip
                                                    : media_types::kDockerLayerGzip);
}

// Compressed layer, pushed as stored: hashes the stored bytes and the
// decompressed stream in one pass.
Result<LayerBlob> ReadCompressedLayer(int fd, const ImageSource& image, const LayerSource& layer,
                                      ManifestFormat format) {
  std::unique_ptr<Decompressor> dec;
  if (layer.compression == Compression::kGzip) {
    dec = std::make_unique<GzipDecompressor>();
  } else {
    dec = std::make_unique<ZstdDecompressor>();
  }
  Sha256 stored, uncompressed;
  const bool hashed = !layer.content_digest.empty();
  PPA_RETURN_IF_ERROR(ForEachChunk(fd, image, layer, [&](const char* data, size_t n) {
    if (!hashed) stored.Update(data, n);
    Status s = dec->Feed(data, n, uncompressed);
    return s.ok() ? s : s.WithContext("layer '" + layer.entry + "'");
  }));
  Status s = dec->Finish();
  if (!s.ok()) return s.WithContext("layer '" + layer.entry + "'");
  LayerBlob blob;
  blob.digest = hashed ? layer.content_digest : stored.Finish();
  blob.diff_id = uncompressed.Finish();
  blob.size = layer.size;
  blob.media_type = MediaTypeFor(layer.compression, format);
  blob.file = FileBody{image.tarball, layer.offset, layer.size};
  return blob;
}

// Compressed layer: push as stored; verify both digests on the way.
Result<LayerBlob> VerifyCompressedLayer(int fd, const ImageSource& image, const LayerSource& layer,
                                        ManifestFormat format) {
  PPA_ASSIGN_OR_RETURN(LayerBlob blob, ReadCompressedLayer(fd, image, layer, format));
  if (blob.diff_id != layer.diff_id) return Mismatch(layer, "diff_id", layer.diff_id, blob.diff_id);
  if (!layer.digest.empty() && blob.digest != layer.digest) {
    return Mismatch(layer, "digest", layer.digest, blob.digest);
  }
  return blob;
}

Compression OutputCompression(const CompressionOptions& options) {
  return options.algorithm == Compression::kZstd || options.algorithm == Compression::kNone
             ? options.algorithm
             : Compression::kGzip;
}

// Streams the layer's bytes through `each` and checks its diff_id (and the
// stored digest, which for an uncompressed layer is the same hash).
// A layer whose content_digest is known is not hashed again, and without
// `each` not even read.
Status HashLayer(int fd, const ImageSource& image, const LayerSource& layer,
                 const std::function<Status(const char*, size_t)>& each, std::string* diff_id) {
  auto check = [&layer](const std::string& got) {
    if (got != layer.diff_id) return Mismatch(layer, "diff_id", layer.diff_id, got);
    if (!layer.digest.empty() && layer.digest != got) {
      return Mismatch(layer, "digest", layer.digest, got);
    }
    return Status::Ok();
  };
  if (!layer.content_digest.empty()) {
    // Known already: a mismatch fails before anything is read.
    *diff_id = layer.content_digest;
    PPA_RETURN_IF_ERROR(check(*diff_id));
    return each ? ForEachChunk(fd, image, layer, each) : Status::Ok();
  }
  Sha256 uncompressed;
  PPA_RETURN_IF_ERROR(ForEachChunk(fd, image, layer, [&](const char* data, size_t n) {
    uncompressed.Update(data, n);
    return each ? each(data, n) : Status::Ok();
  }));
  *diff_id = uncompressed.Finish();
  return check(*diff_id);
}

// Uncompressed layer, compression "none": the tar range itself is the blob.
Result<LayerBlob> PlainLayer(int fd, const ImageSource& image, const LayerSource& layer,
                             ManifestFormat format) {
  LayerBlob blob;
  PPA_RETURN_IF_ERROR(HashLayer(fd, image, layer, nullptr, &blob.diff_id));
  blob.digest = blob.diff_id;
  blob.size = layer.size;
  blob.media_type = MediaTypeFor(Compression::kNone, format);
  blob.file = FileBody{image.tarball, layer.offset, layer.size};
  return blob;
}

// Uncompressed layer: hash it while compressing it into a spool file.
Result<LayerBlob> CompressLayer(int fd, const ImageSource& image, const LayerSource& layer,
                                const std::string& spool_dir, ManifestFormat format,
                                const CompressionOptions& options) {
  if (OutputCompression(options) == Compression::kNone) {
    return PlainLayer(fd, image, layer, format);
  }
  PPA_ASSIGN_OR_RETURN(auto spool, SpoolCompressor::Create(spool_dir, format, options));
  std::string diff_id;
  PPA_RETURN_IF_ERROR(HashLayer(
      fd, image, layer, [&](const char* data, size_t size) { return spool->Write(data, size); },
      &diff_id));
  return spool->Finish(std::move(diff_id));
}

}  // namespace

Result<SpoolFile> CreateSpoolFile(const std::string& spool_dir) {
  std::string path = spool_dir + "/layer-" + NewUuid() + ".blob";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return ErrnoError("cannot create", path, errno);
  return SpoolFile{.path = std::move(path), .fd = std::move(fd)};
}

Result<std::unique_ptr<SpoolCompressor>> SpoolCompressor::Create(
    const std::string& spool_dir, ManifestFormat format, const CompressionOptions& options) {
  Compression algorithm = OutputCompression(options);
  if (algorithm == Compression::kNone) return InvalidInput("no compression to spool");
  PPA_ASSIGN_OR_RETURN(SpoolFile file, CreateSpoolFile(spool_dir));
  std::unique_ptr<SpoolCompressor> spool(new SpoolCompressor(
      std::move(file.path), std::move(file.fd), MediaTypeFor(algorithm, format)));
  ByteConsumer sink = [s = spool.get()](const char* data, size_t size) -> Status {
    s->hash_.Update(data, size);
    s->size_ += size;
    return WriteAll(s->out_.get(), data, size, s->path_);
  };
  spool->compressor_ =
      algorithm == Compression::kZstd
          ? NewZstdCompressor(options.zstd_level, sink)
          : NewIsalGzipCompressor(IsalLevelFor(options.gzip_level), sink, options.runner);
  return spool;
}

SpoolCompressor::SpoolCompressor(std::string path, UniqueFd out, std::string media_type)
    : path_(std::move(path)), out_(std::move(out)), media_type_(std::move(media_type)) {}

SpoolCompressor::~SpoolCompressor() {
  compressor_.reset();
  out_.Reset();
  if (!kept_) ::unlink(path_.c_str());
}

Status SpoolCompressor::Write(const char* data, size_t size) {
  return compressor_->Write(data, size);
}

Status SpoolCompressor::WriteBlock(std::string& block) { return compressor_->WriteBlock(block); }

Result<LayerBlob> SpoolCompressor::Finish(std::string diff_id) {
  PPA_RETURN_IF_ERROR(compressor_->Finish());
  LayerBlob blob;
  blob.digest = hash_.Finish();
  blob.size = size_;
  blob.media_type = media_type_;
  blob.diff_id = std::move(diff_id);
  blob.file = FileBody{path_, 0, size_};
  blob.spooled = true;
  kept_ = true;
  return blob;
}

Result<LayerBlob> PrepareLayerBlob(const ImageSource& image, const LayerSource& layer,
                                   const std::string& spool_dir, ManifestFormat format,
                                   const CompressionOptions& options) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(image.tarball));
  if (layer.compression == Compression::kNone) {
    return CompressLayer(fd.get(), image, layer, spool_dir, format, options);
  }
  return VerifyCompressedLayer(fd.get(), image, layer, format);
}

std::string CompressionOptions::Key() const {
  switch (OutputCompression(*this)) {
    case Compression::kNone: return "none";
    case Compression::kZstd: return "zstd-" + std::to_string(zstd_level);
    // ISA-L level, deflated in 1 MiB blocks (NewIsalGzipCompressor)
    default:
      return "gzip-isal-" + std::to_string(IsalLevelFor(gzip_level)) + "-b1m";
  }
}

Result<LayerBlob> KnownLayerBlob(const ImageSource& image, const LayerSource& layer,
                                 ManifestFormat format, const CompressionOptions& options,
                                 const std::string& digest, uint64_t size) {
  PPA_RETURN_IF_ERROR(VerifyLayerDiffId(image, layer));
  LayerBlob blob;
  blob.digest = digest;
  blob.size = size;
  blob.diff_id = layer.diff_id;
  blob.media_type = MediaTypeFor(OutputCompression(options), format);
  return blob;
}

Result<LayerBlob> KnownStoredLayerBlob(const ImageSource& image, const LayerSource& layer,
                                       ManifestFormat format) {
  if (layer.compression == Compression::kNone || layer.digest.empty()) {
    return InvalidInput("layer '" + layer.entry + "' has no stored digest to check");
  }
  LayerBlob blob;
  if (!layer.content_digest.empty()) {
    blob.digest = layer.content_digest;
  } else {
    PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(image.tarball));
    Sha256 stored;
    PPA_RETURN_IF_ERROR(ForEachChunk(fd.get(), image, layer, [&](const char* data, size_t n) {
      stored.Update(data, n);
      return Status::Ok();
    }));
    blob.digest = stored.Finish();
  }
  if (blob.digest != layer.digest) return Mismatch(layer, "digest", layer.digest, blob.digest);
  blob.diff_id = layer.diff_id;
  blob.size = layer.size;
  blob.media_type = MediaTypeFor(layer.compression, format);
  blob.file = FileBody{image.tarball, layer.offset, layer.size};
  return blob;
}

Result<LayerBlob> ReadStoredLayerBlob(const ImageSource& image, const LayerSource& layer,
                                      ManifestFormat format) {
  if (layer.compression == Compression::kNone) {
    return InvalidInput("layer '" + layer.entry + "' is not compressed");
  }
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(image.tarball));
  return ReadCompressedLayer(fd.get(), image, layer, format);
}

Status VerifyLayerDiffId(const ImageSource& image, const LayerSource& layer) {
  std::string diff_id;
  if (!layer.content_digest.empty()) return HashLayer(-1, image, layer, nullptr, &diff_id);
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(image.tarball));
  return HashLayer(fd.get(), image, layer, nullptr, &diff_id);
}

}  // namespace ppa
