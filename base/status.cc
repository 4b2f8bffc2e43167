#include "base/status.h"

#include <cstring>

namespace ppa {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidInput: return "invalid input";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kIo: return "I/O error";
    case StatusCode::kNetwork: return "network error";
    case StatusCode::kHttp: return "HTTP error";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kUnsafeArchive: return "unsafe archive";
  }
  return "unknown";
}

Status Status::WithContext(const std::string& prefix) const {
  if (ok()) return *this;
  return Status(code_, prefix + ": " + message_, hint_);
}

Status Status::WithHint(std::string hint) const {
  if (ok()) return *this;
  return Status(code_, message_, std::move(hint));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  if (hint_.empty()) return message_;
  return message_ + " (hint: " + hint_ + ")";
}

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return IoError(what + " '" + path + "': " + std::strerror(err));
}

}  // namespace ppa
