// The real `ppa-import` against archives that try to make it read or write
// outside its work directory, or inflate without bound:
//  - links whose targets stay inside the archive as text but lead out of it
//    on disk, through other links (chained "d/s -> .." hops, in plain, PAX
//    `linkpath` and GNU long-link records, made before or after the link
//    they go through), hard links to links, link loops, links replaced by
//    directories;
//  - names the file system cannot hold (a component over 255 bytes);
//  - sparse entries claiming far more than they store;
//  - image files compressed as a whole that together inflate past the
//    archive's budget.
// Each is refused with exit status 3 and one error line naming the entry; no
// file outside the archive reaches charts/ or the target.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/support/hostile_documents.h"
#include "tests/support/load_fixture.h"
#include "tests/support/process.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

using test::Output;
using test::ProcessResult;
using test::RawTarEntry;

const std::string kManifest = test::OneImageManifestYaml("images/app.tar");

// "d/s/" `hops` times: on disk each hop is the archive's root again (d/s ->
// ..), as text each is two components deeper.
std::string Hops(int hops) {
  std::string out;
  for (int i = 0; i < hops; ++i) out += "d/s/";
  return out;
}

class EscapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(outside_);
    fs::create_directories(work_);
    fs::copy_file(std::string(PPA_TEST_DATA_DIR) + "/images/test_image_2.tar",
                  outside_ + "/secret.tar");
    test::WriteFileOrDie(outside_ + "/secret.prov", "SECRET-PROVENANCE");
    image_ = test::ReadFileOr(std::string(PPA_TEST_DATA_DIR) + "/images/test_image_2.tar");
    chart_ = test::ReadFileOr(std::string(PPA_TEST_DATA_DIR) + "/charts/frobnitz-1.2.3.tgz");
    ASSERT_FALSE(image_.empty());
    ASSERT_FALSE(chart_.empty());
  }

  // The entries every archive here starts with: the manifest, the link
  // that leads back to the root, a real chart.
  std::vector<RawTarEntry> Base() const {
    return {{"manifest.yaml", '0', kManifest},
            {"d/", '5'},
            {"d/s", '2', "", ".."},
            {"images/", '5'},
            {"charts/", '5'},
            {"charts/frobnitz-1.2.3.tgz", '0', chart_}};
  }

  ProcessResult Run(const std::string& label, const std::string& archive_bytes,
                    std::vector<std::string> extra = {}, const std::string& command = "load") {
    std::string archive = dir_.Join(label + ".tgz");
    test::WriteFileOrDie(archive, archive_bytes);
    std::vector<std::string> argv{PPA_IMPORT_BINARY, command, archive};
    if (command == "load") {
      for (const char* a : {"--namespace", "test_ns", "--registry"}) argv.push_back(a);
      argv.push_back("oci:" + layout_);
    }
    argv.push_back("--workdir");
    argv.push_back(work_);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  }

  // Exit 3, one error line naming `entry`, nothing of outside_ read into
  // the target or charts/.
  void ExpectRefused(const std::string& label, const std::string& archive_bytes,
                     const std::string& entry, std::vector<std::string> extra = {},
                     const std::string& command = "load") {
    ProcessResult r = Run(label, archive_bytes, std::move(extra), command);
    EXPECT_EQ(r.exit_code, 3) << label << "\n" << Output(r);
    size_t errors = 0;
    for (size_t at = r.stderr_text.find("Error: "); at != std::string::npos;
         at = r.stderr_text.find("Error: ", at + 1)) {
      ++errors;
    }
    EXPECT_EQ(errors, 1u) << label << "\n" << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(entry), std::string::npos)
        << label << ": the error must name '" << entry << "'\n" << r.stderr_text;
    ExpectNothingFromOutside(label);
  }

  void ExpectNothingFromOutside(const std::string& label) {
    EXPECT_FALSE(fs::exists(layout_ + "/index.json") &&
                 test::ReadFileOr(layout_ + "/index.json").find("manifests\":[{") !=
                     std::string::npos)
        << label << ": an image reached the target\n" << test::ReadFileOr(layout_ + "/index.json");
    if (fs::exists(work_ + "/charts")) {
      for (auto& e : fs::recursive_directory_iterator(work_ + "/charts")) {
        EXPECT_EQ(test::ReadFileOr(e.path()).find("SECRET"), std::string::npos)
            << label << ": " << e.path() << " holds a file from outside the archive";
      }
    }
    EXPECT_EQ(test::ReadFileOr(outside_ + "/secret.prov"), "SECRET-PROVENANCE") << label;
  }

  std::string Gz(const std::vector<RawTarEntry>& entries) {
    return test::Gzip(test::BuildRawTar(entries));
  }
  std::vector<RawTarEntry> With(std::vector<RawTarEntry> entries) const {
    std::vector<RawTarEntry> all = Base();
    all.insert(all.end(), entries.begin(), entries.end());
    return all;
  }

  test::TempDir dir_{"ppa-escape"};
  std::string work_ = dir_.Join("work");
  std::string layout_ = dir_.Join("layout");
  std::string outside_ = dir_.Join("outside");
  std::string image_, chart_;
};

