// Digests of byte ranges of files, taken as the files were written.
//
// While the Unpack stage writes an image tarball, a TarDigestTap follows its
// entries (TarStreamScanner) and hashes each large file in it (a layer) from
// the bytes as they go by. The Images stage then knows the sha256 of a layer
// without reading it back: a warm run needs no second pass over the layers,
// and a cold one no second hash while compressing.
//
// A path written again (a later entry of the same name) gets a new
// generation: a reader checks that the generation it started with is still
// the current one after reading, so the digest never describes other bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "archive/file_util.h"  // Compression, UniqueFd
#include "archive/tar_index.h"
#include "archive/unpack.h"  // the unpack limits
#include "docker_io/digest.h"
#include "docker_io/gzip_isal.h"

namespace ppa {

class RangeDigests {
 public:
  struct Known {
    std::string digest;       // "sha256:<hex>" of the range's bytes
    uint64_t generation = 0;  // of the path when they were hashed
  };

  // `path` is about to be (re)written: forgets its ranges. Thread-safe.
  void Begin(const std::string& path);
  // Records the digest of `size` bytes at `offset` of `path`. Thread-safe.
  void Record(const std::string& path, uint64_t offset, uint64_t size, std::string digest);
  // The digest of exactly that range of the current `path`, if recorded.
  std::optional<Known> Find(const std::string& path, uint64_t offset, uint64_t size) const;
  // The generation of `path` (how often it was begun).
  uint64_t Generation(const std::string& path) const;
  // True the first time a tar entry of this name and size is seen, in any
  // file. Image tarballs of one archive repeat their shared layers under the
  // same name (a content-derived id or digest); the later copies need not be
  // hashed on the way, since the plan asks for each diff_id once. Thread-safe.
  bool FirstSighting(std::string_view entry_name, uint64_t size);

 private:
  struct File {
    uint64_t generation = 0;
    std::map<std::pair<uint64_t, uint64_t>, std::string> ranges;  // (offset, size) -> digest
  };
  mutable std::mutex mu_;
  std::map<std::string, File> files_;
  std::set<std::pair<std::string, uint64_t>, std::less<>> sighted_;
};

// One file of a tar entry hashed by a TarDigestTap.
struct HashedEntry {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string digest;
  // What its first bytes say it is: kNone for a tar (an uncompressed layer),
  // kGzip or kZstd for a compressed stream (a stored layer), nothing else.
  std::optional<Compression> layer;
};

// Hashes the files of one tar file as its bytes are written, in order.
// Entries smaller than `min_size` are skipped (configs and manifests are read
// whole anyway), and so are entries sighted before (RangeDigests::FirstSighting). Each hashed entry is recorded in `digests` under `path` and
// passed to `on_entry` (when set) on the writing thread.
class TarDigestTap : private TarStreamScanner::Visitor {
 public:
  TarDigestTap(RangeDigests& digests, std::string path, uint64_t min_size,
               std::function<void(const HashedEntry&)> on_entry = nullptr);

  // The bytes at `offset` of the file. A gap or overlap (a sparse entry)
  // stops the tap: it records nothing more.
  void Write(uint64_t offset, std::string_view data);

 private:
  void BeginFile(std::string_view name, uint64_t offset, uint64_t size) override;
  void FileData(std::string_view bytes) override;
  void EndFile() override;

  RangeDigests& digests_;
  std::string path_;
  uint64_t min_size_;
  std::function<void(const HashedEntry&)> on_entry_;
  TarStreamScanner scanner_;
  uint64_t next_ = 0;       // file offset expected next
  bool stopped_ = false;
  std::optional<Sha256> hash_;  // of the entry being hashed
  HashedEntry entry_;
  std::string head_;        // its first bytes, to tell what it is
};

// A gzip image file as Unpack writes it: inflated on the way (ISA-L) into an
// uncompressed copy at `inflated_path`, whose entries a TarDigestTap hashes
// (recorded under `inflated_path`). So the layers of a compressed image file
// are found, hashed and queued while it is unpacked, and nothing inflates it
// again afterwards. A copy growing past the unpack limit of the compressed
// bytes seen so far (kUnpackRatio of them, at least `floor_bytes`: a
// decompression bomb) stops the tap; the file is then inflated after Unpack
// as before, by DecompressFile, which refuses it with a message.
class InflatingTap {
 public:
  // Creates `inflated_path` (kIo when it cannot).
  static Result<std::unique_ptr<InflatingTap>> Create(
      RangeDigests& digests, std::string inflated_path, uint64_t min_size,
      std::function<void(const HashedEntry&)> on_entry = nullptr,
      uint64_t floor_bytes = kUnpackFloorBytes);
  // Removes the copy unless Finish returned it.
  ~InflatingTap();
  InflatingTap(const InflatingTap&) = delete;
  InflatingTap& operator=(const InflatingTap&) = delete;

  // The compressed bytes at `offset` of the file. A gap, corrupt data or a
  // write error stops the tap for good.
  void Write(uint64_t offset, std::string_view data);
  // The path of the complete uncompressed copy once the whole file has been
  // written; nullopt (the copy removed) when the stream was cut, corrupt or
  // could not be written.
  std::optional<std::string> Finish();

 private:
  InflatingTap(RangeDigests& digests, std::string inflated_path, UniqueFd out, uint64_t min_size,
               std::function<void(const HashedEntry&)> on_entry, uint64_t floor_bytes);
  Status Inflated(const char* data, size_t size);
  void Fail();

  std::string path_;
  UniqueFd out_;
  TarDigestTap tap_;
  IsalGunzip gunzip_;
  uint64_t next_ = 0;      // compressed offset expected next
  uint64_t written_ = 0;   // bytes of the copy
  uint64_t floor_bytes_;
  bool failed_ = false;
  bool kept_ = false;
};

}  // namespace ppa
