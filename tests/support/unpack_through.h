// Writes one image file of a test archive through an AheadOfUnpack, as the
// Unpack stage does: OnFileBegin, the bytes in 10 000-byte pieces through
// OnData (which stores those it keeps into the new, empty file at
// root/rel), then OnFile.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "base/file_util.h"
#include "importer/load/ahead_of_unpack.h"

namespace ppa::test {

inline void UnpackThrough(AheadOfUnpack& ahead, const std::string& root, const std::string& rel,
                          const std::string& bytes) {
  const std::string path = root + "/" + rel;
  std::filesystem::remove(path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  UniqueFd file(fd);
  const UnpackOptions::BlockWriter write = [&](uint64_t at, std::string_view data) {
    return PwriteAll(file.get(), data.data(), data.size(), at, path);
  };
  ahead.OnFileBegin(rel);
  for (size_t at = 0; at < bytes.size(); at += 10000) {
    ASSERT_TRUE(ahead.OnData(rel, at, std::string_view(bytes).substr(at, 10000), write).ok());
  }
  ASSERT_EQ(::ftruncate(file.get(), static_cast<off_t>(bytes.size())), 0);
  file.Reset();
  ahead.OnFile(rel);
}

}  // namespace ppa::test
