#include "archive/write/byte_sink.h"

#include <unistd.h>

#include <cerrno>

namespace ppa {

// ---- FileSink ----

Result<std::unique_ptr<FileSink>> FileSink::Create(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return ErrnoError("cannot create", path, errno);
  return std::unique_ptr<FileSink>(new FileSink(f, path));
}

FileSink::~FileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

Status FileSink::Write(const void* data, size_t size) {
  if (file_ == nullptr) return IoError("write after close: " + path_);
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    return ErrnoError("cannot write", path_, errno);
  }
  return Status::Ok();
}

Status FileSink::Close() {
  if (file_ == nullptr) return Status::Ok();
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return ErrnoError("cannot close", path_, errno);
  return Status::Ok();
}

// ---- FdSink ----

Status FdSink::Write(const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("cannot write", name_, errno);
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace ppa
