// The Python class snkv.Iterator over PyIterator.
#include "arg_types.h"
#include "py_iterator.h"
#include "raw_call.h"
#include "self_arg.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

// tp_iternext for Iterator, called by `for` loops and next() directly.
// pybind11's generic method dispatch (argument conversion, overload
// resolution, StopIteration as a C++ exception) cost more than handing out
// a batched row; this reaches the C++ object directly and signals the end
// by returning NULL with no exception set, as the protocol allows.
PyObject* FastIterNext(PyObject* self) {
  return RawCall([&]() -> PyObject* {
    PyIterator* it = TryUnwrap<PyIterator>(self);
    if (it == nullptr) {
      PyErr_SetString(PyExc_TypeError, "uninitialised snkv.Iterator");
      return nullptr;
    }
    return it->NextOrNull().release().ptr();
  });
}

}  // namespace

void RegisterIterator(py::module_& m) {
  using It = SelfOf<PyIterator>;
  py::class_<PyIterator> cls(
      m, "Iterator",
      "An ordered cursor over one column family, made by iterator() and its "
      "siblings on a KVStore or ColumnFamily.\n\n"
      "Iterate it with `for key, value in it` (rows come as (bytes, bytes) "
      "tuples, ascending or, for a reverse iterator, descending) or move it "
      "by hand with first/last/seek/next/prev and read eof/key/value/item(). "
      "A new iterator starts at its first key (last, if reverse); a prefix "
      "iterator never leaves its prefix, also after seek(). Expired keys "
      "are skipped. Use it as a context manager, or call close(), to "
      "release its cursor early; closing the store invalidates it.");
  cls.def("__iter__",
          [](It self) { return py::reinterpret_borrow<py::object>(self.obj); })
      .def(
          "__next__", [](It h) { return Unwrap<PyIterator>(h).NextItem(); },
          "The row at the position as (key, value); then moves on in the "
          "iterator's direction. StopIteration at the end.")
      .def(
          "first",
          [](It self) {
            Unwrap<PyIterator>(self).First();
            return py::reinterpret_borrow<py::object>(self.obj);
          },
          "Moves to the smallest key (within the prefix). Returns self.")
      .def(
          "last",
          [](It self) {
            Unwrap<PyIterator>(self).Last();
            return py::reinterpret_borrow<py::object>(self.obj);
          },
          "Moves to the largest key (within the prefix). Returns self.")
      .def(
          "seek",
          [](It self, BytesLike key) {
            Unwrap<PyIterator>(self).Seek(key);
            return py::reinterpret_borrow<py::object>(self.obj);
          },
          py::arg("key"),
          "Moves to the first key >= key (a reverse iterator: the last key "
          "<= key), in O(log n), never outside the prefix: a target below "
          "it lands on the prefix's first key, one past it at eof. Returns "
          "self, so `it.seek(k).key` works.")
      .def(
          "next",
          [](It self) {
            Unwrap<PyIterator>(self).StepNext();
            return py::reinterpret_borrow<py::object>(self.obj);
          },
          "Moves to the next larger key (on any iterator; at eof it stays "
          "there). Returns self.")
      .def(
          "prev",
          [](It self) {
            Unwrap<PyIterator>(self).StepPrev();
            return py::reinterpret_borrow<py::object>(self.obj);
          },
          "Moves to the next smaller key (on any iterator; at eof it stays "
          "there). Returns self.")
      .def_property_readonly(
          "eof", [](It h) { return Unwrap<PyIterator>(h).Eof(); },
          "True when the iterator is past its last key.")
      .def_property_readonly(
          "key", [](It h) { return Unwrap<PyIterator>(h).Key(); },
          "The current key as bytes; snkv.Error at eof.")
      .def_property_readonly(
          "value", [](It h) { return Unwrap<PyIterator>(h).Value(); },
          "The current value as bytes; snkv.Error at eof.")
      .def(
          "item", [](It h) { return Unwrap<PyIterator>(h).Item(); },
          "The current (key, value) tuple; snkv.Error at eof.")
      .def_property_readonly(
          "reverse", [](It h) { return Unwrap<PyIterator>(h).reverse(); },
          "True for a reverse (descending) iterator.")
      .def_property_readonly(
          "closed", [](It h) { return Unwrap<PyIterator>(h).closed(); },
          "True once close() was called.")
      .def(
          "close", [](It h) { Unwrap<PyIterator>(h).Close(); },
          "Releases the cursor (and the read snapshot it may hold). Any "
          "later use raises snkv.Error; closing again does nothing.")
      .def("__enter__",
           [](It self) { return py::reinterpret_borrow<py::object>(self.obj); })
      .def(
          "__exit__",
          // pybind11 takes py::args by value only.
          // NOLINTNEXTLINE(performance-unnecessary-value-param)
          [](It self_h, py::args) {
            auto& self = Unwrap<PyIterator>(self_h);
            self.Close();
          },
          "Closes the iterator.");
  SetBoundType<PyIterator>(cls);
  reinterpret_cast<PyTypeObject*>(cls.ptr())->tp_iternext = &FastIterNext;
}

}  // namespace snkv::python
