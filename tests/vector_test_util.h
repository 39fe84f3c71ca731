// Small helpers shared by the C++ vector store tests.
#ifndef SNKV_TESTS_VECTOR_TEST_UTIL_H
#define SNKV_TESTS_VECTOR_TEST_UTIL_H

#include <initializer_list>
#include <vector>

#include "snkv/vector.h"

namespace snkv::test {

// Options for a new store of `dim` floats; everything else the default.
inline VectorOptions Opts(int dim, VectorSpace space = VectorSpace::kL2,
                          VectorDType dtype = VectorDType::kF32) {
  VectorOptions o;
  o.dim = dim;
  o.space = space;
  o.dtype = dtype;
  return o;
}

// A vector written inline: Vec({1, 0, 0}).
inline std::vector<float> Vec(std::initializer_list<float> v) { return v; }

}  // namespace snkv::test

#endif  // SNKV_TESTS_VECTOR_TEST_UTIL_H
