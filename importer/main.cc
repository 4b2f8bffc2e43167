// ppa-import: parses flags, sets up logging, runs the pipeline.
#include "importer/cli.h"

int main(int argc, char** argv) { return ppa::RunCli(argc, argv); }
