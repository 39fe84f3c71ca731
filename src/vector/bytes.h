// ByteWriter / ByteReader: little-endian encoding of the sidecar and of the
// records in the vector tables. The reader treats its input as hostile:
// every read checks the remaining length first, counts are checked against
// what is left before anything is allocated, and a failed read sticks.
#ifndef SNKV_VECTOR_BYTES_H
#define SNKV_VECTOR_BYTES_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace snkv::vector {

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  template <class T>
  void Put(T v) {
    static_assert(std::is_trivially_copyable_v<T>);
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));  // x86-64 and aarch64: little-endian
    out_->append(buf, sizeof(T));
  }
  void PutBytes(const void* p, size_t n) {
    out_->append(static_cast<const char*>(p), n);
  }
  // A u32 length then the bytes.
  void PutString(std::string_view s) {
    Put(static_cast<uint32_t>(s.size()));
    PutBytes(s.data(), s.size());
  }
  std::string* out() { return out_; }

 private:
  std::string* out_;
};

class ByteReader {
 public:
  ByteReader(const void* p, size_t n)
      : p_(static_cast<const char*>(p)), left_(n) {}
  template <class T>
  bool Get(T* v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (!ok_ || left_ < sizeof(T)) return ok_ = false;
    std::memcpy(v, p_, sizeof(T));
    p_ += sizeof(T);
    left_ -= sizeof(T);
    return true;
  }
  // n bytes copied to dst.
  bool GetBytes(void* dst, size_t n) {
    if (!ok_ || left_ < n) return ok_ = false;
    if (n) std::memcpy(dst, p_, n);
    p_ += n;
    left_ -= n;
    return true;
  }
  // A view of the next n bytes.
  bool View(size_t n, std::string_view* out) {
    if (!ok_ || left_ < n) return ok_ = false;
    *out = std::string_view(p_, n);
    p_ += n;
    left_ -= n;
    return true;
  }
  bool GetString(std::string* s) {
    uint32_t n;
    std::string_view v;
    if (!Get(&n) || !View(n, &v)) return false;
    s->assign(v);
    return true;
  }
  // True if `count` items of `each` bytes could still follow (no overflow).
  bool CanHold(uint64_t count, uint64_t each) const {
    return ok_ && (each == 0 || count <= left_ / each);
  }
  bool ok() const { return ok_; }
  size_t left() const { return left_; }
  void Fail() { ok_ = false; }

 private:
  const char* p_;
  size_t left_;
  bool ok_ = true;
};

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_BYTES_H
