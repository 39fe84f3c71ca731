// IteratorCore: the engine behind an Iterator.
//
// An iterator runs one of six statements over its family's table, chosen
// by how it was last positioned: from the first or last key, or from a
// bound (>=, >, <=, <) in either direction. Moving against the direction of
// the running statement re-seeks from the current key, so Next() and Prev()
// work on every iterator. Expired rows and rows outside the prefix are
// filtered in C++ rather than in SQL (here, or in RowBatch), which keeps
// every statement a plain B-tree range scan that stops where the prefix
// ends. A long scan continues with one of four collecting statements that
// hand rows over many per step (row_batch.h); for a family without TTLs
// they leave the expires column out.
#ifndef SNKV_KV_ITERATOR_CORE_H
#define SNKV_KV_ITERATOR_CORE_H

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "engine/connection.h"
#include "engine/index_cursor.h"
#include "engine/table_cursor.h"
#include "kv/row_batch.h"
#include "kv/store_core.h"
#include "snkv/iterator.h"

namespace snkv::internal {

class IteratorCore {
 public:
  // Registers with the store; the store mutex must NOT be held.
  IteratorCore(std::shared_ptr<StoreCore> store,
               std::shared_ptr<ColumnFamilyState> family,
               const IteratorOptions& options);
  // Unregisters and finalizes under the store mutex.
  ~IteratorCore();
  IteratorCore(const IteratorCore&) = delete;
  IteratorCore& operator=(const IteratorCore&) = delete;

  Status SeekToFirst();
  Status SeekToLast();
  Status Seek(Slice target);
  Status Next();
  Status Prev();
  // Iterator::ReadBatch (max_rows >= 1): one entry into the store.
  Status ReadBatch(IteratorBatch* out, size_t max_rows);

  bool Valid() const noexcept { return valid_; }
  Slice key() const noexcept { return key_; }
  Slice value() const noexcept { return value_; }
  const Status& status() const noexcept { return status_; }
  bool reverse() const noexcept { return reverse_; }

  // Called by the store (mutex held) when the store closes or the family is
  // dropped: ends the iterator for good.
  void Invalidate(const char* why);
  int64_t family_id() const noexcept { return family_->id; }

 private:
  // The first six return a row per step. A long scan switches to a
  // collecting shape (see Move); the NoTtl ones leave out the expires
  // column, for families without TTLs. kPin only holds the snapshot.
  enum class Shape : int {
    kFirst,
    kLast,
    kGe,
    kGt,
    kLe,
    kLt,
    kGtCollect,
    kLtCollect,
    kGtCollectNoTtl,
    kLtCollectNoTtl,
    kPin,
    kCount
  };
  static_assert(static_cast<size_t>(Shape::kCount) == kIteratorShapes);

  static constexpr bool IsForward(Shape s) {
    return s == Shape::kFirst || s == Shape::kGe || s == Shape::kGt ||
           s == Shape::kGtCollect || s == Shape::kGtCollectNoTtl;
  }
  static constexpr RowBatch::Direction DirectionOf(Shape s) {
    return IsForward(s) ? RowBatch::Direction::kForward
                        : RowBatch::Direction::kBackward;
  }
  // Shapes whose rows lie strictly beyond their bound.
  static constexpr bool IsStrict(Shape s) {
    return s == Shape::kGt || s == Shape::kLt || IsCollecting(s);
  }
  static constexpr bool IsCollecting(Shape s) {
    return s >= Shape::kGtCollect && s <= Shape::kLtCollectNoTtl;
  }
  // Whether the statement of `s` reads the expires column.
  static constexpr bool ReadsExpiry(Shape s) {
    return s != Shape::kGtCollectNoTtl && s != Shape::kLtCollectNoTtl;
  }

