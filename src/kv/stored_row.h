// StoredRow: one row of a family's table (k, v, expires) as the B-tree
// pages hold it, for reads that bypass SQL (engine/index_cursor.h).
#ifndef SNKV_KV_STORED_ROW_H
#define SNKV_KV_STORED_ROW_H

#include <cstdint>

#include "engine/index_cursor.h"
#include "engine/sqlite_format.h"
#include "snkv/slice.h"

namespace snkv::internal {

struct StoredRow {
  Slice key;
  Slice value;  // as stored: sealed on an encrypted store; empty for a ref
  // > 0: the value is out of line (schema.h), in row value_ref of the
  // family's values table; 0: `value` is the value.
  int64_t value_ref = 0;
  bool has_expiry = false;
  int64_t expires = 0;  // ms since the epoch, when has_expiry
};

// Decodes a family table's record. False for anything snkv does not write
// (a key that is not a blob, a value that is neither a blob nor a
// reference > 0, an expiry that is not an integer): such a row is read
// through SQL instead, which converts as SQL does or reports the damage.
inline bool DecodeStoredRow(Slice record, StoredRow* row) noexcept {
  engine::RecordField f[3];
  if (!engine::DecodeRecord(record, f, 3) ||
      !engine::format::IsBlob(f[0].serial)) {
    return false;
  }
  row->key = f[0].bytes;
  row->value = Slice();
  row->value_ref = 0;
  if (engine::format::IsBlob(f[1].serial)) {
    row->value = f[1].bytes;
  } else if (engine::format::IsInteger(f[1].serial)) {
    row->value_ref = engine::format::GetInteger(
        f[1].serial, reinterpret_cast<const uint8_t*>(f[1].bytes.data()));
    if (row->value_ref <= 0) return false;
  } else {
    return false;
  }
  row->has_expiry = f[2].serial != engine::format::kSerialNull;
  if (row->has_expiry) {
    if (!engine::format::IsInteger(f[2].serial)) return false;
    row->expires = engine::format::GetInteger(
        f[2].serial, reinterpret_cast<const uint8_t*>(f[2].bytes.data()));
  }
  return true;
}

// Decodes a values table's record (schema.h: id INTEGER PRIMARY KEY, v
// BLOB NOT NULL; the id is the rowid, so its column is stored as NULL)
// into *stored. False for anything else.
inline bool DecodeValuesRow(Slice record, Slice* stored) noexcept {
  engine::RecordField f[2];
  if (!engine::DecodeRecord(record, f, 2) ||
      f[0].serial != engine::format::kSerialNull ||
      !engine::format::IsBlob(f[1].serial)) {
    return false;
  }
  *stored = f[1].bytes;
  return true;
}

}  // namespace snkv::internal

#endif  // SNKV_KV_STORED_ROW_H
