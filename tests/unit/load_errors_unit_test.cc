// The pure parts of the load errors (docs/cli.md, "Errors"): what an unreadable file
// is, what an image tarball given as the archive is, how much room an
// archive needs, the work-directory and ChartMuseum wording, and the
// interrupt message.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "archive/tar/unpack.h"
#include "helm_io/chartmuseum_client.h"
#include "importer/cli/cli.h"
#include "importer/cli/interrupt.h"
#include "importer/load/workspace.h"

namespace ppa {
namespace {

std::string TarHead() {
  std::string head(512, '\0');
  head.replace(0, 5, "a.txt");
  head.replace(257, 5, "ustar");
  return head;
}

TEST(DescribeUnreadableArchive, SaysWhichKindOfUnreadable) {
  struct Case {
    std::string head;
    uint64_t size;
    std::string detail, says, hint;
  };
  const std::string gzip("\x1f\x8b\x08\x00", 4);
  const Case cases[] = {
      {"", 0, "x", "'a.tgz' is empty (0 bytes), not a tar or compressed tar archive", "download"},
      {std::string("PK\x03\x04", 4), 300, "x", "'a.tgz' is a zip file", "unzip"},
      {std::string("PK\x05\x06", 4), 22, "x", "'a.tgz' is a zip file", "unzip"},
      {"<html>\n<body>Forbidden</body>", 5000, "Unrecognized archive format",
       "is not a tar or compressed tar archive (it starts with text: '<html> <body>", "download"},
      {std::string("\x01\x02\x03\xff", 4), 4, "Unrecognized archive format",
       "is not a tar or compressed tar archive (unknown content)", "download"},
      {gzip, 12345, "truncated gzip input", "'a.tgz' is truncated at byte 12345", "cut short"},
      {gzip, 99, "Premature end of gzip compressed data", "is truncated at byte 99", "download"},
      {TarHead(), 7000, "Truncated tar archive detected while reading data",
       "is truncated at byte 7000", "download"},
      {gzip, 500, "invalid code lengths set", "'a.tgz' is damaged: invalid code lengths set",
       "checksum"},
  };
  for (const auto& c : cases) {
    Status s = DescribeUnreadableArchive("a.tgz", c.head, c.size, c.detail);
    EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
    EXPECT_NE(s.hint().find(c.hint), std::string::npos) << s.hint();
  }
}

TEST(EstimateUnpackedSize, FromTheArchiveOrAStatedRule) {
  EXPECT_EQ(EstimateUnpackedSize(Compression::kNone, 1000, 0), 1000u);
  EXPECT_EQ(EstimateUnpackedSize(Compression::kGzip, 1000, 5000), 5000u);
  // The trailer holds the size modulo 4 GiB: at least the archive's size.
  EXPECT_EQ(EstimateUnpackedSize(Compression::kGzip, 6ull << 30, 1u << 30), 9ull << 30);
  EXPECT_EQ(EstimateUnpackedSize(Compression::kGzip, 3ull << 30, 1u << 30), 5ull << 30);
  EXPECT_EQ(EstimateUnpackedSize(Compression::kZstd, 1000, 0), 2000u);
  EXPECT_EQ(EstimateUnpackedSize(Compression::kXz, 1000, 0), 2000u);
}

TEST(ImageTarballKind, TellsImageTarballsFromPpaArchives) {
  struct Case {
    std::vector<std::string> files;
    std::string manifest_json, kind;
  };
  const Case cases[] = {
      {{"manifest.json", "abc/layer.tar", "abc.json"}, R"([{"Config":"abc.json"}])",
       "a docker save image tarball"},
      {{"manifest.json", "oci-layout", "index.json"}, " \n[]", "a docker save image tarball"},
      {{"oci-layout", "index.json", "blobs/sha256/aa"}, "", "an OCI image layout tarball"},
      {{"manifest.yaml", "manifest.json", "images/a.tar"}, "[]", ""},
      {{"manifest.json", "images/a.tar"}, R"({"images":[]})", ""},
      {{"images/a.tar"}, "", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(ImageTarballKind(c.files, c.manifest_json), c.kind);
}

TEST(UnpackExitCode, OurDiskIsOneAWrongInputTwoAnUnreadableArchiveThree) {
  EXPECT_EQ(UnpackExitCode(IoError("x")), kExitItemFailed);
  EXPECT_EQ(UnpackExitCode(Unsupported("x")), kExitUsage);
  EXPECT_EQ(UnpackExitCode(InvalidInput("x")), kExitBadArchive);
  EXPECT_EQ(UnpackExitCode(UnsafeArchive("x")), kExitBadArchive);
}

TEST(ExplainWorkdirError, NamesTheCauseAndTheSpaceNeeded) {
  Status full = ExplainWorkdirError(IoError("cannot write '/w/x': No space left on device"), "/w",
                                    5ull << 20);
  EXPECT_NE(full.message().find("no space left in the work directory '/w'"), std::string::npos)
      << full.message();
  EXPECT_NE(full.hint().find("the run needs about 5.0 MiB there"), std::string::npos)
      << full.hint();
  EXPECT_NE(full.hint().find("--workdir"), std::string::npos);
  Status ro = ExplainWorkdirError(IoError("cannot create '/w/x': Read-only file system"), "/w", 0);
  EXPECT_NE(ro.message().find("is on a read-only file system"), std::string::npos);
  Status other = InvalidInput("not ours");
  EXPECT_EQ(ExplainWorkdirError(other, "/w", 1).message(), "not ours");
}

TEST(ChartMuseumUnreachable, NamesChartMuseumNotTheRegistry) {
  Status s = ChartMuseumUnreachable(
      "http://u:secret@cm:8080/x",
      NetworkError("POST cm:8080: Failed to connect to cm port 8080: Connection refused",
                   "cannot reach cm:8080: ... the registry listens on that port"));
  EXPECT_EQ(s.message(), "ChartMuseum at 'http://cm:8080/x' is unreachable: connection refused");
  EXPECT_EQ(s.hint().find("registry"), std::string::npos) << s.hint();
  EXPECT_NE(s.hint().find("--chartmuseum-uri"), std::string::npos);
  Status dns = ChartMuseumUnreachable("http://nohost", NetworkError("Could not resolve host"));
  EXPECT_NE(dns.message().find("does not resolve"), std::string::npos);
  EXPECT_EQ(ChartMuseumUnreachable("http://x", HttpError("HTTP 500")).message(), "HTTP 500");
}

TEST(InterruptMessage, SaysWhatWasDoneAndWhereTheWorkIs) {
  std::string text = InterruptMessage(SIGINT, 3, "ibmcom/portal:2.1.0", {"/w/ppa-import/u1"});
  EXPECT_EQ(text,
            "\nError: interrupted (SIGINT): uploads stopped; 3 image(s) pushed and tagged (the "
            "last: 'ibmcom/portal:2.1.0'), the others not tagged; work directory left in "
            "'/w/ppa-import/u1'\nHint: run the same command again: it sends only what is "
            "missing, and removes the work directories that interrupted runs left\n");
  std::string none = InterruptMessage(SIGTERM, 0, "", {});
  EXPECT_NE(none.find("(SIGTERM): uploads stopped; 0 image(s)"), std::string::npos);
  // Names from archives cannot drive the terminal.
  std::string hostile = InterruptMessage(SIGINT, 1, "a\x1b[2Jb", {});
  EXPECT_EQ(hostile.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace ppa

namespace ppa {
namespace {

// The clean-up took any 36-character name ending in ".tmp" for a dead run's
// scratch folder, and removed it and its 36-character sibling: with
// --workdir $HOME or /tmp, another tool's folders.
TEST(RemoveDeadWorkspaces, TakesOnlyFoldersNamedAsRunsAre) {
  const std::string base = ::testing::TempDir() + "ppa-leftovers-" + NewUuid().substr(0, 8);
  namespace fs = std::filesystem;
  const std::vector<std::string> others = {
      "not-a-uuid-but-thirty-six-chars-long",   // 36 characters
      "3F6C0A9E-1B2C-4D5E-8F90-123456789ABC",  // upper case: not ours
      "3f6c0a9e_1b2c_4d5e_8f90_123456789abc",  // no dashes
  };
  for (const auto& name : others) {
    ASSERT_EQ(name.size(), 36u) << name;
    fs::create_directories(base + "/" + name);
    fs::create_directories(base + "/" + name + ".tmp");
  }
  const std::string dead = NewUuid();
  fs::create_directories(base + "/" + dead + "/images");
  fs::create_directories(base + "/" + dead + ".tmp");
  Leftovers freed = RemoveDeadWorkspaces(base);
  EXPECT_EQ(freed.folders, 2);
  EXPECT_FALSE(fs::exists(base + "/" + dead));
  EXPECT_FALSE(fs::exists(base + "/" + dead + ".tmp"));
  for (const auto& name : others) {
    EXPECT_TRUE(fs::exists(base + "/" + name)) << name;
    EXPECT_TRUE(fs::exists(base + "/" + name + ".tmp")) << name;
  }
  fs::remove_all(base);
}

}  // namespace
}  // namespace ppa
