#include "interrupt.h"

#include <pybind11/pybind11.h>

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

}  // namespace

bool KeepWaiting() {
  if (t_parked.type != nullptr) return false;  // already interrupted
  if (_Py_IsFinalizing()) return true;
  py::gil_scoped_acquire gil;
  // Handlers run only in the main thread; elsewhere this returns 0 at once.
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
