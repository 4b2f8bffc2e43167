// ppa-import: parses flags, sets up logging, runs the pipeline.
#include <exception>
#include <iostream>

#include "importer/cli/cli.h"
#include "importer/report/display_text.h"

// No exception may end the process through std::terminate: catching here
// unwinds the stack, so the work directory guards (inspect, ImportArchive)
// remove what the run unpacked, and the user gets one Error/Hint pair.
int main(int argc, char** argv) {
  try {
    return ppa::RunCli(argc, argv);
  } catch (const std::exception& e) {
    ppa::PrintError(std::cerr, ppa::Unsupported(std::string("internal error: ") + e.what(),
                                                 "please report this bug"));
  } catch (...) {
    ppa::PrintError(std::cerr, ppa::Unsupported("internal error", "please report this bug"));
  }
  return ppa::kExitItemFailed;
}
