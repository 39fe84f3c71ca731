// Releasing the GIL around calls into the store.
//
// The rule: every call that reaches the store runs without the GIL, short
// reads included. Any of them may wait (for the store's mutex, held by
// another thread through a commit or checkpoint; for the disk; for a busy
// timeout), and a wait with the GIL held would stop every Python thread.
// Keeping it for calls that "cannot block" would also buy nothing: perf
// puts the uncontended release and retake at 0.2-0.4 % of a 100-byte get
// (docs/benchmarks.md, Python).
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
