#include "floats_arg.h"

#include <cstring>
#include <string>

namespace snkv::python {

namespace py = pybind11;

namespace {

// True for the struct-module formats of a native float32: "f", or "f"
// after a byte-order mark meaning native/little-endian (x86 and arm64).
bool IsFloat32Format(const char* format) {
  if (format == nullptr) return false;  // PyBUF_FORMAT was asked for
  if (format[0] == '@' || format[0] == '=' || format[0] == '<') ++format;
  return std::strcmp(format, "f") == 0;
}

}  // namespace

FloatsArg::FloatsArg(py::handle obj, const char* what) {
  PyObject* o = obj.ptr();
  if (!PyObject_CheckBuffer(o) ||
      PyObject_GetBuffer(o, &view_, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
    PyErr_Clear();
    throw py::type_error(std::string(what) +
                         " must be a C-contiguous float32 buffer, not " +
                         Py_TYPE(o)->tp_name);
  }
  if (view_.itemsize != 4 || !IsFloat32Format(view_.format)) {
    const std::string format = view_.format ? view_.format : "?";
    PyBuffer_Release(&view_);
    throw py::type_error(std::string(what) +
                         " must hold float32 values, not format '" + format +
                         "'");
  }
  data_ = static_cast<const float*>(view_.buf);
  size_ = static_cast<size_t>(view_.len) / sizeof(float);
}

FloatsArg::~FloatsArg() { PyBuffer_Release(&view_); }

}  // namespace snkv::python
