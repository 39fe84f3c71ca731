#include "engine/btree_page.h"

#include <algorithm>
#include <exception>
#include <vector>

namespace snkv::engine {

namespace {

// Chains up to this many pages are checked for a repeated page in place;
// longer ones (values of over ~125 KiB on 4 KiB pages) by sorting.
constexpr size_t kInlineChain = 32;

}  // namespace

bool LoadBtreePage(PageSource& source, const PageSnapshot& snap, TreeKind kind,
                   uint32_t pgno, bool root, BtreePage* out) noexcept {
  const uint8_t* page = source.Page(snap, pgno);
  if (page == nullptr) return false;
  out->pgno = pgno;
  out->page = page;
  out->header = pgno == 1 ? format::kFileHeaderSize : 0;
  const uint8_t type = page[out->header];
  const uint8_t interior = kind == TreeKind::kIndex
                               ? format::kIndexInteriorPage
                               : format::kTableInteriorPage;
  const uint8_t leaf = kind == TreeKind::kIndex ? format::kIndexLeafPage
                                                : format::kTableLeafPage;
  if (type != interior && type != leaf) return false;
  out->leaf = type == leaf;
  out->cells = format::Get16(page + out->header + 3);
  // Only a tree's root may be empty, and only as a leaf (an empty table);
  // an empty page anywhere else is damage SQLite reports. So is a count
  // above what a page can hold (SQLite's MX_CELL).
  if (out->cells == 0 && (!root || !out->leaf)) return false;
  if (out->cells > (source.page_size() - 8) / 6) return false;
  if (out->header + out->header_size() + 2 * out->cells > snap.usable_size) {
    return false;
  }
  out->right_child = out->leaf ? 0 : format::Get32(page + out->header + 8);
  return true;
}

bool ReadPayload(PageSource& source, const PageSnapshot& snap,
                 const BtreeCell& cell, uint64_t n, bool whole_chain,
                 std::string* buf, Slice* out) noexcept {
  if (n > cell.payload_size) return false;
  if (n <= cell.local_size && (!whole_chain || cell.overflow == 0)) {
    *out = Slice(reinterpret_cast<const char*>(cell.local),
                 static_cast<size_t>(n));
    return true;
  }
  const bool copy = n > cell.local_size;
  if (copy) {
    // ReadBtreeCell bounded payload_size by the pages that exist, so this
    // reservation is at most the size of the files.
    try {
      buf->clear();
      buf->reserve(static_cast<size_t>(n));
      buf->append(reinterpret_cast<const char*>(cell.local), cell.local_size);
    } catch (const std::exception&) {
      return false;
    }
  }
  // Follows exactly the pages the payload needs (no loop can outlast
  // them), copying the first n bytes and, with whole_chain, checking the
  // rest of the chain as SQLite does when it reads the record: every link
  // non-zero and within the snapshot's pages, and (which SQLite does not
  // check) no page twice.
  const uint32_t chunk = snap.usable_size - 4;
  const uint64_t end = whole_chain ? cell.payload_size : n;
  uint32_t seen[kInlineChain];
  size_t seen_count = 0;
  std::vector<uint32_t> long_chain;  // every page, once past kInlineChain
  uint64_t covered = cell.local_size;
  uint32_t next = cell.overflow;
  while (covered < end) {
    if (next == 0 || next > snap.db_pages) return false;
    if (seen_count < kInlineChain) {
      if (std::find(seen, seen + seen_count, next) != seen + seen_count) {
        return false;
      }
      seen[seen_count++] = next;
    } else {
      try {
        if (long_chain.empty()) {
          // The pages still to come; ReadBtreeCell bounded their count.
          long_chain.reserve(kInlineChain +
                             static_cast<size_t>((end - covered) / chunk + 1));
          long_chain.assign(seen, seen + kInlineChain);
        }
        long_chain.push_back(next);
      } catch (const std::exception&) {
        return false;
      }
    }
    const uint8_t* page = source.PageOnce(snap, next);
    if (page == nullptr) return false;
    if (copy && covered < n) {
      const uint64_t take = std::min<uint64_t>(chunk, n - covered);
      buf->append(reinterpret_cast<const char*>(page + 4),
                  static_cast<size_t>(take));  // reserved: cannot throw
    }
    covered += std::min<uint64_t>(chunk, cell.payload_size - covered);
    next = format::Get32(page);
  }
  if (!long_chain.empty()) {
    std::sort(long_chain.begin(), long_chain.end());
    if (std::adjacent_find(long_chain.begin(), long_chain.end()) !=
        long_chain.end()) {
      return false;
    }
  }
  *out = copy ? Slice(buf->data(), static_cast<size_t>(n))
              : Slice(reinterpret_cast<const char*>(cell.local),
                      static_cast<size_t>(n));
  return true;
}

}  // namespace snkv::engine
