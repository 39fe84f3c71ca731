// PyStore and PyColumnFamily: the C++ objects behind snkv.KVStore (through
// the base class snkv._snkv.Store) and snkv.ColumnFamily.
#ifndef SNKV_PYTHON_PY_STORE_H
#define SNKV_PYTHON_PY_STORE_H

#include <pybind11/pybind11.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "fork_guard.h"
#include "gil.h"
#include "snkv/store.h"

namespace snkv::python {

// Counts the events that may leave rows an iterator has already copied out
// of its cursor out of date, as its store handle sees them: writes through
// the handle (any family, any thread), rollbacks, dropping a family and
// closing. The store, its ColumnFamily objects and their iterators share
// one; an iterator drops its batch when the count moved (see PyIterator).
// Writes by other handles need no count: a scan reads one snapshot.
class WriteEpoch {
 public:
  uint64_t now() const noexcept { return n_.load(std::memory_order_acquire); }
  void Advance() noexcept { n_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> n_{0};
};
using WriteEpochPtr = std::shared_ptr<WriteEpoch>;

class PyStore {
 public:
  // Opens (path) or creates an in-memory store (nullopt); with a password
  // an encrypted one. Raises the store's error.
  PyStore(const std::optional<std::string>& path, const Options& options,
          pybind11::handle password);
  // Closes the store if it is still open (in the process that opened it).
  ~PyStore();
  PyStore(const PyStore&) = delete;
  PyStore& operator=(const PyStore&) = delete;

  // The default family, for the data calls. A ColumnFamily copy may be used
  // from any thread and fails cleanly once the store is closed, so these
  // calls need no lock of ours.
  ColumnFamily& family() {
    CheckSameProcess(handle_.generation());
    return handle_->default_cf;
  }

  // Runs f(store) without the GIL, under the shared side of the handle
  // lock (Close takes the exclusive side: Store::Close resets members the
  // other Store calls read), and raises a failed Status.
  template <class F>
  void Call(F&& f) {
    CheckSameProcess(handle_.generation());
    Status s = NoGil([&] {
      std::shared_lock<std::shared_mutex> lock(handle_->mu);
      return f(handle_->store);
    });
    if (!s.ok()) ThrowStatus(s);
  }

  // Call for an operation that may change rows: also advances the epoch.
  template <class F>
  void Write(F&& f) {
    struct Advance {
      WriteEpoch& e;
      ~Advance() { e.Advance(); }  // also when the call raised
    } advance{*epoch_};
    Call(std::forward<F>(f));
  }

  const WriteEpochPtr& epoch() const noexcept { return epoch_; }
  void Close();
  bool closed();

 private:
  struct Handle {
    Store store;
    ColumnFamily default_cf;
    std::shared_mutex mu;
  };
  static void ThrowStatus(const Status& s);
  ChildLeak<Handle> handle_;
  const WriteEpochPtr epoch_ = std::make_shared<WriteEpoch>();
};

class PyColumnFamily {
 public:
  PyColumnFamily(ColumnFamily cf, WriteEpochPtr epoch)
      : cf_(std::move(cf)), epoch_(std::move(epoch)) {}
  ColumnFamily& family();
  const std::string& name() const { return cf_->name(); }
  // Later calls raise snkv.Error; the family's data stays.
  void Close() { closed_.store(true, std::memory_order_relaxed); }
  bool closed() const { return closed_.load(std::memory_order_relaxed); }
  // The store's (shared with it and its other families).
  const WriteEpochPtr& epoch() const noexcept { return epoch_; }

 private:
  // Never reset while the object lives, so a thread may use it while
  // another closes the handle.
  ChildLeak<ColumnFamily> cf_;
  const WriteEpochPtr epoch_;
  std::atomic<bool> closed_{false};
};

// The store Options for the dict of KVStore's keywords that snkv._options
// builds (checked there; KVStore and VectorStore both take it), None for
// the defaults. Checked again here, for a direct call of the private
// classes: TypeError for a non-int, ValueError for an unknown journal
// mode or sync level (the numeric limits are the store's). Busy waits of the
// store stay interruptible by Ctrl-C (interrupt.h).
Options MakeOptions(pybind11::handle options);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_PY_STORE_H
