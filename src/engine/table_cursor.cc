#include "engine/table_cursor.h"

namespace snkv::engine {

CursorResult TableCursor::Find(int64_t rowid) noexcept {
  positioned_ = false;
  read_epoch_ = source_->read_epoch();
  uint32_t pgno = root_;
  // One level per pass. SQLite's limit on depth also ends a cycle of
  // child pointers.
  for (int depth = 0; depth < kMaxTreeDepth; ++depth) {
    BtreePage page;
    if (!LoadBtreePage(*source_, snap_, TreeKind::kTable, pgno, pgno == root_,
                       &page)) {
      return Fail();
    }
    if (page.cells == 0) return CursorResult::kEnd;  // an empty table
    // sqlite3BtreeTableMoveto's binary search: midpoint of the inclusive
    // range, stopping at an equal rowid. An interior cell's rowid is the
    // largest of its left child's subtree, so an equal one descends there.
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
        lo = mid + 1;
        if (lo > hi) break;
      } else if (cell.rowid > rowid) {
        hi = mid - 1;
        if (lo > hi) break;
      } else if (page.leaf) {
        leaf_ = page;
        index_ = static_cast<uint32_t>(mid);
        positioned_ = true;
        return CursorResult::kOk;
      } else {
        lo = mid;
        break;
      }
      mid = lo + (hi - lo) / 2;
    }
    if (page.leaf) return CursorResult::kEnd;
    if (lo >= int64_t{page.cells}) {
      pgno = page.right_child;
    } else if (ReadBtreeCell(snap_, TreeKind::kTable, page,
                             static_cast<uint32_t>(lo), &cell)) {
      pgno = cell.child;
    } else {
      return Fail();
    }
  }
  return Fail();  // deeper than SQLite allows
}

CursorResult TableCursor::Record(std::string* buf, Slice* record) noexcept {
  if (!positioned_) return CursorResult::kEnd;
  if (read_epoch_ != source_->read_epoch()) {
    // Same snapshot, so the same bytes: only the pointer went stale.
    const uint8_t* page = source_->Page(snap_, leaf_.pgno);
    if (page == nullptr) return Fail();
    leaf_.page = page;
    read_epoch_ = source_->read_epoch();
  }
  BtreeCell cell;
  if (!ReadBtreeCell(snap_, TreeKind::kTable, leaf_, index_, &cell) ||
      !ReadPayload(*source_, snap_, cell, cell.payload_size,
                   /*whole_chain=*/true, buf, record)) {
    return Fail();
  }
  return CursorResult::kOk;
}

}  // namespace snkv::engine
