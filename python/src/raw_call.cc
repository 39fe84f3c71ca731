#include "raw_call.h"

namespace snkv::python {

namespace py = pybind11;

void InstallRawMethod(py::handle cls, PyMethodDef* def) {
  PyObject* descr =
      PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def);
  if (descr == nullptr) throw py::error_already_set();
  // Through the type's setattr, so that its method cache sees the change.
  py::setattr(cls, def->ml_name, py::reinterpret_steal<py::object>(descr));
}

}  // namespace snkv::python
