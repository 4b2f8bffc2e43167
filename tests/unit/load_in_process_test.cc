// The whole load, in process, through a fake transport: no binary, no
// server. RunLoad gets an in-memory registry through the Target's transport
// seam (TargetOptions::make_transport), and the test checks what went over
// the wire: blobs checked and uploaded before the manifests that name them,
// manifest lists after their images, the Helm chart pushed through the same
// transport with the same Authorization as the images, and the JSON report
// made of what the stages returned.
//
// Also the BlobPusher on its own (docker_io/target/blob_pusher.h): HEAD,
// mount, upload, and what it reports.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "docker_io/image/digest.h"
#include "docker_io/target/blob_pusher.h"
#include "importer/load/pipeline.h"
#include "samples/generator/sample_archive.h"
#include "tests/support/process.h"

namespace ppa {
namespace {

using Json = nlohmann::json;

constexpr char kUser[] = "inproc-user";
constexpr char kPassword[] = "inproc-password";

// The bytes of a request's body: in memory, or the file range it names.
std::string BodyOf(const HttpRequest& request) {
  if (!request.file_body) return request.body;
  const FileBody& f = *request.file_body;
  std::string out;
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[1 << 16];
  uint64_t at = f.offset;
  while (f.until_eof || out.size() < f.size) {
    size_t want = sizeof(buf);
    if (!f.until_eof) want = std::min<uint64_t>(want, f.size - out.size());
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(at));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    at += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return out;
}

std::string QueryValue(const std::string& url, const std::string& key) {
  size_t q = url.find('?');
  if (q == std::string::npos) return "";
  std::string query = url.substr(q + 1);
  for (size_t at = 0; at <= query.size();) {
    size_t end = query.find('&', at);
    if (end == std::string::npos) end = query.size();
    std::string pair = query.substr(at, end - at);
    if (pair.rfind(key + "=", 0) == 0) {
      std::string value = pair.substr(key.size() + 1);
      size_t pct;
      while ((pct = value.find("%3A")) != std::string::npos) value.replace(pct, 3, ":");
      return value;
    }
    at = end + 1;
  }
  return "";
}

// An in-memory OCI distribution registry behind the HttpTransport seam:
// basic auth, blob HEAD, monolithic and chunked uploads, mounts, manifest
// PUTs. Records every request (method, path, Authorization). Thread-safe.
class FakeRegistry : public HttpTransport {
 public:
  struct Seen {
    std::string method;
    std::string path;  // without scheme, host and query
    std::string authorization;
    std::string body;  // manifests only
    // The blob this request found present, mounted or committed in the
    // repository ("" when none).
    std::string stored;
  };

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    const std::string path = PathOf(request.url);
    std::string auth;
    for (const auto& [name, value] : request.headers) {
      if (Lower(name) == "authorization") auth = value;
    }
    Seen seen{.method = request.method, .path = path, .authorization = auth};
    if (path.find("/manifests/") != std::string::npos) seen.body = request.body;
    seen_.push_back(seen);
    if (auth != "Basic " + Base64Encode(std::string(kUser) + ":" + kPassword)) {
      return Answer(401, {{"www-authenticate", "Basic realm=\"fake\""}});
    }
    if (path == "/v2/") return Answer(200);
    return Route(request, path);
  }

  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::map<std::string, std::string> manifests() const {  // "repo:ref" -> body
    std::lock_guard lock(mu_);
    return manifests_;
  }

 private:
  static std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  static std::string PathOf(const std::string& url) {
    size_t scheme = url.find("://");
    size_t start = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    std::string path = start == std::string::npos ? "/" : url.substr(start);
    return path.substr(0, path.find('?'));
  }
  static Result<HttpResponse> Answer(long status, HttpHeaders headers = {}, std::string body = {}) {
    HttpResponse r;
    r.status = status;
    r.headers = std::move(headers);
    r.body = std::move(body);
    return r;
  }
  // "/v2/<repo>/<kind>/<rest>" split at the last "/blobs/" or "/manifests/".
  static bool Split(const std::string& path, const std::string& kind, std::string* repo,
                    std::string* rest) {
    size_t at = path.rfind("/" + kind + "/");
    if (path.rfind("/v2/", 0) != 0 || at == std::string::npos || at < 4) return false;
    *repo = path.substr(4, at - 4);
    *rest = path.substr(at + kind.size() + 2);
    return true;
  }

