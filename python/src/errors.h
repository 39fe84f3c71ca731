// The snkv exception classes and the translation of a failed Status into
// the matching Python exception.
#ifndef SNKV_PYTHON_ERRORS_H
#define SNKV_PYTHON_ERRORS_H

#include <pybind11/pybind11.h>

#include <string_view>

#include "snkv/status.h"

namespace snkv::python {

// Creates snkv.Error and its subclasses in module `m`. NotFoundError also
// derives from KeyError, so `except KeyError` catches a missing key.
void RegisterErrors(pybind11::module_& m);

// Raises the exception class of s.code() with s's message and a `code`
// attribute holding the numeric KVSTORE_* code. Requires the GIL and !s.ok().
[[noreturn]] void ThrowStatus(const Status& s);

// Creates the exception class <module_name>.<name> with the given bases
// (a class or a tuple of classes) and docstring, and adds it to m. The
// returned reference is the caller's and never released, so the class
// stays valid for the life of the interpreter whatever the module does.
PyObject* NewErrorClass(pybind11::module_& m, const char* module_name,
                        const char* name, const char* doc, PyObject* bases);

// Raises cls(message of s) with a `code` attribute holding s.raw_code():
// the one way every snkv exception is raised. Requires the GIL.
[[noreturn]] void RaiseWithCode(PyObject* cls, const Status& s);

// Raises snkv.Error(message): misuse found by the binding itself (closed
// handle, use after fork, iterator at eof).
[[noreturn]] void ThrowError(std::string_view message);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_ERRORS_H
