// The sample generator's own byte sinks (hashing, zlib gzip), over the
// streaming plumbing of archive/write/byte_sink.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "archive/write/byte_sink.h"
#include "base/status.h"

namespace ppa::samples {

using ppa::ByteSink;
using ppa::FileSink;
using ppa::NullSink;
using ppa::StringSink;

// SHA-256 and byte count of everything written; forwards to `next` if set.
class HashSink : public ByteSink {
 public:
  explicit HashSink(ByteSink* next = nullptr);
  ~HashSink() override;
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override;
  Status Close() override;
  // "sha256:<hex>"; call after Close().
  std::string Digest();
  uint64_t bytes() const { return bytes_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ByteSink* next_;
  uint64_t bytes_ = 0;
};

// gzip (RFC 1952) compression with a zero mtime and no file name, so the
// output depends only on the input and the level. Forwards to `next`.
class GzipSink : public ByteSink {
 public:
  explicit GzipSink(ByteSink* next, int level = 6);
  ~GzipSink() override;
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override;
  // Writes the remaining compressed data and the trailer into `next`. Does
  // not close `next`: its owner does.
  Status Close() override;

 private:
  Status Deflate(int flush);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ByteSink* next_;
};

// "sha256:<hex>" of `data`.
std::string Sha256Of(std::string_view data);

// The 64 hex digits of "sha256:<hex>".
std::string_view HexOf(std::string_view digest);

}  // namespace ppa::samples