  Result<HttpResponse> Route(const HttpRequest& request, const std::string& path) {
    std::string repo, rest;
    if (Split(path, "manifests", &repo, &rest) && request.method == "PUT") {
      manifests_[repo + ":" + rest] = request.body;
      const std::string digest = Sha256Digest(request.body);
      manifests_[repo + ":" + digest] = request.body;
      blobs_[repo].insert(digest);
      return Answer(201, {{"docker-content-digest", digest}});
    }
    if (!Split(path, "blobs", &repo, &rest)) return Answer(404);
    if (request.method == "HEAD") {
      if (!blobs_[repo].count(rest)) return Answer(404);
      seen_.back().stored = rest;
      return Answer(200);
    }
    if (request.method == "POST" && rest == "uploads/") {
      const std::string mount = QueryValue(request.url, "mount");
      const std::string from = QueryValue(request.url, "from");
      if (!mount.empty() && blobs_[from].count(mount)) {
        blobs_[repo].insert(mount);
        seen_.back().stored = mount;
        return Answer(201, {{"location", "/v2/" + repo + "/blobs/" + mount}});
      }
      const std::string id = std::to_string(++sessions_);
      return Answer(202, {{"location", "/v2/" + repo + "/blobs/uploads/" + id}});
    }
    if (rest.rfind("uploads/", 0) == 0) {
      std::string& data = uploads_[rest];
      if (request.method == "PATCH") {
        data += BodyOf(request);
        return Answer(202, {{"location", path}, {"range", "0-" + std::to_string(data.size() - 1)}});
      }
      if (request.method == "PUT") {
        data += BodyOf(request);
        const std::string digest = QueryValue(request.url, "digest");
        if (Sha256Digest(data) != digest) return Answer(400, {}, R"({"errors":[{"code":"DIGEST_INVALID"}]})");
        blobs_[repo].insert(digest);
        seen_.back().stored = digest;
        uploads_.erase(rest);
        return Answer(201, {{"docker-content-digest", digest}});
      }
      if (request.method == "DELETE") return Answer(204);
    }
    return Answer(404);
  }

  mutable std::mutex mu_;
  std::vector<Seen> seen_;
  std::map<std::string, std::set<std::string>> blobs_;  // repo -> digests
  std::map<std::string, std::string> manifests_;
  std::map<std::string, std::string> uploads_;
  int sessions_ = 0;
};

// The digests a manifest or index names (config, layers, manifests).
std::vector<std::string> Referenced(const std::string& body) {
  std::vector<std::string> out;
  Json doc = Json::parse(body, nullptr, false);
  if (doc.contains("config")) out.push_back(doc["config"].value("digest", ""));
  for (const char* key : {"layers", "manifests"}) {
    if (!doc.contains(key)) continue;
    for (const auto& d : doc[key]) out.push_back(d.value("digest", ""));
  }
  return out;
}

class LoadInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(samples::WritePpaArchive(samples::DemoSampleSpec(), archive_).ok());
  }

  LoadOptions Options() {
    LoadOptions o{
        .selection = {.archives = {archive_}},
        .target = {.registry = "registry.test:5000",
                   .target_namespace = "test_ns",
                   .credentials = Credentials(kUser, kPassword),
                   .make_transport = [this](const TransportOptions&) { return registry_; }},
        .charts = {.oci = true},
        .work = {.workdir = dir_.Join("work"), .no_blob_cache = true, .jobs = 2},
        .report = {.json_reports = {dir_.Join("report.json")}, .quiet = true},
    };
    o.target.credentials.source = "the test";
    return o;
  }

  test::TempDir dir_{"ppa-inproc"};
  std::string archive_ = dir_.Join("sample.tgz");
  std::shared_ptr<FakeRegistry> registry_ = std::make_shared<FakeRegistry>();
};

