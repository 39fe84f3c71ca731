// Exception classes are created with PyErr_NewExceptionWithDoc because
// NotFoundError needs two bases (Error and KeyError), which
// pybind11::exception<> cannot express.
#include "errors.h"

#include <string>

namespace snkv::python {

namespace py = pybind11;

namespace {

// Our own references (NewErrorClass): valid for the life of the
// interpreter.
PyObject* g_error = nullptr;
PyObject* g_not_found = nullptr;
PyObject* g_busy = nullptr;
PyObject* g_locked = nullptr;
PyObject* g_read_only = nullptr;
PyObject* g_corrupt = nullptr;
PyObject* g_auth = nullptr;

PyObject* NewError(py::module_& m, const char* name, const char* doc,
                   PyObject* bases) {
  return NewErrorClass(m, "snkv", name, doc, bases);
}

PyObject* ClassFor(Code code) {
  switch (code) {
    case Code::kNotFound:
      return g_not_found;
    case Code::kBusy:
      return g_busy;
    case Code::kLocked:
      return g_locked;
    case Code::kReadOnly:
      return g_read_only;
    case Code::kCorrupt:
      return g_corrupt;
    case Code::kAuthFailed:
      return g_auth;
    default:  // kError, kNoMem, kProtocol: the generic class
      return g_error;
  }
}

}  // namespace

void RegisterErrors(py::module_& m) {
  g_error = NewError(m, "Error",
                     "Base class of every error snkv raises. The attribute "
                     "`code` holds the store's numeric result code.",
                     PyExc_Exception);
  py::tuple not_found_bases =
      py::make_tuple(py::handle(g_error), py::handle(PyExc_KeyError));
  g_not_found = NewError(
      m, "NotFoundError",
      "The key (or column family) does not exist or has expired. Also a "
      "KeyError, so dict-style code that catches KeyError keeps working.",
      not_found_bases.ptr());
  g_busy = NewError(m, "BusyError",
                    "Another connection holds the lock the call needed and "
                    "busy_timeout ran out (or is 0).",
                    g_error);
  g_locked = NewError(m, "LockedError",
                      "The call conflicts with something running on the same "
                      "store handle (e.g. dropping a family mid-scan).",
                      g_error);
  g_read_only = NewError(m, "ReadOnlyError",
                         "A write on a store opened read_only, or inside a "
                         "read transaction (begin(write=False)).",
                         g_error);
  g_corrupt = NewError(m, "CorruptError",
                       "The file is damaged, is not a database, or an "
                       "encrypted value failed authentication.",
                       g_error);
  g_auth = NewError(m, "AuthError",
                    "Wrong password for an encrypted store, or an encrypted "
                    "store opened without one.",
                    g_error);
}

PyObject* NewErrorClass(py::module_& m, const char* module_name,
                        const char* name, const char* doc, PyObject* bases) {
  const std::string qualified = std::string(module_name) + "." + name;
  PyObject* cls =
      PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::reinterpret_borrow<py::object>(cls));
  return cls;
}

void ThrowStatus(const Status& s) { RaiseWithCode(ClassFor(s.code()), s); }

void RaiseWithCode(PyObject* cls, const Status& s) {
  const std::string& msg = s.message();
  // Messages may quote user bytes (e.g. a family name): never fail on
  // invalid UTF-8.
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

void ThrowError(std::string_view message) {
  ThrowStatus(Status::Error(message));
}

}  // namespace snkv::python
