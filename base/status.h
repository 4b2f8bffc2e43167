// Status and Result<T>: the one error type of ppa-import.
//
// A Status is either OK or carries a code from a short fixed set, a message
// that says what failed (one line, safe to show: never a secret) and an
// optional hint that says what the user can do about it (README, Usage).
// Result<T> holds either a value or a non-OK Status.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace ppa {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,   // malformed data or arguments (includes digest mismatches)
  kNotFound,       // a file, entry, image or blob that should exist does not
  kIo,             // local file system errors
  kNetwork,        // transport failures: DNS, connect, TLS, reset, timeout
  kHttp,           // the server answered with an error status
  kUnsupported,    // valid but not handled (a media type, a format)
  kUnsafeArchive,  // an archive entry that would escape or harm the work dir
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message, std::string hint = {})
      : code_(code), message_(std::move(message)), hint_(std::move(hint)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }

  // Returns a copy whose message is "<prefix>: <message>"; the hint is kept.
  Status WithContext(const std::string& prefix) const;
  // Returns a copy with the hint set (replacing any earlier one).
  Status WithHint(std::string hint) const;

  // "message" or "message (hint: ...)" for logs and tests.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string hint_;
};

inline Status InvalidInput(std::string m, std::string h = {}) {
  return {StatusCode::kInvalidInput, std::move(m), std::move(h)};
}
inline Status NotFound(std::string m, std::string h = {}) {
  return {StatusCode::kNotFound, std::move(m), std::move(h)};
}
inline Status IoError(std::string m, std::string h = {}) {
  return {StatusCode::kIo, std::move(m), std::move(h)};
}
inline Status NetworkError(std::string m, std::string h = {}) {
  return {StatusCode::kNetwork, std::move(m), std::move(h)};
}
inline Status HttpError(std::string m, std::string h = {}) {
  return {StatusCode::kHttp, std::move(m), std::move(h)};
}
inline Status Unsupported(std::string m, std::string h = {}) {
  return {StatusCode::kUnsupported, std::move(m), std::move(h)};
}
inline Status UnsafeArchive(std::string m, std::string h = {}) {
  return {StatusCode::kUnsafeArchive, std::move(m), std::move(h)};
}

// An IoError for a failed system call: "<what> '<path>': <strerror(errno)>".
Status ErrnoError(const std::string& what, const std::string& path, int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace ppa

#define PPA_STATUS_CONCAT_INNER(a, b) a##b
#define PPA_STATUS_CONCAT(a, b) PPA_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define PPA_RETURN_IF_ERROR(expr)            \
  do {                                       \
    ::ppa::Status ppa_status_tmp_ = (expr);  \
    if (!ppa_status_tmp_.ok()) return ppa_status_tmp_; \
  } while (0)

// `lhs` = value of `expr` (a Result<T>), or returns its Status.
#define PPA_ASSIGN_OR_RETURN(lhs, expr) \
  PPA_ASSIGN_OR_RETURN_IMPL(PPA_STATUS_CONCAT(ppa_result_, __LINE__), lhs, expr)
#define PPA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