TEST_F(LoadInProcessTest, BlobsBeforeManifestsAndTheChartThroughTheSameTransport) {
  std::ostringstream out, err;
  ASSERT_EQ(RunLoad(Options(), out, err), 0) << out.str() << err.str();
  const auto seen = registry_->seen();
  ASSERT_FALSE(seen.empty());
  const std::string basic = "Basic " + Base64Encode(std::string(kUser) + ":" + kPassword);

  // Every manifest PUT comes after the blobs (and child manifests) it
  // names were stored in its repository: uploaded, mounted or found.
  std::map<std::string, std::set<std::string>> stored;  // repo -> digests known there
  int image_manifests = 0, chart_manifests = 0;
  for (const auto& s : seen) {
    size_t blobs = s.path.rfind("/blobs/");
    size_t manifests = s.path.rfind("/manifests/");
    if (!s.stored.empty()) stored[s.path.substr(4, blobs - 4)].insert(s.stored);
    if (s.method == "PUT" && manifests != std::string::npos) {
      const std::string repo = s.path.substr(4, manifests - 4);
      for (const std::string& digest : Referenced(s.body)) {
        EXPECT_TRUE(stored[repo].count(digest)) << s.path << " names " << digest
                                                << " before it was stored in " << repo;
      }
      stored[repo].insert(Sha256Digest(s.body));
      (repo.find("/charts/") != std::string::npos ? chart_manifests : image_manifests)++;
      EXPECT_EQ(s.authorization, basic) << s.path;
    }
  }
  EXPECT_GE(image_manifests, 6) << "platform images and manifest lists";
  EXPECT_EQ(chart_manifests, 2) << "the sample's two charts";

  // The chart went through the same transport, with the images' credentials.
  bool chart_blob_sent = false;
  for (const auto& s : seen) {
    if (s.path.find("/test_ns/charts/ibm-portal-prod/blobs/") != std::string::npos) {
      chart_blob_sent = true;
      EXPECT_EQ(s.authorization, basic) << s.method << " " << s.path;
    }
  }
  EXPECT_TRUE(chart_blob_sent);
  const auto manifests = registry_->manifests();
  ASSERT_TRUE(manifests.count("test_ns/charts/ibm-portal-prod:1.0.0"));
  Json chart = Json::parse(manifests.at("test_ns/charts/ibm-portal-prod:1.0.0"));
  EXPECT_EQ(chart["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");

  // The report is what the stages returned: every item's digest is a
  // manifest the registry holds under that digest.
  auto text = test::ReadFileToString(dir_.Join("report.json"));
  ASSERT_TRUE(text.ok());
  Json report = Json::parse(*text);
  ASSERT_EQ(report["archives"].size(), 1u);
  int images = 0;
  for (const auto& item : report["archives"][0]["images"]) {
    EXPECT_EQ(item.value("status", ""), "ok") << item.dump();
    const std::string digest = item.value("manifest_digest", "");
    const std::string target = item.value("target", "");
    ASSERT_FALSE(digest.empty()) << item.dump();
    ++images;
    // "registry.test:5000/<repo>:<tag>" -> "<repo>:<digest>"
    std::string repo = target.substr(target.find('/') + 1);
    repo = repo.substr(0, repo.rfind(':'));
    EXPECT_TRUE(manifests.count(repo + ":" + digest)) << item.dump();
  }
  EXPECT_EQ(images, image_manifests);
  ASSERT_EQ(report["archives"][0]["charts"].size(), 2u);
  for (const auto& chart_item : report["archives"][0]["charts"]) {
    EXPECT_EQ(chart_item.value("status", ""), "ok") << chart_item.dump();
    const auto destinations = chart_item.value("destinations", Json::array());
    ASSERT_FALSE(destinations.empty());
    EXPECT_EQ(destinations.back().get<std::string>().rfind("oci://registry.test:5000/test_ns/charts/", 0),
              0u)
        << chart_item.dump();
  }
}

// --- BlobPusher ----------------------------------------------------------------------

// A sink that keeps blobs in memory and counts what it was asked.
class MemorySink : public BlobSink {
 public:
  Result<bool> HasBlob(const std::string& repo, const std::string& digest) override {
    ++heads;
    return blobs.count(repo + "@" + digest) > 0;
  }
  Status PutBlob(const std::string& repo, const BlobUpload& blob) override {
    ++uploads;
    blobs.insert(repo + "@" + blob.digest);
    return Status::Ok();
  }
  Status PutBlobBytes(const std::string& repo, const std::string& digest,
                      const std::string& bytes) override {
    ++uploads;
    if (Sha256Digest(bytes) != digest) return InvalidInput("digest");
    blobs.insert(repo + "@" + digest);
    return Status::Ok();
  }
  Result<bool> MountBlob(const std::string& repo, const std::string& digest,
                         const std::string& from) override {
    ++mounts;
    if (!blobs.count(from + "@" + digest)) return false;
    blobs.insert(repo + "@" + digest);
    return true;
  }
  Result<std::string> PutManifest(const std::string&, const std::string&, const std::string&,
                                  const std::string& body) override {
    return Sha256Digest(body);
  }
  std::string Locate(const std::string& repo) const override { return "mem/" + repo; }

  std::set<std::string> blobs;
  int heads = 0, uploads = 0, mounts = 0;
};

TEST(BlobPusher, HeadThenMountThenUploadWhateverHoldsTheBytes) {
  MemorySink sink;
  const std::string bytes = "config bytes";
  const std::string digest = Sha256Digest(bytes);
  sink.blobs.insert("elsewhere@" + digest);
  BlobPusher pusher(sink, {.known_holders = [](const std::string&) {
                             return std::vector<std::string>{"elsewhere"};
                           }});
  struct Case {
    std::string repo;
    BlobOutcome::Action action;
    int heads, mounts, uploads;  // what the sink was asked, cumulative
  };
  // a: mounted from a known holder; a again: known, nothing asked; b:
  // mounted from a (this pusher's) first; elsewhere: HEAD finds it.
  const Case cases[] = {{"a", BlobOutcome::Action::kMounted, 1, 1, 0},
                        {"a", BlobOutcome::Action::kPresent, 1, 1, 0},
                        {"b", BlobOutcome::Action::kMounted, 2, 2, 0},
                        {"elsewhere", BlobOutcome::Action::kPresent, 3, 2, 0}};
  for (const Case& c : cases) {
    auto done = pusher.Push(c.repo, MemoryBlob(bytes));
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_EQ(done->action, c.action) << c.repo;
    EXPECT_EQ(sink.heads, c.heads) << c.repo;
    EXPECT_EQ(sink.mounts, c.mounts) << c.repo;
    EXPECT_EQ(sink.uploads, c.uploads) << c.repo;
  }
  // A blob nobody holds is uploaded, from memory or from a file range.
  const std::string other = "layer bytes";
  auto sent = pusher.Push("c", MemoryBlob(other));
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->action, BlobOutcome::Action::kUploaded);
  EXPECT_EQ(sent->bytes_sent, other.size());
  test::TempDir dir;
  ASSERT_TRUE(test::WriteStringToFile(dir.Join("f"), "xx" + other).ok());
  FileRangeBlob range(BlobUpload{.digest = Sha256Digest(other),
                                 .size = other.size(),
                                 .file = FileBody{.path = dir.Join("f"), .offset = 2,
                                                  .size = other.size()}});
  auto ranged = pusher.Push("d", range);  // mounted from c: no bytes sent again
  ASSERT_TRUE(ranged.ok());
  EXPECT_EQ(ranged->action, BlobOutcome::Action::kMounted);
  BlobCounts counts = pusher.TakeCounts();
  EXPECT_EQ(counts.uploaded, 1);
  EXPECT_EQ(counts.bytes_uploaded, other.size());
  EXPECT_EQ(counts.present, 4);  // one HEAD hit and three mounts (no bytes sent)
}

