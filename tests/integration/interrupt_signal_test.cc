// Ctrl-C and SIGTERM during an import (README, "Interrupted runs and
// leftovers"): the run stops its uploads at once, says what was pushed and
// where its work directory is, and exits 130 / 143; no tag points at a
// half-pushed image; the next run removes what the interrupted one left
// (saying how much it freed) and completes. Folders a live run holds, or
// that a run kept on purpose, stay.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/support/fault_proxy.h"
#include "tests/support/load_fixture.h"
#include "tests/support/raw_tar.h"

namespace ppa {
namespace {

namespace fs = std::filesystem;

using test::FaultKind;
using test::FaultProxy;
using test::FaultRule;
using test::Output;
using test::ProcessResult;

// The real binary started in the background, stdout and stderr to files,
// so the test can signal it and read its exit status.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& argv, const std::string& home, const std::string& cwd,
          const std::string& out_path, const std::string& err_path)
      : out_path_(out_path), err_path_(err_path) {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setenv("HOME", home.c_str(), 1);
      if (::chdir(cwd.c_str()) != 0) ::_exit(127);
      int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0), ::dup2(out, 1), ::dup2(err, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Spawned() {
    if (pid_ > 0 && exit_code_ < 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void Signal(int signal) { ::kill(pid_, signal); }
  // The exit status (128 + N for a death by signal N), or -1 when it has
  // not ended within `limit`.
  int Wait(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (exit_code_ < 0 && std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }
  ProcessResult Result() const {
    return {exit_code_, test::ReadFileOr(out_path_), test::ReadFileOr(err_path_)};
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string out_path_, err_path_;
};

using test::WaitFor;

// The run folders (<uuid>, <uuid>.tmp) in `workdir`.
std::vector<std::string> RunFolders(const std::string& workdir) {
  std::vector<std::string> names;
  if (!fs::exists(workdir)) return names;
  for (const auto& e : fs::directory_iterator(workdir)) {
    std::string name = e.path().filename();
    if (name.size() >= 36 && name[8] == '-' && name[13] == '-') names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class InterruptSignalTest : public test::LoadFixture {
 protected:
  void SetUp() override {
    StartRegistry();
    auto proxy = FaultProxy::Start(registry_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value();
    archive_ = Archive(samples::DemoSampleSpec(), "sample.tgz");
    work_ = dir_.Join("work");
  }

  std::vector<std::string> Argv() {
    return {PPA_IMPORT_BINARY, "load",         archive_,       "--namespace", "test_ns",
            "--registry",      proxy_->host(), "--plain-http", "--workdir",   work_};
  }

  // Starts a run whose uploads crawl, and signals it once they are under way.
  ProcessResult InterruptMidUpload(int signal, std::chrono::milliseconds* took) {
    FaultRule slow{FaultKind::kStall};
    slow.method = "PUT", slow.stall = std::chrono::seconds(8);
    proxy_->SetRules({slow});
    Spawned run(Argv(), dir_.path(), dir_.path(), dir_.Join("out.log"), dir_.Join("err.log"));
    EXPECT_TRUE(WaitFor([&] { return proxy_->Injected(FaultKind::kStall) >= 1; },
                        std::chrono::seconds(60)))
        << test::ReadFileOr(dir_.Join("err.log"));
    auto sent = std::chrono::steady_clock::now();
    run.Signal(signal);
    run.Wait(std::chrono::seconds(20));
    *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  sent);
    proxy_->SetRules({});
    return run.Result();
  }

  void ExpectNoHalfPushedTag() {
    for (const char* ref : test::kSampleImageRefs) {
      if (!test::SkopeoInspect(Ref(ref), /*raw=*/true).ok()) continue;
      ExpectVerified(ref);
    }
  }

  std::unique_ptr<FaultProxy> proxy_;
  std::string archive_, work_;
};

TEST_F(InterruptSignalTest, CtrlCStopsUploadsAtOnceSaysWhatWasDoneAndExits130) {
  std::chrono::milliseconds took{};
  ProcessResult r = InterruptMidUpload(SIGINT, &took);
  EXPECT_EQ(r.exit_code, 130) << Output(r);
  EXPECT_LT(took, std::chrono::seconds(3)) << "uploads must stop at once";
  EXPECT_NE(r.stderr_text.find("Error: interrupted (SIGINT): uploads stopped; "), std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("image(s) pushed and tagged"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("work directory left in '" + work_ + "/"), std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("\nHint: run the same command again"), std::string::npos)
      << r.stderr_text;
  ExpectNoHalfPushedTag();

  // The next run removes the interrupted run's folders, says so, completes.
  ASSERT_FALSE(RunFolders(work_).empty()) << "the interrupted run's folders are left";
  ProcessResult again = test::RunProcess(Argv(), std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  EXPECT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_NE(again.stdout_text.find("work folder(s) that interrupted runs left in '" + work_ +
                                   "', freeing "),
            std::string::npos)
      << again.stdout_text;
  EXPECT_TRUE(RunFolders(work_).empty()) << "nothing accumulates across runs";
  for (const char* ref : test::kSampleImageRefs) ExpectVerified(ref);
}

// `save` interrupted while it streams a blob into its archive: nothing is
// at -o FILE, what was written is kept as FILE.partial and the message says
// how to go on; the same command then completes the archive from it.
TEST_F(InterruptSignalTest, CtrlCDuringSaveKeepsThePartialArchiveForTheNextRun) {
  ASSERT_EQ(Load(archive_).exit_code, 0);  // into the registry behind the proxy
  FaultRule slow{FaultKind::kStall};
  slow.method = "GET", slow.path_contains = "/blobs/", slow.stall = std::chrono::seconds(8);
  proxy_->SetRules({slow});
  const std::string out_dir = dir_.Join("out");
  fs::create_directories(out_dir);
  const std::vector<std::string> argv = {PPA_IMPORT_BINARY, "save", "--plain-http", "-o",
                                         out_dir + "/saved.tgz",
                                         proxy_->host() + "/test_ns/ibmcom/portal:2.1.0"};
  Spawned run(argv, dir_.path(), dir_.path(), dir_.Join("out.log"), dir_.Join("err.log"));
  ASSERT_TRUE(WaitFor([&] { return proxy_->Injected(FaultKind::kStall) >= 1; },
                      std::chrono::seconds(60)))
      << test::ReadFileOr(dir_.Join("err.log"));
  run.Signal(SIGINT);
  EXPECT_EQ(run.Wait(std::chrono::seconds(20)), 130);
  proxy_->SetRules({});
  ProcessResult r = run.Result();
  EXPECT_NE(r.stderr_text.find("Error: interrupted (SIGINT): the archive is not complete; what "
                               "was written is kept in " + out_dir + "/saved.tgz.partial"),
            std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("Hint: run the same command again"), std::string::npos);
  EXPECT_EQ(r.stderr_text.find("uploads stopped"), std::string::npos);
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(out_dir)) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"saved.tgz.partial"});
  ProcessResult again = test::RunProcess(argv, std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ASSERT_EQ(again.exit_code, 0) << Output(again);
  EXPECT_NE(again.stdout_text.find("resumed from " + out_dir + "/saved.tgz.partial"),
            std::string::npos)
      << again.stdout_text;
  left.clear();
  for (const auto& e : fs::directory_iterator(out_dir)) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"saved.tgz"});
}

TEST_F(InterruptSignalTest, SigtermExits143) {
  std::chrono::milliseconds took{};
  ProcessResult r = InterruptMidUpload(SIGTERM, &took);
  EXPECT_EQ(r.exit_code, 143) << Output(r);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_NE(r.stderr_text.find("Error: interrupted (SIGTERM)"), std::string::npos) << r.stderr_text;
  ExpectNoHalfPushedTag();
}

TEST_F(InterruptSignalTest, LeftoversOfDeadRunsAreRemovedOthersStay) {
  const std::string dead = "11111111-1111-4111-8111-111111111111";
  const std::string live = "22222222-2222-4222-8222-222222222222";
  const std::string kept = "33333333-3333-4333-8333-333333333333";
  for (const std::string& d : {dead, dead + ".tmp", live, live + ".tmp", kept}) {
    fs::create_directories(work_ + "/" + d + "/images");
    test::WriteFileOrDie(work_ + "/" + d + "/images/big.tar", std::string(1 << 20, 'x'));
  }
  // A live run holds the lock of its scratch folder.
  int fd = ::open((work_ + "/" + live + ".tmp").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ProcessResult r = test::RunProcess(Argv(), std::nullopt, {{"HOME", dir_.path()}}, dir_.path());
  ::close(fd);
  EXPECT_EQ(r.exit_code, 0) << Output(r);
  EXPECT_NE(r.stdout_text.find("Removed 2 work folder(s) that interrupted runs left in '" + work_ +
                               "', freeing 2.0 MiB."),
            std::string::npos)
      << r.stdout_text;
  EXPECT_FALSE(fs::exists(work_ + "/" + dead));
  EXPECT_FALSE(fs::exists(work_ + "/" + dead + ".tmp"));
  EXPECT_TRUE(fs::exists(work_ + "/" + live + "/images/big.tar")) << "a live run's folder stays";
  EXPECT_TRUE(fs::exists(work_ + "/" + kept + "/images/big.tar")) << "a kept folder stays";
}

}  // namespace
}  // namespace ppa
