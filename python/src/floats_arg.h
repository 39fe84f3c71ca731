// FloatsArg: a float32 vector (or a row-major matrix of them) passed from
// Python, readable while the GIL is released.
#ifndef SNKV_PYTHON_FLOATS_ARG_H
#define SNKV_PYTHON_FLOATS_ARG_H

#include <pybind11/pybind11.h>

#include <span>

namespace snkv::python {

// Accepts any object exporting a C-contiguous buffer of native float32
// (format 'f'), such as a float32 numpy array or array.array('f').
// snkv.vector converts lists, other dtypes and raw bytes to that before
// calling, so anything else is a TypeError here.
//
// Like BytesArg, it holds the buffer export until destroyed, so the memory
// stays in place (a resize is refused) while the GIL is released. Construct
// and destroy with the GIL held.
class FloatsArg {
 public:
  FloatsArg(pybind11::handle obj, const char* what);
  ~FloatsArg();
  FloatsArg(const FloatsArg&) = delete;
  FloatsArg& operator=(const FloatsArg&) = delete;

  std::span<const float> span() const noexcept { return {data_, size_}; }

 private:
  const float* data_ = nullptr;
  size_t size_ = 0;
  Py_buffer view_{};
};

}  // namespace snkv::python

#endif  // SNKV_PYTHON_FLOATS_ARG_H
