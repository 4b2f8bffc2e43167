#include "archive/tar/unpack.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <optional>

#include "base/ascii.h"
#include "base/confined.h"
#include "archive/inflate/fast_inflate.h"
#include "base/file_util.h"
#include "archive/tar/libarchive_internal.h"
#include "archive/tar/safe_path.h"

namespace ppa {
namespace {

using internal::CheckArchive;

constexpr size_t kReadBlock = 1 << 20;

Status Unsafe(const std::string& entry, const std::string& why) {
  return UnsafeArchive("entry '" + entry + "' " + why);
}

// A failed system call on the entry `path`: a name the file system cannot
// hold is the archive's fault (exit 3), anything else is our disk's.
Status EntryError(const std::string& what, const std::string& path, int err) {
  if (err == ENAMETOOLONG) return Unsafe(path, "has a name longer than the file system allows");
  if (err == EILSEQ) return Unsafe(path, "has a name the file system cannot store");
  return ErrnoError(what, path, err);
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
        return EntryError("cannot create directory", path, errno);
      }
      fd = ::openat(current.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) return Unsafe(path, "goes through a symlink or a file");
      return EntryError("cannot open directory for", path, errno);
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
  if (errno != EEXIST) return EntryError("cannot create directory", path, errno);
  struct stat st {};
  if (::fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    return Unsafe(path, "is a directory over an existing file or symlink");
  }
  return Status::Ok();
}

// The next block of an entry's data into `data` at `offset` of the file;
// false at its end.
using NextBlock = std::function<Result<bool>(std::string_view& data, uint64_t& offset)>;

// The limits of one run, with the defaults filled in.
struct Limits {
  InflationBudget* budget;
  uint64_t max_entries;
  // Set for an archive read from a pipe without a given limit: the bytes
  // read from it so far. The budget's limit then follows them
  // (DefaultUnpackLimit), and a file is charged as its data passes, not
  // at its header (its size says nothing about the bytes read by then).
  std::function<uint64_t()> input_bytes;
  // Set for an archive read from a pipe: the bytes read from it so far, told
  // to UnpackOptions::on_input_read as they grow.
  std::function<uint64_t()> read_so_far;
};

class Unpacker {
 public:
  // `a`, `archive_path` must outlive the Unpacker; `root` (the directory
  // `root_path`) is borrowed.
  Unpacker(struct archive* a, int root, std::string root_path, const std::string& archive_path,
           Limits limits, const UnpackOptions& options)
      : a_(a), root_(root), root_path_(std::move(root_path)), archive_path_(archive_path),
        limits_(limits),
        on_file_(options.on_file), on_file_begin_(options.on_file_begin),
        on_data_(options.on_data), select_(options.select),
        on_input_read_(limits_.read_so_far ? options.on_input_read : nullptr) {}

  // One entry of the archive (a_), its data read from a_.
  Status Entry(struct archive_entry* entry) {
    const char* raw = archive_entry_pathname(entry);
    const char* hard = archive_entry_hardlink(entry);
    const char* link = archive_entry_symlink(entry);
    // The logical size, holes included: a sparse entry counts for all it
    // claims before a byte of it is written.
    const uint64_t size = archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0
                              ? static_cast<uint64_t>(archive_entry_size(entry))
                              : 0;
    return Common(raw ? raw : "", archive_entry_filetype(entry), size, link ? link : "", hard,
                  [this](const std::string& path) { return ArchiveBlocks(path); });
  }

  // One entry of a directory given as the archive: `type` an AE_IF* type,
  // `link_target` a symlink's target, `blocks` the data of a regular file.
  Status DiskEntry(const std::string& rel, unsigned type, uint64_t size,
                   const std::string& link_target, const NextBlock& blocks) {
    return Common(rel, type, size, link_target, nullptr,
                  [&blocks](const std::string&) { return blocks; });
  }

  UnpackResult& result() { return result_; }