TEST(BlobPusher, DeferredOutcomeIsReportedOnceAndObserverSeesOnlyUploads) {
  MemorySink sink;
  BlobPusher pusher(sink);
  const std::string bytes = "ahead";
  int started = 0, finished = 0;
  UploadObserver observer{.started = [&] { ++started; }, .finished = [&] { ++finished; }};
  auto first = pusher.Push("r", MemoryBlob(bytes), observer);
  ASSERT_TRUE(first.ok());
  pusher.Defer("r", Sha256Digest(bytes), *first);
  auto reported = pusher.Push("r", MemoryBlob(bytes), observer);
  ASSERT_TRUE(reported.ok());
  EXPECT_EQ(reported->action, BlobOutcome::Action::kUploaded);  // what was done ahead
  auto again = pusher.Push("r", MemoryBlob(bytes), observer);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->action, BlobOutcome::Action::kPresent);
  EXPECT_EQ(started, 1);
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(sink.uploads, 1);
}

// A MemorySink that keeps each blob's bytes, checks every file it is sent,
// refuses mounts, and gives a blob back (ReadBlob) from any repository but
// those in `unreadable`.
class ReadBackSink : public MemorySink {
 public:
  Status PutBlob(const std::string& repo, const BlobUpload& blob) override {
    auto bytes = test::ReadFileToString(blob.file.path);
    if (!bytes.ok()) return bytes.status();
    std::string body = bytes->substr(blob.file.offset, blob.file.size);
    if (Sha256Digest(body) != blob.digest) return InvalidInput("not " + blob.digest);
    sent_from.push_back(blob.file.path);
    bodies[blob.digest] = body;
    return MemorySink::PutBlob(repo, blob);
  }
  Result<bool> MountBlob(const std::string&, const std::string&, const std::string&) override {
    ++mounts;
    return false;
  }
  Status ReadBlob(const std::string& repo, const std::string& digest, uint64_t size,
                  int fd) override {
    ++reads;
    if (unreadable.count(repo)) return HttpError("pull from '" + repo + "' denied (403)");
    if (!blobs.count(repo + "@" + digest)) return NotFound("no " + digest + " in " + repo);
    const std::string& body = bodies.at(digest);
    if (body.size() != size) return InvalidInput("size");
    return PwriteAll(fd, body.data(), body.size(), 0, "read-back");
  }

