// WalPageTable: page number -> newest WAL frame, for snapshots whose WAL
// frames span several WAL-index units.
//
// SQLite's WAL index finds a page's newest frame by probing one hash table
// per 4096 frames, newest first, each probe a cache miss in the -shm
// mapping; right after a load of 100 MB (27K frames, seven tables) that
// lookup was a fifth of a get's time. This table answers with one probe.
// PageSource fills it from the WAL index's page-number arrays, frame by
// frame in increasing order (so the newest frame of a page wins), and
// extends it as later snapshots of the same WAL cover more frames.
//
// Not thread-safe: one per PageSource.
#ifndef SNKV_ENGINE_WAL_PAGE_TABLE_H
#define SNKV_ENGINE_WAL_PAGE_TABLE_H

#include <cstddef>
#include <cstdint>
#include <memory>

namespace snkv::engine {

class WalPageTable {
 public:
  // Records `frame` as `pgno`'s newest frame (frames come in increasing
  // order). Page 0 is no page and is ignored. False when out of memory:
  // the table is then empty and must not be used.
  bool Put(uint32_t pgno, uint32_t frame) noexcept;
  // `pgno`'s newest frame recorded, or 0.
  uint32_t Find(uint32_t pgno) const noexcept {
    if (size_ == 0 || pgno == 0) return 0;
    for (size_t i = Slot(pgno);; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.pgno == pgno) return e.frame;
      if (e.pgno == 0) return 0;
    }
  }
  // Forgets every page and lets the memory go.
  void Clear() noexcept;
  size_t size() const noexcept { return size_; }

 private:
  struct Entry {
    uint32_t pgno = 0;  // 0: empty
    uint32_t frame = 0;
  };
  size_t Slot(uint32_t pgno) const noexcept {
    return (size_t{pgno} * 2654435761u) & mask_;
  }
  // Doubles the capacity (or makes the first). False when out of memory.
  bool Grow() noexcept;

  std::unique_ptr<Entry[]> entries_;
  size_t mask_ = 0;  // capacity - 1 (capacity: a power of two)
  size_t size_ = 0;  // pages recorded; at most half the capacity
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_WAL_PAGE_TABLE_H
