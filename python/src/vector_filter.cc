#include "vector_filter.h"

#include <utility>

#include "bytes_arg.h"

namespace snkv::python {

namespace py = pybind11;

PythonFilter::PythonFilter(const PyVectorStore* store, py::object fn)
    : store_(store), fn_(std::move(fn)) {}

VectorFilter PythonFilter::AsFilter() {
  return [this](Slice key, const Slice* metadata) {
    try {
      return Decide(key, metadata);
    } catch (...) {  // out of memory outside the GIL: refuse the item
      return false;
    }
  };
}

bool PythonFilter::Decide(Slice key, const Slice* metadata) {
  if (error_) return false;  // fn raised: finish the search quickly
  std::string k = key.ToString();
  if (auto it = verdicts_.find(k); it != verdicts_.end()) return it->second;
  // Nothing may escape into the index's walk: every failure is kept for
  // Rethrow and refuses the item.
  py::gil_scoped_acquire gil;
  try {
    // Marks the thread so that fn cannot call back into this store.
    PyVectorStore::FilterScope scope(store_);
    py::object arg = metadata ? py::object(ToBytes(*metadata)) : py::none();
    py::object result = fn_(arg);
    const int truth = PyObject_IsTrue(result.ptr());
    if (truth < 0) throw py::error_already_set();
    verdicts_.emplace(std::move(k), truth != 0);
    return truth != 0;
  } catch (py::error_already_set& e) {
    error_.emplace(std::move(e));
  } catch (py::builtin_exception& e) {
    e.set_error();
    error_.emplace();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    error_.emplace();
  }
  return false;
}

void PythonFilter::Rethrow() {
  if (!error_) return;
  // The filter is done with: leaving error_ moved-from is fine.
  throw py::error_already_set(std::move(*error_));
}

}  // namespace snkv::python
