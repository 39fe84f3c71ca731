// The on-disk format of an snkv store (format versions 1 and 2).
//
// A store is an ordinary SQLite database:
//   snkv_meta(key TEXT PRIMARY KEY, value)      settings and format facts
//   snkv_cf(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)
//                                                the column family catalog
//   kv_<id>(k BLOB PRIMARY KEY, v BLOB NOT NULL, expires INTEGER)
//                                                one table per family
//   kv_<id>_expires ON kv_<id>(expires) WHERE expires IS NOT NULL
//                                                created on first TTL write
//   kv_<id>_values(id INTEGER PRIMARY KEY, v BLOB NOT NULL)
//                                                a rowid table, created in the
//                                                write transaction that stores
//                                                the family's first out-of-line
//                                                value (format version 2)
// Tables are named from ids, never from user-chosen names, and ids are never
// reused, so a stale handle can never reach another family's data.
// A rule readers rely on: no row has a non-NULL `expires` unless its
// family's expiry index exists (it is created before the first such row,
// in the same or an earlier transaction, and only dropped with the family),
// so scans of a family without the index need not read the column.
// PRAGMA application_id marks the file as ours; user_version is the format.
//
// Out-of-line values (format version 2). In kv_<id>, column v holds either
// a BLOB, the stored value itself, or an INTEGER r > 0: the stored value is
// then v of row r of kv_<id>_values. Readers go by the stored type, never
// by size; any other type, or a reference to a missing row, is damage.
// The id column aliases the rowid (its record holds NULL for it, then v),
// so that VACUUM, which may renumber the rows of other rowid tables, keeps
// the references right. r is an ordinary SQLite integer in the record:
// r = 1 has serial type 9 and no bytes.
// Writers put a value out of line exactly when its row's record (key,
// stored value, expiry and header; see RecordPayload) would be longer than
// an index B-tree cell keeps on its leaf (MaxLocalPayload): such a row
// would spill onto an overflow page of its own anyway, and as a reference
// it stays a small cell, so leaves keep many keys and a value costs its
// own pages only. (Unless the key alone is too long for the leaf: then
// the value stays inline, as the row spills either way.) Each values row
// belongs to exactly one kv_<id> row; the write that replaces or deletes that
// row deletes it (no triggers: they would slow every write of families with
// small values only). kv_<id>_values is dropped only with its family (clear()
// empties it), and it never exists without its family's table. A store gets
// user_version 2 in the transaction that creates its first values table; stores
// without one keep version 1, which older builds still open. Older builds
// refuse version 2, so they never return a reference as a value.
#ifndef SNKV_KV_SCHEMA_H
#define SNKV_KV_SCHEMA_H

#include <cstdint>
#include <string>
#include <string_view>

