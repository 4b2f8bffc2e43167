// Reading a file through a read-only mapping (MappedFile).
#include "base/file_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

using test::TempDir;

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

TEST(MappedFile, GivesTheFileBytesAndReadsThemAgainAfterARelease) {
  TempDir dir("ppa-map");
  const std::string path = dir.path() + "/f";
  const std::string content = Pattern(3 * 4096 + 100);
  test::WriteFileOrDie(path, content);
  auto fd = OpenForRead(path);
  ASSERT_TRUE(fd.ok());
  MappedFile map = MappedFile::Map(fd->get());
  ASSERT_NE(map.data(), nullptr);
  ASSERT_EQ(map.size(), content.size());
  ASSERT_TRUE(map.Populate(0, map.size()));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(map.data()), map.size()), content);
  map.Release(0, map.size());  // dropped from our memory, not from the file
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(map.data()), map.size()), content);
  EXPECT_TRUE(map.Populate(4096 + 10, 4096));    // need not start on a page
  EXPECT_FALSE(map.Populate(4096, map.size()));  // past the end
}

TEST(MappedFile, AReleasePastTheEndLeavesWhatFollowsTheMappingAlone) {
  TempDir dir("ppa-map");
  const std::string path = dir.path() + "/f";
  test::WriteFileOrDie(path, Pattern(4096));
  auto fd = OpenForRead(path);
  ASSERT_TRUE(fd.ok());
  // Private memory first: the kernel places the next mapping right below it.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* after = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(after, MAP_FAILED);
  static_cast<char*>(after)[0] = 'x';
  MappedFile map = MappedFile::Map(fd->get());
  ASSERT_NE(map.data(), nullptr);
  if (static_cast<const void*>(map.data() + page) != after) {
    ::munmap(after, page);
    GTEST_SKIP() << "the mapping is not right below the private page";
  }
  map.Release(0, 1 << 20);  // a block larger than the file
  EXPECT_EQ(static_cast<char*>(after)[0], 'x');
  ::munmap(after, page);
}

TEST(MappedFile, SeesAFileCutShortWithoutTouchingIt) {
  TempDir dir("ppa-map");
  const std::string path = dir.path() + "/f";
  test::WriteFileOrDie(path, Pattern(4 * 4096));
  auto fd = OpenForRead(path);
  ASSERT_TRUE(fd.ok());
  MappedFile map = MappedFile::Map(fd->get());
  ASSERT_NE(map.data(), nullptr);
  ASSERT_EQ(::truncate(path.c_str(), 4096), 0);
  EXPECT_TRUE(map.Populate(0, 4096));
  EXPECT_FALSE(map.Populate(2 * 4096, 4096));  // gone: reading it would raise SIGBUS
}

TEST(MappedFile, WhatCannotBeMappedIsLeftToReads) {
  TempDir dir("ppa-map");
  test::WriteFileOrDie(dir.path() + "/empty", "");
  auto empty = OpenForRead(dir.path() + "/empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(MappedFile::Map(empty->get()).data(), nullptr);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  EXPECT_EQ(MappedFile::Map(read_end.get()).data(), nullptr);
  MappedFile moved = MappedFile::Map(empty->get());
  EXPECT_EQ(moved.size(), 0u);
}

}  // namespace
}  // namespace ppa
