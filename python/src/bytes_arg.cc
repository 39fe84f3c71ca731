#include "bytes_arg.h"

#include <string>

namespace snkv::python {

namespace py = pybind11;

BytesArg::BytesArg(py::handle obj, const char* what) {
  PyObject* o = obj.ptr();
  if (PyBytes_Check(o)) {
    data_ = PyBytes_AS_STRING(o);
    size_ = static_cast<size_t>(PyBytes_GET_SIZE(o));
    return;
  }
  if (PyUnicode_Check(o)) {
    Py_ssize_t n = 0;
    // Cached inside the str object: no copy, lives as long as the str.
    const char* utf8 = PyUnicode_AsUTF8AndSize(o, &n);
    if (utf8 == nullptr) throw py::error_already_set();  // lone surrogates
    data_ = utf8;
    size_ = static_cast<size_t>(n);
    return;
  }
  if (PyObject_CheckBuffer(o)) {
    // PyBUF_SIMPLE asks for plain contiguous bytes; a strided view refuses.
    if (PyObject_GetBuffer(o, &view_, PyBUF_SIMPLE) != 0) {
      PyErr_Clear();
      throw py::type_error(std::string(what) +
                           " must be a C-contiguous buffer; got a "
                           "non-contiguous " +
                           Py_TYPE(o)->tp_name);
    }
    has_view_ = true;
    data_ = static_cast<const char*>(view_.buf);
    size_ = static_cast<size_t>(view_.len);
    if (data_ == nullptr) data_ = "";
    return;
  }
  throw py::type_error(std::string(what) +
                       " must be str, bytes, bytearray or memoryview, not " +
                       Py_TYPE(o)->tp_name);
}

BytesArg::~BytesArg() {
  if (has_view_) PyBuffer_Release(&view_);
}

py::bytes ToBytes(Slice s) {
  PyObject* b =
      PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
  if (b == nullptr) throw py::error_already_set();  // MemoryError
  return py::reinterpret_steal<py::bytes>(b);
}

}  // namespace snkv::python
