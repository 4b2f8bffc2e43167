// After an ISA-L call: clears the upper halves of the vector registers.
//
// ISA-L's AVX2 / AVX-512 kernels return with those halves in use. The
// legacy-SSE code that often runs next on the same thread (OpenSSL's SHA-NI
// sha256 of the bytes that came out) then pays for it on every instruction:
// on the 2-core Zen 4 machine of the benchmark, the unpacking thread's
// sha256 took ~36% more CPU (same bytes hashed) after one small gzip file had
// been inflated on that thread. VZEROUPPER clears that state. Nothing of ours
// keeps values there: this code is built for baseline x86-64, without AVX.
#pragma once

namespace ppa {

inline void ClearUpperVectorState() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool avx = __builtin_cpu_supports("avx");
  if (avx) asm volatile("vzeroupper");
#endif
}

}  // namespace ppa
