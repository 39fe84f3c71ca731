// IndexCursor: reads one index B-tree of a PageSnapshot directly from its
// pages, for tables whose records start with a BLOB key (snkv's families
// are WITHOUT ROWID tables, which SQLite stores as index B-trees keyed by
// their primary key). It finds a key, seeks and steps both ways.
//
// Anything the cursor does not expect (a page of the wrong kind, a key that
// is not a blob, offsets outside the page, a page it cannot read) makes it
// answer kFallback: the caller then asks SQLite, which reads the file
// itself and reports any damage properly. The cursor never guesses.
//
// Between calls the cursor keeps page numbers and cell positions, not page
// pointers (those die at PageSource::EndRead); every call fetches the pages
// it needs again, which costs a hash probe per level.
#ifndef SNKV_ENGINE_INDEX_CURSOR_H
#define SNKV_ENGINE_INDEX_CURSOR_H

#include <array>
#include <cstdint>
#include <string>

#include "engine/btree_page.h"
#include "engine/page_source.h"
#include "snkv/slice.h"

namespace snkv::engine {

enum class CursorResult {
  kOk,        // positioned on an entry
  kEnd,       // no such entry: not found, or moved past either end
  kFallback,  // not readable here: ask SQLite
};

// One field of a record: its serial type and, for blobs and integers, its
// bytes.
struct RecordField {
  uint64_t serial = 0;
  Slice bytes;
};

// Splits `record` into its first `count` fields (missing trailing fields,
// as after ALTER TABLE ADD COLUMN, read as NULL). False if the record is
// malformed.
bool DecodeRecord(Slice record, RecordField* fields, size_t count) noexcept;

class IndexCursor {
 public:
  // A cursor over the B-tree rooted at page `root` of `snap`.
  IndexCursor(PageSource& source, const PageSnapshot& snap,
              uint32_t root) noexcept
      : source_(&source), snap_(snap), root_(root) {}

  // Positions on the entry whose key equals `key` (kEnd if none).
  CursorResult Find(Slice key) noexcept;
  CursorResult SeekFirst() noexcept;
  CursorResult SeekLast() noexcept;
  // The first entry with key >= bound (> if !inclusive).
  CursorResult SeekForward(Slice bound, bool inclusive) noexcept;
  // The last entry with key <= bound (< if !inclusive).
  CursorResult SeekBackward(Slice bound, bool inclusive) noexcept;
  // The next / previous entry. Requires a position (kOk before).
  CursorResult Next() noexcept;
  CursorResult Prev() noexcept;

  // The whole record of the current entry: on the page itself, or copied
  // into *buf when it continues on overflow pages. Valid until the next
  // call or PageSource::EndRead. Requires a position.
  CursorResult Record(std::string* buf, Slice* record) noexcept;

  const PageSnapshot& snapshot() const noexcept { return snap_; }

 private:
  static constexpr int kMaxDepth = kMaxTreeDepth;

  struct Level : BtreePage {
    // Interior pages: the child descended into (cells = the right child),
    // or, on the top level, the cell the cursor is on. Leaves: the cell.
    uint32_t index = 0;
  };
  using Cell = BtreeCell;

  // Pushes page `pgno` as a new bottom level. False on anything odd.
  bool Push(uint32_t pgno) noexcept;
  // Re-fetches the page of every level after an EndRead.
  bool Refresh() noexcept;
  // ReadBtreeCell (engine/btree_page.h) for cell `i` of index page `level`.
  bool ReadCell(const Level& level, uint32_t i, Cell* cell) const noexcept {
    return ReadBtreeCell(snap_, TreeKind::kIndex, level, i, cell);
  }
  // ReadPayload (engine/btree_page.h) on this cursor's snapshot.
  bool PayloadPrefix(const Cell& cell, uint64_t n, bool whole_chain,
                     std::string* buf, Slice* out) noexcept {
    return ReadPayload(*source_, snap_, cell, n, whole_chain, buf, out);
  }
  // Compares the key of `cell` with `key` (<0, 0, >0) into *cmp.
  bool CompareKey(const Cell& cell, Slice key, int* cmp) noexcept;
  // Asks the CPU for the start of every cell of `level`.
  void PrefetchCells(const Level& level) const noexcept;
  // For a scan entering leaf `level`: asks for every cache line of its
  // cell content area at once, so that the rows the scan copies next are
  // not fetched one miss after another.
  void PrefetchLeaf(const Level& level) const noexcept;
  // The first cell of `level` whose key is >= key (> key if
  // `equal_below`), into *index (cells if none). Sets *eq_seen when a
  // cell compared equal to the key.
  bool LowerBound(const Level& level, Slice key, bool equal_below,
                  uint32_t* index, bool* eq_seen) noexcept;
  // SeekForward (forward) or SeekBackward: one descent by `bound`; *eq_seen
  // as LowerBound's, over the whole descent.
  CursorResult Seek(Slice bound, bool inclusive, bool forward,
                    bool* eq_seen) noexcept;
  // Descents from page `pgno` to its first / last entry.
  CursorResult DescendFirst(uint32_t pgno) noexcept;
  CursorResult DescendLast(uint32_t pgno) noexcept;
  // After a leaf is exhausted: up to the next / previous interior entry.
  CursorResult AscendForward() noexcept;
  CursorResult AscendBackward() noexcept;
  // Child `i` of an interior level (cells: the right child).
  bool ChildOf(const Level& level, uint32_t i, uint32_t* child) const noexcept;
  CursorResult Fail() noexcept {
    depth_ = 0;
    return CursorResult::kFallback;
  }

  PageSource* source_;
  PageSnapshot snap_;
  uint32_t root_;
  uint64_t read_epoch_ = 0;  // source_->read_epoch() when pages were fetched
  std::array<Level, kMaxDepth> stack_{};
  int depth_ = 0;        // 0: not positioned
  std::string key_buf_;  // keys that reach onto overflow pages
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_INDEX_CURSOR_H
