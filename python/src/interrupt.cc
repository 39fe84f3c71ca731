#include "interrupt.h"

#include <pthread.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <mutex>

namespace snkv::python {

namespace py = pybind11;

namespace {

// The exception a signal handler raised during this thread's wait: owned
// references, or null. Plain pointers, not py::object, because a
// thread_local's destructor would run at thread exit without the GIL.
struct Parked {
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
};
thread_local Parked t_parked;

// PyThread_get_thread_ident() of the thread Python runs signal handlers
// on. Compared without the GIL.
std::atomic<unsigned long> g_signal_thread{0};

}  // namespace

void InstallInterruptHooks() {
  py::object main = py::module_::import("threading").attr("main_thread")();
  g_signal_thread.store(main.attr("ident").cast<unsigned long>(),
                        std::memory_order_relaxed);
  static std::once_flag once;
  std::call_once(once, [] {
    // In a child, CPython makes the thread that called fork() its main
    // thread (PyOS_AfterFork_Child).
    pthread_atfork(nullptr, nullptr, [] {
      g_signal_thread.store(PyThread_get_thread_ident(),
                            std::memory_order_relaxed);
    });
  });
}

bool KeepWaiting() {
  if (t_parked.type != nullptr) return false;  // already interrupted
  if (PyThread_get_thread_ident() !=
      g_signal_thread.load(std::memory_order_relaxed)) {
    return true;  // no handler runs here (see the header)
  }
  if (_Py_IsFinalizing()) return true;
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() == 0) return true;
  PyErr_Fetch(&t_parked.type, &t_parked.value, &t_parked.traceback);
  return false;
}

void RaiseParkedInterrupt() {
  if (t_parked.type == nullptr) return;
  Parked p = t_parked;
  t_parked = Parked{};
  PyErr_Restore(p.type, p.value, p.traceback);  // steals the references
  throw py::error_already_set();
}

}  // namespace snkv::python