 private:
  Status Common(const std::string& raw, unsigned type, uint64_t size, const std::string& link,
                const char* hard, const std::function<NextBlock(const std::string&)>& blocks) {
    if (++entries_ > limits_.max_entries) {
      return Unsafe(raw, "is one entry too many: the archive has more than " +
                             std::to_string(limits_.max_entries) + " entries");
    }
    PPA_ASSIGN_OR_RETURN(std::string path, SanitizeEntryPath(raw));
    if (path.empty()) return Status::Ok();
    name_bytes_ += path.size();
    if (name_bytes_ > kMaxEntryNameBytes) {
      return Unsafe(path, "takes the archive's entry names past " +
                              std::to_string(kMaxEntryNameBytes) + " bytes");
    }
    if (select_ && type != AE_IFDIR && !select_(path)) {
      return Status::Ok();  // libarchive skips its data at the next header
    }
    if (hard) return HardLink(path, hard);
    switch (type) {
      case AE_IFDIR: return MakeDirectory(root_, path);
      case AE_IFREG:
        declared_ = size;
        charged_ = 0;
        if (!limits_.input_bytes) {
          PPA_RETURN_IF_ERROR(Charge(path, declared_));
          charged_ = declared_;
        }
        PPA_RETURN_IF_ERROR(RegularFile(path, blocks(path)));
        // A file read from a pipe counts at its logical size too (a sparse
        // entry's holes at the end).
        if (declared_ > charged_) return Charge(path, declared_ - charged_);
        return Status::Ok();
      case AE_IFLNK: return SymLink(path, link.c_str());
      default: return Unsafe(path, "is a device node, FIFO or socket");
    }
  }

  // The data blocks of the current entry of a_.
  NextBlock ArchiveBlocks(const std::string& path) {
    return [this, path](std::string_view& data, uint64_t& offset) -> Result<bool> {
      const void* block = nullptr;
      size_t size = 0;
      int64_t at = 0;
      int rc = archive_read_data_block(a_, &block, &size, &at);
      if (rc == ARCHIVE_EOF) return false;
      PPA_RETURN_IF_ERROR(
          CheckArchive(a_, rc, "cannot read '" + path + "' from '" + archive_path_ + "'"));
      data = std::string_view(static_cast<const char*>(block), size);
      offset = static_cast<uint64_t>(at);
      return true;
    };
  }

