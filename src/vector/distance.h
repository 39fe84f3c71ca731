// Distance kernels of the vector index: the inner loops of every search.
//
// Each kernel exists twice: a plain loop that GCC vectorizes for the
// baseline target (SSE2 on x86-64), and an AVX2+FMA+F16C version chosen at
// run time when the CPU has those instructions. Kernels() returns the table
// picked once per process.
#ifndef SNKV_VECTOR_DISTANCE_H
#define SNKV_VECTOR_DISTANCE_H

#include <cstddef>
#include <cstdint>

namespace snkv::vector {

struct KernelTable {
  // Sum of squared differences of two float vectors.
  float (*l2sq_f32)(const float* a, const float* b, size_t n);
  // Dot product of two float vectors.
  float (*dot_f32)(const float* a, const float* b, size_t n);
  // As above with the second vector in IEEE half precision.
  float (*l2sq_f16)(const float* a, const uint16_t* b, size_t n);
  float (*dot_f16)(const float* a, const uint16_t* b, size_t n);
  // Dot product of two int8 vectors (exact; n < 2^16 keeps it in range).
  int32_t (*dot_i8)(const int8_t* a, const int8_t* b, size_t n);
  // Converts n IEEE halves to floats.
  void (*half_to_float)(const uint16_t* in, float* out, size_t n);
  const char* name;  // "avx2" or "generic", for stats and benchmarks
};

// The kernels for this CPU; the choice is made on first use.
const KernelTable& Kernels() noexcept;
// The portable kernels, for tests that compare the two.
const KernelTable& GenericKernels() noexcept;

// IEEE 754 half <-> float conversion (round to nearest even; overflow gives
// infinity, which callers never store because inputs are checked finite and
// cosine/ip inputs are normalised... l2 values beyond 65504 saturate).
uint16_t FloatToHalf(float f) noexcept;
float HalfToFloat(uint16_t h) noexcept;

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_DISTANCE_H
