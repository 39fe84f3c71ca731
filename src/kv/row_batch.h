// RowBatch: rows a long scan takes from SQLite many at a time.
//
// Stepping a statement once per row costs a return from the VDBE and four
// column calls per row. A long scan instead runs
//   SELECT 1 FROM t WHERE k > ?1 AND snkv_collect(k, v[, expires]) ...
// where snkv_collect, an SQL function, copies each row into the batch the
// store is filling and returns 0 ("no row"), so the VDBE moves straight on
// to the next one; it returns 1, making sqlite3_step return, only when the
// batch is full or the scan has left the iterator's prefix. Expired rows
// are dropped as they are seen. The copies are needed: SQLite's row
// pointers die with the step that made them.
//
// The batch also checks, as it collects, that each row's key moves on from
// the row before it in the scan's direction (first_disorder()): damage can
// put a page's keys out of order, and the key just before is still in
// cache here, so the check costs less than one per row delivered.
#ifndef SNKV_KV_ROW_BATCH_H
#define SNKV_KV_ROW_BATCH_H

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "snkv/slice.h"
#include "snkv/status.h"

namespace snkv::internal {

class RowBatch {
 public:
  struct Row {
    Slice key;
    Slice value;
  };

  // The order the scan collects rows in (see first_disorder()).
  enum class Direction { kForward, kBackward };

  // Empties the batch and sets its filters: rows whose key does not start
  // with `prefix` end the scan, rows that expired at or before `now_ms`
  // are dropped. The batch holds up to `max_rows` rows (1..kMaxRows),
  // collected in `direction`. `prefix` must outlive the batch's use.
  void Start(Slice prefix, int64_t now_ms,
             Direction direction = Direction::kForward,
             size_t max_rows = kMaxRows);
  // Empties the batch, keeping its filters and memory.
  void Clear() noexcept;
  // Doubles the rows the next batches may hold, up to kMaxRows: a scan
  // that starts small (it may be abandoned after a few rows) grows once it
  // goes on.
  void RaiseLimit() noexcept;
  bool full() const noexcept { return count_ == max_rows_; }

  size_t size() const noexcept { return count_; }
  // Valid until the next Clear/Start; rows are in the order collected.
  Row row(size_t i) const noexcept;
  // The bytes of rows [first, first + n) (n >= 1, all collected): they lie
  // back to back, each key followed by its value, so a run of rows copies
  // out as one block. Valid as row().
  Slice Span(size_t first, size_t n) const noexcept;
  // The first row whose key does not move on (is not strictly larger, or
  // smaller when collecting backward) from the row before it in the
  // batch; size() or more when every row does. Row 0 has no row before it
  // here: the scan compares it with what it delivered last.
  size_t first_disorder() const noexcept { return first_disorder_; }
  // True once the scan has nothing after this batch: it left the prefix,
  // or the statement finished (MarkEnd).
  bool at_end() const noexcept { return at_end_; }
  void MarkEnd() noexcept { at_end_ = true; }

  // What a collected row's value is (schema.h, "Out-of-line values").
  enum class ValueKind : uint8_t {
    kBlob,  // the stored value
    kRef,   // a reference to a values row, held as 8 bytes until resolved
    kBad,   // a type snkv never writes: damage
  };

  // Takes one row from snkv_collect. Returns true when the statement should
  // stop here (batch full, or the prefix ended). May throw std::bad_alloc.
  bool Collect(Slice key, Slice value, bool has_expiry, int64_t expires,
               ValueKind kind = ValueKind::kBlob);
  // Whether rows collected since the last Clear/Start hold references (or
  // damage): ResolveRefs must run before the rows are used.
  bool has_refs() const noexcept { return has_refs_; }
  // Replaces each reference by the stored value resolve(ref, &out) gives.
  // At the first row that fails (resolve's error, or kCorrupt for a kBad
  // row) the batch ends: the rows before it stay, and error() holds the
  // failure, to be reported once they have been delivered. May throw
  // std::bad_alloc (the batch is then unchanged).
  void ResolveRefs(
      const std::function<Status(int64_t ref, std::string* out)>& resolve);
  // OK, or why the batch ended early (see ResolveRefs).
  const Status& error() const noexcept { return error_; }

  // A batch ends after this many rows or bytes, whichever comes first: big
  // enough to spread the cost of a step, small enough to stay in cache and
  // not to read far ahead of an iterator that is abandoned early.
  static constexpr size_t kMaxRows = 64;
  static constexpr size_t kMaxBytes = size_t{32} * 1024;

 private:
  struct Offsets {
    size_t key;  // the value follows the key
    size_t key_size;
    size_t value_size;
    ValueKind kind;
  };
  // Makes room for `more` bytes after the first used_ (keeping them).
  void Grow(size_t more);

  std::unique_ptr<char[]> bytes_;  // keys and values back to back
  size_t capacity_ = 0;
  size_t used_ = 0;
  std::array<Offsets, kMaxRows> rows_;
  size_t count_ = 0;
  size_t max_rows_ = kMaxRows;
  size_t first_disorder_ = kMaxRows;  // kMaxRows: none yet
  bool forward_ = true;
  Slice prefix_;
  int64_t now_ms_ = 0;
  bool at_end_ = false;
  bool has_refs_ = false;
  Status error_;
};

// Registers snkv_collect (2 arguments: key, value; 3: key, value, expires)
// on `db`. It adds rows to *slot, which the caller points at a batch only
// while stepping a collecting statement; called with *slot null, the
// function fails the statement.
Status RegisterCollectFunction(sqlite3* db, RowBatch** slot);

}  // namespace snkv::internal

#endif  // SNKV_KV_ROW_BATCH_H