  Status RegularFile(const std::string& path, const NextBlock& blocks) {
    std::string leaf;
    PPA_ASSIGN_OR_RETURN(UniqueFd parent, OpenParentDir(root_, path, true, leaf));
    if (on_file_begin_) on_file_begin_(path);
    PPA_RETURN_IF_ERROR(ClearLeaf(parent.get(), leaf, path));
    int fd = ::openat(parent.get(), leaf.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return EntryError("cannot create", OnDisk(path), errno);
    UniqueFd file(fd);
    Status copied = CopyData(fd, path, blocks);
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
  Status CopyData(int fd, const std::string& path, const NextBlock& blocks) {
    const std::string on_disk = OnDisk(path);  // for messages
    uint64_t end = 0;  // of the data passed to on_data_
    const UnpackOptions::BlockWriter write = [&](uint64_t at, std::string_view bytes) {
      return PwriteAll(fd, bytes.data(), bytes.size(), at, on_disk);
    };
    while (true) {
      std::string_view data;
      uint64_t offset = 0;
      PPA_ASSIGN_OR_RETURN(const bool more, blocks(data, offset));
      if (!more) break;
      const size_t size = data.size();
      // Bytes past the declared size (never in a well-formed tar) count too;
      // read from a pipe, every byte up to here counts as it passes.
      const uint64_t seen = offset + size;
      if (seen > charged_) {
        PPA_RETURN_IF_ERROR(Charge(path, seen - charged_));
        charged_ = seen;
      }
      declared_ = std::max(declared_, seen);
      if (!on_data_) {
        PPA_RETURN_IF_ERROR(PwriteAll(fd, data.data(), size, offset, on_disk));
        continue;
      }
      end = std::max(end, offset + size);
      PPA_RETURN_IF_ERROR(on_data_(path, offset, data, write));
    }
    // Parts the hook left out at the end still count in the file's size.
    if (on_data_ && ::ftruncate(fd, static_cast<off_t>(end)) != 0) {
      return ErrnoError("cannot write", on_disk, errno);
    }
    return Status::Ok();
  }

  // Takes `bytes` of the entry `path` from the budget.
  Status Charge(const std::string& path, uint64_t bytes) {
    result_.unpacked_bytes += bytes;
    if (limits_.input_bytes) limits_.budget->RaiseLimit(DefaultUnpackLimit(limits_.input_bytes()));
    if (on_input_read_) on_input_read_(limits_.read_so_far());
    Status charged = limits_.budget->Charge(bytes, path);
    if (!charged.ok()) return charged.WithContext("entry '" + path + "'");
    return Status::Ok();
  }

  // The link `path` resolved on disk, beneath the root: a link that leads
  // out of the tree through the links before it, or a loop, is unsafe. A
  // link whose target does not exist (yet) passes, and is checked again
  // once the archive is complete (CheckLinks).
  Status CheckLinkOnDisk(const std::string& path) const {
    auto fd = OpenBeneath(root_, path, O_PATH, 0, path);
    if (fd.ok() || fd.status().code() == StatusCode::kNotFound) return Status::Ok();
    if (fd.status().code() == StatusCode::kUnsafeArchive) {
      return Unsafe(path, "is a link that leads outside the archive on disk (through other "
                          "links) or into a loop");
    }
    return fd.status();
  }

 public:
  // Every link of the archive once it is complete: a later entry (another
  // link, a directory) can change where an earlier link leads.
  Status CheckLinks() const {
    for (const auto& path : links_) PPA_RETURN_IF_ERROR(CheckLinkOnDisk(path));
    return Status::Ok();
  }

 private:
  Status SymLink(const std::string& path, const char* target) {
    PPA_RETURN_IF_ERROR(ResolveLinkTarget(path, target ? target : "").status());
    std::string leaf;
    PPA_ASSIGN_OR_RETURN(UniqueFd parent, OpenParentDir(root_, path, true, leaf));
    if (on_file_begin_) on_file_begin_(path);
    PPA_RETURN_IF_ERROR(ClearLeaf(parent.get(), leaf, path));
    if (::symlinkat(target, parent.get(), leaf.c_str()) != 0) {
      return EntryError("cannot create symlink", path, errno);
    }
    links_.push_back(path);
    return CheckLinkOnDisk(path);
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
      return EntryError("cannot create hard link", path, errno);
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
  std::function<void(uint64_t)> on_input_read_;  // set only for a pipe (Limits::read_so_far)
  uint64_t entries_ = 0;
  uint64_t name_bytes_ = 0;         // of the entry names so far
  uint64_t declared_ = 0;           // logical size of the regular file being written
  uint64_t charged_ = 0;            // bytes of it charged to the budget so far
  std::vector<std::string> links_;  // symlinks made, for CheckLinks
  UnpackResult result_;
};

// Folders nested deeper than this in a directory given as the archive are
// refused (a PPA archive is three levels deep).
constexpr int kMaxDirectoryDepth = 64;

// The names in the directory `dir_fd` (not . and ..), sorted, the PPA
// manifests first (later stages start on the images once they are seen,
// as with an archive that carries them first).
Result<std::vector<std::string>> SortedNames(int dir_fd, const std::string& shown) {
  int fd = ::dup(dir_fd);
  if (fd < 0) return ErrnoError("cannot read directory", shown, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return ErrnoError("cannot read directory", shown, errno);
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  auto rank = [](const std::string& n) { return n == "manifest.yaml" || n == "manifest.json" ? 0 : 1; };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return std::make_pair(rank(a), a) < std::make_pair(rank(b), b);
  });
  return names;
}

// Feeds every entry below `rel_dir` of the directory `src` (given as the
// archive at `shown`) to the unpacker, reading each file beneath `src`
// (OpenBeneath): nothing is followed out of it, and nothing in it is
// written. Symbolic links are passed on as links, which Unpack checks as it
// checks an archive's.
Status WalkDirectory(int src, const std::string& shown, const std::string& rel_dir, int depth,
                     Unpacker& unpacker) {
  if (depth > kMaxDirectoryDepth) {
    return Unsafe(rel_dir, "is nested more than " + std::to_string(kMaxDirectoryDepth) +
                               " folders deep");
  }
  PPA_ASSIGN_OR_RETURN(UniqueFd dir,
                       OpenBeneath(src, rel_dir.empty() ? "." : rel_dir,
                                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, shown + "/" + rel_dir));
  PPA_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedNames(dir.get(), shown));
  for (const auto& name : names) {
    const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    struct stat st {};
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("cannot look at", shown + "/" + rel, errno);
    }
    if (S_ISDIR(st.st_mode)) {
      PPA_RETURN_IF_ERROR(unpacker.DiskEntry(rel, AE_IFDIR, 0, "", nullptr));
      PPA_RETURN_IF_ERROR(WalkDirectory(src, shown, rel, depth + 1, unpacker));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = ::readlinkat(dir.get(), name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError("cannot read link", shown + "/" + rel, errno);
      target.resize(static_cast<size_t>(n));
      PPA_RETURN_IF_ERROR(unpacker.DiskEntry(rel, AE_IFLNK, 0, target, nullptr));
    } else if (S_ISREG(st.st_mode)) {
      PPA_ASSIGN_OR_RETURN(UniqueFd file,
                           OpenBeneath(src, rel, O_RDONLY | O_NOFOLLOW, 0, shown + "/" + rel));
      std::string buffer(kReadBlock, '\0');
      uint64_t at = 0;
      const std::string where = shown + "/" + rel;
      NextBlock blocks = [&](std::string_view& data, uint64_t& offset) -> Result<bool> {
        long n = PreadFull(file.get(), buffer.data(), buffer.size(), at);
        if (n < 0) return ErrnoError("cannot read", where, errno);
        if (n == 0) return false;
        data = std::string_view(buffer.data(), static_cast<size_t>(n));
        offset = at;
        at += static_cast<uint64_t>(n);
        return true;
      };
      PPA_RETURN_IF_ERROR(
          unpacker.DiskEntry(rel, AE_IFREG, static_cast<uint64_t>(st.st_size), "", blocks));
    } else {
      PPA_RETURN_IF_ERROR(unpacker.DiskEntry(rel, 0, 0, "", nullptr));  // refused
    }
  }
  return Status::Ok();
}

// The bytes of the regular files below `dir` (not following links).
uint64_t TreeBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) total += st.st_size;
  }
  return total;
}

