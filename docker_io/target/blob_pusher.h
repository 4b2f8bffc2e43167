// BlobPusher: the one way a blob reaches a target, whatever the blob is (an
// image layer, an image config, a Helm chart's config or content) and
// wherever its bytes are (a range of a file, memory):
//
//   1. HEAD: a blob the target has in the repository is never sent again;
//   2. mount: a blob another repository of the target is known to hold
//      (pushed there earlier by this pusher, or named by `known_holders`,
//      e.g. the blob cache) is mounted from there, sending no bytes;
//   3. upload, then commit (the registry checks the digest of what it got).
//
// A blob whose bytes are no longer at hand (its spool file deleted once it
// landed) can still reach another repository that cannot mount it:
// CopyFromHolders reads it back from a repository holding it into a file of
// `copy_dir` and uploads that (HeldBlob).
//
// The sink decides what each step means for its target (a registry, an OCI
// layout, a dry run that writes nothing): see blob_sink.h. Retries and
// authentication live below, in the registry client.
//
// Thread-safe: upload workers share one pusher.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/mutex.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "docker_io/target/blob_sink.h"

namespace ppa {

// A blob to push: its digest, its size and a way to send its bytes. The
// provider never decides whether they are sent (BlobPusher does).
class BlobProvider {
 public:
  virtual ~BlobProvider() = default;
  virtual const std::string& digest() const = 0;
  virtual uint64_t size() const = 0;
  // Sends the bytes to `repo` of `sink` (upload and commit); `on_progress`
  // (may be empty) is called from the sending thread with the bytes sent
  // so far.
  virtual Status SendTo(BlobSink& sink, const std::string& repo,
                        const std::function<void(uint64_t)>& on_progress) const = 0;
};

// A blob that is a range of a file (a layer in its tarball, a spool file).
// With size BlobUpload::kUnknownSize the blob runs to the end of the file
// and is streamed.
class FileRangeBlob final : public BlobProvider {
 public:
  explicit FileRangeBlob(BlobUpload upload) : upload_(std::move(upload)) {}
  const std::string& digest() const override { return upload_.digest; }
  uint64_t size() const override { return upload_.size; }
  Status SendTo(BlobSink& sink, const std::string& repo,
                const std::function<void(uint64_t)>& on_progress) const override;

 private:
  BlobUpload upload_;
};

// A blob held in memory (configs, charts). `bytes` must outlive this object.
class MemoryBlob final : public BlobProvider {
 public:
  // The digest is computed from `bytes` when not given.
  explicit MemoryBlob(const std::string& bytes, std::string digest = {});
  const std::string& digest() const override { return digest_; }
  uint64_t size() const override { return bytes_.size(); }
  Status SendTo(BlobSink& sink, const std::string& repo,
                const std::function<void(uint64_t)>& on_progress) const override;

 private:
  const std::string& bytes_;
  std::string digest_;
};

// A blob that repository `from` of the sink holds: read back (checked
// against its digest) into a new file of `dir`, uploaded from there, and
// the file deleted, so the disk holds one such blob per upload at a time.
class HeldBlob final : public BlobProvider {
 public:
  HeldBlob(std::string from, std::string digest, uint64_t size, std::string dir)
      : from_(std::move(from)), digest_(std::move(digest)), size_(size), dir_(std::move(dir)) {}
  const std::string& digest() const override { return digest_; }
  uint64_t size() const override { return size_; }
  Status SendTo(BlobSink& sink, const std::string& repo,
                const std::function<void(uint64_t)>& on_progress) const override;

