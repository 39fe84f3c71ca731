// Releasing the GIL around calls into the store.
#ifndef SNKV_PYTHON_GIL_H
#define SNKV_PYTHON_GIL_H

#include <pybind11/pybind11.h>

namespace snkv::python {

// Releases the GIL around f(), a call into the store.
template <class F>
auto NoGil(F&& f) {
  pybind11::gil_scoped_release nogil;
  return f();
}

// As NoGil, for destructors: while the interpreter is shutting down, the
// GIL is kept (a thread that takes it then may be stopped for good).
template <class F>
void NoGilUnlessFinalizing(F&& f) {
  if (_Py_IsFinalizing()) {
    f();
    return;
  }
  pybind11::gil_scoped_release nogil;
  f();
}

}  // namespace snkv::python

#endif  // SNKV_PYTHON_GIL_H
