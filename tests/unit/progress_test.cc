#include "importer/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ppa {
namespace {

TEST(HumanBytes, Table) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(12ull << 20), "12.0 MiB");
  EXPECT_EQ(HumanBytes(3ull << 30), "3.0 GiB");
}

TEST(FormatTransferLine, BytesRateEtaWithinWidth) {
  std::string line = FormatTransferLine("ns/app sha256:abcd", 10ull << 20, 40ull << 20,
                                        10.0 * (1 << 20), 80);
  EXPECT_NE(line.find("10.0 MiB / 40.0 MiB"), std::string::npos) << line;
  EXPECT_NE(line.find("10.0 MiB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:03"), std::string::npos) << line;
  std::string narrow = FormatTransferLine(std::string(200, 'x'), 1, 2, 1, 40);
  EXPECT_LT(narrow.size(), 40u);
  EXPECT_EQ(FormatTransferLine("a", 5, 10, 0, 80).find("ETA"), std::string::npos);
}

TEST(FormatOverallLine, Bar) {
  EXPECT_EQ(FormatOverallLine(50, 100, 3, 12, 80), "[##########..........]  50%  3 of 12 blob(s)");
  EXPECT_EQ(FormatOverallLine(0, 0, 0, 0, 80), "[####################] 100%  0 of 0 blob(s)");
}

TEST(ProgressDisplay, DisabledWritesNothing) {
  char buf[256] = {0};
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  {
    ProgressDisplay display(f, /*enabled=*/false);
    int id = display.Begin("x", 100);
    display.Update(id, 50);
    display.End(id);
    display.Above([] {});
  }
  std::fclose(f);
  EXPECT_STREQ(buf, "");
}

TEST(ProgressDisplay, EnabledDrawsAndClears) {
  char buf[4096] = {0};
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  {
    ProgressDisplay display(f, /*enabled=*/true);
    int id = display.Begin("layer", 100);
    display.Update(id, 100);
    display.End(id);
  }
  std::fclose(f);
  std::string out(buf);
  EXPECT_NE(out.find("layer"), std::string::npos);
  EXPECT_NE(out.find("blob(s)"), std::string::npos);
  EXPECT_NE(out.find("\x1b["), std::string::npos);  // redrawn in place
}

}  // namespace
}  // namespace ppa