namespace snkv::schema {

inline constexpr int32_t kApplicationId = 0x736e6b76;  // "snkv"
// The newest format this build reads and writes.
inline constexpr int64_t kFormatVersion = 2;
// The format of a store without any values table (what kCreateSql makes).
inline constexpr int64_t kBaseFormatVersion = 1;
// The format of a store with at least one values table.
inline constexpr int64_t kOutOfLineFormatVersion = 2;
inline constexpr int64_t kDefaultCfId = 0;
inline constexpr const char* kDefaultCfName = "default";

// Creates the catalog and the default family. Runs inside the creating
// write transaction, after the page size and auto-vacuum mode are set.
inline constexpr const char* kCreateSql =
    "CREATE TABLE snkv_meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE snkv_cf(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);"
    "CREATE TABLE kv_0(k BLOB PRIMARY KEY, v BLOB NOT NULL, expires INTEGER)"
    " WITHOUT ROWID;"
    "INSERT INTO snkv_cf VALUES(0, 'default');"
    "INSERT INTO snkv_meta VALUES('next_cf_id', 1);"
    "PRAGMA application_id = 1936616310;"  // kApplicationId
    "PRAGMA user_version = 1;";            // kBaseFormatVersion

// The column families the vector store keeps for itself (named in
// src/vector/tables.h), as an SQL list. They are left out of
// ListColumnFamilies and of the 64-family count (a vector store leaves the
// user all 64). Exact names, not a prefix: the exemption is worth at most
// these four families, so it cannot be used to get around the limit.
inline constexpr const char* kInternalCfList =
    "('_snkv_vec_', '_snkv_vec_meta_', '_snkv_vec_tags_', '_snkv_vec_log_')";
inline bool IsInternalCf(std::string_view name) {
  return name == "_snkv_vec_" || name == "_snkv_vec_meta_" ||
         name == "_snkv_vec_tags_" || name == "_snkv_vec_log_";
}

inline std::string TableName(int64_t cf_id) {
  return "kv_" + std::to_string(cf_id);
}
inline std::string ExpiryIndexName(int64_t cf_id) {
  return TableName(cf_id) + "_expires";
}

// The statement that creates a family's table, as sqlite_schema keeps it
// (kCreateSql has kv_0's, which tests hold equal to this). As with
// ValuesTableSql below, readers of the pages read a family's table only
// when its sql is exactly this: they read columns by position, SQL by name,
// so a hostile file's kv_0(k, expires, v) would otherwise give two answers.
inline std::string FamilyTableSql(int64_t cf_id) {
  return "CREATE TABLE " + TableName(cf_id) +
         "(k BLOB PRIMARY KEY, v BLOB NOT NULL, expires INTEGER) WITHOUT ROWID";
}

inline std::string ValuesTableName(int64_t cf_id) {
  return TableName(cf_id) + "_values";
}
// The statement that creates a family's values table, as sqlite_schema
// keeps it. Readers of the pages take a table under that name for a values
// table only when its sql is exactly this: a hostile file's table of the
// same name with other columns (say a blob before v) would otherwise be
// read by column position from the pages and by name through SQL.
inline std::string ValuesTableSql(int64_t cf_id) {
  return "CREATE TABLE " + ValuesTableName(cf_id) +
         "(id INTEGER PRIMARY KEY, v BLOB NOT NULL)";
}

// The most payload an index B-tree cell keeps on its leaf page (SQLite's
// rule, file format section 1.6) for pages of `usable` bytes (page size
// less reserved bytes): a longer record keeps a part on the leaf and the
// rest on overflow pages.
inline constexpr int64_t MaxLocalPayload(int64_t usable) {
  return (usable - 12) * 64 / 255 - 23;
}

// Bytes of a varint (SQLite's encoding) holding v.
inline constexpr int64_t VarintSize(uint64_t v) {
  int64_t n = 1;
  while (v > 0x7f && n < 9) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Bytes an integer takes in a record (file format 4: 0 and 1 take none).
inline constexpr int64_t IntegerSize(int64_t i) {
  if (i == 0 || i == 1) return 0;
  if (i >= -128 && i <= 127) return 1;
  if (i >= -32768 && i <= 32767) return 2;
  if (i >= -8388608 && i <= 8388607) return 3;
  if (i >= INT32_MIN && i <= INT32_MAX) return 4;
  if (i >= -(int64_t{1} << 47) && i < (int64_t{1} << 47)) return 6;
  return 8;
}

// The record payload of a kv_<id> row (k, v as a blob of `value_size`
// bytes, expires: 0 for NULL).
inline constexpr int64_t RecordPayload(size_t key_size, size_t value_size,
                                       int64_t expires) {
  const auto k = static_cast<int64_t>(key_size);
  const auto v = static_cast<int64_t>(value_size);
  const int64_t types = VarintSize(static_cast<uint64_t>(2 * k + 12)) +
                        VarintSize(static_cast<uint64_t>(2 * v + 12)) + 1;
  const int64_t header = types + VarintSize(static_cast<uint64_t>(types + 1));
  return header + k + v + (expires != 0 ? IntegerSize(expires) : 0);
}

}  // namespace snkv::schema

#endif  // SNKV_KV_SCHEMA_H
