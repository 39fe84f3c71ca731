// BindArgs: argument binding for our METH_FASTCALL | METH_KEYWORDS
// methods (raw_call.h), the way Python binds a def's parameters.
#ifndef SNKV_PYTHON_RAW_ARGS_H
#define SNKV_PYTHON_RAW_ARGS_H

#include <Python.h>

#include <cstddef>
#include <initializer_list>

namespace snkv::python {

// Binds the call's arguments (args[0..nargs) positional, then one per name
// in kwnames) to the parameters `names`, in order: out[i] becomes the
// (borrowed) argument for names[i], or stays as the caller set it (the
// default) when not given. The first `max_positional` parameters may be
// passed by position, the rest only by name; the first `required` must be
// given. Returns false with Python's TypeError set for a call Python
// itself would refuse (too many positional arguments, an unknown or
// repeated name, a missing required one), naming `function`.
bool BindArgs(const char* function, PyObject* const* args, Py_ssize_t nargs,
              PyObject* kwnames, std::initializer_list<const char*> names,
              size_t required, size_t max_positional, PyObject** out);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_RAW_ARGS_H
