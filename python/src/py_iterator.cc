#include "py_iterator.h"

#include <algorithm>
#include <utility>

#include "bytes_arg.h"
#include "errors.h"
#include "gil.h"

namespace snkv::python {

namespace py = pybind11;

namespace {

enum Field { kKey = 0, kValue = 1, kItem = 2 };

// Rows copied without the GIL: all bytes in one buffer, so a batch costs
// one growing allocation rather than two strings per row.
struct RowArena {
  std::string bytes;
  std::vector<size_t> ends;  // key end, value end, key end, ...

  void Add(Slice key, Slice value) {
    bytes.append(key.data(), key.size());
    ends.push_back(bytes.size());
    bytes.append(value.data(), value.size());
    ends.push_back(bytes.size());
  }
  size_t rows() const noexcept { return ends.size() / 2; }
};

// A new (bytes, bytes) tuple; requires the GIL.
py::object MakeRow(const char* key, size_t key_len, const char* value,
                   size_t value_len) {
  PyObject* k =
      PyBytes_FromStringAndSize(key, static_cast<Py_ssize_t>(key_len));
  PyObject* v =
      PyBytes_FromStringAndSize(value, static_cast<Py_ssize_t>(value_len));
  PyObject* t = PyTuple_New(2);
  if (k == nullptr || v == nullptr || t == nullptr) {
    Py_XDECREF(k);
    Py_XDECREF(v);
    Py_XDECREF(t);
    throw py::error_already_set();
  }
  PyTuple_SET_ITEM(t, 0, k);  // steals
  PyTuple_SET_ITEM(t, 1, v);
  return py::reinterpret_steal<py::object>(t);
}

}  // namespace

PyIterator::PyIterator(Iterator it)
    : it_(std::move(it)), reverse_(it_->reverse()) {
  if (!it_->status().ok()) ThrowStatus(it_->status());
}

PyIterator::~PyIterator() {
  // Releasing the cursor takes the store mutex, which another thread may
  // hold for a while: wait without the GIL. (In a forked child ChildLeak
  // keeps the cursor and nothing is released.)
  if (it_.generation() == ForkGeneration()) {
    NoGilUnlessFinalizing([&] {
      std::lock_guard<std::mutex> lock(mu_);
      it_->Close();
    });
  }
}

template <class Body>
void PyIterator::WithCursor(Body&& body) {
  CheckSameProcess(it_.generation());
  Status s;
  bool was_closed = false;
  {
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      was_closed = true;
    } else {
      s = body();
    }
  }
  if (was_closed) ThrowError("iterator is closed");
  if (!s.ok()) ThrowStatus(s);
}

Status PyIterator::EnsurePositioned() {
  if (positioned_) return it_->status();
  positioned_ = true;
  return it_->SeekToStart();
}

void PyIterator::DropBatch() {
  batch_.clear();
  pos_ = 0;
  next_batch_rows_ = kFirstBatchRows;
}

void PyIterator::Fetch() {
  RowArena arena;
  const size_t limit = next_batch_rows_;
  WithCursor([&] {
    Status s = EnsurePositioned();
    while (s.ok() && arena.rows() < limit && it_->Valid()) {
      arena.Add(it_->key(), it_->value());
      s = it_->Advance();
    }
    // Rows read before a failure are still delivered; the failure stays
    // in the cursor's status and is raised by the next fetch.
    return arena.rows() > 0 ? Status::OK() : s;
  });
  // Scans that keep going get larger batches; a short look stays cheap.
  next_batch_rows_ = std::min(limit * 2, kMaxBatchRows);
  batch_.clear();
  pos_ = 0;
  batch_.reserve(arena.rows());
  size_t start = 0;
  const char* base = arena.bytes.data();
  for (size_t i = 0; i < arena.ends.size(); i += 2) {
    size_t key_end = arena.ends[i];
    size_t value_end = arena.ends[i + 1];
    batch_.push_back(MakeRow(base + start, key_end - start, base + key_end,
                             value_end - key_end));
    start = value_end;
  }
}

py::object PyIterator::NextItem() {
  py::object row = NextOrNull();
  if (!row) throw py::stop_iteration();
  return row;
}

py::object PyIterator::NextOrNull() {
  if (!Buffered()) {
    Fetch();
    if (batch_.empty()) return py::object();
  }
  py::object row = std::move(batch_[pos_++]);
  if (pos_ == batch_.size()) {
    batch_.clear();
    pos_ = 0;
  }
  return row;
}

void PyIterator::First() {
  DropBatch();
  WithCursor([&] {
    positioned_ = true;
    return it_->SeekToFirst();
  });
}

void PyIterator::Last() {
  DropBatch();
  WithCursor([&] {
    positioned_ = true;
    return it_->SeekToLast();
  });
}

void PyIterator::Seek(py::handle key) {
  BytesArg target(key, "key");
  DropBatch();
  WithCursor([&] {
    positioned_ = true;
    return it_->Seek(target.slice());
  });
}

void PyIterator::Step(bool forward) {
  if (Buffered()) {
    if (forward != reverse_) {  // the batch's own direction
      if (++pos_ == batch_.size()) DropBatch();
      return;
    }
    // Turning around: put the cursor back on the batched row (or where it
    // would be, had it been deleted since) and step from there.
    std::string key = py::cast<std::string>(batch_[pos_][py::int_(0)]);
    DropBatch();
    WithCursor([&] {
      positioned_ = true;
      Status s = it_->Seek(key);
      if (s.ok()) s = forward ? it_->Next() : it_->Prev();
      return s;
    });
    return;
  }
  WithCursor([&] {
    Status s = EnsurePositioned();
    if (s.ok()) s = forward ? it_->Next() : it_->Prev();
    return s;
  });
}

void PyIterator::StepNext() { Step(/*forward=*/true); }
void PyIterator::StepPrev() { Step(/*forward=*/false); }

bool PyIterator::Eof() {
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
  if (Buffered()) {
    py::object row = batch_[pos_];
    if (which == kItem) return row;
    return row[py::int_(which)];
  }
  std::string key;
  std::string value;
  bool valid = false;
  WithCursor([&] {
    Status s = EnsurePositioned();
    valid = it_->Valid();
    if (s.ok() && valid) {
      if (which != kValue) key = it_->key().ToString();
      if (which != kKey) value = it_->value().ToString();
    }
    return s;
  });
  if (!valid) ThrowError("iterator is at eof: there is no current key");
  if (which == kKey) return ToBytes(key);
  if (which == kValue) return ToBytes(value);
  return MakeRow(key.data(), key.size(), value.data(), value.size());
}

py::object PyIterator::Key() { return CurrentField(kKey); }
py::object PyIterator::Value() { return CurrentField(kValue); }
py::object PyIterator::Item() { return CurrentField(kItem); }

void PyIterator::Close() {
  DropBatch();
  if (it_.generation() != ForkGeneration()) return;  // nothing to release
  py::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  it_->Close();
}

bool PyIterator::closed() {
  py::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

}  // namespace snkv::python
