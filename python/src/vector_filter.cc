#include "vector_filter.h"

#include <new>
#include <utility>

#include "gil.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

// Calls fn(metadata as bytes, or None) and returns the truth of its
// result: 1, 0, or -1 with a Python error set. Requires the GIL. C API
// only, no destructors: this runs inside WithGil.
int CallFilter(PyObject* fn, const Slice* metadata) {
  PyObject* arg = metadata ? PyBytes_FromStringAndSize(
                                 metadata->data(),
                                 static_cast<Py_ssize_t>(metadata->size()))
                           : Py_NewRef(Py_None);
  if (arg == nullptr) return -1;
  PyObject* result = PyObject_CallOneArg(fn, arg);
  Py_DECREF(arg);
  if (result == nullptr) return -1;
  const int truth = PyObject_IsTrue(result);
  Py_DECREF(result);
  return truth;
}

}  // namespace

PythonFilter::PythonFilter(const PyVectorStore* store, py::object fn)
    : store_(store), fn_(std::move(fn)) {}

PythonFilter::~PythonFilter() {
  Py_XDECREF(error_type_);
  Py_XDECREF(error_value_);
  Py_XDECREF(error_traceback_);
}

VectorFilter PythonFilter::AsFilter() {
  return [this](Slice key, const Slice* metadata) {
    // Only bad_alloc is caught: the unwind of a thread that CPython ends
    // inside Decide (WithGil) must pass.
    try {
      return Decide(key, metadata);
    } catch (const std::bad_alloc&) {
      // Outside the GIL nothing can be raised yet: Rethrow does it.
      out_of_memory_ = true;
      return false;
    }
  };
}

bool PythonFilter::Decide(Slice key, const Slice* metadata) {
  if (failed()) return false;  // finish the search quickly
  std::string k = key.ToString();
  if (auto it = verdicts_.find(k); it != verdicts_.end()) return it->second;
  int truth;
  {
    // Marks the thread so that fn cannot call back into this store.
    PyVectorStore::FilterScope scope(store_);
    truth = WithGil([&] {
      const int t = CallFilter(fn_.ptr(), metadata);
      if (t < 0) {
        if (!PyErr_Occurred()) {  // not expected of CPython; be sure
          PyErr_SetString(PyExc_SystemError, "the filter failed silently");
        }
        PyErr_Fetch(&error_type_, &error_value_, &error_traceback_);
      }
      return t;
    });
  }
  if (truth < 0) return false;
  verdicts_.emplace(std::move(k), truth != 0);
  return truth != 0;
}

void PythonFilter::Rethrow() {
  if (error_type_ != nullptr) {
    // PyErr_Restore takes over the references.
    PyErr_Restore(std::exchange(error_type_, nullptr),
                  std::exchange(error_value_, nullptr),
                  std::exchange(error_traceback_, nullptr));
    throw py::error_already_set();
  }
  if (out_of_memory_) {
    out_of_memory_ = false;
    throw std::bad_alloc();  // pybind11 raises MemoryError
  }
}

}  // namespace snkv::python
