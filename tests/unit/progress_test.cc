#include "importer/report/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <thread>

#include "docker_io/image/image_source.h"
#include "importer/commands/inspect.h"
#include "importer/load/plan.h"
#include "importer/load/push_images.h"
#include "importer/report/report.h"
#include "importer/report/run_report.h"

namespace ppa {
namespace {

using Phase = ArchiveProgress::Phase;

TEST(HumanBytes, Table) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(12ull << 20), "12.0 MiB");
  EXPECT_EQ(HumanBytes(108'318'310), "103.3 MiB");
  EXPECT_EQ(HumanBytes(3ull << 30), "3.0 GiB");
}

TEST(FormatClock, Table) {
  EXPECT_EQ(FormatClock(0), "0:00");
  EXPECT_EQ(FormatClock(7), "0:07");
  EXPECT_EQ(FormatClock(725), "12:05");
  EXPECT_EQ(FormatClock(3723), "1:02:03");
}

TEST(FormatElapsed, Table) {
  EXPECT_EQ(FormatElapsed(0.04), "0.0 s");
  EXPECT_EQ(FormatElapsed(12.44), "12.4 s");
  EXPECT_EQ(FormatElapsed(125), "2 min 5 s");
  EXPECT_EQ(FormatElapsed(3720), "1 h 2 min");
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

// The overall bar was counted in blobs only: no bytes, rate or ETA.
TEST(FormatArchiveBar, PushBarInBytesWithRateAndEta) {
  ArchiveProgress p{"", Phase::kPushing, 25ull << 20, 100ull << 20, 10.0 * (1 << 20), 3, 12};
  EXPECT_EQ(FormatArchiveBar(p, 200),
            "Pushing   [#####...............]  25%  25.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:07  "
            "3/12 blobs");
  // A narrow terminal: the blob count goes first, then the rate; never the ETA.
  EXPECT_EQ(FormatArchiveBar(p, 82),
            "Pushing   [#####...............]  25%  25.0 MiB / 100.0 MiB  10.0 MiB/s  ETA 0:07");
  EXPECT_EQ(FormatArchiveBar(p, 72),
            "Pushing   [#####...............]  25%  25.0 MiB / 100.0 MiB  ETA 0:07");
  // Not started yet: no rate, no ETA.
  ArchiveProgress idle{"", Phase::kPushing, 0, 100ull << 20, 0, 0, 12};
  EXPECT_EQ(FormatArchiveBar(idle, 200),
            "Pushing   [....................]   0%  0 B / 100.0 MiB  0/12 blobs");
  // Done: a full bar, no ETA.
  ArchiveProgress done{"", Phase::kPushing, 100ull << 20, 100ull << 20, 1 << 20, 12, 12};
  EXPECT_EQ(FormatArchiveBar(done, 200).find("ETA"), std::string::npos);
  EXPECT_NE(FormatArchiveBar(done, 200).find("[####################] 100%"), std::string::npos);
}

TEST(FormatArchiveBar, UnpackShowsArchiveBytesReadOfTotal) {
  ArchiveProgress p{"", Phase::kUnpacking, 50ull << 20, 200ull << 20, 25.0 * (1 << 20), 0, 0};
  EXPECT_EQ(FormatArchiveBar(p, 200),
            "Unpacking [#####...............]  25%  50.0 MiB / 200.0 MiB  25.0 MiB/s  ETA 0:06");
  // A compression whose inflated size cannot be told: bytes read and rate.
  ArchiveProgress unknown{"", Phase::kUnpacking, 50ull << 20, 0, 25.0 * (1 << 20), 0, 0};
  EXPECT_EQ(FormatArchiveBar(unknown, 200), "Unpacking  50.0 MiB read  25.0 MiB/s");
}

TEST(FormatArchiveBar, LabelledAndFittedToTheTerminal) {
  ArchiveProgress p{"b.tgz", Phase::kPushing, 1, 2, 0, 0, 1};
  EXPECT_EQ(FormatArchiveBar(p, 200).rfind("b.tgz: Pushing", 0), 0u);
  ArchiveProgress evil{"a\x1b[2Jb.tgz", Phase::kUnpacking, 1, 2, 0, 0, 0};
  EXPECT_EQ(FormatArchiveBar(evil, 200).find('\x1b'), std::string::npos);
  for (size_t width : {21u, 40u, 80u}) {
    EXPECT_LT(FormatArchiveBar(p, width).size(), width);  // never wraps: no stale frame
  }
}

TEST(FormatArchiveLog, PlainLinesWithBytesTotalRate) {
  EXPECT_EQ(FormatArchiveLog({"", Phase::kPushing, 25ull << 20, 100ull << 20, 10.0 * (1 << 20),
                              3, 12}),
            "Progress: pushed 25.0 MiB of 100.0 MiB (25%), 3 of 12 blob(s), 10.0 MiB/s, ETA 0:07");
  EXPECT_EQ(FormatArchiveLog({"a.tgz", Phase::kUnpacking, 50ull << 20, 200ull << 20, 0, 0, 0}),
            "Progress a.tgz: unpacked 50.0 MiB of 200.0 MiB (25%), 0 B/s");
  EXPECT_EQ(FormatArchiveLog({"", Phase::kUnpacking, 3ull << 20, 0, 1 << 20, 0, 0}),
            "Progress: unpacked 3.0 MiB, 1.0 MiB/s");
  // A dry run pushes nothing: its lines never say "pushed".
  EXPECT_EQ(FormatArchiveLog({"", Phase::kPushing, 1, 2, 0, 0, 1, /*dry_run=*/true}),
            "Progress: checked 1 B of 2 B (50%), 0 of 1 blob(s), 0 B/s");
  EXPECT_EQ(FormatArchiveBar({"", Phase::kPushing, 1, 2, 0, 0, 1, true}, 200).rfind("Checking", 0),
            0u);
  EXPECT_EQ(FormatArchiveLog({"", Phase::kUnpacking, 1, 2, 0, 0, 0}).find('\x1b'),
            std::string::npos);
}

TEST(EstimateInflatedSize, GzipTrailerModuloFourGiB) {
  EXPECT_EQ(EstimateInflatedSize(1000, std::nullopt), 1000u);
  EXPECT_EQ(EstimateInflatedSize(1000, 5000u), 5000u);
  // 5 GiB inflated: the trailer says 1 GiB; the file alone is 4.5 GiB.
  EXPECT_EQ(EstimateInflatedSize(9ull << 29, 1u << 30), 5ull << 30);
}

TEST(ProgressDisplay, DisabledWritesNothing) {
  char buf[256] = {0};
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  {
    ProgressDisplay display(f, /*enabled=*/false);
    int a = display.BeginArchive("x.tgz", 100, 100);
    display.UnpackRead(a, 50);
    int id = display.Begin("x", 100);
    display.Update(id, 50);
    display.End(id);
    display.EndArchive(a);
    display.Above([] {});
  }
  std::fclose(f);
  EXPECT_STREQ(buf, "");
}

TEST(ProgressDisplay, TerminalDrawsArchiveBarsAndClearsThem) {
  char buf[8192] = {0};
  std::FILE* f = fmemopen(buf, sizeof buf, "w");
  {
    ProgressDisplay display(f, /*enabled=*/true);
    int a = display.BeginArchive("a.tgz", 1000, 1000);
    display.UnpackRead(a, 500);
    display.Planned(a, {{"r@l1", 600}, {"r@c", 4}});
    int id = display.Begin("layer", 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));  // past the redraw limit
    display.Update(id, 100);
    display.End(id);
    display.EndArchive(a);
  }
  std::fclose(f);
  std::string out(buf);
  EXPECT_NE(out.find("Unpacking"), std::string::npos) << out;
  EXPECT_NE(out.find("Pushing"), std::string::npos) << out;
  EXPECT_NE(out.find("layer"), std::string::npos);
  EXPECT_NE(out.find("\x1b[J"), std::string::npos);  // redrawn in place
  // Whatever was drawn is cleared at the end: the last thing written is a clear.
  EXPECT_EQ(out.substr(out.rfind('\r')).find('\n'), std::string::npos) << out;
}

