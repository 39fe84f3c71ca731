// The Python class snkv.ColumnFamily.
#include "family_methods.h"
#include "py_store.h"

namespace snkv::python {

namespace py = pybind11;

void RegisterColumnFamily(py::module_& m) {
  using Cf = SelfOf<PyColumnFamily>;
  py::class_<PyColumnFamily> cls(
      m, "ColumnFamily",
      "A named key space of a store, with the same data methods as "
      "KVStore (put/get/delete/exists, ttl, put_if_absent, clear, count, "
      "iterators and the dict interface). Made by create_column_family, "
      "open_column_family or default_column_family; use it as a context "
      "manager or close() it when done (that only ends the handle, the "
      "data stays).");
  SetBoundType<PyColumnFamily>(cls);
  DefineFamilyMethods(cls);
  cls.def_property_readonly(
         "name", [](Cf h) { return Unwrap<PyColumnFamily>(h).name(); },
         "The family's name.")
      .def_property_readonly(
          "closed", [](Cf h) { return Unwrap<PyColumnFamily>(h).closed(); },
          "True once close() was called.")
      .def(
          "close", [](Cf h) { Unwrap<PyColumnFamily>(h).Close(); },
          "Ends this handle: later calls on it raise snkv.Error.")
      .def("__enter__",
           [](Cf self) { return py::reinterpret_borrow<py::object>(self.obj); })
      .def(
          "__exit__",
          // pybind11 takes py::args by value only.
          // NOLINTNEXTLINE(performance-unnecessary-value-param)
          [](Cf self_h, py::args) {
            auto& self = Unwrap<PyColumnFamily>(self_h);
            self.Close();
          },
          "Closes the handle.");
}

}  // namespace snkv::python
