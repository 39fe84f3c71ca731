// Tools for building hostile store files: reading and patching SQLite's
// B-tree pages in a file image, forging WAL frames with valid checksums,
// and asking plain SQLite what it reads from a file (the oracle snkv's
// answers are compared with). Header-only and free of gtest, so that the
// regression tests and the fuzzer (tests/fuzz) share it.
//
// Layouts: SQLite's "Database File Format" and "WAL-mode File Format"
// documents (fileformat2.html, walformat.html).
#ifndef SNKV_TESTS_FILE_SURGERY_H
#define SNKV_TESTS_FILE_SURGERY_H

#include <sqlite3.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace snkv::test::surgery {

// The bytes of a file ("" if it cannot be read), and writing them back.
inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}
inline bool WriteFileBytes(const std::string& path, const std::string& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(f);
}

inline uint32_t Get16(const std::string& b, size_t at) {
  if (at + 2 > b.size()) return 0;
  return (uint32_t{static_cast<uint8_t>(b[at])} << 8) |
         static_cast<uint8_t>(b[at + 1]);
}
inline uint32_t Get32(const std::string& b, size_t at) {
  if (at + 4 > b.size()) return 0;
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b[at + i]);
  return v;
}
// Writes stop at the end of `b` (a patch never grows the image).
inline void Put16(std::string* b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 2 && at + i < b->size(); ++i) {
    (*b)[at + i] = static_cast<char>(v >> (8 * (1 - i)));
  }
}
inline void Put32(std::string* b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4 && at + i < b->size(); ++i) {
    (*b)[at + i] = static_cast<char>(v >> (8 * (3 - i)));
  }
}
inline void PutBytes(std::string* b, size_t at, const std::string& bytes) {
  for (size_t i = 0; i < bytes.size() && at + i < b->size(); ++i) {
    (*b)[at + i] = bytes[i];
  }
}

