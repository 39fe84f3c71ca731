// BytesArg: a key, value or password passed from Python, readable while the
// GIL is released.
#ifndef SNKV_PYTHON_BYTES_ARG_H
#define SNKV_PYTHON_BYTES_ARG_H

#include <pybind11/pybind11.h>

#include <string_view>

#include "snkv/slice.h"

namespace snkv::python {

// Accepts str (its UTF-8 form), bytes, bytearray, memoryview and any other
// object exporting a C-contiguous buffer. Anything else raises TypeError
// naming the type and `what` ("key", "value", ...).
//
// The bytes stay valid and in place without the GIL: str and bytes are
// immutable and kept alive by the caller's reference; for buffers we hold
// a buffer export, which stops e.g. a bytearray from being resized (and
// its memory moved) by another thread until we are done. Construct and
// destroy with the GIL held.
class BytesArg {
 public:
  BytesArg(pybind11::handle obj, const char* what);
  ~BytesArg();
  BytesArg(const BytesArg&) = delete;
  BytesArg& operator=(const BytesArg&) = delete;

  Slice slice() const noexcept { return Slice(data_, size_); }
  std::string_view view() const noexcept { return {data_, size_}; }

 private:
  const char* data_ = "";
  size_t size_ = 0;
  Py_buffer view_{};
  bool has_view_ = false;
};

// A new bytes object holding s. Requires the GIL.
pybind11::bytes ToBytes(Slice s);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_BYTES_ARG_H