// The sanity check of the fixture: the same archive with the image inside
// imports, so the refusals below are for the links alone.
TEST_F(EscapeTest, TheArchiveWithItsOwnImageImports) {
  ProcessResult r = Run("plain", Gz(With({{"images/app.tar", '0', image_}})));
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(test::ReadFileOr(layout_ + "/index.json").find("test_image_2"), std::string::npos);
}

// images/app.tar -> ../d/s/d/s/../../outside/secret.tar stays inside as text
// (d/s/d/s/.. is d/s/d) and is dir_/outside/secret.tar on disk.
TEST_F(EscapeTest, ChainedLinkToAnImageFileOutsideIsRefused) {
  ExpectRefused("chained-image",
                Gz(With({{"images/app.tar", '2', "", "../" + Hops(2) + "../../outside/secret.tar"}})),
                "images/app.tar");
}

TEST_F(EscapeTest, ChainedLinkToAProvenanceFileOutsideIsRefused) {
  ExpectRefused("chained-prov",
                Gz(With({{"images/app.tar", '0', image_},
                         {"charts/frobnitz-1.2.3.tgz.prov", '2', "",
                          "../" + Hops(2) + "../../outside/secret.prov"}})),
                "charts/frobnitz-1.2.3.tgz.prov");
}

TEST_F(EscapeTest, ChainedLinkInAPaxLinkpathIsRefused) {
  ExpectRefused(
      "pax-linkpath",
      Gz(With({{"pax", 'x', test::PaxRecord("linkpath", "../" + Hops(3) + "../../outside/secret.tar")},
               {"images/app.tar", '2', "", "harmless"}})),
      "images/app.tar");
}

TEST_F(EscapeTest, ChainedLinkInAGnuLongLinkIsRefused) {
  const std::string target = "../" + Hops(30) + "../../outside/secret.tar";
  ASSERT_GT(target.size(), 100u);  // written as a GNU 'K' record
  ExpectRefused("gnu-longlink", Gz(With({{"images/app.tar", '2', "", target}})), "images/app.tar");
}

// The link is made while "d/s" does not exist yet: only the check of every
// link once the archive is complete sees where it leads.
TEST_F(EscapeTest, LinkMadeBeforeTheLinkItGoesThroughIsRefused) {
  ExpectRefused("link-first",
                Gz({{"manifest.yaml", '0', kManifest},
                    {"images/", '5'},
                    {"images/app.tar", '2', "", "../" + Hops(2) + "../../outside/secret.tar"},
                    {"d/", '5'},
                    {"d/s", '2', "", ".."}}),
                "images/app.tar");
}

TEST_F(EscapeTest, AChainThroughADirectoryLinkIsRefused) {
  // images -> d/s/d/s/../.. is the root's parent on disk: the work folder.
  ExpectRefused("dir-chain",
                Gz({{"manifest.yaml", '0', kManifest},
                    {"d/", '5'},
                    {"d/s", '2', "", ".."},
                    {"images", '2', "", Hops(2) + "../../outside"}}),
                "images");
}

TEST_F(EscapeTest, AHardLinkToALinkIsRefused) {
  ExpectRefused("hardlink-to-link",
                Gz(With({{"inner", '2', "", "manifest.yaml"}, {"images/app.tar", '1', "", "inner"}})),
                "images/app.tar");
}

TEST_F(EscapeTest, ALinkLoopIsRefused) {
  ExpectRefused("loop", Gz(With({{"images/app.tar", '2', "", "b"}, {"images/b", '2', "", "app.tar"}})),
                "images/");
}

TEST_F(EscapeTest, ADirectoryOverALinkOfTheSameNameIsRefused) {
  ExpectRefused("dir-over-link",
                Gz({{"manifest.yaml", '0', kManifest}, {"images", '2', "", "d"}, {"images/", '5'}}),
                "images");
}

// A link replaced by a file of the same name is the file: the archive's own
// image is imported, nothing is read through the link that was there.
TEST_F(EscapeTest, AFileOverALinkOfTheSameNameIsTheFile) {
  ProcessResult r = Run("file-over-link", Gz(With({{"images/app.tar", '2', "", "../manifest.yaml"},
                                                    {"images/app.tar", '0', image_}})));
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(test::ReadFileOr(layout_ + "/index.json").find("test_image_2"), std::string::npos);
}