  std::set<std::string> unreadable;
  std::map<std::string, std::string> bodies;  // digest -> bytes
  std::vector<std::string> sent_from;         // the file of each upload
  int reads = 0;
};

// A blob whose bytes are gone (a spool file deleted once it landed) reaches a
// repository that cannot mount it by being read back from a repository
// holding it and uploaded: each holder in turn, the first that gives it;
// the file it waited in is deleted. Without copy_dir, or when no holder
// gives it, the pusher says so (nullopt) and the caller makes it again.
TEST(BlobPusher, ABlobWhoseBytesAreGoneIsReadBackFromAHolderAndUploaded) {
  test::TempDir dir;
  const std::string bytes = "layer blob bytes";
  const std::string digest = Sha256Digest(bytes);
  ASSERT_TRUE(test::WriteStringToFile(dir.Join("spool"), bytes).ok());
  const FileRangeBlob spooled(BlobUpload{
      .digest = digest,
      .size = bytes.size(),
      .file = FileBody{.path = dir.Join("spool"), .offset = 0, .size = bytes.size()}});
  ReadBackSink sink;
  sink.unreadable = {"known"};
  sink.blobs.insert("known@" + digest);  // an earlier run's, which cannot be read
  BlobPusher pusher(sink, {.known_holders = [](const std::string&) {
                             return std::vector<std::string>{"known"};
                           },
                           .copy_dir = dir.Join("copies")});
  ASSERT_TRUE(MakeDirs(dir.Join("copies")).ok());
  ASSERT_TRUE(pusher.Push("first", spooled).ok());
  ::unlink(dir.Join("spool").c_str());  // landed: the spool file goes

  // "first" (this pusher's) is tried before "known" (the cache's).
  auto reused = pusher.Reuse("second", digest, bytes.size());
  ASSERT_TRUE(reused.ok());
  EXPECT_FALSE(reused->has_value());  // no mount
  auto copied = pusher.CopyFromHolders("second", digest, bytes.size());
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ASSERT_TRUE(copied->has_value());
  EXPECT_EQ((*copied)->action, BlobOutcome::Action::kUploaded);
  EXPECT_EQ((*copied)->bytes_sent, bytes.size());
  EXPECT_TRUE(sink.blobs.count("second@" + digest));
  EXPECT_EQ(sink.reads, 1);
  EXPECT_TRUE(pusher.Known("second", digest));
  ASSERT_EQ(sink.sent_from.size(), 2u);
  EXPECT_EQ(sink.sent_from[1].rfind(dir.Join("copies") + "/", 0), 0u) << sink.sent_from[1];
  EXPECT_TRUE(std::filesystem::is_empty(dir.Join("copies")));  // deleted once sent

  // Every holder refuses: nullopt. The first refuses: the next gives it.
  sink.unreadable = {"first", "known"};
  auto third = pusher.CopyFromHolders("third", digest, bytes.size());
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->has_value());
  EXPECT_FALSE(sink.blobs.count("third@" + digest));
  sink.unreadable = {"first"};
  auto fourth = pusher.CopyFromHolders("fourth", digest, bytes.size());
  ASSERT_TRUE(fourth.ok());
  ASSERT_TRUE(fourth->has_value());
  EXPECT_TRUE(sink.blobs.count("fourth@" + digest));
  EXPECT_TRUE(std::filesystem::is_empty(dir.Join("copies")));

  // No copy_dir: never read back.
  BlobPusher plain(sink);
  const int reads = sink.reads;
  auto none = plain.CopyFromHolders("fifth", digest, bytes.size());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(sink.reads, reads);
  BlobCounts counts = pusher.TakeCounts();
  EXPECT_EQ(counts.uploaded, 3);  // first, second and fourth
  EXPECT_EQ(counts.bytes_uploaded, 3 * bytes.size());
}

}  // namespace
}  // namespace ppa
