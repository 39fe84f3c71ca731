// BtreePage: what IndexCursor and TableCursor share about SQLite's B-tree
// pages (fileformat2.html, "B-tree Pages"): fetching a page of a snapshot
// and checking its header, finding and splitting a cell, the rule for how
// much of a payload stays on the page, and reading a payload's overflow
// chain.
//
// Two kinds of tree are read. Index trees (snkv's WITHOUT ROWID family
// tables) carry a record in every cell, interior ones too. Table trees
// (rowid tables) are keyed by a 64-bit rowid: interior cells hold only a
// child and a rowid, leaf cells the rowid and the record.
//
// Every function assumes the bytes may be damaged: each offset, count,
// varint and size is checked before use, with arithmetic that cannot
// wrap, and any doubt answers false (the cursor then falls back to SQL).
// The cell helpers are inline: they run for every probe of every search.
#ifndef SNKV_ENGINE_BTREE_PAGE_H
#define SNKV_ENGINE_BTREE_PAGE_H

#include <cstdint>
#include <string>

#include "engine/page_source.h"
#include "engine/sqlite_format.h"
#include "snkv/slice.h"

namespace snkv::engine {

enum class TreeKind { kIndex, kTable };

// SQLite's own limit on B-tree depth (BTCURSOR_MAX_DEPTH): a deeper tree,
// or a cycle of child pointers, is damage it reports.
inline constexpr int kMaxTreeDepth = 20;

// One page of a B-tree, as fetched for one operation.
struct BtreePage {
  uint32_t pgno = 0;
  const uint8_t* page = nullptr;  // dies at PageSource::EndRead
  uint32_t header = 0;            // offset of the B-tree header (100 on page 1)
  uint32_t cells = 0;
  uint32_t right_child = 0;  // interior pages
  bool leaf = false;

  uint32_t header_size() const noexcept { return leaf ? 8 : 12; }
};

// One cell, split into its parts. Which parts are set depends on the tree
// and the page: `child` on interior pages; `rowid` on table pages; the
// payload fields on every page but a table's interior ones.
struct BtreeCell {
  uint32_t child = 0;
  int64_t rowid = 0;
  const uint8_t* local = nullptr;  // the part of the payload on the page
  uint32_t local_size = 0;
  uint64_t payload_size = 0;
  uint32_t overflow = 0;  // first overflow page; 0 if none
};

// Fetches page `pgno` of `snap` and checks that it is a page of a `kind`
// tree whose header and cell pointer array fit the page. `root`: whether
// the page is the tree's root, the only page allowed to be empty (and then
// only as a leaf). False on anything odd, or if the page cannot be read.
bool LoadBtreePage(PageSource& source, const PageSnapshot& snap, TreeKind kind,
                   uint32_t pgno, bool root, BtreePage* out) noexcept;

// How many bytes of a `payload`-byte payload stay on the page, given the
// page kind's largest local payload `max_local` (fileformat2.html, "Cell
// Payload Overflow Pages"). Requires usable >= 480, which every snapshot
// has (SQLite's own minimum).
inline uint64_t LocalPayload(uint32_t usable, uint64_t payload,
                             uint64_t max_local) noexcept {
  if (payload <= max_local) return payload;
  const uint64_t min_local = (uint64_t{usable} - 12) * 32 / 255 - 23;
  const uint64_t k = min_local + (payload - min_local) % (usable - 4);
  return k <= max_local ? k : min_local;
}
// The largest local payload of an index page (leaf or interior) and of a
// table leaf.
inline uint64_t IndexMaxLocal(uint32_t usable) noexcept {
  return (uint64_t{usable} - 12) * 64 / 255 - 23;
}
inline uint64_t TableLeafMaxLocal(uint32_t usable) noexcept {
  return uint64_t{usable} - 35;
}

// Splits cell `i` (< page.cells) of `page` into *cell: checks that its
// pointer lands in the cell content area, that every varint and the local
// payload (with the overflow link after it) end inside the usable space,
// and that an overflow chain is no longer than the pages that can exist
// (which bounds every buffer sized from a payload by the files' size).
inline bool ReadBtreeCell(const PageSnapshot& snap, TreeKind kind,
                          const BtreePage& page, uint32_t i,
                          BtreeCell* cell) noexcept {
  const uint32_t usable = snap.usable_size;
  const uint32_t pointers = page.header + page.header_size();
  const uint32_t offset = format::Get16(page.page + pointers + 2 * size_t{i});
  if (offset < pointers + 2 * page.cells || offset >= usable) return false;
  const uint8_t* p = page.page + offset;
  uint32_t room = usable - offset;
  if (!page.leaf) {
    if (room < 4) return false;
    cell->child = format::Get32(p);
    p += 4;
    room -= 4;
  }
  uint64_t v = 0;
  if (kind == TreeKind::kTable && !page.leaf) {
    // A table's interior cell: the child and the largest rowid of its
    // subtree, nothing else.
    if (format::GetVarint(p, room, &v) == 0) return false;
    cell->rowid = static_cast<int64_t>(v);
    cell->local = nullptr;
    cell->local_size = 0;
    cell->payload_size = 0;
    cell->overflow = 0;
    return true;
  }
  size_t n = format::GetVarint(p, room, &v);
  if (n == 0) return false;
  p += n;
  room -= static_cast<uint32_t>(n);
  const uint64_t payload = v;
  uint64_t max_local = IndexMaxLocal(usable);
  if (kind == TreeKind::kTable) {
    n = format::GetVarint(p, room, &v);
    if (n == 0) return false;
    p += n;
    room -= static_cast<uint32_t>(n);
    cell->rowid = static_cast<int64_t>(v);
    max_local = TableLeafMaxLocal(usable);
  }
  const uint64_t local = LocalPayload(usable, payload, max_local);
  // local <= max_local < usable, so neither sum can wrap.
  const uint64_t need = local + (local < payload ? 4 : 0);
  if (need > room) return false;
  cell->local = p;
  cell->local_size = static_cast<uint32_t>(local);
  cell->payload_size = payload;
  cell->overflow = 0;
  if (local < payload) {
    // A chain longer than the pages that can exist is damage (SQLite
    // checks payload / usable size against its page count).
    const uint64_t pages = (payload - local - 1) / (usable - 4) + 1;
    if (pages > snap.chain_limit) return false;
    cell->overflow = format::Get32(p + local);
    if (cell->overflow == 0) return false;
  }
  return true;
}

// The first `n` payload bytes of `cell` (n <= payload_size) into *out: a
// slice of the page when they are all on it, else copied into *buf from
// the overflow chain. With `whole_chain`, also follows the rest of the
// chain and fails if it is broken, as SQLite fails reading such a record.
// Fails too on a chain that comes back to a page it already passed (a
// cycle SQLite would read through as if it were data). *out lives until
// the next change of *buf or PageSource::EndRead.
bool ReadPayload(PageSource& source, const PageSnapshot& snap,
                 const BtreeCell& cell, uint64_t n, bool whole_chain,
                 std::string* buf, Slice* out) noexcept;

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_BTREE_PAGE_H
