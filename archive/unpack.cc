#include "archive/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "archive/fast_inflate.h"
#include "archive/file_util.h"
#include "archive/libarchive_internal.h"
#include "archive/safe_path.h"

namespace ppa {
namespace {

using internal::CheckArchive;

constexpr size_t kReadBlock = 1 << 20;

Status Unsafe(const std::string& entry, const std::string& why) {
  return UnsafeArchive("entry '" + entry + "' " + why);
}

// Opens (creating when asked) the directory holding `path` below `root`,
// never following a symlink. `leaf` receives the last component.
Result<UniqueFd> OpenParentDir(int root, const std::string& path, bool create,
                               std::string& leaf) {
  UniqueFd current(::dup(root));
  if (!current.valid()) return ErrnoError("cannot duplicate directory handle for", path, errno);
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) {
      leaf = path.substr(start);
      return current;
    }
    std::string part = path.substr(start, slash - start);
    start = slash + 1;
    int fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(current.get(), part.c_str(), 0700) != 0 && errno != EEXIST) {
        return ErrnoError("cannot create directory", path, errno);
      }
      fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) return Unsafe(path, "goes through a symlink or a file");
      return ErrnoError("cannot open directory for", path, errno);
    }
    current = UniqueFd(fd);
  }
}

// Removes whatever non-directory sits at `leaf` (an earlier entry of the same
// name), so that the new entry never writes through it.
Status ClearLeaf(int dir, const std::string& leaf, const std::string& path) {
  struct stat st {};
  if (::fstatat(dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Status::Ok();
  if (S_ISDIR(st.st_mode)) return Unsafe(path, "replaces a directory");
  if (::unlinkat(dir, leaf.c_str(), 0) != 0) return ErrnoError("cannot replace", path, errno);
  return Status::Ok();
}

Status MakeDirectory(int root, const std::string& path) {
  std::string leaf;
  PPA_ASSIGN_OR_RETURN(UniqueFd parent, OpenParentDir(root, path, true, leaf));
  if (::mkdirat(parent.get(), leaf.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST) return ErrnoError("cannot create directory", path, errno);
  struct stat st {};
  if (::fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    return Unsafe(path, "is a directory over an existing file or symlink");
  }
  return Status::Ok();
}

// The limits of one run, with the defaults filled in.
struct Limits {
  uint64_t max_bytes;
  uint64_t max_entries;
};

Limits ResolveLimits(const UnpackOptions& options, uint64_t archive_bytes) {
  return Limits{options.max_unpacked_bytes ? options.max_unpacked_bytes
                                           : DefaultUnpackLimit(archive_bytes),
                options.max_entries ? options.max_entries : kDefaultMaxEntries};
}

class Unpacker {
 public:
  // `a`, `archive_path` must outlive the Unpacker; `root` (the directory
  // `root_path`) is borrowed.
  Unpacker(struct archive* a, int root, std::string root_path, const std::string& archive_path,
           Limits limits, const UnpackOptions& options)
      : a_(a), root_(root), root_path_(std::move(root_path)), archive_path_(archive_path),
        limits_(limits),
        on_file_(options.on_file), on_file_begin_(options.on_file_begin),
        on_data_(options.on_data), select_(options.select) {}

  Status Entry(struct archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    if (++entries_ > limits_.max_entries) {
      return Unsafe(raw ? raw : "", "is one entry too many: the archive has more than " +
                                        std::to_string(limits_.max_entries) + " entries");
    }
    PPA_ASSIGN_OR_RETURN(std::string path, SanitizeEntryPath(raw ? raw : ""));
    if (path.empty()) return Status::Ok();
    if (select_ && archive_entry_filetype(entry) != AE_IFDIR && !select_(path)) {
      return Status::Ok();  // libarchive skips its data at the next header
    }
    if (const char* hard = archive_entry_hardlink(entry)) return HardLink(path, hard);
    switch (archive_entry_filetype(entry)) {
      case AE_IFDIR: return MakeDirectory(root_, path);
      case AE_IFREG: return RegularFile(path);
      case AE_IFLNK: return SymLink(path, archive_entry_symlink(entry));
      default: return Unsafe(path, "is a device node, FIFO or socket");
    }
  }

  UnpackResult& result() { return result_; }

 private:
  Status RegularFile(const std::string& path) {
    std::string leaf;
    PPA_ASSIGN_OR_RETURN(UniqueFd parent, OpenParentDir(root_, path, true, leaf));
    if (on_file_begin_) on_file_begin_(path);
    PPA_RETURN_IF_ERROR(ClearLeaf(parent.get(), leaf, path));
    int fd = ::openat(parent.get(), leaf.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("cannot create", OnDisk(path), errno);
    UniqueFd file(fd);
    Status copied = CopyData(fd, path);
    if (!copied.ok()) {
      file.Reset();
      (void)::unlinkat(parent.get(), leaf.c_str(), 0);  // no partial file stays behind
      return copied;
    }
    result_.files.push_back(path);
    file.Reset();
    if (on_file_) on_file_(path);
    return Status::Ok();
  }

  // Copies the current entry's data to `fd`, enforcing the size limit.
  Status CopyData(int fd, const std::string& path) {
    const std::string on_disk = OnDisk(path);  // for messages
    const void* block = nullptr;
    size_t size = 0;
    int64_t offset = 0;
    uint64_t end = 0;  // of the data passed to on_data_
    const UnpackOptions::BlockWriter write = [&](uint64_t at, std::string_view bytes) {
      return PwriteAll(fd, bytes.data(), bytes.size(), at, on_disk);
    };
    while (true) {
      int rc = archive_read_data_block(a_, &block, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      PPA_RETURN_IF_ERROR(CheckArchive(a_, rc, "cannot read '" + path + "' from '" +
                                                   archive_path_ + "'"));
      result_.unpacked_bytes += size;
      if (result_.unpacked_bytes > limits_.max_bytes) {
        return UnsafeArchive("entry '" + path + "' takes the unpacked size past " +
                                 std::to_string(limits_.max_bytes) +
                                 " bytes (a decompression bomb?)",
                             "raise the limit with --max-unpacked-size if the archive is trusted");
      }
      std::string_view data(static_cast<const char*>(block), size);
      if (!on_data_) {
        PPA_RETURN_IF_ERROR(
            PwriteAll(fd, data.data(), size, static_cast<uint64_t>(offset), on_disk));
        continue;
      }
      end = std::max(end, static_cast<uint64_t>(offset) + size);
      PPA_RETURN_IF_ERROR(on_data_(path, static_cast<uint64_t>(offset), data, write));
    }
    // Parts the hook left out at the end still count in the file's size.
    if (on_data_ && ::ftruncate(fd, static_cast<off_t>(end)) != 0) {
      return ErrnoError("cannot write", on_disk, errno);
    }
    return Status::Ok();
  }

  Status SymLink(const std::string& path, const char* target) {
    PPA_RETURN_IF_ERROR(ResolveLinkTarget(path, target ? target : "").status());
    std::string leaf;
    PPA_ASSIGN_OR_RETURN(UniqueFd parent, OpenParentDir(root_, path, true, leaf));
    if (on_file_begin_) on_file_begin_(path);
    PPA_RETURN_IF_ERROR(ClearLeaf(parent.get(), leaf, path));
    if (::symlinkat(target, parent.get(), leaf.c_str()) != 0) {
      return ErrnoError("cannot create symlink", path, errno);
    }
    return Status::Ok();
  }

  Status HardLink(const std::string& path, const char* target_raw) {
    auto target = SanitizeEntryPath(target_raw);
    if (!target.ok() || target->empty()) {
      return Unsafe(path, std::string("is a hard link outside the archive ('") + target_raw + "')");
    }
    std::string target_leaf, leaf;
    PPA_ASSIGN_OR_RETURN(UniqueFd target_dir, OpenParentDir(root_, *target, false, target_leaf));
    struct stat st {};
    if (::fstatat(target_dir.get(), target_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      return Unsafe(path, "is a hard link to '" + *target + "', which is not a file of the archive");
    }
    PPA_ASSIGN_OR_RETURN(UniqueFd parent, OpenParentDir(root_, path, true, leaf));
    if (on_file_begin_) on_file_begin_(path);
    PPA_RETURN_IF_ERROR(ClearLeaf(parent.get(), leaf, path));
    if (::linkat(target_dir.get(), target_leaf.c_str(), parent.get(), leaf.c_str(), 0) != 0) {
      return ErrnoError("cannot create hard link", path, errno);
    }
    result_.files.push_back(path);
    return Status::Ok();
  }

  struct archive* a_;
  // Where the entry `path` is written, for messages ("disk full" must say where).
  std::string OnDisk(const std::string& path) const { return root_path_ + "/" + path; }

  int root_;
  std::string root_path_;
  const std::string& archive_path_;
  Limits limits_;
  std::function<void(const std::string&)> on_file_;
  std::function<void(const std::string&)> on_file_begin_;
  decltype(UnpackOptions::on_data) on_data_;
  std::function<bool(const std::string&)> select_;
  uint64_t entries_ = 0;
  UnpackResult result_;
};

}  // namespace

uint64_t DefaultUnpackLimit(uint64_t archive_bytes, uint64_t floor_bytes) {
  uint64_t scaled = archive_bytes > kUnpackCapBytes / kUnpackRatio ? kUnpackCapBytes
                                                                   : archive_bytes * kUnpackRatio;
  return std::min(std::max(scaled, floor_bytes), kUnpackCapBytes);
}

Result<UnpackResult> UnpackArchive(const std::string& archive_path, const std::string& dest_dir,
                                   const UnpackOptions& options) {
  internal::InflateReport inflate;  // before the reader: filled in when it is closed
  internal::ArchiveReader a = internal::NewTarReader();
  PPA_RETURN_IF_ERROR(CheckArchive(
      a.get(),
      internal::OpenArchiveFast(a.get(), archive_path, kReadBlock, &options.inflate_index,
                                &inflate),
      "cannot read archive '" + archive_path + "'"));
  int root = ::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0) return ErrnoError("cannot open work directory", dest_dir, errno);
  UniqueFd root_fd(root);
  struct stat st {};
  uint64_t archive_bytes = ::stat(archive_path.c_str(), &st) == 0 ? st.st_size : 0;
  Unpacker unpacker(a.get(), root, dest_dir, archive_path, ResolveLimits(options, archive_bytes),
                    options);
  while (true) {
    struct archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    PPA_RETURN_IF_ERROR(
        CheckArchive(a.get(), rc, "archive '" + archive_path + "' is not a readable tar archive"));
    Status s = unpacker.Entry(entry);
    if (!s.ok()) return s.WithContext("archive '" + archive_path + "'");
  }
  inflate.completed = true;
  archive_read_close(a.get());  // fills in `inflate`
  UnpackResult result = std::move(unpacker.result());
  result.inflate_checkpoints_written = inflate.checkpoints_written;
  result.inflate_segments_verified = inflate.segments_verified;
  return result;
}

namespace {

Status DecompressInto(const std::string& src_path, const std::string& dest_path,
                      uint64_t max_bytes) {
  if (max_bytes == 0) {
    struct stat st {};
    max_bytes = DefaultUnpackLimit(::stat(src_path.c_str(), &st) == 0 ? st.st_size : 0);
  }
  internal::ArchiveReader a = internal::NewRawReader();
  PPA_RETURN_IF_ERROR(CheckArchive(
      a.get(), internal::OpenArchiveFast(a.get(), src_path, kReadBlock),
      "cannot read '" + src_path + "'"));
  struct archive_entry* entry = nullptr;
  PPA_RETURN_IF_ERROR(CheckArchive(a.get(), archive_read_next_header(a.get(), &entry),
                                   "cannot decompress '" + src_path + "'"));
  int fd = ::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", dest_path, errno);
  UniqueFd out(fd);
  std::string buf(kReadBlock, '\0');
  int64_t offset = 0;
  while (true) {
    la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
    if (n == 0) break;
    if (n < 0) {
      return CheckArchive(a.get(), static_cast<int>(n), "cannot decompress '" + src_path + "'");
    }
    if (static_cast<uint64_t>(offset + n) > max_bytes) {
      out.Reset();
      ::unlink(dest_path.c_str());
      return UnsafeArchive("'" + src_path + "' inflates past " + std::to_string(max_bytes) +
                               " bytes (a decompression bomb?)",
                           "raise the limit with --max-unpacked-size if the archive is trusted");
    }
    PPA_RETURN_IF_ERROR(PwriteAll(fd, buf.data(), static_cast<size_t>(n),
                                  static_cast<uint64_t>(offset), dest_path));
    offset += n;
  }
  return Status::Ok();
}

}  // namespace

Status DecompressFile(const std::string& src_path, const std::string& dest_path,
                      uint64_t max_bytes) {
  Status s = DecompressInto(src_path, dest_path, max_bytes);
  if (!s.ok()) ::unlink(dest_path.c_str());  // no partial file stays behind
  return s;
}

}  // namespace ppa
