// PyVectorStore: the C++ object behind snkv.vector.VectorStore (through
// the base class snkv._snkv._VectorStore).
#ifndef SNKV_PYTHON_PY_VECTOR_STORE_H
#define SNKV_PYTHON_PY_VECTOR_STORE_H

#include <pybind11/pybind11.h>

#include <optional>
#include <shared_mutex>
#include <string>

#include "fork_guard.h"
#include "gil.h"
#include "interrupt.h"
#include "snkv/vector.h"
#include "vector_errors.h"

namespace snkv::python {

class PyVectorStore {
 public:
  // Opens or creates the store (nullopt path: in memory). Raises the
  // store's error (VectorMismatchError for another dim/space/dtype).
  PyVectorStore(const std::optional<std::string>& path,
                const VectorOptions& options);
  // Closes the store (writing the sidecar) if it is still open, in the
  // process that opened it.
  ~PyVectorStore();
  PyVectorStore(const PyVectorStore&) = delete;
  PyVectorStore& operator=(const PyVectorStore&) = delete;

  // Runs f(store) without the GIL, under the shared side of the handle
  // lock (Close takes the exclusive side: VectorStore::Close frees what
  // every other call uses), and raises a failed Status. Refuses, with
  // snkv.Error, a handle from before a fork and a call made from inside
  // one of this store's own search filters (it could deadlock on the
  // index lock the search holds).
  template <class F>
  void Call(F&& f) {
    CheckUsable();
    Status s;
    {
      GilRelease nogil;
      std::shared_lock<std::shared_mutex> lock(handle_->mu);
      s = f(handle_->store);
    }
    RaiseParkedInterrupt();  // Ctrl-C during a busy wait (interrupt.h)
    if (!s.ok()) ThrowVectorStatus(s);
  }

  void Close();
  bool closed();
  int dim() const noexcept { return dim_; }

  // Marks this thread as running one of this store's search filters for
  // the life of the object (see Call).
  // Scopes nest (a filter may search another store).
  class FilterScope {
   public:
    explicit FilterScope(const PyVectorStore* store);
    ~FilterScope();
    FilterScope(const FilterScope&) = delete;
    FilterScope& operator=(const FilterScope&) = delete;
  };

 private:
  struct Handle {
    VectorStore store;
    std::shared_mutex mu;
  };
  void CheckUsable() const;
  ChildLeak<Handle> handle_;
  int dim_;
};

}  // namespace snkv::python

#endif  // SNKV_PYTHON_PY_VECTOR_STORE_H
