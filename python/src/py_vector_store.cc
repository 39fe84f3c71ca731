#include "py_vector_store.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "errors.h"
#include "gil.h"

namespace snkv::python {

namespace py = pybind11;

namespace {
// The stores whose search filters this thread is inside, outermost first
// (a filter may search another store). Usually empty.
thread_local std::vector<const PyVectorStore*> t_filtering;

bool InOwnFilter(const PyVectorStore* store) {
  return std::find(t_filtering.begin(), t_filtering.end(), store) !=
         t_filtering.end();
}
}  // namespace

PyVectorStore::FilterScope::FilterScope(const PyVectorStore* store) {
  t_filtering.push_back(store);
}

PyVectorStore::FilterScope::~FilterScope() { t_filtering.pop_back(); }

PyVectorStore::PyVectorStore(const std::optional<std::string>& path,
                             const VectorOptions& options)
    : handle_(std::in_place), dim_(options.dim) {
  Status s;
  {
    GilRelease nogil;  // a rebuild may take a while
    s = VectorStore::Open(path ? *path : std::string(":memory:"), options,
                          &handle_->store);
  }
  if (!s.ok()) ThrowVectorStatus(s);
}

PyVectorStore::~PyVectorStore() {
  if (handle_.generation() != ForkGeneration()) return;  // leaked, untouched
  try {
    // Writes the sidecar: let other threads go on meanwhile.
    NoGilUnlessFinalizing([&] {
      std::unique_lock<std::shared_mutex> lock(handle_->mu);
      (void)handle_->store.Close();
    });
  } catch (...) {  // a failed lock: nothing to report from a destructor
  }
}

void PyVectorStore::CheckUsable() const {
  CheckSameProcess(handle_.generation());
  // A search of this store further up this thread's stack holds its locks.
  if (InOwnFilter(this)) {
    ThrowError(
        "a search filter cannot use the VectorStore it is filtering (the "
        "search holds the index); read what it needs from its argument");
  }
}

void PyVectorStore::Close() {
  // In a forked child the parent's store is left alone: close() there only
  // forgets it.
  if (handle_.generation() != ForkGeneration()) return;
  CheckUsable();
  Status s;
  {
    GilRelease nogil;
    std::unique_lock<std::shared_mutex> lock(handle_->mu);
    s = handle_->store.Close();
  }
  if (!s.ok()) ThrowVectorStatus(s);
}

bool PyVectorStore::closed() {
  if (handle_.generation() != ForkGeneration()) return true;
  if (InOwnFilter(this)) return false;  // a search of it is running
  GilRelease nogil;
  std::shared_lock<std::shared_mutex> lock(handle_->mu);
  return !handle_->store.is_open();
}

}  // namespace snkv::python
