// ppa-make-sample: writes the ready-made sample PPA archives.
//
//   ppa-make-sample sample OUT.tgz       the bundled demo sample
//   ppa-make-sample ibm-shaped OUT.tgz   shaped like public IBM PPA archives
//
// Prints nothing but errors; exit 0 on success, 1 on failure, 2 on usage.
#include <cstdio>
#include <string>

#include "samples/generator/sample_archive.h"

namespace {

constexpr const char* kUsage =
    "Usage: ppa-make-sample COMMAND OUT.tgz\n"
    "\n"
    "Writes a deterministic sample PPA archive (same command, same bytes).\n"
    "\n"
    "Commands:\n"
    "  sample       the bundled demo: ibmcom/portal (amd64+ppc64le), portal-db,\n"
    "               portal-worker (OCI layout), portal-tools + portal-init (one\n"
    "               tarball), charts ibm-portal-prod and ibm-portal-dev\n"
    "  ibm-shaped   fourteen images saved under upstream names and listed under\n"
    "               ibmcase/bluecompute-* names, chart bluecompute-ce-0.0.9\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc != 3) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string command = argv[1];
  ppa::samples::PpaArchiveSpec spec;
  if (command == "sample") {
    spec = ppa::samples::DemoSampleSpec();
  } else if (command == "ibm-shaped") {
    spec = ppa::samples::IbmShapedSpec();
  } else {
    std::fprintf(stderr, "ppa-make-sample: unknown command '%s'\n\n%s", command.c_str(), kUsage);
    return 2;
  }
  const ppa::Status status = ppa::samples::WritePpaArchive(spec, argv[2]);
  if (!status.ok()) {
    std::fprintf(stderr, "ppa-make-sample: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
