// Replays fuzz inputs without libFuzzer: every file named on the command line,
// and every regular file below every directory named there, is read and
// passed once to LLVMFuzzerTestOneInput. Used for the `fuzz` ctest label
// (compilers without libFuzzer, and as a regression test of the corpus).
//
// -rss_limit_mb=N (libFuzzer's flag, so one command line serves both): after
// each input the process's peak RSS (getrusage ru_maxrss) is compared with
// N MiB, and the run fails naming the input that passed it. Peak RSS rather
// than RLIMIT_AS, because a sanitizer build reserves terabytes of address
// space it never touches. The ctests pass -rss_limit_mb=256 (CMakeLists.txt).
//
// Exit status: 0 when all inputs ran, 1 when an argument cannot be read or
// no input was found (an empty corpus is a misconfiguration), 2 when an
// input took the peak RSS past the limit. A crash in a parser aborts the
// process, which fails the test.
#include <sys/resource.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool ReadWholeFile(const fs::path& path, std::vector<char>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

// Collects the files to replay, sorted so that runs are reproducible.
bool CollectInputs(const char* arg, std::vector<fs::path>& inputs) {
  std::error_code ec;
  fs::path path(arg);
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> found;
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) found.push_back(it->path());
    }
    if (ec) {
      std::fprintf(stderr, "fuzz_driver: cannot list %s: %s\n", arg, ec.message().c_str());
      return false;
    }
    std::sort(found.begin(), found.end());
    inputs.insert(inputs.end(), found.begin(), found.end());
    return true;
  }
  if (fs::is_regular_file(path, ec)) {
    inputs.push_back(path);
    return true;
  }
  std::fprintf(stderr, "fuzz_driver: %s is neither a file nor a directory\n", arg);
  return false;
}

// The process's peak RSS so far, in MiB.
long PeakRssMb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;  // KiB on Linux
}

constexpr std::string_view kRssLimitFlag = "-rss_limit_mb=";

// Without a sanitizer, also caps the address space (8 times the limit, at
// least 2 GiB) so that an input that would take gigabytes fails fast (an
// allocation fails, the peak stays over the limit) instead of taking the
// machine's memory first.
void LimitAddressSpace(long rss_limit_mb) {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  const rlim_t bytes = std::max<rlim_t>(static_cast<rlim_t>(rss_limit_mb) << 23, rlim_t{2} << 30);
  const struct rlimit limit = {bytes, bytes};
  setrlimit(RLIMIT_AS, &limit);
#else
  (void)rss_limit_mb;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  long rss_limit_mb = 0;  // 0: no limit
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, kRssLimitFlag.size()) == kRssLimitFlag) {
      rss_limit_mb = std::atol(argv[i] + kRssLimitFlag.size());
      LimitAddressSpace(rss_limit_mb);
      continue;
    }
    if (!CollectInputs(argv[i], inputs)) return 1;
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...  (no inputs found)\n", argv[0]);
    return 1;
  }
  std::vector<char> bytes;
  for (const fs::path& input : inputs) {
    if (!ReadWholeFile(input, bytes)) {
      std::fprintf(stderr, "fuzz_driver: cannot read %s\n", input.c_str());
      return 1;
    }
    // An exactly-sized heap copy, so that a sanitizer build catches reads
    // past the end of the input.
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), copy.get());
    std::fprintf(stderr, "Running: %s (%zu bytes)\n", input.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
    if (rss_limit_mb > 0 && PeakRssMb() > rss_limit_mb) {
      std::fprintf(stderr, "fuzz_driver: %s took the peak RSS to %ld MiB, over -rss_limit_mb=%ld\n",
                   input.c_str(), PeakRssMb(), rss_limit_mb);
      return 2;
    }
  }
  std::fprintf(stderr, "Replayed %zu inputs (peak RSS %ld MiB)\n", inputs.size(), PeakRssMb());
  return 0;
}
