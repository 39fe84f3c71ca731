// The on-disk format of an snkv store (format version 1).
//
// A store is an ordinary SQLite database:
//   snkv_meta(key TEXT PRIMARY KEY, value)      settings and format facts
//   snkv_cf(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)
//                                                the column family catalog
//   kv_<id>(k BLOB PRIMARY KEY, v BLOB NOT NULL, expires INTEGER)
//                                                one table per family
//   kv_<id>_expires ON kv_<id>(expires) WHERE expires IS NOT NULL
//                                                created on first TTL write
// Tables are named from ids, never from user-chosen names, and ids are never
// reused, so a stale handle can never reach another family's data.
// A rule readers rely on: no row has a non-NULL `expires` unless its
// family's expiry index exists (it is created before the first such row,
// in the same or an earlier transaction, and only dropped with the family),
// so scans of a family without the index need not read the column.
// PRAGMA application_id marks the file as ours; user_version is the format.
#ifndef SNKV_KV_SCHEMA_H
#define SNKV_KV_SCHEMA_H

#include <cstdint>
#include <string>
#include <string_view>

namespace snkv::schema {

inline constexpr int32_t kApplicationId = 0x736e6b76;  // "snkv"
inline constexpr int64_t kFormatVersion = 1;
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
    "PRAGMA user_version = 1;";            // kFormatVersion

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

}  // namespace snkv::schema

#endif  // SNKV_KV_SCHEMA_H
