// PythonFilter: a Python callable used as the VectorFilter of a search.
#ifndef SNKV_PYTHON_VECTOR_FILTER_H
#define SNKV_PYTHON_VECTOR_FILTER_H

#include <pybind11/pybind11.h>

#include <string>
#include <unordered_map>

#include "py_vector_store.h"
#include "snkv/vector.h"

namespace snkv::python {

// The search runs without the GIL; each call of the filter takes it, calls
// fn(metadata) (bytes of the item's JSON metadata, or None) and keeps the
// truth of the result. The graph walk may ask about one item more than
// once: answers are remembered per key, so fn runs once per item. If fn
// raises (or memory runs out), every later item is refused without calling
// it and Rethrow() raises the exception once the search returned.
//
// At interpreter shutdown CPython may end the searching thread inside the
// filter; the filter lets that unwind pass (see WithGil in gil.h), so the
// search gives back its locks and the thread stops in the store call's
// GilRelease.
//
// One search, on one thread: not for concurrent use. Construct, Rethrow
// and destroy with the GIL held.
class PythonFilter {
 public:
  PythonFilter(const PyVectorStore* store, pybind11::object fn);
  ~PythonFilter();  // drops an exception of fn's that was never raised
  PythonFilter(const PythonFilter&) = delete;
  PythonFilter& operator=(const PythonFilter&) = delete;

  // A VectorFilter calling this object (which must outlive it).
  VectorFilter AsFilter();
  // Raises what fn raised (or MemoryError), if it did.
  void Rethrow();

 private:
  bool Decide(Slice key, const Slice* metadata);
  bool failed() const noexcept {
    return error_type_ != nullptr || out_of_memory_;
  }

  const PyVectorStore* store_;
  pybind11::object fn_;
  std::unordered_map<std::string, bool> verdicts_;
  // What fn raised, as PyErr_Fetch gives it (owned references): plain
  // pointers, because they are taken in WithGil (no destructors there).
  PyObject* error_type_ = nullptr;
  PyObject* error_value_ = nullptr;
  PyObject* error_traceback_ = nullptr;
  bool out_of_memory_ = false;  // a C++ allocation of the filter failed
};

}  // namespace snkv::python

#endif  // SNKV_PYTHON_VECTOR_FILTER_H
