// Releasing the GIL around calls into the store.
#ifndef SNKV_PYTHON_GIL_H
#define SNKV_PYTHON_GIL_H

#include <pybind11/pybind11.h>

#include <utility>

#include "interrupt.h"

namespace snkv::python {

// Releases the GIL around f(), a call into the store, and returns its
// result. Afterwards raises the exception of a signal handler that ran
// while the call waited for a lock (see interrupt.h): the call then failed
// with kBusy, and the user asked to stop.
template <class F>
auto NoGil(F&& f) {
  auto result = [&] {
    pybind11::gil_scoped_release nogil;
    return std::forward<F>(f)();
  }();
  RaiseParkedInterrupt();
  return result;
}

// As NoGil, for destructors: while the interpreter is shutting down, the
// GIL is kept (a thread that takes it then may be stopped for good). A
// parked interrupt stays parked for the thread's next call.
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
