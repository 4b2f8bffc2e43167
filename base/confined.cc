#include "base/confined.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "base/mutex.h"
#include "base/thread_annotations.h"

namespace ppa {
namespace {

// The confined directories of the process, innermost found by the longest
// path.
struct ConfinedRegistry {
  Mutex mutex;
  std::vector<const ConfinedDir*> dirs GUARDED_BY(mutex);
};

ConfinedRegistry& Registry() {
  static ConfinedRegistry* registry = new ConfinedRegistry;  // never destroyed
  return *registry;
}

// Without openat2 (Linux before 5.6): a walk from `dir_fd` that refuses
// every symbolic link and every "..", stricter than RESOLVE_BENEATH.
int OpenNoLinks(int dir_fd, std::string_view rel, int flags, mode_t mode) {
  int current = ::dup(dir_fd);
  if (current < 0) return -1;
  size_t start = 0;
  while (true) {
    size_t slash = rel.find('/', start);
    std::string part(rel.substr(start, slash == std::string_view::npos ? rel.npos : slash - start));
    if (part == "..") {
      ::close(current);
      errno = EXDEV;
      return -1;
    }
    const bool last = slash == std::string_view::npos;
    int next = last ? ::openat(current, part.empty() ? "." : part.c_str(),
                               flags | O_NOFOLLOW | O_CLOEXEC, mode)
                    : ::openat(current, part.empty() ? "." : part.c_str(),
                               O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    ::close(current);
    if (next < 0) {
      errno = err == ELOOP ? EXDEV : err;
      return -1;
    }
    if (last) return next;
    current = next;
    start = slash + 1;
  }
}

int OpenAt2(int dir_fd, const std::string& rel, int flags, mode_t mode) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  while (true) {
    long fd = ::syscall(SYS_openat2, dir_fd, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a rename raced the walk
    if (errno == ENOSYS) return OpenNoLinks(dir_fd, rel, flags, mode);
    return -1;
  }
}

}  // namespace

Result<UniqueFd> OpenBeneath(int dir_fd, std::string_view rel, int flags, mode_t mode,
                             const std::string& shown) {
  const std::string name = rel.empty() ? std::string(".") : std::string(rel);
  int fd = OpenAt2(dir_fd, name, flags, mode);
  if (fd >= 0) return UniqueFd(fd);
  const int err = errno;
  switch (err) {
    case EXDEV:
      return UnsafeArchive("'" + shown + "' resolves outside the archive (through a link)",
                           "the archive's links lead out of it: get a new copy of the archive "
                           "from its vendor");
    case ELOOP:
      return UnsafeArchive("'" + shown + "' goes through a link loop or a link it may not follow");
    case ENOENT: return NotFound(ErrnoError("cannot open", shown, err).message());
    default: return ErrnoError("cannot open", shown, err);
  }
}

Result<std::shared_ptr<ConfinedDir>> ConfinedDir::Confine(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir, errno);
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::shared_ptr<ConfinedDir> confined(new ConfinedDir(std::move(path), UniqueFd(fd)));
  ConfinedRegistry& registry = Registry();
  MutexLock lock(&registry.mutex);
  registry.dirs.push_back(confined.get());
  return confined;
}

ConfinedDir::~ConfinedDir() {
  ConfinedRegistry& registry = Registry();
  MutexLock lock(&registry.mutex);
  auto& dirs = registry.dirs;
  dirs.erase(std::remove(dirs.begin(), dirs.end(), this), dirs.end());
}

void PunchHole(const std::string& path, uint64_t offset, uint64_t size) {
  constexpr uint64_t kBlock = 4096;
  uint64_t start = (offset + kBlock - 1) / kBlock * kBlock;
  uint64_t end = (offset + size) / kBlock * kBlock;
  if (end <= start) return;
  auto fd = OpenFile(path, O_WRONLY | O_NOFOLLOW);
  if (!fd.ok()) return;
  (void)::fallocate(fd->get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(start), static_cast<off_t>(end - start));
}

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  UniqueFd dir;  // a duplicate: the ConfinedDir may go away meanwhile
  std::string rel;
  {
    ConfinedRegistry& registry = Registry();
    MutexLock lock(&registry.mutex);
    size_t best = 0;
    for (const ConfinedDir* d : registry.dirs) {
      const std::string& p = d->path();
      const bool below = path.size() > p.size() && path.compare(0, p.size(), p) == 0 &&
                         path[p.size()] == '/';
      if ((below || path == p) && p.size() >= best) {
        best = p.size();
        dir = UniqueFd(::dup(d->fd()));
        if (!dir.valid()) return ErrnoError("cannot duplicate the handle of", p, errno);
        rel = path.size() > p.size() ? path.substr(p.size() + 1) : std::string();
      }
    }
  }
  if (dir.valid()) return OpenBeneath(dir.get(), rel, flags, mode, path);
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd >= 0) return UniqueFd(fd);
  const int err = errno;
  if (err == ENOENT) return NotFound(ErrnoError("cannot open", path, err).message());
  return ErrnoError("cannot open", path, err);
}

Result<bool> IsRegularFile(const std::string& path) {
  auto fd = OpenFile(path, O_PATH);
  if (!fd.ok()) {
    if (fd.status().code() == StatusCode::kNotFound) return false;
    return fd.status();
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  return S_ISREG(st.st_mode);
}

}  // namespace ppa
