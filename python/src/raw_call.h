// Entry points called by CPython directly (slots, METH_FASTCALL methods)
// instead of through pybind11's dispatcher, for the calls where that
// dispatch costs a noticeable share of the call: iterator steps and get().
#ifndef SNKV_PYTHON_RAW_CALL_H
#define SNKV_PYTHON_RAW_CALL_H

#include <pybind11/pybind11.h>

#include <exception>

namespace snkv::python {

// Runs body(), which returns a new reference or nullptr, and turns the C++
// exceptions of our code into a set Python error and nullptr, as a C entry
// point must.
template <class Body>
PyObject* RawCall(Body&& body) noexcept {
  try {
    return body();
  } catch (pybind11::error_already_set& e) {
    e.restore();
  } catch (pybind11::builtin_exception& e) {
    e.set_error();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// Replaces the method `name` of cls with a METH_FASTCALL | METH_KEYWORDS
// function; `def` must live as long as the class (a static). Its ml_doc
// should start with a text signature ("name($self, /, a, b=None)\n--\n\n")
// so that help() shows the parameters.
void InstallRawMethod(pybind11::handle cls, PyMethodDef* def);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_RAW_CALL_H