  // Readies the statement of `shape`: from the family's pool, or prepared.
  Status PrepareShape(Shape shape);
  // Runs `shape` from `bound` and moves to the first acceptable row. With
  // keep_snapshot (turning around mid-iteration) it stays in the snapshot
  // the iterator is reading; otherwise it starts from fresh data.
  Status Position(Shape shape, Slice bound, bool keep_snapshot);
  // Steps the running statement to the next acceptable row (or the end).
  Status Step();
  // Step() for a collecting statement: the next row of the batch, filling
  // the batch again when it runs out.
  Status StepCollecting();
  // Positions cursor_ for plain shape `shape` (bounded shapes seek from
  // bound_) on the snapshot's pages, when the iterator's snapshot is the
  // store's validated one, the handle has not written since, and the pin
  // that keeps the snapshot alive could be taken. False otherwise, with
  // cursor_ reset; the pin may then be held.
  bool SeekPages(Shape shape);
  // The cursor_ seek that starts plain shape `shape`.
  engine::CursorResult SeekCursor(Shape shape);
  // For a collecting shape just positioned from bound_: reads the batches
  // straight from the snapshot's pages instead of stepping the statement
  // (see "Read path" in docs/design.md) when SeekPages can. Sets paging_.
  void StartPaging(bool forward);
  // For a fresh positioning of a plain shape: when the snapshot's pages can
  // be read (see SeekPages), seeks there and fills the first
  // batch, leaving the iterator as a collecting scan that pages; a short
  // scan (a prefix, a seek and a few rows) then never steps SQL per row.
  // Returns false, having changed nothing the caller sees, when it cannot
  // (the caller then runs `shape` in SQL). bound_ holds the bound of a
  // bounded shape.
  bool StartPagedScan(Shape shape);
  enum class PageFill { kFull, kEnd, kUseSql };
  // Adds rows to batch_ from cursor_ (store mutex held).
  PageFill FillFromPages(bool forward);
  // Ends the scan: resets the running statement and unpins.
  void Finish();
  // Keeps the read transaction open with the kPin statement, so that the
  // snapshot outlives a collecting statement that finishes while rows of
  // its last batch are still to be delivered, and holds it for scans that
  // read pages. Best effort: call it while another statement or the
  // store's cached snapshot holds the transaction; takes no pin on an
  // empty table.
  void Pin();
  void Unpin();
  // True when the running scan should continue with *target, a collecting
  // shape: it has read kScanRowsBeforeMap rows and *target is prepared
  // (without the expires column if the family has no TTLs in this
  // snapshot). Asks the store once per positioning.
  bool ShouldCollect(bool forward, Shape* target);
  // Next (forward) or Prev.
  Status Move(bool forward);
  // Move's body, store mutex held.
  Status MoveLocked(bool forward);
  // Move's fast path: when the next row is waiting in the batch, moves to
  // it and returns true; otherwise changes nothing and returns false.
  bool NextInBatch(bool forward);
  // NextInBatch's body, store mutex held.
  bool NextInBatchLocked(bool forward);
  // Whether the next move in direction `forward` may take the batch's row
  // batch_next_ (if that row passes the guard and order checks): the
  // iterator is on a collecting statement's row with more batched rows
  // after it, and the batch still shows what SQLite would.
  bool BatchServes(bool forward) const;
  // For ReadBatch: how many rows from batch_next_ (at most `limit`) may be
  // handed out as they lie in the batch, with no per-row check (see the
  // definition); 0 when the rows must go one by one.
  size_t RowsAsTheyLie(bool forward, size_t limit) const;
  // Copies batch rows [batch_next_, batch_next_ + n) to *out as one block
  // and moves batch_next_ past them. May throw std::bad_alloc, having
  // changed nothing.
  void AppendRun(IteratorBatch* out, size_t n);
  // True when the batch may no longer show what SQLite would: the handle
  // changed rows (or rolled back) since it was filled, or has puts
  // buffered.
  bool BatchIsStale() const;
  // True when the running statement leaves out the expires column but the
  // handle has since created an expiry index, so its new TTL rows would
  // show unfiltered.
  bool ExpiryFilterIsStale() const;
  // Called by Move() before it moves in direction `forward`: once the
  // handle has written since the scan was positioned, remembers the current
  // key as the guard (see PastGuard).
  void UpdateGuard(bool forward);
  // Whether a row with `key` may be returned by the move in progress: past
  // the guard in its direction, or no guard is set. A statement that meets
  // its own connection's writes can step onto a row it has already
  // returned (an overwritten key is deleted and inserted again; plain
  // SQLite does the same), and moves promise strictly larger or smaller
  // keys.
  bool PastGuard(Slice key) const noexcept {
    if (!guard_) return true;
    const int c = key.compare(guard_key_);
    return guard_forward_ ? c > 0 : c < 0;
  }
  // Whether `key` lies strictly beyond `prev` in the running statement's
  // direction.
  bool MovesOn(Slice key, Slice prev) const noexcept {
    const int c = key.compare(prev);
    return IsForward(running_shape_) ? c > 0 : c < 0;
  }
  // Whether batch row `i` moves on from the row delivered before it (the
  // batch's previous row, or prev_key_ for its first). Damage that puts a
  // page's keys out of order (a page image copied over another, a key
  // byte changed in place) shows here; SQLite would return such rows as
  // they lie, but moves promise strictly larger or smaller keys, so the
  // scan reports corruption instead.
  // The batch compared each of its rows with the one before as it
  // collected them (RowBatch::first_disorder), while that key was still in
  // cache; only a batch's first row is compared here.
  bool BatchRowInOrder(size_t i) const noexcept {
    if (i > 0) return i < batch_.first_disorder();
    return !has_prev_ || MovesOn(batch_.row(i).key, prev_key_);
  }
  // Enters the store through Call(), keeping status_ in step.
  template <class Body>
  Status Enter(Body&& body);

