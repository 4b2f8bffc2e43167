// A check for the invariants the fuzz targets assert: unlike assert(), it is
// active in every build type, and it aborts so that libFuzzer and the replay
// driver both report the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>

#define PPA_FUZZ_CHECK(cond)                                                                 \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