TEST(ProgressDisplay, CreditsCountOnceAndOnlyForPlannedBlobs) {
  std::ostringstream log;
  ProgressDisplay display(ProgressMode::kLog, nullptr, &log, std::chrono::hours(1));
  int a = display.BeginArchive("a.tgz", 1000, 2000);
  display.UnpackRead(a, 1000);
  EXPECT_EQ(display.Snapshot(a).done, 500u);  // half the tar stream: half the file
  EXPECT_EQ(display.Snapshot(a).total, 1000u);
  display.Credit(a, "r@ahead", 100);  // uploaded during the unpack
  display.Credit(a, "r@gone", 100);   // not in the plan
  display.Planned(a, {{"r@ahead", 100}, {"r@l2", 300}, {"r@cfg", 10}});
  display.Credit(a, "r@l2", 150);
  display.Credit(a, "r@l2", 120);  // a retry starts lower: the highest counts
  display.Credit(a, "list@l2", 300);  // a manifest list's copy: not planned
  ArchiveProgress p = display.Snapshot(a);
  EXPECT_EQ(p.phase, Phase::kPushing);
  EXPECT_EQ(p.total, 410u);
  EXPECT_EQ(p.done, 250u);
  EXPECT_EQ(p.blobs_done, 1);
  EXPECT_EQ(p.blobs_total, 3);
  display.Credit(a, "r@l2", 999);  // never past the blob's size
  EXPECT_EQ(display.Snapshot(a).done, 400u);
}

