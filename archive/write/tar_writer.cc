#include "archive/write/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

#include "archive/tar/libarchive_internal.h"

namespace ppa {
namespace {

using internal::ArchiveWriter;
using ArchiveEntry = internal::ArchiveEntryPtr;

// What the libarchive write callback forwards to, and the first error seen
// (Status must not cross the C callback).
struct CallbackContext {
  ByteSink* sink = nullptr;
  Status status;
};

la_ssize_t WriteCallback(struct archive*, void* client, const void* buffer, size_t length) {
  auto* ctx = static_cast<CallbackContext*>(client);
  Status s = ctx->sink->Write(buffer, length);
  if (!s.ok()) {
    if (ctx->status.ok()) ctx->status = s;
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

Status Check(struct archive* a, int rc, const CallbackContext& ctx, const std::string& what) {
  if (rc >= ARCHIVE_WARN) return Status::Ok();
  if (!ctx.status.ok()) return ctx.status;
  const char* msg = archive_error_string(a);
  return IoError(what + ": " + (msg ? msg : "libarchive error"));
}

// Feeds an entry's data to archive_write_data and counts it.
class EntryDataSink : public ByteSink {
 public:
  EntryDataSink(struct archive* a, const CallbackContext& ctx) : a_(a), ctx_(ctx) {}
  using ByteSink::Write;
  Status Write(const void* data, size_t size) override {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
      const la_ssize_t n = archive_write_data(a_, p, size);
      if (n <= 0) return Check(a_, ARCHIVE_FATAL, ctx_, "tar data");
      p += n;
      size -= static_cast<size_t>(n);
      written_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }
  uint64_t written() const { return written_; }

 private:
  struct archive* a_;
  const CallbackContext& ctx_;
  uint64_t written_ = 0;
};

ArchiveEntry MakeHeader(const TarWriteEntry& e, int64_t mtime) {
  ArchiveEntry entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), e.path.c_str());
  archive_entry_set_mtime(entry.get(), mtime, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  switch (e.type) {
    case TarWriteEntry::Type::kFile:
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_size(entry.get(),
                             static_cast<la_int64_t>(e.producer ? e.size : e.data.size()));
      break;
    case TarWriteEntry::Type::kDirectory:
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
      archive_entry_set_size(entry.get(), 0);
      break;
    case TarWriteEntry::Type::kSymlink:
      archive_entry_set_filetype(entry.get(), AE_IFLNK);
      archive_entry_set_symlink(entry.get(), e.link_target.c_str());
      archive_entry_set_size(entry.get(), 0);
      break;
  }
  archive_entry_set_perm(entry.get(), static_cast<mode_t>(e.mode));
  return entry;
}

Status WriteOne(struct archive* a, const CallbackContext& ctx, const TarWriteEntry& e,
                int64_t mtime) {
  ArchiveEntry header = MakeHeader(e, mtime);
  PPA_RETURN_IF_ERROR(Check(a, archive_write_header(a, header.get()), ctx, "tar header " + e.path));
  if (e.type != TarWriteEntry::Type::kFile) return Status::Ok();
  EntryDataSink data(a, ctx);
  if (e.producer) {
    PPA_RETURN_IF_ERROR(e.producer(data));
    if (data.written() != e.size) {
      return IoError("tar entry " + e.path + ": producer wrote " + std::to_string(data.written()) +
                     " bytes, expected " + std::to_string(e.size));
    }
  } else {
    PPA_RETURN_IF_ERROR(data.Write(e.data));
  }
  return Check(a, archive_write_finish_entry(a), ctx, "tar entry " + e.path);
}

}  // namespace

TarWriteEntry TarWriteEntry::File(std::string path, std::string data, int mode) {
  TarWriteEntry e;
  e.path = std::move(path);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}

TarWriteEntry TarWriteEntry::Streamed(std::string path, uint64_t size,
                            std::function<Status(ByteSink&)> producer, int mode) {
  TarWriteEntry e;
  e.path = std::move(path);
  e.size = size;
  e.producer = std::move(producer);
  e.mode = mode;
  return e;
}

TarWriteEntry TarWriteEntry::Directory(std::string path, int mode) {
  TarWriteEntry e;
  e.path = std::move(path);
  e.type = Type::kDirectory;
  e.mode = mode;
  return e;
}

TarWriteEntry TarWriteEntry::Symlink(std::string path, std::string target) {
  TarWriteEntry e;
  e.path = std::move(path);
  e.type = Type::kSymlink;
  e.mode = 0777;
  e.link_target = std::move(target);
  return e;
}

Status WriteTar(std::vector<TarWriteEntry> entries, ByteSink& out, const TarOptions& options) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TarWriteEntry& a, const TarWriteEntry& b) { return a.path < b.path; });
  // Declared first, so it outlives the writer, whose freeing may still call
  // back into it.
  CallbackContext ctx;
  ctx.sink = &out;
  ArchiveWriter a(archive_write_new());
  if (!a) return IoError("archive_write_new failed");
  PPA_RETURN_IF_ERROR(
      Check(a.get(), archive_write_set_format_pax_restricted(a.get()), ctx, "tar format"));
  if (!options.pad_to_record) {
    // No blocking at all: every byte reaches `out` as it is written (the
    // same bytes as blocks with an unpadded last one), so a writer that
    // stops part way has handed on all it wrote.
    PPA_RETURN_IF_ERROR(
        Check(a.get(), archive_write_set_bytes_per_block(a.get(), 0), ctx, "tar block"));
    PPA_RETURN_IF_ERROR(
        Check(a.get(), archive_write_set_bytes_in_last_block(a.get(), 1), ctx, "tar block"));
  }
  PPA_RETURN_IF_ERROR(
      Check(a.get(), archive_write_open2(a.get(), &ctx, nullptr, WriteCallback, nullptr, nullptr),
            ctx, "tar open"));
  // After a failure the writer is freed as it is, which closes the archive:
  // the rest of the entry and the end blocks are written to `out` as zeros
  // (a caller that must not have them drops them: save's UntilStoppedSink).
  // archive_write_fail would spare that, but leaks the format's state.
  for (const TarWriteEntry& e : entries) PPA_RETURN_IF_ERROR(WriteOne(a.get(), ctx, e, options.mtime));
  return Check(a.get(), archive_write_close(a.get()), ctx, "tar close");
}

