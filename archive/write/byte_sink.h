// Byte sinks: streaming output plumbing. Every written byte flows through a
// chain of sinks (tar -> gzip -> file), so an entry of any size is written
// with constant memory. Sinks are not thread-safe. A sink that forwards to
// `next` does not own it; `next` must outlive the sink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ppa {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(const void* data, size_t size) = 0;
  Status Write(std::string_view data) { return Write(data.data(), data.size()); }
  // Flushes buffered state (a gzip trailer) downstream. Call once, last.
  virtual Status Close() { return Status::Ok(); }
};

// Discards bytes; counts them.
class NullSink : public ByteSink {
 public:
  using ByteSink::Write;
  Status Write(const void*, size_t size) override {
    bytes_ += size;
    return Status::Ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

// Appends to a string the caller owns (small outputs only).
class StringSink : public ByteSink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override {
    out_->append(static_cast<const char*>(data), size);
    return Status::Ok();
  }

 private:
  std::string* out_;
};

// Writes to a file it creates (truncating). Close() reports write errors.
class FileSink : public ByteSink {
 public:
  static Result<std::unique_ptr<FileSink>> Create(const std::string& path);
  ~FileSink() override;
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override;
  Status Close() override;

 private:
  FileSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::string path_;
};

// Writes to a file descriptor it does not own (standard output), retrying
// short writes. Close() does nothing: the descriptor's owner closes it.
class FdSink : public ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override;

 private:
  int fd_;
  std::string name_;
};

}  // namespace ppa