// A link that stays inside the archive on disk, through "d/s", is read.
TEST_F(EscapeTest, LinksThatStayInsideStillWork) {
  ProcessResult r = Run("inside", Gz(With({{"images/app.tar", '0', image_},
                                           {"real/", '5'},
                                           {"real/frobnitz.prov", '0', "INSIDE-PROVENANCE"},
                                           {"charts/frobnitz-1.2.3.tgz.prov", '2', "",
                                            "../" + Hops(2) + "real/frobnitz.prov"}})));
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_EQ(test::ReadFileOr(work_ + "/charts/frobnitz-1.2.3.tgz.prov"), "INSIDE-PROVENANCE");
}

// Names: a component over 255 bytes cannot be created on Linux file
// systems; that is the archive's fault (exit 3), not our disk's.
TEST_F(EscapeTest, NameComponentsLongerThanTheFileSystemAllowsAreTheArchivesFault) {
  const std::string long_part(256, 'n');
  struct Case {
    std::string label;
    std::vector<RawTarEntry> entries;
  };
  const std::vector<Case> cases = {
      {"long-file", {{"images/" + long_part, '0', "x"}}},
      {"long-dir", {{long_part + "/", '5'}}},
      {"long-middle", {{"a/" + long_part + "/b", '0', "x"}}},
      {"long-symlink", {{long_part, '2', "", "manifest.yaml"}}},
      {"long-hardlink", {{long_part, '1', "", "manifest.yaml"}}},
      {"long-pax-path", {{"pax", 'x', test::PaxRecord("path", "p/" + long_part)}, {"short", '0', "x"}}},
  };
  for (const auto& c : cases) {
    std::vector<RawTarEntry> entries{{"manifest.yaml", '0', kManifest}};
    entries.insert(entries.end(), c.entries.begin(), c.entries.end());
    ExpectRefused(c.label, Gz(entries), long_part);
  }
}

// A long name the archive may have (255 bytes) stays usable: the files made
// from it (inflated copies, spool files, the chart and its provenance in
// charts/) get names of their own that fit.
TEST_F(EscapeTest, TheLongestNamesAFileSystemHoldsStillImport) {
  const std::string image_name = "images/" + std::string(252, 'i') + ".gz";
  const std::string chart_name = "charts/" + std::string(245, 'c') + ".tgz";
  std::string manifest = kManifest;
  manifest.replace(manifest.find("images/app.tar"), 14, image_name);
  manifest.replace(manifest.find("charts/frobnitz-1.2.3.tgz"), 25, chart_name);
  ProcessResult r = Run("longest", Gz({{"manifest.yaml", '0', manifest},
                                       {"images/", '5'},
                                       {image_name, '0', test::Gzip(image_)},
                                       {"charts/", '5'},
                                       {chart_name, '0', chart_},
                                       {chart_name + ".prov", '0', "PROVENANCE"}}));
  ASSERT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(test::ReadFileOr(layout_ + "/index.json").find("test_image_2"), std::string::npos);
}

// A directory given as the archive that holds none: the one error names it
// and what was looked for (exit 2), in load and with a list file.
TEST_F(EscapeTest, ADirectoryWithoutArchivesIsNamed) {
  const std::string empty = dir_.Join("no-archives");
  fs::create_directories(empty + "/sub");
  test::WriteFileOrDie(empty + "/readme.txt", "not an archive");
  test::WriteFileOrDie(empty + "/sub/a.tgz", Gz(Base()));
  test::WriteFileOrDie(dir_.Join("list"), empty + "\n");
  for (const std::vector<std::string>& source :
       {std::vector<std::string>{empty}, std::vector<std::string>{"--from-list", dir_.Join("list")}}) {
    std::vector<std::string> argv{PPA_IMPORT_BINARY, "load"};
    argv.insert(argv.end(), source.begin(), source.end());
    for (const std::string a : {"--namespace", "test_ns", "--workdir"}) argv.push_back(a);
    argv.push_back(work_);
    ProcessResult r = test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
    EXPECT_EQ(r.exit_code, 2) << Output(r);
    EXPECT_EQ(r.stderr_text.rfind("Error: ", 0), 0u) << Output(r);
    EXPECT_NE(r.stderr_text.find("directory '" + empty + "' holds no archive"), std::string::npos)
        << Output(r);
    EXPECT_NE(r.stderr_text.find("Hint: "), std::string::npos) << Output(r);
    EXPECT_NE(r.stderr_text.find("subdirectories are not searched"), std::string::npos);
  }
}

