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

#include <cxxabi.h>
#include <pybind11/pybind11.h>
#include <unistd.h>

#include <utility>

#include "interrupt.h"

namespace snkv::python {

// Takes the GIL back for `state` (PyEval_RestoreThread). While the
// interpreter is shutting down, CPython ends any other thread that takes
// the GIL with pthread_exit, whose unwind would reach one of our noexcept
// entry points (or this destructor's caller) and abort the whole process
// ("terminate called without an active exception"): a daemon thread that
// was in a store call when the program ended made it die with SIGABRT
// instead of exiting. Such a thread waits here instead, for good, holding
// no lock of ours (the call it made has returned), until the process
// exits; CPython 3.14 does the same for every such thread.
inline void RestoreThreadOrWait(PyThreadState* state) noexcept {
  try {
    PyEval_RestoreThread(state);
  } catch (abi::__forced_unwind&) {
    for (;;) pause();
  }
}

// Releases the GIL for its lifetime, like pybind11::gil_scoped_release,
// but takes it back through RestoreThreadOrWait. Every call into the store
// releases the GIL with one of these.
class GilRelease {
 public:
  GilRelease() {
    // As pybind11 does: its internals must exist before another thread's
    // gil_scoped_acquire (they do once the module is imported).
    pybind11::detail::get_internals();
    state_ = PyEval_SaveThread();
  }
  ~GilRelease() { RestoreThreadOrWait(state_); }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* state_ = nullptr;
};

// Releases the GIL around f(), a call into the store, and returns its
// result. Afterwards raises the exception of a signal handler that ran
// while the call waited for a lock (see interrupt.h): the call then failed
// with kBusy, and the user asked to stop.
template <class F>
auto NoGil(F&& f) {
  auto result = [&] {
    GilRelease nogil;
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
  GilRelease nogil;
  f();
}

}  // namespace snkv::python

#endif  // SNKV_PYTHON_GIL_H
