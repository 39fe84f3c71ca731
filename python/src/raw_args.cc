#include "raw_args.h"

namespace snkv::python {

bool BindArgs(const char* function, PyObject* const* args, Py_ssize_t nargs,
              PyObject* kwnames, std::initializer_list<const char*> names,
              size_t required, size_t max_positional, PyObject** out) {
  if (static_cast<size_t>(nargs) > max_positional) {
    PyErr_Format(PyExc_TypeError,
                 "%s() takes at most %zu positional argument%s (%zd given)",
                 function, max_positional, max_positional == 1 ? "" : "s",
                 nargs);
    return false;
  }
  // Which parameters got a value (names has a handful of entries).
  bool given[8] = {};
  if (names.size() > sizeof(given)) {
    PyErr_Format(PyExc_SystemError, "%s(): too many parameters", function);
    return false;
  }
  for (Py_ssize_t i = 0; i < nargs; ++i) {
    out[i] = args[i];
    given[i] = true;
  }
  const Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
  for (Py_ssize_t k = 0; k < nkw; ++k) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, k);
    size_t i = 0;
    for (const char* n : names) {
      if (PyUnicode_CompareWithASCIIString(name, n) == 0) break;
      ++i;
    }
    if (i == names.size()) {
      PyErr_Format(PyExc_TypeError,
                   "%s() got an unexpected keyword argument '%U'", function,
                   name);
      return false;
    }
    if (given[i]) {
      PyErr_Format(PyExc_TypeError,
                   "%s() got multiple values for argument '%U'", function,
                   name);
      return false;
    }
    out[i] = args[nargs + k];
    given[i] = true;
  }
  size_t i = 0;
  for (const char* n : names) {
    if (i < required && !given[i]) {
      PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'",
                   function, n);
      return false;
    }
    ++i;
  }
  return true;
}

}  // namespace snkv::python
