#include "base/file_util.h"

#include "base/confined.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <random>
#include <system_error>

namespace ppa {

namespace fs = std::filesystem;

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<UniqueFd> OpenForRead(const std::string& path) { return OpenFile(path, O_RDONLY); }

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  fs::path current;
  for (const auto& part : p) {
    current /= part;
    if (fs::exists(current, ec)) continue;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("cannot create directory", current.string(), errno);
    }
  }
  return Status::Ok();
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return IoError("cannot remove '" + path + "': " + ec.message());
  return Status::Ok();
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::vector<std::string> NamesOfSameFile(const std::string& root, const std::string& rel) {
  std::vector<std::string> names{rel};
  struct stat file {};
  if (::lstat((root + "/" + rel).c_str(), &file) != 0 || !S_ISREG(file.st_mode) ||
      file.st_nlink < 2) {
    return names;
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat other {};
    if (::lstat(it->path().c_str(), &other) != 0 || other.st_dev != file.st_dev ||
        other.st_ino != file.st_ino) {
      continue;
    }
    std::string name = it->path().lexically_relative(root).string();
    if (name != rel) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string NewUuid() {
  std::random_device rd;
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(rd());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return out;
}

namespace {

// A temporary name beside `path` that does not grow with its base name.
std::string TempBeside(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return dir + "/.ppa-tmp-" + NewUuid().substr(0, 8);
}

}  // namespace

std::string ScratchName(const std::string& dir, std::string_view source, std::string_view suffix) {
  const size_t slash = source.rfind('/');
  std::string_view base = slash == std::string_view::npos ? source : source.substr(slash + 1);
  return dir + "/" + std::string(base.substr(0, 64)) + "." + NewUuid().substr(0, 8) +
         std::string(suffix);
}

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    case Compression::kXz: return "xz";
    case Compression::kBzip2: return "bzip2";
  }
  return "unknown";
}

Compression DetectCompression(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (starts(std::string_view("\xfd" "7zXZ\x00", 6))) return Compression::kXz;
  if (starts("BZh")) return Compression::kBzip2;
  return Compression::kNone;
}

Result<Compression> DetectFileCompression(const std::string& path, uint64_t offset) {
  PPA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForRead(path));
  char buf[6];
  ssize_t got = ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(offset));
  if (got < 0) return ErrnoError("cannot read", path, errno);
  return DetectCompression(std::string_view(buf, static_cast<size_t>(got)));
}

namespace {

// Writes `data` to a new file beside `path` and renames it over `path`.
// The new file is created with `mode` (less the umask); `keep`, when given,
// is the file being replaced, whose mode (and, for root, owner) it takes.
Status ReplaceFile(const std::string& path, std::string_view data, mode_t mode,
                   const struct stat* keep) {
  std::string tmp = TempBeside(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  UniqueFd owner(fd);
  Status written = PwriteAll(fd, data.data(), data.size(), 0, tmp);
  if (written.ok() && keep != nullptr) {
    if (::geteuid() == 0) (void)::fchown(fd, keep->st_uid, keep->st_gid);
    (void)::fchmod(fd, keep->st_mode & 07777);
  }
  owner.Reset();
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename to", path, err);
  }
  return Status::Ok();
}

bool IsUnderSpecialTree(const std::filesystem::path& p) {
  const std::string abs = std::filesystem::absolute(p).lexically_normal().string();
  for (const char* tree : {"/dev", "/proc"}) {
    const std::string_view t = tree;
    if (abs == t || (abs.size() > t.size() && abs.compare(0, t.size(), t) == 0 &&
                     abs[t.size()] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  return ReplaceFile(path, data, 0600, nullptr);
}

Result<OutputPath> ResolveOutputPath(const std::string& path) {
  namespace fs = std::filesystem;
  OutputPath out;
  fs::path p = path;
  for (int hops = 0;; ++hops) {
    out.through_special = out.through_special || IsUnderSpecialTree(p);
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) break;
    if (hops == 40) return ErrnoError("cannot follow the links of", path, ELOOP);
    std::error_code ec;
    fs::path target = fs::read_symlink(p, ec);
    if (ec) return ErrnoError("cannot read the link", p.string(), ec.value());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  out.real = p.string();
  return out;
}

Status WriteUserNamedFile(const std::string& path, std::string_view data) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) return ErrnoError("cannot write", path, EISDIR);
  PPA_ASSIGN_OR_RETURN(OutputPath out, ResolveOutputPath(path));
  if (exists && (!S_ISREG(st.st_mode) || out.through_special)) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("cannot open", path, errno);
    UniqueFd owner(fd);
    size_t done = 0;
    while (done < data.size()) {  // write, not pwrite: a FIFO or a terminal has no offset
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoError("cannot write", path, n < 0 ? errno : EIO);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  return ReplaceFile(out.real, data, 0666, exists ? &st : nullptr);
}

Status CopyFile(const std::string& from, const std::string& to) {
  PPA_ASSIGN_OR_RETURN(UniqueFd in, OpenForRead(from));
  std::string tmp = TempBeside(to);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  UniqueFd out(fd);
  std::string buf(1 << 20, '\0');
  for (uint64_t offset = 0;;) {
    long got = PreadFull(in.get(), buf.data(), buf.size(), offset);
    Status s = got < 0 ? ErrnoError("cannot read", from, errno)
                       : PwriteAll(fd, buf.data(), static_cast<size_t>(got), offset, tmp);
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
    if (got < static_cast<long>(buf.size())) break;
    offset += static_cast<uint64_t>(got);
  }
  out.Reset();
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot rename to", to, err);
  }
  return Status::Ok();
}

MappedFile MappedFile::Map(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return {};
  const auto size = static_cast<uint64_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return {};
  ::madvise(p, size, MADV_SEQUENTIAL);  // read ahead of the faults
  MappedFile m;
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = size;
  return m;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (data_) ::munmap(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

namespace {

// The whole pages of the mapping `base` that hold [offset, offset + size).
std::pair<uint8_t*, size_t> PagesOf(uint8_t* base, uint64_t offset, uint64_t size) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first = offset / page * page;
  return {base + first, static_cast<size_t>(offset + size - first)};
}

}  // namespace

bool MappedFile::Populate(uint64_t offset, uint64_t size) const {
  if (size == 0) return true;
  if (offset + size > size_) return false;
  auto [at, length] = PagesOf(data_, offset, size);
#ifdef MADV_POPULATE_READ
  // One call maps every page (no fault per page); EFAULT: past the file's end.
  if (::madvise(at, length, MADV_POPULATE_READ) != 0) return errno != EFAULT;
#endif
  return true;  // an older kernel: the pages fault in as they are read
}

void MappedFile::Release(uint64_t offset, uint64_t size) const {
  // Never past the mapping: whatever is mapped after it is not ours to drop.
  if (offset >= size_) return;
  size = std::min(size, size_ - offset);
  if (size == 0) return;
  auto [at, length] = PagesOf(data_, offset, size);
  ::madvise(at, length, MADV_DONTNEED);
}

long PreadFull(int fd, char* buf, size_t size, uint64_t offset) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, buf + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<long>(got);
}

Status PwriteAll(int fd, const char* data, size_t size, uint64_t offset, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      Status error = ErrnoError("cannot write", path, err);
      if (err == ENOSPC || err == EDQUOT) {
        return error.WithHint("the file system holding it is full: free some space there, or "
                              "pass --workdir DIR on a disk with more room");
      }
      return error;
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace ppa
