#include "base/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/file_util.h"

namespace ppa {

Result<Secret> ReadSecretFile(const std::string& path) {
  constexpr size_t kMaxBytes = 64 << 10;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot open", path, errno);
  struct stat st{};
  if (fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
    return InvalidInput("'" + path + "' is not a file");
  }
  Secret secret;
  std::string& buf = secret.buffer();
  buf.reserve(kMaxBytes + 1);  // never grows below: no copy is left behind
  for (;;) {
    size_t used = buf.size();
    if (used > kMaxBytes) {
      return InvalidInput("'" + path + "' is larger than 64 KiB; a passphrase file holds one line");
    }
    buf.resize(kMaxBytes + 1);
    ssize_t n = read(fd.get(), buf.data() + used, kMaxBytes + 1 - used);
    buf.resize(n > 0 ? used + static_cast<size_t>(n) : used);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) return ErrnoError("cannot read", path, errno);
  }
  size_t end = buf.find('\n');
  if (end == std::string::npos) end = buf.size();
  if (end > 0 && buf[end - 1] == '\r') --end;
  explicit_bzero(buf.data() + end, buf.size() - end);
  buf.resize(end);
  return secret;
}

}  // namespace ppa
