#include "vector_errors.h"

#include <string>

#include "errors.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

// Our own references (NewErrorClass): valid for the life of the
// interpreter.
PyObject* g_index_error = nullptr;
PyObject* g_mismatch_error = nullptr;

PyObject* NewError(py::module_& m, const char* name, const char* doc,
                   PyObject* bases) {
  return NewErrorClass(m, "snkv.vector", name, doc, bases);
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
      RaiseWithCode(g_index_error, s);
    case Code::kDimMismatch:
    case Code::kDtypeMismatch:
    case Code::kSpaceMismatch:
      RaiseWithCode(g_mismatch_error, s);
    case Code::kBadVector:
      throw py::value_error(s.message());
    default:
      ThrowStatus(s);
  }
}

}  // namespace snkv::python
