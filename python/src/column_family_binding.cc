// The Python class snkv.ColumnFamily.
#include "family_methods.h"
#include "py_store.h"

namespace snkv::python {

namespace py = pybind11;

void RegisterColumnFamily(py::module_& m) {
  py::class_<PyColumnFamily> cls(
      m, "ColumnFamily",
      "A named key space of a store, with the same data methods as "
      "KVStore (put/get/delete/exists, ttl, put_if_absent, clear, count, "
      "iterators and the dict interface). Made by create_column_family, "
      "open_column_family or default_column_family; use it as a context "
      "manager or close() it when done (that only ends the handle, the "
      "data stays).");
  DefineFamilyMethods(cls);
  cls.def_property_readonly("name", &PyColumnFamily::name, "The family's name.")
      .def_property_readonly("closed", &PyColumnFamily::closed,
                             "True once close() was called.")
      .def("close", &PyColumnFamily::Close,
           "Ends this handle: later calls on it raise snkv.Error.")
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__", [](PyColumnFamily& self, py::args) { self.Close(); },
          "Closes the handle.");
}

}  // namespace snkv::python
