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
  Slice value;  // as stored: sealed on an encrypted store
  bool has_expiry = false;
  int64_t expires = 0;  // ms since the epoch, when has_expiry
};

// Decodes a family table's record. False for anything but a blob key and
// value with an integer or NULL expiry: such a row is read through SQL
// instead. That includes an out-of-line value (an INTEGER v referring to
// the values table, schema.h), which the SQL read path resolves.
inline bool DecodeStoredRow(Slice record, StoredRow* row) noexcept {
  engine::RecordField f[3];
  if (!engine::DecodeRecord(record, f, 3) ||
      !engine::format::IsBlob(f[0].serial) ||
      !engine::format::IsBlob(f[1].serial)) {
    return false;
  }
  row->key = f[0].bytes;
  row->value = f[1].bytes;
  row->has_expiry = f[2].serial != engine::format::kSerialNull;
  if (row->has_expiry) {
    if (!engine::format::IsInteger(f[2].serial)) return false;
    row->expires = engine::format::GetInteger(
        f[2].serial, reinterpret_cast<const uint8_t*>(f[2].bytes.data()));
  }
  return true;
}

}  // namespace snkv::internal

#endif  // SNKV_KV_STORED_ROW_H
