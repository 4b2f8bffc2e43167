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
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "base/file_util.h"  // Compression, UniqueFd
#include "base/mutex.h"
#include "base/thread_annotations.h"
#include "archive/tar/tar_index.h"
#include "archive/tar/unpack.h"  // the unpack limits
#include "docker_io/image/digest.h"
#include "docker_io/image/gzip_isal.h"

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
  // Records that the `size` bytes at `offset` of the current `path` were left
  // out of the file (a TarDigestTap's taker consumed them): they read as
  // zeros. Thread-safe.
  void LeaveOut(const std::string& path, uint64_t offset, uint64_t size);
  // Whether any of the `size` bytes at `offset` of the current `path` was
  // left out. Thread-safe.
  bool LeftOut(const std::string& path, uint64_t offset, uint64_t size) const;

 private:
  struct File {
    uint64_t generation = 0;
    std::map<std::pair<uint64_t, uint64_t>, std::string> ranges;  // (offset, size) -> digest
    std::vector<std::pair<uint64_t, uint64_t>> left_out;          // (offset, size)
  };
  mutable Mutex mu_;
  std::map<std::string, File> files_ GUARDED_BY(mu_);
  std::set<std::pair<std::string, uint64_t>, std::less<>> sighted_ GUARDED_BY(mu_);
};

// One file of a tar entry hashed by a TarDigestTap.
struct HashedEntry {
  std::string name;  // as stored in the tar
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string digest;
  // What its first bytes say it is: kNone for a tar (an uncompressed layer),
  // kGzip or kZstd for a compressed stream (a stored layer), nothing else.
  std::optional<Compression> layer;
};

// Where the bytes of a tar layer go instead of into its image file: what a
// TarDigestTap's taker returns for a layer it takes.
class TakenLayer {
 public:
  // Destroyed without Finish: the layer was cut short (its bytes are lost).
  virtual ~TakenLayer() = default;
  // The layer's next bytes, in order, from its first.
  virtual void Write(std::string_view bytes) = 0;
  // All bytes have been given; `digest` is their sha256 ("sha256:<hex>"), or
  // "" for a copy of a layer sighted before (RangeDigests::FirstSighting),
  // which the tap does not hash.
  virtual void Finish(const std::string& digest) = 0;
};

// Asked by a TarDigestTap about each file of `size` bytes (at least its
// min_size) named `name` at `offset` of the tar file, once its first 512
// bytes turn out to be a layer: a tar header (`kind` kNone), or the start of
// a gzip or zstd stream (a layer stored compressed). Returns where its bytes
// go instead of the file, or null to leave them in the file.
using LayerTaker = std::function<std::unique_ptr<TakenLayer>(
    std::string_view name, uint64_t offset, uint64_t size, Compression kind, bool first_sighting)>;

// Hashes the files of one tar file as its bytes are written, in order.
// Entries smaller than `min_size` are skipped (configs and manifests are read
// whole anyway), and so are entries sighted before
// (RangeDigests::FirstSighting). Each hashed entry is recorded in `digests`
// under `path` and, unless taken, passed to `on_entry` (when set) on the
// writing thread, after its last bytes are in the file.
//
// With a `taker`, the tap also writes the file: a layer the taker takes is
// left out of it except its first 512 bytes (a tar header, so a reader of
// the file still sees what the layer is), and recorded as such
// (RangeDigests::LeaveOut); its bytes go to the TakenLayer instead.
class TarDigestTap : private TarStreamScanner::Visitor {
 public:
  TarDigestTap(RangeDigests& digests, std::string path, uint64_t min_size,
               std::function<void(const HashedEntry&)> on_entry = nullptr,
               LayerTaker taker = nullptr);

  // The bytes at `offset` of the file. With `write`, the tap stores them in
  // the file through it (all but what it leaves out); without, the caller
  // has stored them (and nothing is taken). A gap or overlap (a sparse
  // entry) stops the tap: it records and takes nothing more, and a layer
  // being taken is cut short. Returns the error of `write`.
  Status Write(uint64_t offset, std::string_view data,
               const UnpackOptions::BlockWriter* write = nullptr);

 private:
  void BeginFile(std::string_view name, uint64_t offset, uint64_t size) override;
  void FileData(std::string_view bytes) override;
  void EndFile() override;
  // `bytes` (within block_) are the start of the current file's data: its
  // head is gathered and, once complete, the taker asked about it. Returns
  // the part of `bytes` after the head.
  std::string_view GatherHead(std::string_view bytes);

  RangeDigests& digests_;
  std::string path_;
  uint64_t min_size_;
  std::function<void(const HashedEntry&)> on_entry_;
  LayerTaker taker_;
  TarStreamScanner scanner_;
  uint64_t next_ = 0;       // file offset expected next
  bool stopped_ = false;
  // The file being passed (at least min_size_ bytes), until EndFile.
  bool large_ = false;
  bool first_sighting_ = false;
  std::optional<Sha256> hash_;  // of its bytes, when first sighted
  HashedEntry entry_;
  std::string head_;  // its first bytes, to tell what it is
  std::unique_ptr<TakenLayer> taken_;
  // The block being written: the parts of it left out (offsets in the
  // block, ascending) and the entries hashed in it, passed to on_entry_ once
  // it is in the file.
  std::string_view block_;
  bool may_take_ = false;
  std::vector<std::pair<size_t, size_t>> left_out_;
  std::vector<HashedEntry> hashed_;
};

// A gzip image file as Unpack writes it: inflated on the way (ISA-L) into an
// uncompressed copy at `inflated_path`, whose entries a TarDigestTap hashes
// (recorded under `inflated_path`). So the layers of a compressed image file
// are found, hashed and queued while it is unpacked, and nothing inflates it
// again afterwards. Every inflated byte is charged to the run's `budget`
// (archive/tar/unpack.h; null: a budget of this file's own, kUnpackRatio times
// the compressed bytes seen so far, at least `kUnpackFloorBytes`): a copy
// that takes it past its limit (a decompression bomb) stops the tap, and
// the spent budget then refuses any later inflation of the archive.
class InflatingTap {
 public:
  // Creates `inflated_path` (kIo when it cannot).
  static Result<std::unique_ptr<InflatingTap>> Create(
      RangeDigests& digests, std::string inflated_path, uint64_t min_size,
      std::function<void(const HashedEntry&)> on_entry = nullptr,
      InflationBudget* budget = nullptr, LayerTaker taker = nullptr);
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
               std::function<void(const HashedEntry&)> on_entry, InflationBudget* budget,
               LayerTaker taker);
  Status Inflated(const char* data, size_t size);
  void Fail();

  std::string path_;
  UniqueFd out_;
  TarDigestTap tap_;
  IsalGunzip gunzip_;
  UnpackOptions::BlockWriter write_;  // into the copy
  uint64_t next_ = 0;      // compressed offset expected next
  uint64_t written_ = 0;   // bytes of the copy
  InflationBudget* budget_;  // null: DefaultUnpackLimit(next_)
  bool failed_ = false;
  bool kept_ = false;
};

}  // namespace ppa
