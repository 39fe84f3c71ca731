// Codec: encodings and distances (see codec.h).
#include "vector/codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace snkv::vector {

namespace {

constexpr size_t kI8Header = 2 * sizeof(float);

// Copies v to out, scaled to unit length when the space is cosine (a zero
// vector stays zero: its cosine distance to anything is then 1).
void Normalised(const float* v, size_t dim, Space space, float* out) {
  std::memcpy(out, v, dim * sizeof(float));
  if (space != Space::kCosine) return;
  double norm = 0;
  for (size_t i = 0; i < dim; ++i) norm += double{v[i]} * v[i];
  if (norm <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (size_t i = 0; i < dim; ++i) out[i] *= inv;
}

// Symmetric int8 quantization of v: the largest magnitude maps to 127.
void QuantizeI8(const float* v, size_t dim, uint8_t* code) {
  float maxabs = 0;
  for (size_t i = 0; i < dim; ++i) maxabs = std::max(maxabs, std::fabs(v[i]));
  const float scale = maxabs > 0 ? maxabs / 127.0f : 1.0f;
  auto* q = reinterpret_cast<int8_t*>(code + kI8Header);
  double norm = 0;
  for (size_t i = 0; i < dim; ++i) {
    const float r = std::nearbyint(v[i] / scale);
    q[i] = static_cast<int8_t>(std::clamp(r, -127.0f, 127.0f));
    const double x = static_cast<double>(q[i]) * scale;
    norm += x * x;
  }
  const float fnorm = static_cast<float>(norm);
  std::memcpy(code, &scale, sizeof(float));
  std::memcpy(code + sizeof(float), &fnorm, sizeof(float));
}

}  // namespace

Codec::Codec(size_t dim, Space space, DType dtype)
    : dim_(dim), space_(space), dtype_(dtype), k_(&Kernels()) {
  switch (dtype) {
    case DType::kF32:
      code_size_ = dim * sizeof(float);
      break;
    case DType::kF16:
      code_size_ = dim * sizeof(uint16_t);
      break;
    case DType::kI8:
      code_size_ = kI8Header + dim;
      break;
  }
}

void Codec::Encode(const float* v, uint8_t* code) const {
  std::vector<float> n(dim_);
  Normalised(v, dim_, space_, n.data());
  switch (dtype_) {
    case DType::kF32:
      std::memcpy(code, n.data(), code_size_);
      break;
    case DType::kF16:
      for (size_t i = 0; i < dim_; ++i) {
        const uint16_t h = FloatToHalf(n[i]);
        std::memcpy(code + 2 * i, &h, 2);
      }
      break;
    case DType::kI8:
      QuantizeI8(n.data(), dim_, code);
      break;
  }
}

void Codec::Decode(const uint8_t* code, float* out) const {
  switch (dtype_) {
    case DType::kF32:
      std::memcpy(out, code, code_size_);
      break;
    case DType::kF16:
      k_->half_to_float(reinterpret_cast<const uint16_t*>(code), out, dim_);
      break;
    case DType::kI8: {
      float scale;
      std::memcpy(&scale, code, sizeof(float));
      const auto* q = reinterpret_cast<const int8_t*>(code + kI8Header);
      for (size_t i = 0; i < dim_; ++i) out[i] = scale * q[i];
      break;
    }
  }
}

void Codec::Prepare(const float* v, PreparedQuery* q) const {
  q->f.resize(dim_);
  Normalised(v, dim_, space_, q->f.data());
  if (dtype_ == DType::kI8) {
    q->code.resize(code_size_);
    QuantizeI8(q->f.data(), dim_, q->code.data());
  }
}

void Codec::PrepareCode(const uint8_t* code, PreparedQuery* q) const {
  q->f.resize(dim_);
  Decode(code, q->f.data());
  if (dtype_ == DType::kI8) q->code.assign(code, code + code_size_);
}

float Codec::FromDot(float dot) const {
  return space_ == Space::kCosine ? 1.0f - dot : -dot;
}

float Codec::Distance(const PreparedQuery& q, const uint8_t* code) const {
  switch (dtype_) {
    case DType::kF32: {
      const auto* x = reinterpret_cast<const float*>(code);
      if (space_ == Space::kL2) return k_->l2sq_f32(q.f.data(), x, dim_);
      return FromDot(k_->dot_f32(q.f.data(), x, dim_));
    }
    case DType::kF16: {
      const auto* x = reinterpret_cast<const uint16_t*>(code);
      if (space_ == Space::kL2) return k_->l2sq_f16(q.f.data(), x, dim_);
      return FromDot(k_->dot_f16(q.f.data(), x, dim_));
    }
    case DType::kI8:
      return CodeDistance(q.code.data(), code);
  }
  return 0;
}

float Codec::CodeDistance(const uint8_t* a, const uint8_t* b) const {
  switch (dtype_) {
    case DType::kF32: {
      const auto* x = reinterpret_cast<const float*>(a);
      const auto* y = reinterpret_cast<const float*>(b);
      if (space_ == Space::kL2) return k_->l2sq_f32(x, y, dim_);
      return FromDot(k_->dot_f32(x, y, dim_));
    }
    case DType::kF16: {
      thread_local std::vector<float> buf;
      buf.resize(dim_);
      Decode(a, buf.data());
      const auto* y = reinterpret_cast<const uint16_t*>(b);
      if (space_ == Space::kL2) return k_->l2sq_f16(buf.data(), y, dim_);
      return FromDot(k_->dot_f16(buf.data(), y, dim_));
    }
    case DType::kI8: {
      float sa, na, sb, nb;
      std::memcpy(&sa, a, 4);
      std::memcpy(&na, a + 4, 4);
      std::memcpy(&sb, b, 4);
      std::memcpy(&nb, b + 4, 4);
      const int32_t d =
          k_->dot_i8(reinterpret_cast<const int8_t*>(a + kI8Header),
                     reinterpret_cast<const int8_t*>(b + kI8Header), dim_);
      const float dot = sa * sb * static_cast<float>(d);
      if (space_ == Space::kL2) return std::max(0.0f, na + nb - 2 * dot);
      return FromDot(dot);
    }
  }
  return 0;
}

float Codec::ExactDistance(const float* a, const float* b) const {
  if (space_ == Space::kL2) return k_->l2sq_f32(a, b, dim_);
  if (space_ == Space::kIp) return -k_->dot_f32(a, b, dim_);
  const float dot = k_->dot_f32(a, b, dim_);
  const float na = k_->dot_f32(a, a, dim_), nb = k_->dot_f32(b, b, dim_);
  if (na <= 0 || nb <= 0) return 1.0f;
  // Two roots, not the root of the product: na * nb overflows (or
  // underflows) float long before either length does.
  return 1.0f - dot / (std::sqrt(na) * std::sqrt(nb));
}

}  // namespace snkv::vector
