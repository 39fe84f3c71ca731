#include "engine/table_cursor.h"

#include <algorithm>

#include "engine/sqlite_format.h"

namespace snkv::engine {

bool TableCursor::Load(int at, uint32_t pgno) noexcept {
  return LoadBtreePage(*source_, snap_, TreeKind::kTable, pgno, pgno == root_,
                       &path_[at]);
}

bool TableCursor::Refresh() noexcept {
  if (read_epoch_ == source_->read_epoch()) return true;
  for (int i = 0; i < depth_; ++i) {
    // Same snapshot, so the same bytes (checked when first loaded): only
    // the pointer went stale.
    const uint8_t* page = source_->Page(snap_, path_[i].pgno);
    if (page == nullptr) return false;
    path_[i].page = page;
  }
  read_epoch_ = source_->read_epoch();
  return true;
}

void TableCursor::PrefetchLeaf(const Level& leaf) const noexcept {
  // The cell content area runs from the offset at header byte 5 (0 means
  // 65536) to the end of the usable space; a damaged offset only makes
  // the prefetch start elsewhere on the page, which reads nothing.
  uint32_t start = format::Get16(leaf.page + leaf.header + 5);
  if (start == 0 || start > snap_.usable_size) start = snap_.usable_size;
  for (uint32_t at = start & ~uint32_t{63}; at < snap_.usable_size; at += 64) {
    __builtin_prefetch(leaf.page + at);
  }
}

CursorResult TableCursor::Find(int64_t rowid) noexcept {
  positioned_ = false;
  int start = 0;
  if (depth_ > 0 && Refresh()) {
    // The deepest page of the last path that this rowid reaches by the
    // same path (the reach ranges narrow going down; the root's is all).
    start = depth_ - 1;
    while (start > 0 &&
           (rowid < path_[start].reach_lo || rowid > path_[start].reach_hi)) {
      --start;
    }
    if (start > 0) ++short_searches_;
  } else {
    depth_ = 0;
    read_epoch_ = source_->read_epoch();
    if (!Load(0, root_)) return Fail();
    path_[0].reach_lo = kLowest;
    path_[0].reach_hi = kHighest;
  }
  return SearchFrom(start, rowid);
}

// Flattened: the cell reads (inline in btree_page.h) are most of a
// search's work, and left to itself the compiler called them out of line
// here, which made random-order scans ~7 % slower than the search this
// replaced.
[[gnu::flatten]] CursorResult TableCursor::SearchFrom(int at,
                                                      int64_t rowid) noexcept {
  // One level per pass. SQLite's limit on depth also ends a cycle of
  // child pointers: counted from the root, as a search from there counts.
  for (int level = at; level < kMaxTreeDepth; ++level) {
    Level& page = path_[level];
    depth_ = level + 1;
    if (page.cells == 0) return CursorResult::kEnd;  // an empty table
    // sqlite3BtreeTableMoveto's binary search: midpoint of the inclusive
    // range, stopping at an equal rowid. An interior cell's rowid is the
    // largest of its left child's subtree, so an equal one descends there.
    // below / above: the nearest probed rowids on either side of `rowid`;
    // every rowid strictly between them makes the same decisions here.
    int64_t below = kLowest;
    int64_t above = kHighest;
    bool has_below = false;
    bool has_above = false;
    bool equal = false;
    int64_t lo = 0;
    int64_t hi = int64_t{page.cells} - 1;
    int64_t mid = hi / 2;
    BtreeCell cell;
    for (;;) {
      if (!ReadBtreeCell(snap_, TreeKind::kTable, page,
                         static_cast<uint32_t>(mid), &cell)) {
        return Fail();
      }
      if (cell.rowid < rowid) {
        if (!has_below || cell.rowid > below) below = cell.rowid;
        has_below = true;
        lo = mid + 1;
        if (lo > hi) break;
      } else if (cell.rowid > rowid) {
        if (!has_above || cell.rowid < above) above = cell.rowid;
        has_above = true;
        hi = mid - 1;
        if (lo > hi) break;
      } else if (page.leaf) {
        page.index = static_cast<uint32_t>(mid);
        positioned_ = true;
        return CursorResult::kOk;
      } else {
        equal = true;
        lo = mid;
        break;
      }
      mid = lo + (hi - lo) / 2;
    }
    if (page.leaf) return CursorResult::kEnd;
    uint32_t child = 0;
    if (lo >= int64_t{page.cells}) {
      child = page.right_child;
    } else if (ReadBtreeCell(snap_, TreeKind::kTable, page,
                             static_cast<uint32_t>(lo), &cell)) {
      child = cell.child;
    } else {
      return Fail();
    }
    page.index = static_cast<uint32_t>(lo);
    if (level + 1 == kMaxTreeDepth) break;
    // An equal probe stopped the search: only this rowid takes it again.
    // below + 1 and above - 1 cannot wrap: below < rowid < above.
    const int64_t reach_lo = equal ? rowid : has_below ? below + 1 : kLowest;
    const int64_t reach_hi = equal ? rowid : has_above ? above - 1 : kHighest;
    if (!Load(level + 1, child)) return Fail();
    Level& next = path_[level + 1];
    next.reach_lo = std::max(page.reach_lo, reach_lo);
    next.reach_hi = std::min(page.reach_hi, reach_hi);
    // A search that started below the root is most likely one of a run
    // of consecutive rowids entering the next leaf, whose cells it will
    // read one after another: ask for all of them at once.
    if (at > 0 && next.leaf) PrefetchLeaf(next);
  }
  return Fail();  // deeper than SQLite allows
}

CursorResult TableCursor::Record(std::string* buf, Slice* record) noexcept {
  if (!positioned_) return CursorResult::kEnd;
  if (!Refresh()) return Fail();
  const Level& leaf = path_[depth_ - 1];
  BtreeCell cell;
  if (!ReadBtreeCell(snap_, TreeKind::kTable, leaf, leaf.index, &cell) ||
      !ReadPayload(*source_, snap_, cell, cell.payload_size,
                   /*whole_chain=*/true, buf, record)) {
    return Fail();
  }
  return CursorResult::kOk;
}

}  // namespace snkv::engine
