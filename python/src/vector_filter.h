// PythonFilter: a Python callable used as the VectorFilter of a search.
#ifndef SNKV_PYTHON_VECTOR_FILTER_H
#define SNKV_PYTHON_VECTOR_FILTER_H

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <unordered_map>

#include "py_vector_store.h"
#include "snkv/vector.h"

namespace snkv::python {

// The search runs without the GIL; each call of the filter takes it, calls
// fn(metadata) (bytes of the item's JSON metadata, or None) and keeps the
// truth of the result. The graph walk may ask about one item more than
// once: answers are remembered per key, so fn runs once per item. If fn
// raises, every later item is refused without calling it and Rethrow()
// raises the exception once the search returned.
//
// One search, on one thread: not for concurrent use. Construct, Rethrow
// and destroy with the GIL held.
class PythonFilter {
 public:
  PythonFilter(const PyVectorStore* store, pybind11::object fn);

  // A VectorFilter calling this object (which must outlive it).
  VectorFilter AsFilter();
  // Raises what fn raised, if it did.
  void Rethrow();

 private:
  bool Decide(Slice key, const Slice* metadata);

  const PyVectorStore* store_;
  pybind11::object fn_;
  std::unordered_map<std::string, bool> verdicts_;
  std::optional<pybind11::error_already_set> error_;
};

}  // namespace snkv::python

#endif  // SNKV_PYTHON_VECTOR_FILTER_H