// GNU tar writes a sparse file as the data it holds plus a map: a few
// hundred bytes for a 200 GiB file. It counts at its logical size.
class SparseTest : public EscapeTest {
 protected:
  std::string SparseArchive(const std::string& label, const std::vector<std::string>& tar_flags) {
    std::string tree = dir_.Join("tree-" + label);
    fs::create_directories(tree + "/images");
    test::WriteFileOrDie(tree + "/manifest.yaml", kManifest);
    std::string big = tree + "/images/app.tar";
    {
      std::ofstream f(big, std::ios::binary);
      f << "head";
    }
    fs::resize_file(big, 200ull << 30);  // a hole: no block is written
    std::vector<std::string> argv{"tar", "-C", tree, "--sparse"};
    argv.insert(argv.end(), tar_flags.begin(), tar_flags.end());
    std::string out = dir_.Join(label + ".src.tgz");
    for (const char* a : {"-czf"}) argv.push_back(a);
    argv.push_back(out);
    argv.push_back("manifest.yaml");
    argv.push_back("images");
    ProcessResult packed = test::RunProcess(argv);
    EXPECT_EQ(packed.exit_code, 0) << Output(packed);
    fs::remove_all(tree);
    std::string bytes = test::ReadFileOr(out);
    EXPECT_LT(bytes.size(), 64u << 10) << label;
    return bytes;
  }
};

TEST_F(SparseTest, SparseEntriesCountAtTheirLogicalSize) {
  struct Case {
    std::string label;
    std::vector<std::string> flags;
  };
  const std::vector<Case> cases = {
      {"gnu", {"--format=gnu"}},
      {"pax-0.0", {"--format=posix", "--sparse-version=0.0"}},
      {"pax-0.1", {"--format=posix", "--sparse-version=0.1"}},
      {"pax-1.0", {"--format=posix", "--sparse-version=1.0"}},
  };
  for (const auto& c : cases) {
    ExpectRefused("sparse-" + c.label, SparseArchive(c.label, c.flags), "images/app.tar");
  }
  // inspect meets the same limit.
  ExpectRefused("sparse-inspect", SparseArchive("inspect", {"--format=gnu"}), "images/app.tar", {},
                "inspect");
}

// Image files compressed as a whole share the archive's budget with the
// outer unpack: three inner bombs, each far below any per-file limit,
// together pass it.
class NestedBombTest : public EscapeTest {
 protected:
  // An archive of three image files, each `mib` MiB of zeros compressed by
  // `compress` (a shell pipeline reading stdin), and no PPA manifest: every
  // file is looked at for images.
  std::string NestedArchive(const std::string& label, const std::string& compress, int mib) {
    std::string tree = dir_.Join("tree-" + label);
    fs::create_directories(tree + "/images");
    for (int i = 0; i < 3; ++i) {
      std::string file = tree + "/images/bomb" + std::to_string(i);
      ProcessResult made = test::RunProcess(
          {"sh", "-c", "head -c " + std::to_string(mib) + "M /dev/zero | " + compress + " > " + file});
      EXPECT_EQ(made.exit_code, 0) << Output(made);
    }
    std::string out = dir_.Join(label + ".src.tgz");
    ProcessResult packed =
        test::RunProcess({"tar", "-C", tree, "-czf", out, "images"});
    EXPECT_EQ(packed.exit_code, 0) << Output(packed);
    fs::remove_all(tree);
    return test::ReadFileOr(out);
  }
};

TEST_F(NestedBombTest, InnerFilesOfEveryCompressionShareOneBudget) {
  for (const char* compress : {"gzip -1", "zstd -q -1", "xz -0 -T1", "bzip2 -1"}) {
    std::string tool(compress);
    std::string label = "nested-" + tool.substr(0, tool.find(' '));
    // 3 x 24 MiB against a budget of 48 MiB: each file alone fits.
    ExpectRefused(label, NestedArchive(label, compress, 24), "decompression bomb",
                  {"--max-unpacked-size", "48M"});
  }
}

TEST_F(NestedBombTest, TheDefaultBudgetHoldsInLoadAndInspect) {
  // About 1 MB of archive: its default budget is the 1 GiB floor, which
  // 3 x 400 MiB of zeros passes.
  std::string archive = NestedArchive("nested-default", "gzip -1", 400);
  ExpectRefused("nested-default", archive, "decompression bomb");
  ExpectRefused("nested-inspect", archive, "decompression bomb", {}, "inspect");
}

TEST_F(NestedBombTest, ARaisedLimitLetsTheSameArchiveThrough) {
  ProcessResult r = Run("nested-raised", NestedArchive("nested-raised", "gzip -1", 24),
                        {"--max-unpacked-size", "1G"});
  EXPECT_NE(r.exit_code, 3) << Output(r);  // zeros are no image: that item fails
  EXPECT_EQ(r.stderr_text.find("decompression bomb"), std::string::npos) << Output(r);
}

}  // namespace
}  // namespace ppa