 private:
  std::string from_, digest_;
  uint64_t size_ = 0;
  std::string dir_;
};

// What the push of one blob to one repository came to.
struct BlobOutcome {
  enum class Action { kPresent, kMounted, kUploaded };
  Action action = Action::kPresent;
  uint64_t bytes_sent = 0;  // kUploaded: the blob's size
};

// What a pusher did so far (TakeCounts). A mounted blob counts as present:
// no bytes were sent.
struct BlobCounts {
  int uploaded = 0;
  int present = 0;
  uint64_t bytes_uploaded = 0;
};

// Told about one upload as its bytes go (never about a HEAD or a mount).
// Every member may be empty. Called from the uploading thread.
struct UploadObserver {
  std::function<void()> started;
  std::function<void(uint64_t sent)> progress;
  std::function<void()> finished;  // after success or failure
};

struct BlobPusherOptions {
  // Repositories of the target that earlier runs saw holding `digest`
  // (tried after those of this pusher); may be empty.
  std::function<std::vector<std::string>(const std::string& digest)> known_holders;
  // Told each (repository, digest) the target holds: found, mounted or
  // uploaded; may be empty.
  std::function<void(const std::string& repo, const std::string& digest)> on_present;
  // Where CopyFromHolders keeps a blob it read back until it is uploaded;
  // empty: blobs are never read back.
  std::string copy_dir;
};

class BlobPusher {
 public:
  // `sink` must outlive the pusher.
  explicit BlobPusher(BlobSink& sink, BlobPusherOptions options = {});
  BlobPusher(const BlobPusher&) = delete;
  BlobPusher& operator=(const BlobPusher&) = delete;

  BlobSink& sink() const { return sink_; }

  // Makes `blob` present in `repo`: HEAD, mount, then upload and commit.
  // A blob this pusher already saw in `repo` is not asked about again: it
  // is kPresent, or what Defer recorded for it (reported once).
  Result<BlobOutcome> Push(const std::string& repo, const BlobProvider& blob,
                           const UploadObserver& observer = {});

  // HEAD, then mounts, never sending bytes: for a blob whose bytes are not
  // at hand (known only from the blob cache). nullopt when the target has
  // it nowhere it could be mounted from.
  Result<std::optional<BlobOutcome>> Reuse(const std::string& repo, const std::string& digest,
                                           uint64_t size);

  // After Reuse found no way: reads the blob back from a repository of the
  // target holding it and uploads it to `repo` (HeldBlob), trying each
  // holder Reuse would mount from. nullopt when none could give it (no
  // holder, no copy_dir, or each read-back or upload failed: the caller
  // then makes the blob again, and its own upload reports what fails).
  Result<std::optional<BlobOutcome>> CopyFromHolders(const std::string& repo,
                                                     const std::string& digest, uint64_t size);

  // Whether this pusher saw `digest` present in `repo`.
  bool Known(const std::string& repo, const std::string& digest) const EXCLUDES(mu_);
  // `outcome` happened to `digest` in `repo` (an upload ahead, whose result
  // nobody read): the next Push of it to `repo` reports it, once.
  void Defer(const std::string& repo, const std::string& digest, const BlobOutcome& outcome)
      EXCLUDES(mu_);

  // The counts since the last call, and zero.
  BlobCounts TakeCounts() EXCLUDES(mu_);

 private:
  // The repositories `digest` may be mounted into `repo` from: one this
  // pusher put it in, then known_holders'.
  std::vector<std::string> MountSources(const std::string& repo, const std::string& digest)
      EXCLUDES(mu_);
  Result<bool> TryMounts(const std::string& repo, const std::string& digest) EXCLUDES(mu_);
  // The recorded outcome of a blob already present, or nullopt.
  std::optional<BlobOutcome> AlreadyPresent(const std::string& repo, const std::string& digest)
      EXCLUDES(mu_);
  void Remember(const std::string& repo, const std::string& digest) EXCLUDES(mu_);
  void Count(BlobOutcome::Action action, uint64_t bytes) EXCLUDES(mu_);

  BlobSink& sink_;
  const BlobPusherOptions options_;
  mutable Mutex mu_;
  std::set<std::string> present_ GUARDED_BY(mu_);                  // "repo@digest"
  std::map<std::string, BlobOutcome> deferred_ GUARDED_BY(mu_);    // "repo@digest"
  std::map<std::string, std::string> holder_ GUARDED_BY(mu_);      // digest -> first repository
  BlobCounts counts_ GUARDED_BY(mu_);
};

}  // namespace ppa
