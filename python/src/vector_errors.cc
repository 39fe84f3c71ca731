#include "vector_errors.h"

#include <string>

#include "errors.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

// Each holds a reference of its own: valid for the life of the interpreter.
PyObject* g_index_error = nullptr;
PyObject* g_mismatch_error = nullptr;

PyObject* NewError(py::module_& m, const char* name, const char* doc,
                   PyObject* bases) {
  const std::string qualified = std::string("snkv.vector.") + name;
  PyObject* cls =
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::reinterpret_borrow<py::object>(cls));
  return cls;  // our own reference keeps it valid whatever the module does
}

// Raises cls(message) with `code` set, as ThrowStatus does for snkv.Error.
[[noreturn]] void Raise(PyObject* cls, const Status& s) {
  const std::string& msg = s.message();
  auto text = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
      msg.data(), static_cast<Py_ssize_t>(msg.size()), "replace"));
  if (!text) throw py::error_already_set();
  auto exc =
      py::reinterpret_steal<py::object>(PyObject_CallOneArg(cls, text.ptr()));
  if (!exc) throw py::error_already_set();
  if (PyObject_SetAttrString(exc.ptr(), "code", py::int_(s.raw_code()).ptr()) !=
      0) {
    throw py::error_already_set();
  }
  PyErr_SetObject(cls, exc.ptr());
  throw py::error_already_set();
}

}  // namespace

void RegisterVectorErrors(py::module_& m) {
  py::object base = m.attr("Error");
  g_index_error = NewError(
      m, "VectorIndexError",
      "The vector index cannot serve the call: it was dropped "
      "(drop_vector_index), or it holds no vector to search. A snkv.Error; "
      "`code` is 23 (dropped) or 24 (empty).",
      base.ptr());
  py::tuple bases =
      py::make_tuple(py::handle(g_index_error), py::handle(PyExc_ValueError));
  g_mismatch_error =
      NewError(m, "VectorMismatchError",
               "An existing vector store was opened with another dim, space or "
               "dtype than it was created with. Both a VectorIndexError and a "
               "ValueError; `code` is 20 (dim), 21 (dtype) or 22 (space).",
               bases.ptr());
}

void ThrowVectorStatus(const Status& s) {
  switch (s.code()) {
    case Code::kIndexDropped:
    case Code::kIndexEmpty:
      Raise(g_index_error, s);
    case Code::kDimMismatch:
    case Code::kDtypeMismatch:
    case Code::kSpaceMismatch:
      Raise(g_mismatch_error, s);
    case Code::kBadVector:
      throw py::value_error(s.message());
    default:
      ThrowStatus(s);
  }
}

}  // namespace snkv::python
