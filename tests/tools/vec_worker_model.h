// The deterministic vectors and rounds of vec_worker, shared with the
// tests that check its results.
#ifndef SNKV_TESTS_TOOLS_VEC_WORKER_MODEL_H
#define SNKV_TESTS_TOOLS_VEC_WORKER_MODEL_H

#include <cstdint>
#include <string>
#include <vector>

namespace vecmodel {

inline uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// dim floats in [-1, 1) from `seed`.
inline std::vector<float> VecOf(uint64_t seed, int dim) {
  std::vector<float> v(static_cast<size_t>(dim));
  uint64_t s = Mix(seed);
  for (float& x : v) {
    s = Mix(s);
    x = static_cast<float>(static_cast<double>(s >> 11) / 4503599627370496.0 -
                           1.0);
  }
  return v;
}

inline constexpr uint64_t kKeySpace = 400;

// Round i of the crash writer: 40 puts over a key space of kKeySpace keys.
inline void Round(uint64_t i, int dim, std::vector<std::string>* keys,
                  std::vector<std::vector<float>>* vecs) {
  keys->clear();
  vecs->clear();
  for (uint64_t j = 0; j < 40; ++j) {
    keys->push_back("k" + std::to_string(Mix(i * 1000 + j) % kKeySpace));
    vecs->push_back(VecOf(i * 1000 + j, dim));
  }
}

inline std::string DeletedKey(uint64_t i) {
  return "k" + std::to_string(Mix(i + 777777) % kKeySpace);
}

}  // namespace vecmodel

#endif  // SNKV_TESTS_TOOLS_VEC_WORKER_MODEL_H
