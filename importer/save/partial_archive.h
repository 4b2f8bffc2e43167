// What an interrupted or failed `save -o FILE` leaves: FILE.partial, the
// gzip'd start of the tar stream the run was writing (README, "Air-gapped
// sites: save, carry, load"). `save` is deterministic, so a new run with the
// same sources writes the same tar stream: a blob whose bytes lie wholly
// within what the partial file holds is read from it, its digest checked,
// instead of being pulled again. Everything else (headers, manifests,
// manifest.yaml) is made again; a partial archive of other sources simply
// offers nothing that checks out.
//
// Reads forward only (blobs are written in stream order); memory is a few
// fixed buffers. Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/file_util.h"
#include "base/status.h"
#include "docker_io/image/gzip_isal.h"

namespace ppa {

class PartialArchive {
 public:
  // Opens `path` (a regular file; never followed through a link) and reads
  // it once to learn how many bytes of the tar stream it holds (it ends
  // where its gzip stream was cut). kNotFound when there is none.
  static Result<std::unique_ptr<PartialArchive>> Open(const std::string& path);
  ~PartialArchive();

  // Bytes of the tar stream the file holds.
  uint64_t usable() const { return usable_; }
  struct Blob {
    std::string digest;
    uint64_t size = 0;
  };
  // Reads the file once more and hashes the range of each of `blobs` (by
  // their offset in the stream) it holds whole: from then on only those
  // whose bytes match their digest are held. A partial archive of other
  // sources, or of a blob that was wrong, thus offers only what checks out.
  Status Check(const std::map<uint64_t, Blob>& blobs);

  // Whether [offset, offset + size) of the stream is in the file and not
  // behind what was read already (and, after Check, checked).
  bool Holds(uint64_t offset, uint64_t size) const {
    return offset >= position_ && size <= usable_ && offset <= usable_ - size &&
           (!checked_ || matching_.count(offset) > 0);
  }
  // Streams those bytes (Holds must be true) to `sink` and checks them
  // against `digest`: kInvalidInput when they do not match (the file is not
  // what it claims; the bytes are already in `sink`).
  Status Read(uint64_t offset, uint64_t size, const std::string& digest,
              const std::function<Status(std::string_view)>& sink);

  int blobs_reused() const { return blobs_reused_; }
  uint64_t bytes_reused() const { return bytes_reused_; }

 private:
  PartialArchive(std::string path, UniqueFd fd, uint64_t usable);
  // Inflates more of the file into `pending_`; false at its end.
  Result<bool> Fill();
  // Streams [offset, offset + size) to `sink` and checks its digest.
  Status Stream(uint64_t offset, uint64_t size, const std::string& digest,
                const std::function<Status(std::string_view)>& sink);
  // Back to the start of the file and of the stream.
  Status Rewind();

  std::string path_;
  UniqueFd fd_;
  uint64_t usable_ = 0;
  uint64_t position_ = 0;  // stream bytes consumed (pending_ follows them)
  std::string pending_;    // inflated, not yet consumed
  size_t pending_at_ = 0;  // consumed bytes at the front of pending_
  std::unique_ptr<IsalGunzip> gunzip_;
  bool file_done_ = false;
  bool checked_ = false;
  std::set<uint64_t> matching_;  // offsets of the blobs Check found whole and right
  int blobs_reused_ = 0;
  uint64_t bytes_reused_ = 0;
};

// After a run that stopped while writing `writing` beside an earlier
// partial archive `partial` (or as it: then nothing is done): `writing`
// becomes `partial` when it is longer (both hold the same stream from its
// start), else it goes. Only rename, stat and unlink: safe on the
// interrupt watcher's thread (importer/cli/interrupt.h).
void KeepLongerPartial(const std::string& writing, const std::string& partial);

}  // namespace ppa
