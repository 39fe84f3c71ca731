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
// An Iterator must not be used from two threads at once, and is invalidated
// (!Valid(), status() not ok) when its store is closed or its column family
// dropped through the same handle.
#ifndef SNKV_ITERATOR_H
#define SNKV_ITERATOR_H

#include <iterator>
#include <memory>
#include <string>
#include <utility>

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
