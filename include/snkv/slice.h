// Slice: a non-owning view of bytes, used for every key and value that
// crosses the snkv C++ API. It converts implicitly from the usual byte
// containers so callers never spell out (pointer, length) pairs.
#ifndef SNKV_SLICE_H
#define SNKV_SLICE_H

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace snkv {

class Slice {
 public:
  constexpr Slice() noexcept = default;
  constexpr Slice(const char* data, size_t size) noexcept
      : data_(data), size_(size) {}
  Slice(const void* data, size_t size) noexcept
      : data_(static_cast<const char*>(data)), size_(size) {}
  constexpr Slice(std::string_view s) noexcept  // NOLINT: implicit by design
      : data_(s.data()), size_(s.size()) {}
  Slice(const std::string& s) noexcept  // NOLINT: implicit by design
      : data_(s.data()), size_(s.size()) {}
  Slice(const char* cstr) noexcept  // NOLINT: implicit by design
      : data_(cstr), size_(std::strlen(cstr)) {}
  Slice(std::span<const std::byte> b) noexcept  // NOLINT: implicit by design
      : data_(reinterpret_cast<const char*>(b.data())), size_(b.size()) {}

  constexpr const char* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }

  std::string_view view() const noexcept { return {data_, size_}; }
  std::span<const std::byte> bytes() const noexcept {
    return {reinterpret_cast<const std::byte*>(data_), size_};
  }
  std::string ToString() const { return std::string(data_, size_); }

  bool starts_with(Slice prefix) const noexcept {
    return view().starts_with(prefix.view());
  }
  // Byte-wise (unsigned) order: the order of keys in a store.
  int compare(Slice other) const noexcept {
    return view().compare(other.view());
  }
  friend bool operator==(Slice a, Slice b) noexcept {
    return a.view() == b.view();
  }

 private:
  const char* data_ = "";
  size_t size_ = 0;
};

}  // namespace snkv

#endif  // SNKV_SLICE_H
