// TableCursor: finds a row of a rowid table (an intkey B-tree) of a
// PageSnapshot by its rowid, directly from the pages, and reads its record.
// snkv keeps large values out of a family's rows in such a table
// (kv_<id>_values); a read that finds a reference to one resolves it here
// instead of through SQL.
//
// As with IndexCursor, anything unexpected (a page of the wrong kind, a
// cell that runs off its page, a broken or looping overflow chain, a tree
// deeper than SQLite allows) answers kFallback, and the caller asks SQLite,
// which reports the damage itself. The search makes SQLite's own probes
// (sqlite3BtreeTableMoveto), so on a page whose rowids are out of order it
// lands where SQLite lands, and never reports "no such row" for a row
// SQLite would find.
//
// Consecutive finds (a scan of values loaded in key order asks for rowids
// n, n+1, n+2, ...) start below the root when they can. The cursor keeps
// the path of its last search, and for each page on it the range of
// rowids whose search would make the same decisions at every probe that
// page's search made (every probed rowid compares with them as with the
// rowid searched). A rowid inside the ranges of all the levels above a
// page reaches that page exactly as a search from the root would, so the
// search restarts there. This is not SQLite's shortcut of stepping to the
// next cell (which a caller's fresh statement would not take): it answers
// what a search from the root answers on every tree, damaged ones too, and
// it also serves rowids that go down, and the next leaf (only the parent's
// search runs again).
//
// Between calls the cursor keeps page numbers and positions, not page
// pointers (those die at PageSource::EndRead); a call after an EndRead
// fetches the path's pages again, which the snapshot keeps unchanged.
#ifndef SNKV_ENGINE_TABLE_CURSOR_H
#define SNKV_ENGINE_TABLE_CURSOR_H

#include <array>
#include <cstdint>
#include <limits>
#include <string>

#include "engine/btree_page.h"
#include "engine/index_cursor.h"
#include "engine/page_source.h"
#include "snkv/slice.h"

namespace snkv::engine {

class TableCursor {
 public:
  // A cursor over the rowid table whose B-tree is rooted at page `root` of
  // `snap`.
  TableCursor(PageSource& source, const PageSnapshot& snap,
              uint32_t root) noexcept
      : source_(&source), snap_(snap), root_(root) {}

  // Positions on the row `rowid`: kOk, kEnd if the table has no such row,
  // kFallback if the pages cannot answer.
  CursorResult Find(int64_t rowid) noexcept;

  // The whole record of the row found: on the page itself, or copied into
  // *buf when it continues on overflow pages (the whole chain is checked
  // either way). Valid until the next call, a change of *buf or
  // PageSource::EndRead. Requires a position (kEnd without one).
  CursorResult Record(std::string* buf, Slice* record) noexcept;

  // Whether this cursor reads the tree rooted at `root` in `snap` (the
  // same snapshot, described once, with the same first WAL frame): a
  // caller that keeps a cursor between rows makes a new one otherwise.
  bool Reads(const PageSnapshot& snap, uint32_t root) const noexcept {
    return snap.id == snap_.id && snap.min_frame == snap_.min_frame &&
           root == root_;
  }

  // Searches so far that started below the root: for tests.
  uint64_t short_searches() const noexcept { return short_searches_; }

 private:
  static constexpr int64_t kLowest = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kHighest = std::numeric_limits<int64_t>::max();

  // One page of the last search's path.
  struct Level : BtreePage {
    uint32_t index = 0;  // leaves: the cell found; interior: the child taken
    // Rowids that reach this page by the same path: [reach_lo, reach_hi].
    int64_t reach_lo = kLowest;
    int64_t reach_hi = kHighest;
  };

  // The search of one page for `rowid`, from level `at` (which holds the
  // page already, fetched in this read epoch) down to a leaf.
  CursorResult SearchFrom(int at, int64_t rowid) noexcept;
  // Fetches page `pgno` into level `at`. False on anything odd.
  bool Load(int at, uint32_t pgno) noexcept;
  // Asks the CPU for every cache line of leaf's cell content area.
  void PrefetchLeaf(const Level& leaf) const noexcept;
  // Re-fetches the pointers of the path's pages after an EndRead.
  bool Refresh() noexcept;
  CursorResult Fail() noexcept {
    depth_ = 0;
    positioned_ = false;
    return CursorResult::kFallback;
  }

  PageSource* source_;
  PageSnapshot snap_;
  uint32_t root_;
  // The path of the last search: levels [0, depth_), the leaf last. Kept
  // after a search that found no row, so the next can still start below
  // the root; depth_ 0: no path.
  std::array<Level, kMaxTreeDepth> path_{};
  int depth_ = 0;
  bool positioned_ = false;  // the leaf's cell `index` is the row found
  uint64_t read_epoch_ = 0;  // source_->read_epoch() when the path was fetched
  uint64_t short_searches_ = 0;
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_TABLE_CURSOR_H
