// Replays fuzz inputs without libFuzzer: every file named on the command line,
// and every regular file below every directory named there, is read and
// passed once to LLVMFuzzerTestOneInput. Used for the `fuzz` ctest label
// (compilers without libFuzzer, and as a regression test of the corpus).
//
// Exit status: 0 when all inputs ran, 1 when an argument cannot be read or
// no input was found (an empty corpus is a misconfiguration). A crash in a
// parser aborts the process, which fails the test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
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

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
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
  }
  std::fprintf(stderr, "Replayed %zu inputs\n", inputs.size());
  return 0;
}