  std::shared_ptr<StoreCore> store_;
  std::shared_ptr<ColumnFamilyState> family_;
  std::string prefix_;
  std::string prefix_end_;  // smallest key above the prefix; "" = none
  bool reverse_;
  bool invalidated_ = false;

  std::array<engine::Statement, static_cast<size_t>(Shape::kCount)> stmts_;
  engine::Statement* running_ = nullptr;
  std::string bound_;  // the running statement's bound parameter
  Shape running_shape_ = Shape::kFirst;  // of running_, when set
  int64_t now_ms_ = 0;
  int rows_read_ = 0;  // by the running statement, up to kScanRowsBeforeMap
  bool collect_checked_ = false;  // ShouldCollect asked the store
  uint64_t expiry_epoch_ = 0;  // store's expiry_indexes_created() at the switch
  RowBatch batch_;             // rows of a collecting statement
  // The store's page snapshot when the iterator was positioned afresh, and
  // the store's change_epoch() then (see StartPaging).
  engine::PageSnapshot page_snapshot_;
  uint64_t page_epoch_ = 0;
  std::optional<engine::IndexCursor> cursor_;  // on the next row to collect
  // The values table's cursor for cursor_'s rows (StoreCore::
  // ValueFromPages): kept from row to row and batch to batch, reset with
  // cursor_, so a scan of values loaded in key order finds each one next
  // to the last.
  std::optional<engine::TableCursor> values_cursor_;
  // Ends a scan through the pages: both cursors go together.
  void DropPageCursors() noexcept {
    cursor_.reset();
    values_cursor_.reset();
  }
  bool paging_ = false;  // batches come from cursor_
  bool cursor_at_end_ = false;
  std::string value_record_buf_;  // out-of-line values read from the pages
  std::string record_buf_;        // records that spill onto overflow pages
  size_t batch_next_ = 0;         // the next of them to deliver
  uint64_t batch_epoch_ = 0;      // store's change_epoch() when it was filled
  engine::Statement* pin_ = nullptr;  // stmts_[kPin] while it holds a row
  // Whether running_ is a collecting statement: a hint read without the
  // store mutex (Invalidate may clear it from another thread), so that
  // NextInBatch, which checks everything again under the mutex, is tried
  // only when it may succeed.
  std::atomic<bool> collecting_{false};

  // The guard (see UpdateGuard): set while the handle has written since the
  // scan was positioned; guard_epoch_ is the store's change_epoch() when it
  // was last looked at.
  bool guard_ = false;
  // The key every row to come must move on from (see MovesOn), where the
  // running statement or batch cannot show it: the strict bound of a new
  // statement, the last row of a batch that was refilled, or the last row
  // a plain statement returned. has_prev_: there is one.
  std::string prev_key_;
  bool has_prev_ = false;
  bool guard_forward_ = true;
  std::string guard_key_;
  uint64_t guard_epoch_ = 0;

  bool valid_ = false;
  Slice key_;  // into the running statement's current row or into batch_
  std::string value_buf_;   // decrypted value on encrypted stores
  std::string stored_buf_;  // an out-of-line stored value (SQL rows)
  Slice value_;
  Status status_;
};

}  // namespace snkv::internal

#endif  // SNKV_KV_ITERATOR_CORE_H
