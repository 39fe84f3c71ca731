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
//
// no_sanitize here and in WithGil: the forced unwind carries no C++
// object, so `catch (abi::__forced_unwind&)` binds a null reference, which
// GCC's UBSan (-fsanitize=null) would stop the program for.
__attribute__((no_sanitize("null"))) inline void RestoreThreadOrWait(
    PyThreadState* state) noexcept {
  try {
    PyEval_RestoreThread(state);
  } catch (abi::__forced_unwind&) {
    for (;;) pause();
  }
}

// True on a thread that CPython ended (pthread_exit) inside WithGil: the
// forced unwind is on its way up through the store's frames, and the
// thread can never hold the GIL again.
inline thread_local bool t_ended_by_python = false;

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
  // When CPython ended the thread inside a callback of the call (WithGil),
  // the unwind stops here: the frames below have given back the store's
  // locks, and the frames above hold Python objects, which cannot be let
  // go without the GIL. The thread waits for the process to end.
  ~GilRelease() {
    if (t_ended_by_python) {
      for (;;) pause();
    }
    RestoreThreadOrWait(state_);
  }
  GilRelease(const GilRelease&) = delete;
  GilRelease& operator=(const GilRelease&) = delete;

 private:
  PyThreadState* state_ = nullptr;
};

// Runs body() with the GIL, from a callback into Python that the store
// makes while a GilRelease further up this thread's stack has released it
// (a search filter, called from inside the index walk), and returns its
// result. body must use Python's C API only, no objects with destructors,
// and must not throw.
//
// While the interpreter is shutting down, CPython ends the thread when it
// takes the GIL: here, or inside body when Python code that body runs lets
// the GIL go and takes it back (a thread switch, sleep, I/O). That forced
// unwind must pass: catching it for good aborts the process ("exception
// not rethrown"), and waiting here would keep the store's locks, which a
// close during shutdown would then wait for. So the thread is marked and
// the unwind goes on, through the store's frames (RAII: every lock is
// given back; none of them is noexcept) to that GilRelease, where the
// thread stops. Python objects body made are left alone: they cannot be
// released without the GIL, and the process is ending.
template <class Body>
__attribute__((no_sanitize("null"))) auto WithGil(Body&& body) {
  try {
    const PyGILState_STATE state = PyGILState_Ensure();
    auto result = std::forward<Body>(body)();
    PyGILState_Release(state);
    return result;
  } catch (abi::__forced_unwind&) {
    t_ended_by_python = true;
    throw;
  }
}

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
