// The Unpack stage against hostile archives: nothing may be written outside
// the work directory, whatever the archive holds.
#include "archive/tar/unpack.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "archive/tar/safe_path.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::BuildRawTar;
using test::RawTarEntry;
using test::TempDir;

struct Sandbox {
  TempDir dir{"ppa-unpack"};
  std::string work = dir.path() + "/work";
  std::string outside = dir.path() + "/outside";
  Sandbox() {
    fs::create_directories(work);
    fs::create_directories(outside);
    std::ofstream(outside + "/victim") << "original";
  }
  Result<UnpackResult> Unpack(const std::vector<RawTarEntry>& entries, bool gzip = false) {
    std::string tar = BuildRawTar(entries);
    std::string path = dir.path() + "/archive.tar";
    test::WriteFileOrDie(path, gzip ? test::Gzip(tar) : tar);
    return UnpackArchive(path, work);
  }
  std::string Victim() {
    std::ifstream f(outside + "/victim");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  // Every path below the sandbox that is not inside work/ or the archive.
  std::vector<std::string> Strays() {
    std::vector<std::string> out;
    for (auto& e : fs::recursive_directory_iterator(dir.path())) {
      std::string p = e.path().string();
      if (p.rfind(work, 0) == 0 || p.rfind(outside, 0) == 0 || p == dir.path() + "/archive.tar") continue;
      out.push_back(p);
    }
    return out;
  }
};

TEST(UnpackArchive, WritesFilesDirsAndInsideSymlinks) {
  Sandbox s;
  auto r = s.Unpack({{"images/", '5'},
                     {"images/a.tar", '0', "AAAA"},
                     {"./manifest.yaml", '0', "images: []\n"},
                     {"images/b.tar", '2', "", "a.tar"},
                     {"images/c.tar", '1', "", "images/a.tar"}},
                    /*gzip=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->unpacked_bytes, 4u + 11u);
  std::ifstream f(s.work + "/images/c.tar");
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "AAAA");
  struct stat st {};
  ASSERT_EQ(::stat((s.work + "/images/a.tar").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((s.work + "/images").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

struct HostileCase {
  const char* name;
  std::vector<RawTarEntry> entries;
};

TEST(UnpackArchive, RefusesHostileEntries) {
  const HostileCase cases[] = {
      {"dotdot", {{"../outside/victim", '0', "pwned"}}},
      {"nested dotdot", {{"a/../../outside/victim", '0', "pwned"}}},
      {"absolute", {{"/tmp/ppa-absolute-victim", '0', "pwned"}}},
      {"symlink escape then write",
       {{"link", '2', "", "../outside"}, {"link/victim", '0', "pwned"}}},
      {"absolute symlink", {{"link", '2', "", "/etc"}}},
      {"hard link to /etc/passwd", {{"passwd", '1', "", "/etc/passwd"}, {"passwd", '0', "pwned"}}},
      {"hard link dotdot", {{"victim", '1', "", "../outside/victim"}, {"victim", '0', "pwned"}}},
      {"char device", {{"dev", '3'}}},
      {"fifo", {{"fifo", '6'}}},
      {"symlinked dir then file",
       {{"d", '5'}, {"d/inner", '2', "", "."}, {"evil", '2', "", "d/inner"}, {"d/inner/x", '0', "y"}}},
  };
  for (const auto& c : cases) {
    Sandbox s;
    auto r = s.Unpack(c.entries);
    EXPECT_FALSE(r.ok()) << c.name;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive) << c.name << ": " << r.status().ToString();
    }
    EXPECT_EQ(s.Victim(), "original") << c.name;
    EXPECT_TRUE(s.Strays().empty()) << c.name;
  }
  EXPECT_FALSE(fs::exists("/tmp/ppa-absolute-victim"));
}

TEST(UnpackArchive, PlantedSymlinkCannotRedirectLaterWrite) {
  Sandbox s;
  // A symlink inside the tree is allowed; a later entry written *through*
  // it (as a directory component) is refused.
  auto r = s.Unpack({{"a", '5'}, {"b", '2', "", "a"}, {"b/file", '0', "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive);
}

TEST(UnpackArchive, LaterEntryReplacesSymlinkInsteadOfFollowingIt) {
  Sandbox s;
  auto r = s.Unpack({{"f", '0', "one"}, {"link", '2', "", "f"}, {"link", '0', "two"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::ifstream f(s.work + "/f");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(f)), {}), "one");
}

TEST(UnpackArchive, SelectWritesOnlyTheChosenFilesAndStillChecksTheRest) {
  Sandbox s;
  std::string path = s.dir.path() + "/archive.tar";
  test::WriteFileOrDie(path, BuildRawTar({{"images/", '5'},
                                          {"images/a.tar", '0', "aaa"},
                                          {"images/b.tar", '0', "bbb"},
                                          {"manifest.yaml", '0', "m"}}));
  UnpackOptions options;
  options.select = [](const std::string& p) { return p == "images/b.tar"; };
  auto r = UnpackArchive(path, s.work, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files, std::vector<std::string>{"images/b.tar"});
  EXPECT_EQ(*test::ReadFileToString(s.work + "/images/b.tar"), "bbb");
  EXPECT_FALSE(fs::exists(s.work + "/images/a.tar"));
  EXPECT_FALSE(fs::exists(s.work + "/manifest.yaml"));

  // An unsafe entry is refused even when it is not selected.
  test::WriteFileOrDie(path, BuildRawTar({{"../evil", '0', "x"}, {"images/b.tar", '0', "bbb"}}));
  Sandbox t;
  EXPECT_EQ(UnpackArchive(path, t.work, options).status().code(), StatusCode::kUnsafeArchive);
}

TEST(UnpackArchive, NotAnArchive) {
  Sandbox s;
  std::string path = s.dir.path() + "/junk.tgz";
  test::WriteFileOrDie(path, std::string(2000, 'x'));
  auto r = UnpackArchive(path, s.work);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("junk.tgz"), std::string::npos);
}

TEST(UnpackArchive, SizeLimitRefusesNamingTheEntryAndRemovesThePartialFile) {
  Sandbox s;
  std::string tar = BuildRawTar({{"small", '0', "ok"}, {"big", '0', std::string(100000, 'z')}});
  std::string path = s.dir.path() + "/archive.tar";
  test::WriteFileOrDie(path, test::Gzip(tar));
  auto r = UnpackArchive(path, s.work, UnpackOptions{50000});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive);
  EXPECT_NE(r.status().message().find("'big'"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().hint().find("--max-unpacked-size"), std::string::npos);
  EXPECT_FALSE(fs::exists(s.work + "/big"));
  // The same archive passes with the default limit (at least 1 GiB).
  Sandbox again;
  test::WriteFileOrDie(again.dir.path() + "/archive.tar", test::Gzip(tar));
  EXPECT_TRUE(UnpackArchive(again.dir.path() + "/archive.tar", again.work).ok());
}

TEST(DefaultUnpackLimit, RatioFloorAndCap) {
  struct Case {
    uint64_t archive;
    uint64_t limit;
  };
  const Case cases[] = {
      {0, kUnpackFloorBytes},
      {2u << 20, kUnpackFloorBytes},                  // a 2 MiB bomb: 1 GiB, not 200 MiB
      {5ull << 30, 500ull << 30},                     // 5 GiB archive: 100x
      {100ull << 30, kUnpackCapBytes},                // 100x would pass the cap
      {UINT64_MAX / 2, kUnpackCapBytes},              // no overflow
  };
  for (const auto& c : cases) EXPECT_EQ(DefaultUnpackLimit(c.archive), c.limit) << c.archive;
}

TEST(InflationBudget, RaiseLimitOnlyRaises) {
  InflationBudget budget(100);
  budget.RaiseLimit(50);
  EXPECT_EQ(budget.limit(), 100u);
  EXPECT_TRUE(budget.Charge(90, "a").ok());
  budget.RaiseLimit(200);
  EXPECT_EQ(budget.limit(), 200u);
  EXPECT_TRUE(budget.Charge(100, "b").ok());
  EXPECT_EQ(budget.Charge(20, "c").code(), StatusCode::kUnsafeArchive);
  budget.RaiseLimit(1000);  // an exceeded budget stays exceeded
  EXPECT_TRUE(budget.exceeded());
}

// Standard input replaced by a pipe fed with `bytes` by a thread, for the
// life of the object.
class StdinFromPipe {
 public:
  explicit StdinFromPipe(std::string bytes) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    saved_ = ::dup(STDIN_FILENO);
    ::dup2(fds[0], STDIN_FILENO);
    ::close(fds[0]);
    writer_ = std::thread([fd = fds[1], bytes = std::move(bytes)] {
      size_t done = 0;
      while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(fd);
    });
  }
  ~StdinFromPipe() {
    writer_.join();
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
  std::thread writer_;
};

// kStdinArchive: the same files as from the file, gzip or plain; a stream
// cut short says so about standard input.
TEST(UnpackArchive, StandardInputUnpacksAsTheFileDoes) {
  std::string big(3 << 20, 'b');  // more than one read block
  std::string tar = BuildRawTar({{"dir/", '5', ""}, {"dir/a", '0', "alpha"}, {"big", '0', big}});
  for (bool gzip : {true, false}) {
    Sandbox s;
    {
      StdinFromPipe in(gzip ? test::Gzip(tar) : tar);
      auto r = UnpackArchive(kStdinArchive, s.work);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->files, (std::vector<std::string>{"dir/a", "big"}));
    }
    auto a = test::ReadFileToString(s.work + "/dir/a");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, "alpha");
    EXPECT_EQ(fs::file_size(s.work + "/big"), big.size());
  }
  Sandbox cut;
  std::string gz = test::Gzip(tar);
  StdinFromPipe in(gz.substr(0, gz.size() / 2));
  auto r = UnpackArchive(kStdinArchive, cut.work);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("standard input is truncated"), std::string::npos)
      << r.status().ToString();
}

TEST(UnpackArchive, EntryCountLimit) {
  Sandbox s;
  std::vector<RawTarEntry> entries;
  for (int i = 0; i < 11; ++i) {
    std::string name(1, 'f');  // ("f" + ... trips GCC 12's -Wrestrict at -O3)
    name += std::to_string(i);
    entries.push_back({name, '0', "x"});
  }
  test::WriteFileOrDie(s.dir.path() + "/archive.tar", BuildRawTar(entries));
  UnpackOptions options;
  options.max_entries = 10;
  auto r = UnpackArchive(s.dir.path() + "/archive.tar", s.work, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive);
  EXPECT_NE(r.status().message().find("'f10'"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("more than 10 entries"), std::string::npos);
}

TEST(UnpackArchive, AbsurdPathLengthsAreRefused) {
  const std::string long_name(kMaxEntryPathLength + 1, 'a');
  std::string deep;
  while (deep.size() <= kMaxEntryPathLength) deep += "d/";
  for (const std::string& name : {long_name, deep + "file"}) {
    Sandbox s;
    auto r = s.Unpack({{name, '0', "x"}});
    ASSERT_FALSE(r.ok()) << name.size();
    EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive) << r.status().ToString();
    EXPECT_TRUE(s.Strays().empty());
  }
}

TEST(UnpackArchive, SetuidSetgidAndStickyBitsAreDropped) {
  Sandbox s;
  auto r = s.Unpack({{"bin/", '5', "", "", 01777},
                     {"bin/suid", '0', "#!/bin/sh\n", "", 04755},
                     {"bin/sgid", '0', "x", "", 02755},
                     {"bin/all", '0', "x", "", 07777}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat((s.work + "/bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  for (const char* f : {"bin/suid", "bin/sgid", "bin/all"}) {
    ASSERT_EQ(::stat((s.work + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << f;
  }
}

TEST(UnpackArchive, DeviceNodesFifosAreNeverCreated) {
  for (char type : {'3', '4', '6'}) {
    Sandbox s;
    auto r = s.Unpack({{"node", type}});
    ASSERT_FALSE(r.ok()) << type;
    EXPECT_EQ(r.status().code(), StatusCode::kUnsafeArchive);
    EXPECT_NE(r.status().message().find("'node'"), std::string::npos) << r.status().ToString();
    EXPECT_FALSE(fs::exists(fs::symlink_status(s.work + "/node"))) << type;
  }
}

TEST(DecompressFile, StopsAtTheLimitAndRemovesWhatItWrote) {
  test::TempDir dir("ppa-decompress-bomb");
  std::string src = dir.Join("bomb.gz"), out = dir.Join("bomb.tar");
  test::WriteFileOrDie(dir.Join("bomb"), std::string(4 << 20, '\0'));
  ASSERT_EQ(test::RunProcess({"gzip", "-k", dir.Join("bomb")}).exit_code, 0);
  ASSERT_TRUE(DecompressFile(src, out, 8 << 20).ok());
  Status s = DecompressFile(src, out, 1 << 20);
  EXPECT_EQ(s.code(), StatusCode::kUnsafeArchive) << s.ToString();
  EXPECT_NE(s.message().find("bomb.gz"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(DecompressFile, EveryCompressionByMagic) {
  TempDir dir("ppa-decompress");
  std::string data(50000, 'q');
  test::WriteFileOrDie(dir.path() + "/plain", data);
  for (const char* tool : {"gzip", "xz", "zstd", "bzip2"}) {
    std::string src = dir.path() + "/in." + tool;
    auto r = test::RunProcess({"sh", "-c", std::string(tool) + " -c < '" + dir.path() + "/plain' > '" + src + "'"});
    ASSERT_EQ(r.exit_code, 0) << tool << r.stderr_text;
    std::string out = dir.path() + "/out";
    ASSERT_TRUE(DecompressFile(src, out).ok()) << tool;
    std::ifstream f(out);
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(f)), {}), data) << tool;
  }
}


// Later stages see every byte of every file as it is written, in order, and
// hear before a path is (re)written.
TEST(UnpackArchive, DataHooksSeeEachFileAsItIsWritten) {
  Sandbox box;
  std::string big(3 << 20, 'q');
  big[12345] = 'x';
  std::string tar = BuildRawTar({{"images/", '5'},
                                 {"images/a.tar", '0', big},
                                 {"images/link", '2', "", "a.tar"},
                                 {"images/a.tar", '0', "replaced"}});
  std::string path = box.dir.path() + "/archive.tar";
  test::WriteFileOrDie(path, test::Gzip(tar));
  std::vector<std::string> begun;
  std::map<std::string, std::string> seen;
  UnpackOptions options;
  options.on_file_begin = [&](const std::string& rel) {
    begun.push_back(rel);
    seen[rel].clear();
  };
  options.on_data = [&](const std::string& rel, uint64_t offset, std::string_view data,
                        const UnpackOptions::BlockWriter& write) {
    EXPECT_EQ(offset, seen[rel].size()) << rel;
    seen[rel].append(data);
    return write(offset, data);
  };
  auto result = UnpackArchive(path, box.work, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(begun, (std::vector<std::string>{"images/a.tar", "images/link", "images/a.tar"}));
  EXPECT_EQ(seen["images/a.tar"], "replaced");
  EXPECT_EQ(seen["images/link"], "");
  std::string first;
  options.on_file_begin = [&](const std::string&) {};
  options.on_data = [&](const std::string& rel, uint64_t offset, std::string_view data,
                        const UnpackOptions::BlockWriter& write) {
    if (rel == "images/a.tar" && first.size() < big.size()) first.append(data);
    return write(offset, data);
  };
  Sandbox again;
  ASSERT_TRUE(UnpackArchive(path, again.work, options).ok());
  EXPECT_EQ(first, big);
}

// The data hook decides what lands in the file: what it leaves out reads as
// zeros, and the file still gets its full size. An error from it stops
// Unpack.
TEST(UnpackArchive, TheDataHookWritesWhatItKeeps) {
  Sandbox box;
  const std::string big(3 << 20, 'q');
  std::string path = box.dir.path() + "/archive.tar.gz";
  test::WriteFileOrDie(path, test::Gzip(BuildRawTar({{"a.bin", '0', big}})));
  constexpr uint64_t kKept = 5000;
  UnpackOptions options;
  options.on_data = [&](const std::string&, uint64_t offset, std::string_view data,
                        const UnpackOptions::BlockWriter& write) {
    if (offset >= kKept) return Status::Ok();
    return write(offset, data.substr(0, std::min<uint64_t>(data.size(), kKept - offset)));
  };
  auto result = UnpackArchive(path, box.work, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto bytes = test::ReadFileToString(box.work + "/a.bin");
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), big.size());
  EXPECT_EQ(bytes->substr(0, kKept), big.substr(0, kKept));
  EXPECT_EQ(bytes->find_first_not_of('\0', kKept), std::string::npos);

  options.on_data = [](const std::string&, uint64_t, std::string_view,
                       const UnpackOptions::BlockWriter&) { return IoError("hook refused"); };
  Sandbox again;
  auto refused = UnpackArchive(path, again.work, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("hook refused"), std::string::npos);
}

}  // namespace
}  // namespace ppa
