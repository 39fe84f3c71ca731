#include "py_iterator.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "bytes_arg.h"
#include "errors.h"
#include "gil.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

enum Field { kKey = 0, kValue = 1, kItem = 2 };

// A new (bytes, bytes) tuple; requires the GIL.
// Builds the (key, value) tuple. `taken` runs once both bytes objects
// exist and before the tuple is allocated: allocating a tuple may start a
// garbage collection whose finalizers let the GIL go, and another thread
// may then use the same iterator, so the row must already count as handed
// out (and `key`/`value`, which may point into its batch, be done with).
template <class Taken>
py::object MakeRow(const char* key, size_t key_len, const char* value,
                   size_t value_len, Taken&& taken) {
  PyObject* k =
      PyBytes_FromStringAndSize(key, static_cast<Py_ssize_t>(key_len));
  PyObject* v =
      PyBytes_FromStringAndSize(value, static_cast<Py_ssize_t>(value_len));
  if (k == nullptr || v == nullptr) {
    Py_XDECREF(k);
    Py_XDECREF(v);
    throw py::error_already_set();
  }
  taken();
  PyObject* t = PyTuple_New(2);
  if (t == nullptr) {
    Py_DECREF(k);
    Py_DECREF(v);
    throw py::error_already_set();
  }
  PyTuple_SET_ITEM(t, 0, k);  // steals
  PyTuple_SET_ITEM(t, 1, v);
  return py::reinterpret_steal<py::object>(t);
}

}  // namespace

PyIterator::PyIterator(Iterator it, WriteEpochPtr epoch, py::object owner)
    : it_(std::move(it)),
      reverse_(it_->reverse()),
      epoch_(std::move(epoch)),
      seen_epoch_(epoch_->now()),
      owner_(std::move(owner)) {
  if (!it_->status().ok()) ThrowStatus(it_->status());
}

PyIterator::~PyIterator() {
  // Releasing the cursor takes the store mutex, which another thread may
  // hold for a while: wait without the GIL. (In a forked child ChildLeak
  // keeps the cursor and nothing is released.)
  if (it_.generation() == ForkGeneration()) {
    try {
      NoGilUnlessFinalizing([&] {
        std::lock_guard<std::mutex> lock(mu_);
        it_->Close();
      });
    } catch (...) {  // a failed lock: ~Iterator releases the cursor anyway
    }
  }
}

template <class Body>
void PyIterator::WithCursor(Body&& body) {
  CheckSameProcess(it_.generation());
  // Read before the cursor moves: a write racing with the move makes the
  // next Revalidate read again.
  seen_epoch_ = epoch_->now();
  Status s;
  bool was_closed = false;
  {
    GilRelease nogil;
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      was_closed = true;
    } else {
      s = body();
    }
  }
  RaiseParkedInterrupt();
  if (was_closed) ThrowError("iterator is closed");
  if (!s.ok()) ThrowStatus(s);
}

void PyIterator::Revalidate() {
  CheckSameProcess(it_.generation());
  if (epoch_->now() == seen_epoch_) return;
  Turn turn(*this);
  if (epoch_->now() == seen_epoch_) return;  // another thread did it
  if (Buffered()) {
    std::string key = rows_.key(pos_).ToString();
    DropBatch();
    WithCursor([&] {
      positioned_ = true;
      return it_->Seek(key);
    });
    return;
  }
  // The cursor's own row was read at its last move: read it again.
  WithCursor([&] {
    if (!positioned_ || !it_->Valid()) return it_->status();
    std::string key = it_->key().ToString();
    return it_->Seek(key);
  });
}

Status PyIterator::EnsurePositioned() {
  if (positioned_) return it_->status();
  positioned_ = true;
  return it_->SeekToStart();
}

void PyIterator::DropBatch() {
  rows_.Clear();
  pos_ = 0;
  next_batch_rows_ = kFirstBatchRows;
  drained_ = false;
}