// A failure to read `archive_path` as an archive (kInvalidInput from
// libarchive) said in words a user can act on; other errors (unsafe
// entries, our disk, a file cut while mapped) come back unchanged.
Status Unreadable(const std::string& archive_path, const Status& error) {
  if (error.ok() || error.code() != StatusCode::kInvalidInput) return error;
  char head[512] = {};
  long got = 0;
  uint64_t size = 0;
  auto fd = OpenForRead(archive_path);
  struct stat st {};
  if (fd.ok() && ::fstat(fd->get(), &st) == 0) {
    size = static_cast<uint64_t>(st.st_size);
    got = std::max(0L, PreadFull(fd->get(), head, sizeof head, 0));
  }
  return DescribeUnreadableArchive(archive_path, std::string_view(head, got), size,
                                   error.message());
}

bool LooksLikeText(std::string_view head) {
  return !head.empty() && std::all_of(head.begin(), head.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || c == '\n' || c == '\r' || c == '\t';
  });
}

}  // namespace

Status DescribeUnreadableArchive(const std::string& archive_path, std::string_view head,
                                 uint64_t size, const std::string& detail) {
  const std::string name =
      IsStdinArchive(archive_path) ? "standard input" : "'" + archive_path + "'";
  const std::string kDownloadHint =
      "download the archive again and compare its size and checksum with the ones Passport "
      "Advantage publishes";
  if (size == 0) {
    return InvalidInput(name + " is empty (0 bytes), not a tar or compressed tar archive",
                        kDownloadHint);
  }
  if (head.starts_with("PK\x03\x04") || head.starts_with("PK\x05\x06")) {
    return InvalidInput(name + " is a zip file, not a tar or compressed tar archive",
                        "unzip it and pass the PPA archive (.tgz) inside it");
  }
  const bool compressed = DetectCompression(head) != Compression::kNone;
  const bool tar = head.size() >= 263 && head.substr(257, 5) == "ustar";
  if (!compressed && !tar) {
    std::string what = LooksLikeText(head.substr(0, 64)) ? "it starts with text: '" +
                                                               std::string(head.substr(0, 40)) + "'"
                                                         : "unknown content";
    for (char& c : what) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    if (size_t quote = what.rfind('\''); quote != std::string::npos && quote > 0) {
      size_t last = what.find_last_not_of(' ', quote - 1);
      what.erase(last + 1, quote - last - 1);  // no blanks before the closing quote
    }
    return InvalidInput(name + " is not a tar or compressed tar archive (" + what + ")",
                        "pass the PPA archive itself (a .tgz), not a page or a checksum file; " +
                            kDownloadHint);
  }
  const std::string lower = AsciiLower(detail);
  for (const char* word : {"truncat", "premature", "unexpected end", "end of file", "eof"}) {
    if (lower.find(word) != std::string::npos) {
      return InvalidInput(name + " is truncated at byte " + std::to_string(size) +
                              ": the file ends before the archive does (" + detail + ")",
                          "the download or copy was cut short; " + kDownloadHint);
    }
  }
  return InvalidInput(name + " is damaged: " + detail, kDownloadHint);
}

