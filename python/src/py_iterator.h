// PyIterator: snkv.Iterator, an ordered cursor over one column family.
//
// Python's iterator protocol reads rows in batches: one trip without the
// GIL copies up to kMaxBatchRows rows into a byte buffer (one
// Iterator::ReadBatch, so one entry into the store), and __next__
// then builds each (bytes, bytes) row from it, so a Python scan is not one
// C++ call per row and field. Rows become Python objects only when handed
// out: a scan then allocates and frees one row at a time, and the Python
// heap does not grow and shrink by a whole batch each time.
//
// The manual API (first/last/seek/next/prev/eof/key/value/item) sees the
// same position as the protocol. The position is the first unconsumed
// batched row if there is one, else the C++ cursor's row (the cursor runs
// ahead of the batch it filled).
//
// Batched rows (and the cursor's current row) are copies: before serving
// one, every call checks that the process is the one that made the
// iterator (else the "used after fork" error) and that the store's
// WriteEpoch has not moved since the cursor last moved. If it moved (the
// handle wrote, rolled back, dropped a family or closed), the batch is
// dropped and the cursor sought again to the current row's key: from there
// the C++ cursor shows the handle's writes (deleted rows gone, new
// values), never a key at or before one already served, and on a closed
// store raises its "store is closed" error.
//
// A fresh iterator behaves as if positioned at its start (first key, or
// last for a reverse one); the C++ seek is deferred to first use, so a
// first seek() costs one positioning, not two.
//
// Thread safety: the C++ cursor is used only under mu_, taken with the GIL
// released; the batch is plain Python state, guarded by the GIL. Sharing
// one iterator between threads is therefore safe for memory but gives no
// useful order; use one iterator per thread.
#ifndef SNKV_PYTHON_PY_ITERATOR_H
#define SNKV_PYTHON_PY_ITERATOR_H

#include <pybind11/pybind11.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fork_guard.h"
#include "py_store.h"
#include "snkv/iterator.h"

namespace snkv::python {

class PyIterator {
 public:
  // Takes over `it`, which must be unpositioned, of the store whose write
  // epoch is `epoch`; `owner` is the Python store or column family that
  // made it, kept alive as long as the iterator (so that
  // `for kv in KVStore(path)` does not close the store under the loop).
  // Raises its status if the C++ iterator could not be created.
  PyIterator(Iterator it, WriteEpochPtr epoch, pybind11::object owner);
  ~PyIterator();
  PyIterator(const PyIterator&) = delete;
  PyIterator& operator=(const PyIterator&) = delete;

  // Protocol: the row at the position, then a step in the iterator's own
  // direction; StopIteration at the end.
  pybind11::object NextItem();
  // As NextItem, but a null object at the end instead of StopIteration
  // (raising costs more than the row; see FastIterNext).
  pybind11::object NextOrNull();

  // Manual API. Positioning calls drop the batch.
  void First();
  void Last();
  void Seek(pybind11::handle key);
  void StepNext();  // to the next larger key
  void StepPrev();  // to the next smaller key
  bool Eof();
  pybind11::object Key();
  pybind11::object Value();
  pybind11::object Item();
  void Close();
  bool closed();
  bool reverse() const noexcept { return reverse_; }

 private:
  static constexpr size_t kFirstBatchRows = 16;
  static constexpr size_t kMaxBatchRows = 256;

  // Runs body() on the cursor without the GIL, under mu_, after checking
  // the process and that the iterator is open. body returns a Status,
  // raised here if not OK.
  template <class Body>
  void WithCursor(Body&& body);
  void DropBatch();
  // Fills the batch with the rows after the cursor, unless another
  // thread's fetch (waited for) already did. GIL held.
  void Fetch();

  // One operation on the cursor and the batch at a time, for threads
  // sharing the iterator: each operation lets the GIL go while it uses the
  // cursor, and another thread's operation in between split it in two (a
  // fetch swapping its batch in over one fetched meanwhile, whose rows
  // were then lost; a fetch reading on from the cursor between another
  // thread's drop of the batch and its seek back, whose rows were then
  // handed out twice and out of order). Held for the operation's scope;
  // waits, GIL released, while another thread holds it. Never nested, and
  // not held while Python objects are made.
  class Turn {
   public:
    explicit Turn(PyIterator& it);
    ~Turn() { it_.busy_ = false; }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    PyIterator& it_;
  };
  // Call first in every method that may serve a row: raises in a forked
  // child; when the write epoch moved, drops the batch and seeks the
  // cursor to the current row's key (landing past it if it was deleted).
  void Revalidate();
  bool Buffered() const noexcept { return pos_ < rows_.size(); }
  // Copies the current row (key, value or both) after EnsurePositioned.
  pybind11::object CurrentField(int which);
  void Step(bool forward);
  Status EnsurePositioned();  // mu_ held

  ChildLeak<Iterator> it_;
  std::mutex mu_;
  bool positioned_ = false;  // guarded by mu_
  bool closed_ = false;      // guarded by mu_
  const bool reverse_;

  // GIL-guarded: the batch being handed out (row pos_ is the position)
  // and a spare one Fetch fills without the GIL and then swaps in. Rows
  // become bytes objects straight from a batch's buffer.
  IteratorBatch rows_;
  IteratorBatch spare_;
  size_t pos_ = 0;
  size_t next_batch_rows_ = kFirstBatchRows;
  // The last fetch ended at the cursor's end without error: another fetch
  // would read nothing (the cursor stays at its end until positioned).
  bool drained_ = false;
  // GIL-guarded: a thread holds the Turn.
  bool busy_ = false;
  const WriteEpochPtr epoch_;
  // epoch_->now() before the cursor last moved (so before rows_ and the
  // cursor's own row were read).
  uint64_t seen_epoch_ = 0;
  // A plain reference, released with the GIL held (the destructor runs in
  // the type's dealloc) after the cursor. Cheaper than pybind11's
  // keep_alive, whose bookkeeping cost a tenth of a short prefix scan.
  pybind11::object owner_;
};

// Adds the Iterator class to module m.
void RegisterIterator(pybind11::module_& m);

}  // namespace snkv::python

#endif  // SNKV_PYTHON_PY_ITERATOR_H
