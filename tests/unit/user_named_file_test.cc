// A report written where the user said (WriteUserNamedFile): through links,
// into FIFOs and devices in place, never replacing what is not a plain file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "base/file_util.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

// Sets the umask for one test and puts the old one back.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(WriteUserNamedFile, ANewFileGetsTheUmaskModeNotPrivateOne) {
  TempDir dir("ppa-unf");
  ScopedUmask mask(022);
  const std::string path = dir.path() + "/report.json";
  ASSERT_TRUE(WriteUserNamedFile(path, "{}\n").ok());
  EXPECT_EQ(Read(path), "{}\n");
  EXPECT_EQ(ModeOf(path) & 07777, 0644u);
}

TEST(WriteUserNamedFile, AnExistingFileIsReplacedWholeAndKeepsItsMode) {
  TempDir dir("ppa-unf");
  const std::string path = dir.path() + "/report.json";
  test::WriteFileOrDie(path, std::string(10000, 'x'));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(WriteUserNamedFile(path, "short\n").ok());
  EXPECT_EQ(Read(path), "short\n");
  EXPECT_EQ(ModeOf(path) & 07777, 0640u);
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename(), "report.json") << "a temporary file was left";
  }
}

TEST(WriteUserNamedFile, ASymlinkStaysALinkAndItsTargetGetsTheReport) {
  TempDir dir("ppa-unf");
  fs::create_directory(dir.path() + "/reports");
  const std::string target = dir.path() + "/reports/t.json";
  test::WriteFileOrDie(target, "old\n");
  const std::string link = dir.path() + "/link.json";
  fs::create_symlink("reports/t.json", link);  // relative, as ln -s makes it
  const std::string chained = dir.path() + "/chained.json";
  fs::create_symlink(link, chained);
  ASSERT_TRUE(WriteUserNamedFile(chained, "new\n").ok());
  EXPECT_TRUE(S_ISLNK(ModeOf(link)));
  EXPECT_TRUE(S_ISLNK(ModeOf(chained)));
  EXPECT_EQ(Read(target), "new\n");
}

TEST(WriteUserNamedFile, ADanglingLinkGetsItsTargetCreated) {
  TempDir dir("ppa-unf");
  const std::string link = dir.path() + "/link.json";
  fs::create_symlink(dir.path() + "/made.json", link);
  ASSERT_TRUE(WriteUserNamedFile(link, "made\n").ok());
  EXPECT_TRUE(S_ISLNK(ModeOf(link)));
  EXPECT_EQ(Read(dir.path() + "/made.json"), "made\n");
}

TEST(WriteUserNamedFile, AFifoIsWrittenToAndStaysAFifo) {
  TempDir dir("ppa-unf");
  const std::string fifo = dir.path() + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = Read(fifo); });
  Status s = WriteUserNamedFile(fifo, "through the pipe\n");
  reader.join();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got, "through the pipe\n");
  EXPECT_TRUE(S_ISFIFO(ModeOf(fifo)));
}

TEST(WriteUserNamedFile, ADeviceIsWrittenInPlaceNeverReplaced) {
  ASSERT_TRUE(WriteUserNamedFile("/dev/null", "discarded\n").ok());
  EXPECT_TRUE(S_ISCHR(ModeOf("/dev/null")));
  Status full = WriteUserNamedFile("/dev/full", "no room\n");
  EXPECT_FALSE(full.ok()) << "/dev/full takes nothing: the error must show";
  EXPECT_TRUE(S_ISCHR(ModeOf("/dev/full")));
}

// `--json /dev/stdout > out.txt`: the report joins what the shell's
// redirection already holds; out.txt is not replaced behind the shell's back.
TEST(WriteUserNamedFile, AFileReachedThroughProcIsAppendedToInPlace) {
  TempDir dir("ppa-unf");
  const std::string path = dir.path() + "/out.txt";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "before\n", 7), 7);
  struct stat before {};
  ASSERT_EQ(::fstat(fd, &before), 0);
  ASSERT_TRUE(WriteUserNamedFile("/proc/self/fd/" + std::to_string(fd), "report\n").ok());
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "the file was replaced";
  ::close(fd);
  EXPECT_EQ(Read(path), "before\nreport\n");
}

TEST(WriteUserNamedFile, ADirectoryOrALinkLoopIsAnError) {
  TempDir dir("ppa-unf");
  EXPECT_FALSE(WriteUserNamedFile(dir.path(), "x").ok());
  const std::string a = dir.path() + "/a", b = dir.path() + "/b";
  fs::create_symlink(b, a);
  fs::create_symlink(a, b);
  EXPECT_FALSE(WriteUserNamedFile(a, "x").ok());
  EXPECT_TRUE(S_ISLNK(ModeOf(a)));
}

TEST(ResolveOutputPath, FollowsLinksAndNotesDevAndProc) {
  TempDir dir("ppa-unf");
  const std::string link = dir.path() + "/l";
  fs::create_symlink("target.json", link);
  auto r = ResolveOutputPath(link);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->real, dir.path() + "/target.json");
  EXPECT_FALSE(r->through_special);
  auto out = ResolveOutputPath("/dev/stdout");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->through_special);
  EXPECT_FALSE(ResolveOutputPath(dir.path() + "/plain.json")->through_special);
}

}  // namespace
}  // namespace ppa