// SQLite's varint encoding of v (1-9 bytes).
inline std::string Varint(uint64_t v) {
  if (v > 0x00ffffffffffffffULL) {
    std::string out(9, '\0');
    out[8] = static_cast<char>(v);
    v >>= 8;
    for (int i = 7; i >= 0; --i) {
      out[i] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    return out;
  }
  std::string rev;
  do {
    rev.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  } while (v != 0);
  rev[0] = static_cast<char>(rev[0] & 0x7f);
  return std::string(rev.rbegin(), rev.rend());
}
// The varint at b[at], into *v; its length, or 0 if it runs off the end.
inline size_t ReadVarint(const std::string& b, size_t at, uint64_t* v) {
  uint64_t x = 0;
  for (size_t i = 0; i < 9; ++i) {
    if (at + i >= b.size()) return 0;
    const auto c = static_cast<uint8_t>(b[at + i]);
    if (i == 8) {
      *v = (x << 8) | c;
      return 9;
    }
    x = (x << 7) | (c & 0x7f);
    if ((c & 0x80) == 0) {
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

// One B-tree page inside a file image (or a WAL frame's page image).
struct Page {
  size_t base = 0;    // offset of the page in the image
  size_t header = 0;  // offset of the B-tree header in the page (100: page 1)
  uint8_t type = 0;   // 0x02 / 0x0a index, 0x05 / 0x0d table
  uint32_t cells = 0;

  bool leaf() const { return type == 0x0a || type == 0x0d; }
  size_t header_size() const { return leaf() ? 8 : 12; }
  // Image offset of the cell pointer of cell i, and of the cell itself.
  size_t pointer_at(uint32_t i) const {
    return base + header + header_size() + 2 * size_t{i};
  }
  size_t cell_at(const std::string& image, uint32_t i) const {
    return base + Get16(image, pointer_at(i));
  }
  size_t right_child_at() const { return base + header + 8; }
};

inline Page ReadPage(const std::string& image, size_t base, uint32_t pgno) {
  Page p;
  p.base = base;
  p.header = pgno == 1 ? 100 : 0;
  if (base + p.header + 8 > image.size()) return p;
  p.type = static_cast<uint8_t>(image[base + p.header]);
  p.cells = Get16(image, base + p.header + 3);
  return p;
}

// Page numbers of the index B-tree (or, with `table`, the rowid table's
// B-tree) rooted at `root` in a database image, in descent order (root
// first), leaves marked; pages seen twice or unreadable are skipped.
struct TreePage {
  uint32_t pgno = 0;
  bool leaf = false;
  int depth = 0;
};
inline std::vector<TreePage> TreePages(const std::string& db,
                                       uint32_t page_size, uint32_t root,
                                       bool table = false) {
  const uint8_t interior = table ? 0x05 : 0x02;
  const uint8_t leaf = table ? 0x0d : 0x0a;
  std::vector<TreePage> out;
  std::vector<std::pair<uint32_t, int>> todo{{root, 0}};
  std::vector<bool> seen(db.size() / page_size + 2, false);
  while (!todo.empty()) {
    auto [pgno, depth] = todo.back();
    todo.pop_back();
    if (pgno == 0 || pgno >= seen.size() || seen[pgno] || depth > 20) continue;
    seen[pgno] = true;
    const Page p = ReadPage(db, size_t{pgno - 1} * page_size, pgno);
    if (p.type != interior && p.type != leaf) continue;
    out.push_back({pgno, p.leaf(), depth});
    if (p.leaf()) continue;
    todo.push_back({Get32(db, p.right_child_at()), depth + 1});
    for (uint32_t i = 0; i < p.cells; ++i) {
      todo.push_back({Get32(db, p.cell_at(db, i)), depth + 1});
    }
  }
  return out;
}

// Payload of index B-tree cells (a family's table is WITHOUT ROWID) on
// pages of `usable` bytes: the most a cell keeps on its page whole, and how
// much of a `payload`-byte payload stays on the page (the number of the
// first overflow page follows those bytes when it is less than payload).
inline uint64_t MaxLocalPayload(uint32_t usable) {
  return (uint64_t{usable} - 12) * 64 / 255 - 23;
}
inline uint64_t LocalPayload(uint32_t usable, uint64_t payload) {
  const uint64_t max_local = MaxLocalPayload(usable);
  if (payload <= max_local) return payload;
  const uint64_t min_local = (uint64_t{usable} - 12) * 32 / 255 - 23;
  const uint64_t local = min_local + (payload - min_local) % (usable - 4);
  return local > max_local ? min_local : local;
}

// ---- WAL ------------------------------------------------------------------

inline constexpr size_t kWalHeader = 32;
inline constexpr size_t kFrameHeader = 24;

// SQLite's WAL checksum over `n` bytes (a multiple of 8), continuing s.
inline void WalChecksum(const std::string& b, size_t at, size_t n,
                        bool big_endian, uint32_t s[2]) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint32_t x[2];
    for (int k = 0; k < 2; ++k) {
      const size_t o = at + i + 4 * size_t(k);
      if (big_endian) {
        x[k] = Get32(b, o);
      } else {
        x[k] = static_cast<uint32_t>(static_cast<uint8_t>(b[o])) |
               (static_cast<uint32_t>(static_cast<uint8_t>(b[o + 1])) << 8) |
               (static_cast<uint32_t>(static_cast<uint8_t>(b[o + 2])) << 16) |
               (static_cast<uint32_t>(static_cast<uint8_t>(b[o + 3])) << 24);
      }
    }
    s[0] += x[0] + s[1];
    s[1] += x[1] + s[0];
  }
}

// Page size of a WAL image (0 if it has no valid header).
inline uint32_t WalPageSize(const std::string& wal) {
  if (wal.size() < kWalHeader) return 0;
  const uint32_t magic = Get32(wal, 0);
  if (magic != 0x377f0682 && magic != 0x377f0683) return 0;
  const uint32_t size = Get32(wal, 8);
  return size == 1 ? 65536 : size;
}
inline size_t WalFrames(const std::string& wal) {
  const uint32_t ps = WalPageSize(wal);
  if (ps == 0) return 0;
  return (wal.size() - kWalHeader) / (kFrameHeader + ps);
}
inline size_t FrameOffset(uint32_t page_size, size_t frame /* from 0 */) {
  return kWalHeader + frame * (kFrameHeader + page_size);
}

// Rewrites every checksum of the WAL (header, then each frame in turn,
// carrying the header's salts into every frame), so that SQLite's recovery
// accepts all its frames: a forged WAL that is valid as far as SQLite can
// tell.
inline void FixWalChecksums(std::string* wal) {
  const uint32_t ps = WalPageSize(*wal);
  if (ps == 0) return;
  const bool big = (Get32(*wal, 0) & 1) != 0;
  uint32_t s[2] = {0, 0};
  WalChecksum(*wal, 0, 24, big, s);
  Put32(wal, 24, s[0]);
  Put32(wal, 28, s[1]);
  for (size_t f = 0; f < WalFrames(*wal); ++f) {
    const size_t at = FrameOffset(ps, f);
    PutBytes(wal, at + 8, wal->substr(16, 8));  // the header's salts
    WalChecksum(*wal, at, 8, big, s);
    WalChecksum(*wal, at + kFrameHeader, ps, big, s);
    Put32(wal, at + 16, s[0]);
    Put32(wal, at + 20, s[1]);
  }
}

// Appends a frame holding `page` as page `pgno`; with `commit_size` > 0 it
// is a commit frame (database size in pages). Checksums are left to
// FixWalChecksums.
inline void AppendFrame(std::string* wal, uint32_t pgno,
                        const std::string& page, uint32_t commit_size) {
  std::string header(kFrameHeader, '\0');
  Put32(&header, 0, pgno);
  Put32(&header, 4, commit_size);
  wal->append(header);
  wal->append(page);
}

// ---- SQLite as the oracle -------------------------------------------------

// What SQLite says about one query: its primary result code (SQLITE_ROW
// for a row, SQLITE_DONE for none, else the error) and the row's columns.
struct SqliteRow {
  std::string k;
  std::string v;
  bool has_expiry = false;
};
struct SqliteAnswer {
  int rc = SQLITE_ERROR;  // of the first step that did not give a row
  std::vector<SqliteRow> rows;
};

// Runs `sql` (columns k, v, expires; `key`, if given, bound to ?1) on `db`,
// stopping after `max_rows` rows.
inline SqliteAnswer AskSqlite(sqlite3* db, const std::string& sql,
                              const std::string* key = nullptr,
                              size_t max_rows = SIZE_MAX) {
  SqliteAnswer a;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
  if (rc == SQLITE_OK) {
    if (key != nullptr) {
      sqlite3_bind_blob(st, 1, key->data(), static_cast<int>(key->size()),
                        SQLITE_STATIC);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      SqliteRow r;
      const auto* k = static_cast<const char*>(sqlite3_column_blob(st, 0));
      r.k.assign(k ? k : "", static_cast<size_t>(sqlite3_column_bytes(st, 0)));
      const auto* v = static_cast<const char*>(sqlite3_column_blob(st, 1));
      r.v.assign(v ? v : "", static_cast<size_t>(sqlite3_column_bytes(st, 1)));
      r.has_expiry = sqlite3_column_type(st, 2) != SQLITE_NULL;
      a.rows.push_back(std::move(r));
      if (a.rows.size() >= max_rows) {
        rc = SQLITE_DONE;
        break;
      }
    }
  }
  sqlite3_finalize(st);
  a.rc = rc & 0xff;
  return a;
}

// A read-only connection to `path` that never checkpoints or deletes the
// WAL (nullptr-safe to close with sqlite3_close_v2).
inline sqlite3* OpenOracle(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }
  return db;
}

// As above, on a connection of its own.
inline SqliteAnswer AskSqlite(const std::string& path, const std::string& sql,
                              const std::string* key = nullptr,
                              size_t max_rows = SIZE_MAX) {
  sqlite3* db = OpenOracle(path);
  SqliteAnswer a = AskSqlite(db, sql, key, max_rows);
  sqlite3_close_v2(db);
  return a;
}

}  // namespace snkv::test::surgery

#endif  // SNKV_TESTS_FILE_SURGERY_H