PyIterator::Turn::Turn(PyIterator& it) : it_(it) {
  // The thread whose turn it is needs the GIL to finish: let it go between
  // looks. Rare (threads sharing one iterator) and short (one batch's
  // read or one seek).
  while (it_.busy_) {
    GilRelease nogil;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  it_.busy_ = true;
}

void PyIterator::Fetch() {
  Turn turn(*this);
  if (Buffered() || drained_) return;  // another thread's fetch served
  // Filled without the GIL in a buffer no other thread can see; rows_ and
  // spare_ are only touched with the GIL held.
  IteratorBatch fill = std::move(spare_);
  fill.Clear();
  const size_t limit = next_batch_rows_;
  bool ended = false;
  WithCursor([&] {
    Status s = EnsurePositioned();
    if (s.ok()) s = it_->ReadBatch(&fill, limit);
    ended = s.ok() && !it_->Valid();
    // Rows read before a failure are still delivered; the failure stays
    // in the cursor's status and is raised by the next fetch.
    return fill.empty() ? s : Status::OK();
  });
  // Scans that keep going get larger batches; a short look stays cheap.
  next_batch_rows_ = std::min(limit * 2, kMaxBatchRows);
  std::swap(rows_, fill);
  spare_ = std::move(fill);
  pos_ = 0;
  drained_ = ended;
}

py::object PyIterator::NextItem() {
  py::object row = NextOrNull();
  if (!row) throw py::stop_iteration();
  return row;
}

py::object PyIterator::NextOrNull() {
  Revalidate();
  if (!Buffered()) {
    if (drained_) return py::object();  // a fetch would read nothing
    Fetch();
    if (!Buffered()) return py::object();
  }
  const Slice k = rows_.key(pos_);
  const Slice v = rows_.value(pos_);
  return MakeRow(k.data(), k.size(), v.data(), v.size(), [&] { ++pos_; });
}

void PyIterator::First() {
  Turn turn(*this);
  DropBatch();
  WithCursor([&] {
    positioned_ = true;
    return it_->SeekToFirst();
  });
}

void PyIterator::Last() {
  Turn turn(*this);
  DropBatch();
  WithCursor([&] {
    positioned_ = true;
    return it_->SeekToLast();
  });
}

void PyIterator::Seek(py::handle key) {
  BytesArg target(key, "key");
  Turn turn(*this);
  DropBatch();
  WithCursor([&] {
    positioned_ = true;
    return it_->Seek(target.slice());
  });
}

void PyIterator::Step(bool forward) {
  Revalidate();
  Turn turn(*this);
  if (Buffered()) {
    if (forward != reverse_) {  // the batch's own direction
      ++pos_;
      return;
    }
    // Turning around: put the cursor back on the batched row (or where it
    // would be, had it been deleted since) and step from there.
    std::string key = rows_.key(pos_).ToString();
    DropBatch();
    WithCursor([&] {
      positioned_ = true;
      Status s = it_->Seek(key);
      if (s.ok()) s = forward ? it_->Next() : it_->Prev();
      return s;
    });
    return;
  }
  drained_ = false;
  WithCursor([&] {
    Status s = EnsurePositioned();
    if (s.ok()) s = forward ? it_->Next() : it_->Prev();
    return s;
  });
}

void PyIterator::StepNext() { Step(/*forward=*/true); }
void PyIterator::StepPrev() { Step(/*forward=*/false); }

bool PyIterator::Eof() {
  Revalidate();
  Turn turn(*this);
  if (Buffered()) return false;
  bool valid = false;
  WithCursor([&] {
    Status s = EnsurePositioned();
    valid = it_->Valid();
    return s;
  });
  return !valid;
}

py::object PyIterator::CurrentField(int which) {
  Revalidate();
  if (Buffered()) {
    const Slice k = rows_.key(pos_);
    const Slice v = rows_.value(pos_);
    if (which == kKey) return ToBytes(k);
    if (which == kValue) return ToBytes(v);
    return MakeRow(k.data(), k.size(), v.data(), v.size(), [] {});
  }
  std::string key;
  std::string value;
  bool valid = false;
  {
    // Not held while Python objects are made (a finalizer the allocation
    // runs could use this iterator).
    Turn turn(*this);
    WithCursor([&] {
      Status s = EnsurePositioned();
      valid = it_->Valid();
      if (s.ok() && valid) {
        if (which != kValue) key = it_->key().ToString();
        if (which != kKey) value = it_->value().ToString();
      }
      return s;
    });
  }
  if (!valid) ThrowError("iterator is at eof: there is no current key");
  if (which == kKey) return ToBytes(key);
  if (which == kValue) return ToBytes(value);
  return MakeRow(key.data(), key.size(), value.data(), value.size(), [] {});
}

py::object PyIterator::Key() { return CurrentField(kKey); }
py::object PyIterator::Value() { return CurrentField(kValue); }
py::object PyIterator::Item() { return CurrentField(kItem); }

void PyIterator::Close() {
  Turn turn(*this);
  DropBatch();
  if (it_.generation() != ForkGeneration()) return;  // nothing to release
  GilRelease nogil;
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  it_->Close();
}

bool PyIterator::closed() {
  GilRelease nogil;
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace snkv::python
