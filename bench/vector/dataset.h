// Fashion-MNIST loading (IDX files, gzip) and exact ground truth, cached.
#ifndef SNKV_BENCH_VECTOR_DATASET_H
#define SNKV_BENCH_VECTOR_DATASET_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vbench {

struct Matrix {
  size_t rows = 0, dim = 0;
  std::vector<float> data;
  const float* row(size_t i) const { return data.data() + i * dim; }
};

// Images of an IDX3 file (gzip) as float rows (pixel values 0..255).
Matrix LoadImages(const std::string& gz_path);
// Labels of an IDX1 file (gzip).
std::vector<uint8_t> LoadLabels(const std::string& gz_path);

// Exact top-k (squared L2) of each query among base rows accepted by
// `keep` (all when empty), with `threads` threads.
std::vector<std::vector<uint32_t>> ExactTopK(
    const Matrix& base, const Matrix& queries, size_t k, int threads,
    const std::function<bool(size_t)>& keep = {});

// ExactTopK cached in `path` (recomputed when missing or of another shape).
std::vector<std::vector<uint32_t>> CachedTopK(const std::string& path,
                                              const Matrix& base,
                                              const Matrix& queries, size_t k,
                                              int threads);

}  // namespace vbench

#endif  // SNKV_BENCH_VECTOR_DATASET_H
