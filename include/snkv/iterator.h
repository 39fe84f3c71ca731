// Iterator: an ordered cursor over one column family.
//
//   snkv::Iterator it = cf.NewIterator({.prefix = "user:"});
//   for (const auto& [key, value] : it) { ... }
//   if (!it.status().ok()) { ... }
//
// Keys are ordered byte-wise. Next() moves to the next larger key and Prev()
// to the next smaller one, also when the store handle writes between moves
// (a key already passed, such as one just overwritten, never comes back).
// Where a damaged file's pages hold keys out of order, the move that meets
// them fails with a Corrupt status instead.
// A reverse iterator starts at the end and its
// Seek(k) lands on the last key <= k; a forward one's on the first key >= k.
// A prefix iterator never leaves its prefix: moving past the matching keys
// makes it !Valid(). Expired keys are skipped.
//
// key() and value() stay valid until the next move, Close() or destruction.
//
// ReadBatch() hands out many rows per call, copied into an IteratorBatch:
//
//   snkv::IteratorBatch batch;
//   it.SeekToStart();
//   while (it.Valid()) {
//     batch.Clear();
//     if (!it.ReadBatch(&batch, 256).ok()) break;
//     for (size_t i = 0; i < batch.size(); ++i) {
//       Use(batch.key(i), batch.value(i));
//     }
//   }
//
// An Iterator must not be used from two threads at once, and is invalidated
// (!Valid(), status() not ok) when its store is closed or its column family
// dropped through the same handle.
#ifndef SNKV_ITERATOR_H
#define SNKV_ITERATOR_H

#include <cstddef>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "snkv/slice.h"
#include "snkv/status.h"

namespace snkv {

namespace internal {
class IteratorCore;
}

struct IteratorOptions {
  std::string prefix;    // only keys starting with it; "" = all keys
  bool reverse = false;  // start at the end; Seek lands on keys <= target
};

// Rows copied out of an Iterator by ReadBatch(): every key and value back
// to back in one buffer, with their end offsets beside, so that filling a
// batch allocates nothing once the buffer has grown, and the rows are the
// caller's to keep (unlike key() and value(), they survive moves, writes
// and the iterator's end).
class IteratorBatch {
 public:
  size_t size() const noexcept { return ends_.size() / 2; }
  bool empty() const noexcept { return ends_.empty(); }
  // Row i (i < size()), valid until the batch is next changed.
  Slice key(size_t i) const noexcept;
  Slice value(size_t i) const noexcept;
  // Empties the batch, keeping its memory unless rows of more than
  // kKeepBytes grew it.
  void Clear() noexcept;

  static constexpr size_t kKeepBytes = size_t{4} << 20;

 private:
  friend class internal::IteratorCore;
  // Adds one row; on std::bad_alloc the batch is unchanged.
  void Append(Slice key, Slice value);
  // Makes room for the offsets of n more rows. May throw std::bad_alloc.
  void ReserveRows(size_t n);

  std::string bytes_;         // key 0, value 0, key 1, value 1, ...
  std::vector<size_t> ends_;  // end of key 0, end of value 0, ...
};

class Iterator {
 public:
  Iterator() noexcept;
  explicit Iterator(std::unique_ptr<internal::IteratorCore> core) noexcept;
  ~Iterator();
  Iterator(Iterator&&) noexcept;
  Iterator& operator=(Iterator&&) noexcept;

  // Positioning. Each returns the error, if any, also kept in status().
  Status SeekToFirst();  // smallest key (within the prefix)
  Status SeekToLast();   // largest key (within the prefix)
  Status SeekToStart();  // SeekToLast() if reverse, else SeekToFirst()
  Status Seek(Slice target);
  Status Next();
  Status Prev();
  // Step in the iterator's own direction: Prev() if reverse, else Next().
  Status Advance();

  // Appends to *batch the row at the position and the rows after it in the
  // iterator's own direction, at most max_rows of them, and leaves the
  // iterator on the first row not appended (!Valid() once it has passed
  // the last). The rows are those `while (Valid()) { copy; Advance(); }`
  // would give, under the same rules (prefix, expiry, what a write through
  // the handle between calls shows), but one call enters the store once,
  // and rows waiting in the scan's internal batch are copied as a block.
  // Returns the first error a move met, also kept in status(); the rows
  // appended before it stay in *batch. On an unpositioned iterator or one
  // at its end, appends nothing. max_rows == 0 does nothing; a null batch
  // is an error.
  Status ReadBatch(IteratorBatch* batch, size_t max_rows);

  bool Valid() const noexcept;
  Slice key() const noexcept;    // requires Valid()
  Slice value() const noexcept;  // requires Valid()
  const Status& status() const noexcept;
  bool reverse() const noexcept;

  // Release the cursor now rather than at destruction.
  void Close() noexcept;

  // Range-for support: iterates from SeekToStart() in the iterator's
  // direction. Stops early on error; check status() afterwards.
  struct Entry {
    Slice key;
    Slice value;
  };
  class Cursor {
   public:
    const Entry& operator*() const { return entry_; }
    const Entry* operator->() const { return &entry_; }
    Cursor& operator++();
    bool operator!=(std::default_sentinel_t) const { return it_->Valid(); }

   private:
    friend class Iterator;
    explicit Cursor(Iterator* it) : it_(it) { Load(); }
    void Load();
    Iterator* it_;
    Entry entry_;
  };
  Cursor begin();
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::unique_ptr<internal::IteratorCore> core_;
};

}  // namespace snkv

#endif  // SNKV_ITERATOR_H