// A gzip archive inflating past 4 GiB: its trailer's size was too small, and
// the unpack line went from 93% back to 73% once the stream passed it.
TEST(ProgressDisplay, UnpackNeverGoesBackWhenTheEstimateGrows) {
  std::ostringstream log;
  ProgressDisplay display(ProgressMode::kLog, nullptr, &log, std::chrono::hours(1));
  int a = display.BeginArchive("a.tgz", 1000, 1200);
  display.UnpackRead(a, 1116);
  EXPECT_EQ(display.Snapshot(a).done, 930u);
  display.UnpackRead(a, 1300);  // past the estimate: it grows by 4 GiB
  EXPECT_EQ(display.Snapshot(a).done, 930u);
  EXPECT_EQ(display.Snapshot(a).total, 1000u);
}

// A CI log got nothing between "Unpacking archive..." and the end of a long
// unpack: the log mode writes a line every interval, whatever happens.
TEST(ProgressDisplay, LogModeWritesALineEveryInterval) {
  std::ostringstream log;
  {
    ProgressDisplay display(ProgressMode::kLog, nullptr, &log, std::chrono::milliseconds(20));
    int a = display.BeginArchive("a.tgz", 1000, 1000);
    display.UnpackRead(a, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    display.EndArchive(a);
  }
  std::string out = log.str();
  EXPECT_NE(out.find("Progress: unpacked 100 B of 1000 B (10%)"), std::string::npos) << out;
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  size_t lines = std::count(out.begin(), out.end(), '\n');
  EXPECT_GE(lines, 2u) << out;
}

TEST(ProgressDisplay, LogIntervalTestKnob) {
  ::unsetenv("PPA_TEST_PROGRESS_INTERVAL_MS");
  EXPECT_EQ(LogIntervalFromEnvironment(), std::chrono::seconds(10));
  ::setenv("PPA_TEST_PROGRESS_INTERVAL_MS", "250", 1);
  EXPECT_EQ(LogIntervalFromEnvironment(), std::chrono::milliseconds(250));
  ::setenv("PPA_TEST_PROGRESS_INTERVAL_MS", "x", 1);
  EXPECT_EQ(LogIntervalFromEnvironment(), std::chrono::seconds(10));
  ::unsetenv("PPA_TEST_PROGRESS_INTERVAL_MS");
}

// The verdict was a bare "OK": no counts, no size, no elapsed time.
TEST(FormatVerdict, VerdictWordFirstThenCountsSizeAndTime) {
  VerdictCounts c;
  c.images = 6;
  c.charts = 2;
  c.bytes = 108'318'310;
  c.seconds = 12.4;
  EXPECT_EQ(FormatVerdict(true, c), "OK (6 images, 2 charts, 103.3 MiB in 12.4 s)");
  c.failures = 1;
  c.images = 1;
  c.charts = 0;
  EXPECT_EQ(FormatVerdict(false, c), "FAILED (1 image, 0 charts, 1 failure, 103.3 MiB in 12.4 s)");
  VerdictCounts run;
  run.archives = 3;
  run.images = 18;
  run.charts = 1;
  run.failures = 2;
  run.dry_run = true;
  EXPECT_EQ(FormatVerdict(false, run),
            "FAILED (dry run: 3 archives, 18 images, 1 chart, 2 failures, 0 B in 0.0 s)");
}

TEST(CountItems, ImagesChartsFailuresAndDistinctBlobBytes) {
  ItemResult a{ItemResult::Kind::kImage, "a", "", "", 0, {}};
  a.blobs = {{"sha256:base", "", 1000}, {"sha256:cfg-a", "", 10}};
  ItemResult b{ItemResult::Kind::kImage, "b", "", "", 0, {}};
  b.blobs = {{"sha256:base", "", 1000}, {"sha256:cfg-b", "", 20}};
  ItemResult list{ItemResult::Kind::kManifestList, "l", "", "", 0, {}};
  ItemResult chart{ItemResult::Kind::kChart, "c", "", "", 0, {}};
  ItemResult bad{ItemResult::Kind::kImage, "x", "", "", 0, InvalidInput("broken")};
  VerdictCounts c = CountItems({a, b, list, chart, bad});
  EXPECT_EQ(c.images, 2);
  EXPECT_EQ(c.charts, 1);
  EXPECT_EQ(c.failures, 1);
  EXPECT_EQ(c.bytes, 1030u);
}

TEST(RunVerdictLine, OneLineForEveryArchive) {
  ArchiveOutcome ok;
  ok.items.push_back({ItemResult::Kind::kImage, "a", "", "", 0, {}});
  ArchiveOutcome unreadable;
  unreadable.exit_code = 3;
  unreadable.fatal = UnsafeArchive("bad");
  std::string line = RunVerdictLine({ok, ok, unreadable}, 2.0, false);
  EXPECT_EQ(line, "FAILED (3 archives, 2 images, 0 charts, 1 failure, 0 B in 2.0 s)");
  EXPECT_EQ(RunVerdictLine({ok, ok}, 2.0, false).rfind("OK (2 archives, 2 images", 0), 0u);
}

// Each kind of dry-run line said it had done what it had not ("pushing",
// "Rewrote", "Extracting", "Uploading"): the Reporter's verb says "would".
TEST(ReporterVerb, DryRunSaysWould) {
  std::ostringstream out, err;
  Reporter real(out, err, false, /*dry_run=*/false);
  Reporter dry(out, err, false, /*dry_run=*/true);
  const std::pair<const char*, const char*> verbs[] = {
      {"Pushing", "Would push"}, {"Rewrote ", "Would rewrite "},
      {"Extracting", "Would extract"}, {"Uploading the layers", "Would upload the layers"}};
  for (const auto& [doing, would] : verbs) {
    EXPECT_EQ(real.Verb(doing, would), doing);
    EXPECT_EQ(dry.Verb(doing, would), would);
  }
}

// `inspect` called every manifest list multi-arch, also one of a single
// platform, and named uncompressed layers "none".
TEST(GroupPlatforms, MultiArchNeedsTwoPlatforms) {
  ImageSource amd64, ppc64le;
  amd64.platform = Platform{"linux", "amd64", ""};
  ppc64le.platform = Platform{"linux", "ppc64le", ""};
  PlannedGroup one;
  one.images.push_back(PlannedImage{"a-amd64", &amd64, std::nullopt, {}, {}});
  one.list_target = ImageTarget{"ns/a", "1"};
  EXPECT_EQ(GroupPlatforms(one), std::vector<std::string>{"linux/amd64"});
  PlannedGroup same = one;  // two references, one platform
  same.images.push_back(PlannedImage{"a2-amd64", &amd64, std::nullopt, {}, {}});
  EXPECT_EQ(GroupPlatforms(same).size(), 1u);
  PlannedGroup two = one;
  two.images.push_back(PlannedImage{"a-ppc64le", &ppc64le, std::nullopt, {}, {}});
  EXPECT_EQ(GroupPlatforms(two), (std::vector<std::string>{"linux/amd64", "linux/ppc64le"}));
  // The PPA manifest's platform wins over the config's.
  PlannedGroup declared;
  declared.images.push_back(
      PlannedImage{"b", &amd64, Platform{"linux", "s390x", ""}, {}, {}});
  declared.images.push_back(PlannedImage{"c", &amd64, std::nullopt, {}, {}});
  EXPECT_EQ(GroupPlatforms(declared).size(), 2u);
}

TEST(LayerCompressionName, Table) {
  EXPECT_STREQ(LayerCompressionName(Compression::kNone), "uncompressed");
  EXPECT_STREQ(LayerCompressionName(Compression::kGzip), "gzip");
  EXPECT_STREQ(LayerCompressionName(Compression::kZstd), "zstd");
}

TEST(PushWork, OneEntryPerBlobAndRepository) {
  ImportPlan plan;
  ImageSource& src = plan.sources.emplace_back();
  src.config = std::make_shared<const std::string>("{}");
  src.config_digest = "sha256:cfg";
  src.layers = {LayerSource{"l1", 0, 100, Compression::kNone, "sha256:d1", "", ""},
                LayerSource{"l1again", 0, 100, Compression::kNone, "sha256:d1", "", ""},
                LayerSource{"l2", 0, 50, Compression::kGzip, "sha256:d2", "", ""}};
  PlannedGroup g;
  g.images.push_back(PlannedImage{"a", &src, std::nullopt, {"ns/a", "1"}, {}});
  g.images.push_back(PlannedImage{"b", &src, std::nullopt, {"ns/b", "1"}, {}});
  g.images.push_back(
      PlannedImage{"bad", &src, std::nullopt, {"ns/c", "1"}, ItemProblem(InvalidInput("x"))});
  plan.groups.push_back(g);
  auto work = PushWork(plan);
  EXPECT_EQ(work.size(), 6u);
  EXPECT_EQ(work["ns/a@sha256:d1"], 100u);
  EXPECT_EQ(work["ns/b@sha256:d2"], 50u);
  EXPECT_EQ(work["ns/a@sha256:cfg"], 2u);
  EXPECT_EQ(work.count("ns/c@sha256:d1"), 0u);
}

}  // namespace
}  // namespace ppa
