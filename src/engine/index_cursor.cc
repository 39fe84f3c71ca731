#include "engine/index_cursor.h"

#include <algorithm>

#include "engine/sqlite_format.h"

namespace snkv::engine {

namespace {

// Room for the record header's size and the key's serial type.
constexpr uint64_t kKeyHeaderPrefix = 18;

}  // namespace

bool DecodeRecord(Slice record, RecordField* fields, size_t count) noexcept {
  const auto* p = reinterpret_cast<const uint8_t*>(record.data());
  const size_t size = record.size();
  uint64_t header_size = 0;
  size_t at = format::GetVarint(p, size, &header_size);
  if (at == 0 || header_size < at || header_size > size) return false;
  uint64_t body = header_size;
  for (size_t i = 0; i < count; ++i) {
    fields[i] = RecordField{};
    if (at >= header_size) continue;  // a missing trailing field: NULL
    uint64_t serial = 0;
    const size_t n = format::GetVarint(p + at, header_size - at, &serial);
    if (n == 0 || serial == 10 || serial == 11) return false;
    at += n;
    const uint64_t len = format::SerialSize(serial);
    if (len > size - body) return false;
    fields[i].serial = serial;
    fields[i].bytes = Slice(record.data() + body, static_cast<size_t>(len));
    body += len;
  }
  // As SQLite's OP_Column: a header read to its end must end exactly
  // there, and its fields must then fill the record exactly; anything else
  // is damage SQLite reports when it reads the row.
  if (at >= header_size && (at != header_size || body != size)) return false;
  return true;
}

bool IndexCursor::Push(uint32_t pgno) noexcept {
  // SQLite's limit too: a deeper tree (or a cycle of child pointers) is
  // damage it reports.
  if (depth_ >= kMaxDepth) return false;
  Level& level = stack_[depth_];
  if (!LoadBtreePage(*source_, snap_, TreeKind::kIndex, pgno, pgno == root_,
                     &level)) {
    return false;
  }
  level.index = 0;
  ++depth_;
  return true;
}

bool IndexCursor::Refresh() noexcept {
  if (read_epoch_ == source_->read_epoch()) return true;
  for (int i = 0; i < depth_; ++i) {
    const uint8_t* page = source_->Page(snap_, stack_[i].pgno);
    if (page == nullptr) return false;
    stack_[i].page = page;  // same snapshot: same contents
  }
  read_epoch_ = source_->read_epoch();
  return true;
}

bool IndexCursor::CompareKey(const Cell& cell, Slice key, int* cmp) noexcept {
  // Without an overflow page the whole payload is on the page (ReadCell
  // checked that it fits): every prefix of it is a slice of the page, as
  // PayloadPrefix would return, without the call (most cells).
  const bool local = cell.overflow == 0;
  Slice head;
  if (local) {
    head = Slice(
        reinterpret_cast<const char*>(cell.local),
        static_cast<size_t>(std::min(cell.payload_size, kKeyHeaderPrefix)));
  } else if (!PayloadPrefix(cell, std::min(cell.payload_size, kKeyHeaderPrefix),
                            /*whole_chain=*/false, &key_buf_, &head)) {
    return false;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(head.data());
  uint64_t header_size = 0;
  uint64_t serial = 0;
  const size_t a = format::GetVarint(p, head.size(), &header_size);
  if (a == 0) return false;
  const size_t b = format::GetVarint(p + a, head.size() - a, &serial);
  // Only blob keys are ordered by plain byte comparison.
  if (b == 0 || !format::IsBlob(serial) || header_size < a + b) return false;
  // Both sizes are untrusted and may be near 2^64: compare each with what
  // remains instead of adding them.
  const uint64_t key_size = format::SerialSize(serial);
  if (header_size > cell.payload_size ||
      key_size > cell.payload_size - header_size) {
    return false;
  }
  if (local) {
    *cmp = Slice(reinterpret_cast<const char*>(cell.local) + header_size,
                 static_cast<size_t>(key_size))
               .compare(key);
    return true;
  }
  // SQLite reads the whole record of every cell it compares, so a broken
  // chain anywhere in it is damage it reports: check the chain too, once
  // per chain and snapshot.
  const bool check_chain =
      cell.overflow != 0 &&
      !source_->ChainChecked(snap_, cell.overflow, cell.payload_size);
  Slice stored;
  if (!PayloadPrefix(cell, header_size + key_size, check_chain, &key_buf_,
                     &stored)) {
    return false;
  }
  if (check_chain) {
    source_->NoteChainChecked(snap_, cell.overflow, cell.payload_size);
  }
  *cmp = Slice(stored.data() + header_size, static_cast<size_t>(key_size))
             .compare(key);
  return true;
}

void IndexCursor::PrefetchCells(const Level& level) const noexcept {
  // A search reads about log2(cells) cells scattered over the page, each a
  // cache miss when the page is cold. Asking for the start of every cell at
  // once lets those misses overlap instead of following one another
  // (random reads: +25-35 %). Scans gained nothing from it.
  const uint8_t* pointers = level.page + level.header + (level.leaf ? 8 : 12);
  for (uint32_t i = 0; i < level.cells; ++i) {
    const uint32_t offset = format::Get16(pointers + 2 * size_t{i});
    if (offset < snap_.usable_size) {
      __builtin_prefetch(level.page + offset);
      __builtin_prefetch(level.page + offset + 24);  // a key across lines
    }
  }
}

void IndexCursor::PrefetchLeaf(const Level& level) const noexcept {
  // The cell content area runs from the offset at header byte 5 (0 means
  // 65536) to the end of the usable space; a damaged offset only makes
  // the prefetch start elsewhere on the page, which reads nothing.
  uint32_t start = format::Get16(level.page + level.header + 5);
  if (start == 0 || start > snap_.usable_size) start = snap_.usable_size;
  for (uint32_t at = start & ~uint32_t{63}; at < snap_.usable_size; at += 64) {
    __builtin_prefetch(level.page + at);
  }
}

bool IndexCursor::LowerBound(const Level& level, Slice key, bool equal_below,
                             uint32_t* index, bool* eq_seen) noexcept {
  // The probes are SQLite's own (sqlite3BtreeIndexMoveto: midpoint
  // (lwr + upr) / 2 of the inclusive range, no stop on an equal key, which
  // its seeks give a fixed order). On a sound page any order finds the
  // same cell; on one whose keys are out of order (damage SQLite does not
  // detect) this lands where SQLite lands, so both answer alike.
  uint32_t lo = 0;
  uint32_t hi = level.cells;  // the answer is in [lo, hi]
  PrefetchCells(level);
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo - 1) / 2;
    Cell cell;
    int cmp = 0;
    if (!ReadCell(level, mid, &cell) || !CompareKey(cell, key, &cmp)) {
      return false;
    }
    if (cmp == 0) *eq_seen = true;
    if (cmp < 0 || (cmp == 0 && equal_below)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *index = lo;
  return true;
}

bool IndexCursor::ChildOf(const Level& level, uint32_t i,
                          uint32_t* child) const noexcept {
  if (i == level.cells) {
    *child = level.right_child;
    return true;
  }
  Cell cell;
  if (!ReadCell(level, i, &cell)) return false;
  *child = cell.child;
  return true;
}

CursorResult IndexCursor::Find(Slice key) noexcept {
  // SQLite's `k = ?` (OP_SeekGE on one key, eqOnly): a search that never
  // compared a cell equal to the key is "not found" wherever it landed;
  // one that did takes the cell it landed on as the row without comparing
  // again. On a sound tree that cell is the key's. Where it is not (cells
  // out of order), SQLite returns that other row or reports damage
  // reading it: SQL is asked, so the answer is SQLite's.
  bool eq_seen = false;
  const CursorResult r =
      Seek(key, /*inclusive=*/true, /*forward=*/true, &eq_seen);
  if (r == CursorResult::kFallback) return r;
  if (!eq_seen || r == CursorResult::kEnd) {
    depth_ = 0;
    return CursorResult::kEnd;
  }
  Cell cell;
  int cmp = 0;
  if (!ReadCell(stack_[depth_ - 1], stack_[depth_ - 1].index, &cell) ||
      !CompareKey(cell, key, &cmp) || cmp != 0) {
    return Fail();
  }
  return CursorResult::kOk;
}

CursorResult IndexCursor::SeekForward(Slice bound, bool inclusive) noexcept {
  bool eq_seen = false;
  return Seek(bound, inclusive, /*forward=*/true, &eq_seen);
}

CursorResult IndexCursor::SeekBackward(Slice bound, bool inclusive) noexcept {
  bool eq_seen = false;
  return Seek(bound, inclusive, /*forward=*/false, &eq_seen);
}

CursorResult IndexCursor::Seek(Slice bound, bool inclusive, bool forward,
                               bool* eq_seen) noexcept {
  depth_ = 0;
  read_epoch_ = source_->read_epoch();
  // As SQLite's SeekGE/GT/LE/LT: find the first entry above the bound
  // (counting an equal key as below it for GT and LE), then step back one
  // entry for the backward seeks.
  const bool equal_below = forward != inclusive;
  uint32_t pgno = root_;
  for (;;) {
    if (!Push(pgno)) return Fail();
    Level& level = stack_[depth_ - 1];
    uint32_t i = 0;
    if (!LowerBound(level, bound, equal_below, &i, eq_seen)) return Fail();
    level.index = i;
    if (level.leaf) {
      if (forward) {
        return i < level.cells ? CursorResult::kOk : AscendForward();
      }
      if (i > 0) {
        level.index = i - 1;
        return CursorResult::kOk;
      }
      return AscendBackward();
    }
    if (!ChildOf(level, i, &pgno)) return Fail();
  }
}

CursorResult IndexCursor::SeekFirst() noexcept {
  depth_ = 0;
  read_epoch_ = source_->read_epoch();
  return DescendFirst(root_);
}

CursorResult IndexCursor::SeekLast() noexcept {
  depth_ = 0;
  read_epoch_ = source_->read_epoch();
  return DescendLast(root_);
}

CursorResult IndexCursor::DescendFirst(uint32_t pgno) noexcept {
  for (;;) {
    if (!Push(pgno)) return Fail();
    Level& level = stack_[depth_ - 1];
    level.index = 0;
    if (level.leaf) {
      PrefetchLeaf(level);
      if (level.cells > 0) return CursorResult::kOk;
      return AscendForward();  // an empty leaf: only an empty tree's root
    }
    if (!ChildOf(level, 0, &pgno)) return Fail();
  }
}

CursorResult IndexCursor::DescendLast(uint32_t pgno) noexcept {
  for (;;) {
    if (!Push(pgno)) return Fail();
    Level& level = stack_[depth_ - 1];
    if (level.leaf) {
      PrefetchLeaf(level);
      if (level.cells > 0) {
        level.index = level.cells - 1;
        return CursorResult::kOk;
      }
      level.index = 0;
      return AscendBackward();
    }
    level.index = level.cells;
    pgno = level.right_child;
  }
}

CursorResult IndexCursor::AscendForward() noexcept {
  --depth_;  // the exhausted leaf
  while (depth_ > 0) {
    const Level& level = stack_[depth_ - 1];
    if (level.index < level.cells) return CursorResult::kOk;  // on that cell
    --depth_;
  }
  return CursorResult::kEnd;
}

CursorResult IndexCursor::AscendBackward() noexcept {
  --depth_;
  while (depth_ > 0) {
    Level& level = stack_[depth_ - 1];
    if (level.index > 0) {
      --level.index;  // the cell before the child we came from
      return CursorResult::kOk;
    }
    --depth_;
  }
  return CursorResult::kEnd;
}

CursorResult IndexCursor::Next() noexcept {
  if (depth_ == 0) return CursorResult::kEnd;
  if (!Refresh()) return Fail();
  Level& top = stack_[depth_ - 1];
  if (!top.leaf) {
    // On an interior cell: next is the first entry of the subtree after it.
    ++top.index;
    uint32_t child = 0;
    if (!ChildOf(top, top.index, &child)) return Fail();
    return DescendFirst(child);
  }
  if (++top.index < top.cells) return CursorResult::kOk;
  return AscendForward();
}

CursorResult IndexCursor::Prev() noexcept {
  if (depth_ == 0) return CursorResult::kEnd;
  if (!Refresh()) return Fail();
  Level& top = stack_[depth_ - 1];
  if (!top.leaf) {
    // On an interior cell: previous is the last entry of its left child.
    uint32_t child = 0;
    if (!ChildOf(top, top.index, &child)) return Fail();
    return DescendLast(child);
  }
  if (top.index > 0) {
    --top.index;
    return CursorResult::kOk;
  }
  return AscendBackward();
}

CursorResult IndexCursor::Record(std::string* buf, Slice* record) noexcept {
  if (depth_ == 0) return CursorResult::kEnd;
  if (!Refresh()) return Fail();
  const Level& top = stack_[depth_ - 1];
  Cell cell;
  if (!ReadCell(top, top.index, &cell) ||
      !PayloadPrefix(cell, cell.payload_size, /*whole_chain=*/true, buf,
                     record)) {
    return Fail();
  }
  return CursorResult::kOk;
}

}  // namespace snkv::engine