namespace {

constexpr uint64_t kBlock = 512;

// An entry's data bytes, and the blocks they fill.
uint64_t DataSize(const TarWriteEntry& e) {
  return e.type == TarWriteEntry::Type::kFile ? (e.producer ? e.size : e.data.size()) : 0;
}
uint64_t Padded(uint64_t size) { return (size + kBlock - 1) / kBlock * kBlock; }

}  // namespace

Result<uint64_t> TarStreamSize(const std::vector<TarWriteEntry>& entries) {
  PPA_RETURN_IF_ERROR(TarContentOffsets(entries).status());  // entries ustar can hold
  uint64_t total = 2 * kBlock;                                // the end-of-archive blocks
  for (const TarWriteEntry& e : entries) total += kBlock + Padded(DataSize(e));
  return total;
}

Result<std::vector<uint64_t>> TarContentOffsets(const std::vector<TarWriteEntry>& entries) {
  constexpr uint64_t kUstarMaxSize = (uint64_t{1} << 33) - 1;  // 11 octal digits
  // In the order WriteTar writes them: sorted by path, stably.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return entries[a].path < entries[b].path; });
  std::vector<uint64_t> offsets(entries.size());
  uint64_t at = 0;
  for (size_t i : order) {
    const TarWriteEntry& e = entries[i];
    // ustar's name field holds 100 bytes; libarchive's pax_restricted adds a
    // pax header for a longer path (or one it would have to split) and for
    // a non-ASCII one.
    bool ascii = std::all_of(e.path.begin(), e.path.end(),
                             [](char c) { return c > 0 && c < 0x7f; });
    if (e.path.size() >= 100 || !ascii || e.link_target.size() >= 100) {
      return InvalidInput("tar entry '" + e.path + "' needs a pax header");
    }
    const uint64_t size = DataSize(e);
    if (size > kUstarMaxSize) {
      return InvalidInput("tar entry '" + e.path + "' is 8 GiB or more");
    }
    offsets[i] = at + kBlock;  // after its one header block
    at += kBlock + Padded(size);
  }
  return offsets;
}

}  // namespace ppa
