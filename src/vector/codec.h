// Codec: how one vector is kept in the index (float32, float16 or int8) and
// the distance between a query and a stored code, per space.
//
// Spaces: l2 is the squared Euclidean distance; cosine is 1 - cos(a, b),
// computed on vectors normalised when encoded; ip is the negative dot
// product. Codes:
//   f32: dim floats.
//   f16: dim IEEE halves (queries stay float32: asymmetric distance).
//   i8 : [float scale][float squared norm][dim int8], x ~= scale * q. The
//        query is quantized the same way, so the inner loop is an integer
//        dot product; rerank with the float32 vectors recovers exactness.
#ifndef SNKV_VECTOR_CODEC_H
#define SNKV_VECTOR_CODEC_H

#include <cstddef>
#include <cstdint>
#include <vector>

#include "vector/distance.h"

namespace snkv::vector {

enum class Space : int { kL2 = 0, kCosine = 1, kIp = 2 };
enum class DType : int { kF32 = 0, kF16 = 1, kI8 = 2 };

// A query prepared for one codec: kept in float form and, for i8, as a code.
struct PreparedQuery {
  std::vector<float> f;
  std::vector<uint8_t> code;
};

class Codec {
 public:
  Codec(size_t dim, Space space, DType dtype);

  size_t dim() const noexcept { return dim_; }
  Space space() const noexcept { return space_; }
  DType dtype() const noexcept { return dtype_; }
  // Bytes per stored code.
  size_t code_size() const noexcept { return code_size_; }

  // Encodes the finite vector v (dim floats) into code_size() bytes.
  void Encode(const float* v, uint8_t* code) const;
  // Decodes a code back to dim floats (normalised for cosine).
  void Decode(const uint8_t* code, float* out) const;
  // Prepares v as a query for Distance().
  void Prepare(const float* v, PreparedQuery* q) const;
  // Prepares a stored code as a query, so that Distance(*q, b) equals
  // CodeDistance(code, b) (graph construction compares one code with many).
  void PrepareCode(const uint8_t* code, PreparedQuery* q) const;
  // Distance between a prepared query and a stored code.
  float Distance(const PreparedQuery& q, const uint8_t* code) const;
  // Distance between two stored codes (graph construction).
  float CodeDistance(const uint8_t* a, const uint8_t* b) const;
  // Exact distance between two float vectors in this space.
  float ExactDistance(const float* a, const float* b) const;

 private:
  float FromDot(float dot) const;

  size_t dim_;
  Space space_;
  DType dtype_;
  size_t code_size_;
  const KernelTable* k_;
};

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_CODEC_H
