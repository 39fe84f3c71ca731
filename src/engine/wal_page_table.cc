#include "engine/wal_page_table.h"

#include <new>

namespace snkv::engine {

bool WalPageTable::Put(uint32_t pgno, uint32_t frame) noexcept {
  if (pgno == 0) return true;
  // Kept at most half full, so that probes stay short and always end.
  if ((size_ + 1) * 2 > (entries_ ? mask_ + 1 : 0) && !Grow()) {
    Clear();
    return false;
  }
  for (size_t i = Slot(pgno);; i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.pgno == pgno) {
      e.frame = frame;
      return true;
    }
    if (e.pgno == 0) {
      e = Entry{pgno, frame};
      ++size_;
      return true;
    }
  }
}

void WalPageTable::Clear() noexcept {
  entries_.reset();
  mask_ = 0;
  size_ = 0;
}

bool WalPageTable::Grow() noexcept {
  const size_t capacity = entries_ ? (mask_ + 1) * 2 : 1024;
  std::unique_ptr<Entry[]> old = std::move(entries_);
  const size_t old_capacity = old ? mask_ + 1 : 0;
  entries_.reset(new (std::nothrow) Entry[capacity]);
  if (!entries_) return false;
  mask_ = capacity - 1;
  for (size_t i = 0; i < old_capacity; ++i) {
    const Entry& e = old[i];
    if (e.pgno == 0) continue;
    size_t j = Slot(e.pgno);
    while (entries_[j].pgno != 0) j = (j + 1) & mask_;
    entries_[j] = e;
  }
  return true;
}

}  // namespace snkv::engine