uint64_t InflationLimitOf(const std::string& archive_path, uint64_t max_unpacked_bytes) {
  if (max_unpacked_bytes) return max_unpacked_bytes;
  if (IsStdinArchive(archive_path)) return DefaultUnpackLimit(0);  // raised as it is read
  struct stat st {};
  if (::stat(archive_path.c_str(), &st) != 0) return DefaultUnpackLimit(0);
  // An extracted archive: the size of what it holds.
  return DefaultUnpackLimit(S_ISDIR(st.st_mode) ? TreeBytes(archive_path) : st.st_size);
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

namespace {

// UnpackArchive of a directory: its files copied (read beneath it) into
// `dest_dir` with the same checks and hooks as an archive's entries.
Result<UnpackResult> UnpackDirectory(const std::string& src_dir, const std::string& dest_dir,
                                     const UnpackOptions& options) {
  UniqueFd src(::open(src_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.valid()) return ErrnoError("cannot open directory", src_dir, errno);
  UniqueFd root(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return ErrnoError("cannot open work directory", dest_dir, errno);
  std::optional<InflationBudget> own_budget;
  InflationBudget* budget = options.budget;
  if (!budget) budget = &own_budget.emplace(InflationLimitOf(src_dir, options.max_unpacked_bytes));
  Limits limits{.budget = budget,
                .max_entries = options.max_entries ? options.max_entries : kDefaultMaxEntries};
  Unpacker unpacker(nullptr, root.get(), dest_dir, src_dir, limits, options);
  Status walked = WalkDirectory(src.get(), src_dir, "", 0, unpacker);
  if (walked.ok()) walked = unpacker.CheckLinks();
  if (!walked.ok()) return walked.WithContext("directory '" + src_dir + "'");
  return std::move(unpacker.result());
}

}  // namespace

uint64_t DefaultUnpackLimit(uint64_t archive_bytes, uint64_t floor_bytes) {
  uint64_t scaled = archive_bytes > kUnpackCapBytes / kUnpackRatio ? kUnpackCapBytes
                                                                   : archive_bytes * kUnpackRatio;
  return std::min(std::max(scaled, floor_bytes), kUnpackCapBytes);
}

Result<UnpackResult> UnpackArchive(const std::string& archive_path, const std::string& dest_dir,
                                   const UnpackOptions& options) {
  const bool stdin_archive = IsStdinArchive(archive_path);
  if (!stdin_archive && IsDirectory(archive_path)) {
    return UnpackDirectory(archive_path, dest_dir, options);
  }
  internal::InflateReport inflate;  // before the reader: filled in when it is closed
  internal::ArchiveReader a = internal::NewTarReader();
  // A pipe cannot be read again to say why it is unreadable: its first
  // bytes and the count read are kept as it is read.
  auto unreadable = [&](const Status& error) {
    if (!stdin_archive || error.ok() || error.code() != StatusCode::kInvalidInput) {
      return Unreadable(archive_path, error);
    }
    return DescribeUnreadableArchive("-", inflate.head, inflate.input_bytes.load(),
                                     error.message());
  };
  PPA_RETURN_IF_ERROR(unreadable(CheckArchive(
      a.get(),
      internal::OpenArchiveFast(a.get(), archive_path, kReadBlock,
                                stdin_archive ? nullptr : &options.inflate_index, &inflate),
      "cannot read archive '" + archive_path + "'")));
  int root = ::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (root < 0) return ErrnoError("cannot open work directory", dest_dir, errno);
  UniqueFd root_fd(root);
  std::optional<InflationBudget> own_budget;
  InflationBudget* budget = options.budget;
  if (!budget) {
    budget = &own_budget.emplace(InflationLimitOf(archive_path, options.max_unpacked_bytes));
  }
  Limits limits{.budget = budget,
                .max_entries = options.max_entries ? options.max_entries : kDefaultMaxEntries};
  if (stdin_archive && !options.limit_given && !(options.max_unpacked_bytes && !options.budget)) {
    limits.input_bytes = [&inflate] { return inflate.input_bytes.load(); };
  }
  if (stdin_archive) limits.read_so_far = [&inflate] { return inflate.input_bytes.load(); };
  Unpacker unpacker(a.get(), root, dest_dir, archive_path, limits, options);
  while (true) {
    struct archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    PPA_RETURN_IF_ERROR(unreadable(
        CheckArchive(a.get(), rc, "archive '" + archive_path + "' is not a readable tar archive")));
    Status s = unpacker.Entry(entry);
    if (s.code() == StatusCode::kInvalidInput && s.message().starts_with("cannot read '")) {
      return unreadable(s);  // the data of an entry (CopyData)
    }
    if (!s.ok()) return s.WithContext("archive '" + archive_path + "'");
  }
  Status links = unpacker.CheckLinks();
  if (!links.ok()) return links.WithContext("archive '" + archive_path + "'");
  inflate.completed = true;
  archive_read_close(a.get());  // fills in `inflate`
  UnpackResult result = std::move(unpacker.result());
  result.inflate_checkpoints_written = inflate.checkpoints_written;
  result.inflate_segments_verified = inflate.segments_verified;
  return result;
}

namespace {

Status DecompressInto(const std::string& src_path, const std::string& dest_path,
                      InflationBudget& budget) {
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
    Status charged = budget.Charge(static_cast<uint64_t>(n), src_path);
    if (!charged.ok()) return charged;
    PPA_RETURN_IF_ERROR(PwriteAll(fd, buf.data(), static_cast<size_t>(n),
                                  static_cast<uint64_t>(offset), dest_path));
    offset += n;
  }
  return Status::Ok();
}

}  // namespace

Status DecompressFile(const std::string& src_path, const std::string& dest_path,
                      InflationBudget& budget) {
  // A budget already spent inflates nothing more.
  if (budget.exceeded()) return budget.ExceededError(src_path);
  Status s = DecompressInto(src_path, dest_path, budget);
  if (!s.ok()) ::unlink(dest_path.c_str());  // no partial file stays behind
  return s;
}

Status DecompressFile(const std::string& src_path, const std::string& dest_path,
                      uint64_t max_bytes) {
  if (max_bytes == 0) {
    auto src = OpenForRead(src_path);
    struct stat st {};
    max_bytes = DefaultUnpackLimit(src.ok() && ::fstat(src->get(), &st) == 0 ? st.st_size : 0);
  }
  InflationBudget budget(max_bytes);
  return DecompressFile(src_path, dest_path, budget);
}

void InflationBudget::RaiseLimit(uint64_t limit) {
  uint64_t now = limit_.load();
  while (now < limit && !limit_.compare_exchange_weak(now, limit)) {
  }
}

Status InflationBudget::Charge(uint64_t bytes, const std::string& what) {
  const uint64_t total = used_.fetch_add(bytes) + bytes;
  if (total > limit_ || total < bytes) exceeded_ = true;
  return exceeded_ ? ExceededError(what) : Status::Ok();
}

Status InflationBudget::ExceededError(const std::string& what) const {
  return UnsafeArchive("'" + what + "' takes what the archive inflates to past " +
                           std::to_string(limit_.load()) + " bytes (a decompression bomb?)",
                       "raise the limit with --max-unpacked-size if the archive is trusted");
}

}  // namespace ppa
