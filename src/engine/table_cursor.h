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
// Between calls the cursor keeps the leaf's page number and the cell's
// position, not a page pointer (those die at PageSource::EndRead).
#ifndef SNKV_ENGINE_TABLE_CURSOR_H
#define SNKV_ENGINE_TABLE_CURSOR_H

#include <cstdint>
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

 private:
  CursorResult Fail() noexcept {
    positioned_ = false;
    return CursorResult::kFallback;
  }

  PageSource* source_;
  PageSnapshot snap_;
  uint32_t root_;
  BtreePage leaf_;      // the page of the row found
  uint32_t index_ = 0;  // its cell on leaf_
  bool positioned_ = false;
  uint64_t read_epoch_ = 0;  // source_->read_epoch() when leaf_ was fetched
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_TABLE_CURSOR_H
