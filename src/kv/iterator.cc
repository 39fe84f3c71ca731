// Ordered iteration: IteratorCore (statements and positioning) and the
// public Iterator that owns one.
#include "snkv/iterator.h"

#include <algorithm>
#include <iterator>
#include <new>
#include <string>
#include <utility>

#include "kv/iterator_core.h"
#include "snkv/store.h"

namespace snkv {
namespace internal {

namespace {

// The smallest key greater than every key that starts with `prefix`, or ""
// when there is none (an empty prefix, or one made only of 0xFF bytes).
std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

const char* ShapeSql(int shape) {
  // Two of the statements are split literals, joined on purpose.
  // NOLINTBEGIN(bugprone-suspicious-missing-comma)
  static const char* const kSql[] = {
      "SELECT k, v, expires FROM %T ORDER BY k",
      "SELECT k, v, expires FROM %T ORDER BY k DESC",
      "SELECT k, v, expires FROM %T WHERE k >= ?1 ORDER BY k",
      "SELECT k, v, expires FROM %T WHERE k > ?1 ORDER BY k",
      "SELECT k, v, expires FROM %T WHERE k <= ?1 ORDER BY k DESC",
      "SELECT k, v, expires FROM %T WHERE k < ?1 ORDER BY k DESC",
      "SELECT 1 FROM %T WHERE k > ?1 AND snkv_collect(k, v, expires) "
      "ORDER BY k",
      "SELECT 1 FROM %T WHERE k < ?1 AND snkv_collect(k, v, expires) "
      "ORDER BY k DESC",
      "SELECT 1 FROM %T WHERE k > ?1 AND snkv_collect(k, v) ORDER BY k",
      "SELECT 1 FROM %T WHERE k < ?1 AND snkv_collect(k, v) ORDER BY k DESC",
      "SELECT 1 FROM %T",
  };
  // NOLINTEND(bugprone-suspicious-missing-comma)
  static_assert(std::size(kSql) == kIteratorShapes);
  return kSql[shape];
}

// Rows in the first batch of a scan that pages from its start; later
// batches double up to RowBatch::kMaxRows. A seek that reads ten rows
// should not copy sixty-four.
constexpr size_t kFirstPagedRows = 16;

// What a scan reports when the pages give it a key that does not move on
// from the last (see IteratorCore::BatchRowInOrder).
Status KeysOutOfOrder() {
  return Status::Corrupt(
      "database disk image is malformed (a scan met keys out of order)");
}

std::string WithTable(const char* sql, const std::string& table) {
  std::string out(sql);
  out.replace(out.find("%T"), 2, table);
  return out;
}

}  // namespace

IteratorCore::IteratorCore(std::shared_ptr<StoreCore> store,
                           std::shared_ptr<ColumnFamilyState> family,
                           const IteratorOptions& options)
    : store_(std::move(store)),
      family_(std::move(family)),
      prefix_(options.prefix),
      prefix_end_(PrefixEnd(options.prefix)),
      reverse_(options.reverse) {
  status_ = store_->Call([&] {
    Status s = store_->CheckUsable(*family_);
    // A statement reused from the pool would not notice a family another
    // connection dropped until it runs: look in the (fresh) schema now.
    if (s.ok()) s = store_->PrepareRead();
    if (s.ok()) s = store_->CheckExists(*family_);
    if (!s.ok()) return s;
    s = PrepareShape(Shape::kFirst);
    if (!s.ok()) return s;
    store_->RegisterIterator(this);
    store_->CountIteration();
    return Status::OK();
  });
  invalidated_ = !status_.ok();
}

IteratorCore::~IteratorCore() {
  store_->WithLock([this] {
    // Hand reusable statements back to the family; an invalidated iterator
    // has finalized its own already.
    for (size_t i = 0; i < stmts_.size(); ++i) {
      engine::Statement& stmt = stmts_[i];
      if (!stmt.is_prepared()) continue;
      stmt.Reset();
      auto& pool = family_->iterator_pool[i];
      if (!family_->dropped && pool.size() < kIteratorPoolSize) {
        pool.push_back(std::move(stmt));
      } else {
        stmt.Finalize();
      }
    }
    store_->UnregisterIterator(this);
    family_.reset();  // may own statements: release under the mutex
  });
}

void IteratorCore::Invalidate(const char* why) {
  for (auto& stmt : stmts_) stmt.Finalize();
  running_ = nullptr;
  pin_ = nullptr;
  paging_ = false;
  DropPageCursors();
  batch_.Clear();
  collecting_.store(false, std::memory_order_relaxed);
  valid_ = false;
  key_ = Slice();
  value_ = Slice();
  invalidated_ = true;
  status_ = Status::Error(why);
}

template <class Body>
Status IteratorCore::Enter(Body&& body) {
  Status s = store_->Call([&] {
    if (invalidated_) return Status(status_);
    return body();
  });
  if (!s.ok()) {
    valid_ = false;
    status_ = s;
  } else if (!invalidated_) {
    status_ = Status::OK();
  }
  return s;
}

Status IteratorCore::PrepareShape(Shape shape) {
  auto index = static_cast<size_t>(shape);
  engine::Statement& stmt = stmts_[index];
  if (stmt.is_prepared()) return Status::OK();
  auto& pool = family_->iterator_pool[index];
  if (!pool.empty()) {
    stmt = std::move(pool.back());
    pool.pop_back();
    return Status::OK();
  }
  Status s = stmt.Prepare(
      store_->connection(),
      WithTable(ShapeSql(static_cast<int>(index)), family_->table));
  if (s.ok()) return s;
  return store_->CfError(
      *family_, stmt, sqlite3_errcode(store_->connection().get()), "iterator");
}

Status IteratorCore::Position(Shape shape, Slice bound, bool keep_snapshot) {
  // Copy the bound first: it may point into the running statement's row
  // (the caller may seek to key()), which ending that statement frees.
  const bool bounded = shape != Shape::kFirst && shape != Shape::kLast;
  if (bounded) bound_.assign(bound.data(), bound.size());
  has_prev_ = IsStrict(shape);
  if (has_prev_) prev_key_ = bound_;
  engine::Statement* previous = running_;
  running_ = nullptr;
  collecting_.store(false, std::memory_order_relaxed);
  valid_ = false;
  if (!keep_snapshot) {
    // A new positioning reads fresh data.
    if (previous != nullptr) previous->Reset();
    previous = nullptr;
    Unpin();
    Status s = store_->PrepareRead();
    if (!s.ok()) return s;
    page_snapshot_ = store_->page_snapshot();
    page_epoch_ = store_->change_epoch();
    // A fresh positioning may land anywhere.
    guard_ = false;
    guard_epoch_ = page_epoch_;
  }
  paging_ = false;
  DropPageCursors();
  if (!keep_snapshot && StartPagedScan(shape)) return StepCollecting();
  Status s = PrepareShape(shape);
  if (!s.ok()) {
    if (previous != nullptr) previous->Reset();
    Unpin();
    return s;
  }
  engine::Statement& stmt = stmts_[static_cast<size_t>(shape)];
  // Bound SQLITE_STATIC: bound_ outlives the run.
  if (bounded) stmt.BindBlob(1, bound_);
  running_ = &stmt;
  running_shape_ = shape;
  collecting_.store(IsCollecting(shape), std::memory_order_relaxed);
  now_ms_ = NowMs();
  rows_read_ = 0;
  if (!keep_snapshot) collect_checked_ = false;
  if (IsCollecting(shape)) {
    batch_.Start(prefix_, now_ms_, DirectionOf(shape));
    batch_next_ = 0;
    // Only while the previous statement still holds the snapshot can the
    // pin that paging needs be taken in it.
    if (previous != nullptr) StartPaging(IsForward(shape));
  }
  s = Step();
  if (previous != nullptr) {
    // Turning around or switching: the previous statement kept the read
    // transaction (and so the snapshot) alive until the new one had
    // started in it. A collecting statement may finish before its last
    // rows are delivered, so it gets a pin meanwhile.
    if (valid_ && IsCollecting(shape)) Pin();
    previous->Reset();
  }
  return s;
}

bool IteratorCore::SeekPages(Shape shape) {
  if (!page_snapshot_.usable() || store_->change_epoch() != page_epoch_ ||
      store_->has_pending_writes()) {
    return false;
  }
  Pin();
  if (pin_ == nullptr) return false;
  const uint32_t root =
      store_->RootPage(*family_, page_snapshot_.schema_cookie);
  if (root == 0) return false;
  engine::PageSource::ReadScope scope(store_->pages());
  cursor_.emplace(store_->pages(), page_snapshot_, root);
  values_cursor_.reset();
  const engine::CursorResult r = SeekCursor(shape);
  if (r == engine::CursorResult::kFallback) {
    DropPageCursors();
    return false;
  }
  cursor_at_end_ = r == engine::CursorResult::kEnd;
  return true;
}

engine::CursorResult IteratorCore::SeekCursor(Shape shape) {
  switch (shape) {
    case Shape::kFirst:
      return cursor_->SeekFirst();
    case Shape::kLast:
      return cursor_->SeekLast();
    case Shape::kGe:
      return cursor_->SeekForward(bound_, true);
    case Shape::kGt:
      return cursor_->SeekForward(bound_, false);
    case Shape::kLe:
      return cursor_->SeekBackward(bound_, true);
    case Shape::kLt:
      return cursor_->SeekBackward(bound_, false);
    default:
      return engine::CursorResult::kFallback;  // not a plain shape
  }
}

void IteratorCore::StartPaging(bool forward) {
  // The collecting shapes' bounds are strict: k > bound or k < bound.
  if (SeekPages(forward ? Shape::kGt : Shape::kLt)) paging_ = true;
}

bool IteratorCore::StartPagedScan(Shape shape) {
  const bool forward = IsForward(shape);
  // Should pages give out, SQL goes on after the last row collected,
  // filtering expiries (the check for a family without TTLs is not worth
  // its cost on a short scan).
  const Shape collecting = forward ? Shape::kGtCollect : Shape::kLtCollect;
  if (!SeekPages(shape) || !PrepareShape(collecting).ok()) {
    DropPageCursors();
    Unpin();
    return false;
  }
  now_ms_ = NowMs();
  batch_.Start(prefix_, now_ms_, DirectionOf(shape), kFirstPagedRows);
  batch_next_ = 0;
  PageFill fill = PageFill::kUseSql;
  try {
    fill = FillFromPages(forward);
  } catch (const std::bad_alloc&) {
    fill = PageFill::kUseSql;  // SQL reports the shortage, if it persists
  }
  if (fill == PageFill::kUseSql && batch_.size() == 0) {
    // Nothing collected, so no row to go on after: start over in SQL.
    DropPageCursors();
    batch_.Clear();
    Unpin();
    return false;
  }
  engine::Statement& stmt = stmts_[static_cast<size_t>(collecting)];
  if (batch_.size() > 0) {
    const Slice last = batch_.row(batch_.size() - 1).key;
    bound_.assign(last.data(), last.size());
  }
  paging_ = fill != PageFill::kUseSql;
  if (paging_) {
    if (fill == PageFill::kEnd) batch_.MarkEnd();
  } else {
    DropPageCursors();
    stmt.BindBlob(1, bound_);  // SQLITE_STATIC: bound_ is left alone now
  }
  running_ = &stmt;
  running_shape_ = collecting;
  collecting_.store(true, std::memory_order_relaxed);
  batch_epoch_ = store_->change_epoch();
  rows_read_ = 0;
  collect_checked_ = true;
  return true;
}

IteratorCore::PageFill IteratorCore::FillFromPages(bool forward) {
  engine::PageSource::ReadScope scope(store_->pages());
  for (;;) {
    if (cursor_at_end_) return PageFill::kEnd;
    Slice record;
    StoredRow row;
    if (cursor_->Record(&record_buf_, &record) != engine::CursorResult::kOk ||
        !DecodeStoredRow(record, &row)) {
      return PageFill::kUseSql;
    }
    // An out-of-line value, from the values table's pages; if they cannot
    // tell, SQL goes on from this row and resolves it (or reports why
    // not). Its own buffer: row.key may be in record_buf_.
    if (row.value_ref != 0 &&
        !store_->ValueFromPages(*family_, page_snapshot_, row.value_ref,
                                &values_cursor_, &value_record_buf_,
                                &row.value)) {
      return PageFill::kUseSql;
    }
    const bool stop =
        batch_.Collect(row.key, row.value, row.has_expiry, row.expires);
    const engine::CursorResult r = forward ? cursor_->Next() : cursor_->Prev();
    if (r == engine::CursorResult::kFallback) {
      // The row is in the batch; SQL goes on after it.
      return stop ? PageFill::kFull : PageFill::kUseSql;
    }
    cursor_at_end_ = r == engine::CursorResult::kEnd;
    if (stop) return PageFill::kFull;
  }
}

void IteratorCore::Finish() {
  if (running_ != nullptr) running_->Reset();
  running_ = nullptr;
  paging_ = false;
  DropPageCursors();
  collecting_.store(false, std::memory_order_relaxed);
  Unpin();
}

void IteratorCore::Pin() {
  if (pin_ != nullptr || !PrepareShape(Shape::kPin).ok()) return;
  engine::Statement& stmt = stmts_[static_cast<size_t>(Shape::kPin)];
  // The family's table has rows in this snapshot: the scan read them.
  if (stmt.Step() == SQLITE_ROW) {
    pin_ = &stmt;
  } else {
    stmt.Reset();
  }
}

void IteratorCore::Unpin() {
  if (pin_ != nullptr) pin_->Reset();
  pin_ = nullptr;
}

Status IteratorCore::Step() {
  valid_ = false;
  if (running_ == nullptr) return Status::OK();
  if (IsCollecting(running_shape_)) return StepCollecting();
  for (;;) {
    int rc = running_->Step();
    if (rc == SQLITE_DONE) {
      Finish();
      return Status::OK();
    }
    if (rc != SQLITE_ROW) {
      Status s = store_->CfError(*family_, *running_, rc, "iterator step");
      Finish();
      return s;
    }
    if (rows_read_ < kScanRowsBeforeMap && ++rows_read_ == kScanRowsBeforeMap) {
      store_->NoteLongScan();
    }
    Slice key = running_->ColumnBlob(0);
    // Outside the prefix: in key order everything further is outside too.
    if (!prefix_.empty() && !key.starts_with(prefix_)) {
      Finish();
      return Status::OK();
    }
    if (ReadsExpiry(running_shape_) && !running_->ColumnIsNull(2) &&
        running_->ColumnInt(2) <= now_ms_) {
      continue;  // expired: invisible
    }
    if (!PastGuard(key)) continue;  // already returned
    if (!guard_ && has_prev_ && !MovesOn(key, prev_key_)) {
      Finish();
      return KeysOutOfOrder();
    }
    prev_key_.assign(key.data(), key.size());
    has_prev_ = true;
    // The key stays in the statement's row until the next step, which is
    // as long as key() must stay valid; turning around copies it first.
    key_ = key;
    // On an encrypted store a value that fails authentication ends the
    // iteration with an error: never wrong bytes.
    Slice stored;
    Status s =
        store_->StoredValue(*family_, *running_, 1, &stored_buf_, &stored);
    if (s.ok()) {
      s = store_->OpenValue(family_->id, key_, stored, &value_buf_, &value_);
    }
    if (!s.ok()) {
      Finish();
      return s;
    }
    valid_ = true;
    return Status::OK();
  }
}

Status IteratorCore::StepCollecting() {
  for (;;) {
    if (batch_next_ < batch_.size()) {
      const size_t i = batch_next_++;
      const RowBatch::Row row = batch_.row(i);
      if (!PastGuard(row.key)) continue;  // already returned
      if (!guard_ && !BatchRowInOrder(i)) {
        Finish();
        return KeysOutOfOrder();
      }
      key_ = row.key;
      Status s =
          store_->OpenValue(family_->id, key_, row.value, &value_buf_, &value_);
      if (!s.ok()) {
        Finish();
        return s;
      }
      valid_ = true;
      return Status::OK();
    }
    if (batch_.at_end()) {
      Status s = batch_.error();
      Finish();
      return s;
    }
    if (batch_.size() > 0) {
      // Every row of the batch was delivered (or skipped by the guard):
      // the next batch's first row must move on from its last.
      const Slice last = batch_.row(batch_.size() - 1).key;
      prev_key_.assign(last.data(), last.size());
      has_prev_ = true;
    }
    batch_.Clear();
    batch_.RaiseLimit();
    batch_next_ = 0;
    store_->NoteSnapshotUse();  // a scan is no idle handle
    int rc = SQLITE_ROW;
    if (paging_) {
      PageFill fill = PageFill::kUseSql;
      try {
        fill = FillFromPages(IsForward(running_shape_));
      } catch (const std::bad_alloc&) {
        Finish();
        return Status(Code::kNoMem, "out of memory");
      }
      if (fill == PageFill::kEnd) rc = SQLITE_DONE;
      // bound_ follows the last row collected, where SQL would go on.
      if (batch_.size() > 0) {
        const Slice last = batch_.row(batch_.size() - 1).key;
        bound_.assign(last.data(), last.size());
      }
      if (fill == PageFill::kUseSql) {
        // The statement starts after that row, in the snapshot the pin
        // holds; bound_ stays bound to it from here on.
        paging_ = false;
        DropPageCursors();
        running_->BindBlob(1, bound_);
      }
    }
    if (!paging_) {
      rc = store_->StepCollecting(*running_, &batch_);
      if (batch_.has_refs() && (rc == SQLITE_ROW || rc == SQLITE_DONE)) {
        // Out-of-line values, read while the statement still holds the
        // snapshot its rows came from.
        // A failure ends the batch (RowBatch::error), after its good rows.
        try {
          batch_.ResolveRefs([this](int64_t ref, std::string* out) {
            return store_->ResolveValue(*family_, ref, out);
          });
        } catch (const std::bad_alloc&) {
          batch_.Clear();
          Finish();
          return Status(Code::kNoMem, "out of memory");
        }
      }
    }
    batch_epoch_ = store_->change_epoch();
    if (rc == SQLITE_DONE) {
      batch_.MarkEnd();  // its rows are still to be delivered
    } else if (rc != SQLITE_ROW) {
      Status s = store_->CfError(*family_, *running_, rc, "iterator step");
      Finish();
      return s;
    }
  }
}

bool IteratorCore::ShouldCollect(bool forward, Shape* target) {
  if (IsCollecting(running_shape_) || collect_checked_ ||
      rows_read_ < kScanRowsBeforeMap) {
    return false;
  }
  collect_checked_ = true;
  // Asked while the running statement holds the read transaction open, so
  // the answer is about the snapshot being read. On any error keep
  // filtering expired rows.
  bool may_have_ttl = true;
  if (!store_->MayHaveTtl(*family_, &may_have_ttl).ok()) may_have_ttl = true;
  if (may_have_ttl) {
    *target = forward ? Shape::kGtCollect : Shape::kLtCollect;
  } else {
    *target = forward ? Shape::kGtCollectNoTtl : Shape::kLtCollectNoTtl;
  }
  // On failure keep stepping row by row: the switch is only an
  // optimisation.
  if (!PrepareShape(*target).ok()) return false;
  expiry_epoch_ = store_->expiry_indexes_created();
  return true;
}

Status IteratorCore::SeekToFirst() {
  return Enter([&] {
    if (prefix_.empty()) return Position(Shape::kFirst, {}, false);
    return Position(Shape::kGe, prefix_, false);
  });
}

Status IteratorCore::SeekToLast() {
  return Enter([&] {
    if (prefix_end_.empty()) return Position(Shape::kLast, {}, false);
    return Position(Shape::kLt, prefix_end_, false);
  });
}

Status IteratorCore::Seek(Slice target) {
  return Enter([&] {
    if (!reverse_) {
      // Below the prefix: start at its first key.
      if (target.compare(prefix_) < 0)
        return Position(Shape::kGe, prefix_, false);
      return Position(Shape::kGe, target, false);
    }
    // Above the prefix: start at its last key.
    if (!prefix_end_.empty() && target.compare(prefix_end_) >= 0) {
      return Position(Shape::kLt, prefix_end_, false);
    }
    return Position(Shape::kLe, target, false);
  });
}

Status IteratorCore::Next() {
  // The flag spares scans that do not collect a second trip to the mutex.
  if (collecting_.load(std::memory_order_relaxed) &&
      NextInBatch(/*forward=*/true)) {
    return Status::OK();
  }
  return Move(/*forward=*/true);
}

Status IteratorCore::Prev() {
  if (collecting_.load(std::memory_order_relaxed) &&
      NextInBatch(/*forward=*/false)) {
    return Status::OK();
  }
  return Move(/*forward=*/false);
}

bool IteratorCore::BatchIsStale() const {
  return store_->has_pending_writes() || store_->change_epoch() != batch_epoch_;
}

bool IteratorCore::ExpiryFilterIsStale() const {
  return !ReadsExpiry(running_shape_) &&
         store_->expiry_indexes_created() != expiry_epoch_;
}

bool IteratorCore::NextInBatch(bool forward) {
  bool moved = false;
  store_->WithLock([&] { moved = NextInBatchLocked(forward); });
  return moved;
}

bool IteratorCore::BatchServes(bool forward) const {
  // (A closed store has invalidated its iterators.)
  return !invalidated_ && valid_ && running_ != nullptr &&
         IsCollecting(running_shape_) && IsForward(running_shape_) == forward &&
         batch_next_ < batch_.size() && !BatchIsStale() &&
         !ExpiryFilterIsStale();
}

bool IteratorCore::NextInBatchLocked(bool forward) {
  // Everything Move() would check before Step(), for the one case that
  // needs no SQLite call: the collecting statement already has the row.
  if (!BatchServes(forward) || !PastGuard(batch_.row(batch_next_).key) ||
      (!guard_ && !BatchRowInOrder(batch_next_))) {
    return false;
  }
  const RowBatch::Row row = batch_.row(batch_next_);
  Slice value;
  if (!store_->OpenValue(family_->id, row.key, row.value, &value_buf_, &value)
           .ok()) {
    return false;  // Move() meets the failure again and reports it
  }
  ++batch_next_;
  key_ = row.key;
  value_ = value;
  return true;  // valid_ and an OK status_ stay as they were
}

size_t IteratorCore::RowsAsTheyLie(bool forward, size_t limit) const {
  // Rows whose stored bytes are what the caller gets: no decryption, no
  // guard to filter by (the handle has not written since the scan was
  // positioned; with a write since, the guard is about to be set), in
  // order as checked when the batch was filled.
  if (limit == 0 || !BatchServes(forward) || store_->encrypted() || guard_ ||
      store_->change_epoch() != guard_epoch_) {
    return 0;
  }
  const size_t first = batch_next_;
  if (first == 0 ? !BatchRowInOrder(0) : first >= batch_.first_disorder()) {
    return 0;
  }
  // Rows [first, end) each move on from the row before them (row 0: from
  // the last row delivered).
  const size_t end = std::min(batch_.size(), batch_.first_disorder());
  return std::min(end - first, limit);
}

void IteratorCore::AppendRun(IteratorBatch* out, size_t n) {
  // Room for the offsets first: once the bytes are in, nothing can fail,
  // so a shortage leaves both the batch and the iterator as they were.
  out->ReserveRows(n);
  const Slice span = batch_.Span(batch_next_, n);
  const size_t offset = out->bytes_.size();
  out->bytes_.append(span.data(), span.size());
  for (size_t i = 0; i < n; ++i) {
    const RowBatch::Row row = batch_.row(batch_next_ + i);
    const size_t key_end = offset +
                           static_cast<size_t>(row.key.data() - span.data()) +
                           row.key.size();
    out->ends_.push_back(key_end);
    out->ends_.push_back(key_end + row.value.size());
  }
  batch_next_ += n;
}

Status IteratorCore::ReadBatch(IteratorBatch* out, size_t max_rows) {
  return Enter([&]() -> Status {
    const bool forward = !reverse_;
    size_t added = 0;
    while (valid_ && added < max_rows) {
      try {
        out->Append(key_, value_);
        ++added;
        // Rows waiting in the batch go over as one block; the move after
        // them lands on the row that follows, as if stepped one by one.
        const size_t run = RowsAsTheyLie(forward, max_rows - added);
        if (run > 0) {
          AppendRun(out, run);
          added += run;
        }
      } catch (const std::bad_alloc&) {
        // The iterator stays on the first row not copied.
        return Status(Code::kNoMem, "out of memory");
      }
      if (NextInBatchLocked(forward)) continue;
      Status s = MoveLocked(forward);
      if (!s.ok()) return s;
    }
    return Status::OK();
  });
}

void IteratorCore::UpdateGuard(bool forward) {
  const uint64_t epoch = store_->change_epoch();
  if (!guard_ && epoch == guard_epoch_) return;  // nothing written: no cost
  // Between this handle's writes a statement only moves on, so the guard
  // needs renewing only when the handle wrote again, or when the scan
  // turns around.
  if (!guard_ || epoch != guard_epoch_ || guard_forward_ != forward) {
    guard_key_.assign(key_.data(), key_.size());
    guard_forward_ = forward;
    guard_epoch_ = epoch;
    guard_ = true;
  }
}

Status IteratorCore::Move(bool forward) {
  return Enter([&] { return MoveLocked(forward); });
}

Status IteratorCore::MoveLocked(bool forward) {
  if (!valid_) return Status::OK();  // at the end it stays there
  UpdateGuard(forward);
  const Shape strict = forward ? Shape::kGt : Shape::kLt;
  // Re-seek row by row from the current key when turning around, or when
  // the handle wrote since the batch was copied (as SQLite shows a
  // statement its own connection's changes); either way the new leg may
  // become a long scan and collect again.
  if (running_ == nullptr || IsForward(running_shape_) != forward ||
      (IsCollecting(running_shape_) && BatchIsStale())) {
    collect_checked_ = false;
    return Position(strict, key_, /*keep_snapshot=*/true);
  }
  if (ExpiryFilterIsStale()) {
    // This handle has written its first TTLs since the switch, and the
    // running statement would show its rows: filter again.
    return Position(forward ? Shape::kGtCollect : Shape::kLtCollect, key_,
                    /*keep_snapshot=*/true);
  }
  Shape collecting = Shape::kCount;
  if (ShouldCollect(forward, &collecting)) {
    return Position(collecting, key_, /*keep_snapshot=*/true);
  }
  return Step();
}

}  // namespace internal

// ---- public Iterator -------------------------------------------------------

namespace {
const Status& NotOpen() {
  static const Status kNotOpen = Status::Error("iterator is not open");
  return kNotOpen;
}
}  // namespace

Iterator::Iterator() noexcept = default;
Iterator::Iterator(std::unique_ptr<internal::IteratorCore> core) noexcept
    : core_(std::move(core)) {}
Iterator::~Iterator() = default;
Iterator::Iterator(Iterator&&) noexcept = default;
Iterator& Iterator::operator=(Iterator&&) noexcept = default;

Status Iterator::SeekToFirst() {
  return core_ ? core_->SeekToFirst() : NotOpen();
}
Status Iterator::SeekToLast() {
  return core_ ? core_->SeekToLast() : NotOpen();
}
Status Iterator::SeekToStart() {
  return reverse() ? SeekToLast() : SeekToFirst();
}
Status Iterator::Seek(Slice target) {
  return core_ ? core_->Seek(target) : NotOpen();
}
Status Iterator::Next() { return core_ ? core_->Next() : NotOpen(); }
Status Iterator::ReadBatch(IteratorBatch* batch, size_t max_rows) {
  if (!core_) return NotOpen();
  if (batch == nullptr) return Status::Error("ReadBatch: batch is null");
  if (max_rows == 0) return Status::OK();
  return core_->ReadBatch(batch, max_rows);
}
Status Iterator::Prev() { return core_ ? core_->Prev() : NotOpen(); }
Status Iterator::Advance() { return reverse() ? Prev() : Next(); }

bool Iterator::Valid() const noexcept { return core_ && core_->Valid(); }
Slice Iterator::key() const noexcept { return core_ ? core_->key() : Slice(); }
Slice Iterator::value() const noexcept {
  return core_ ? core_->value() : Slice();
}
const Status& Iterator::status() const noexcept {
  return core_ ? core_->status() : NotOpen();
}
bool Iterator::reverse() const noexcept { return core_ && core_->reverse(); }
void Iterator::Close() noexcept { core_.reset(); }

// ---- IteratorBatch ---------------------------------------------------------

Slice IteratorBatch::key(size_t i) const noexcept {
  const size_t start = i == 0 ? 0 : ends_[2 * i - 1];
  return Slice(bytes_.data() + start, ends_[2 * i] - start);
}

Slice IteratorBatch::value(size_t i) const noexcept {
  const size_t start = ends_[2 * i];
  return Slice(bytes_.data() + start, ends_[2 * i + 1] - start);
}

void IteratorBatch::Clear() noexcept {
  // Keep the memory for the next batch, unless huge rows grew it.
  if (bytes_.capacity() > kKeepBytes) {
    std::string().swap(bytes_);
  } else {
    bytes_.clear();
  }
  ends_.clear();
}

void IteratorBatch::ReserveRows(size_t n) {
  // Doubling, as push_back would: reserving just what each call needs
  // would copy the offsets on every row.
  const size_t need = ends_.size() + 2 * n;
  if (need > ends_.capacity()) {
    ends_.reserve(std::max(need, 2 * ends_.capacity()));
  }
}

void IteratorBatch::Append(Slice key, Slice value) {
  // Offsets first: a shortage then leaves the batch as it was.
  ReserveRows(1);
  const size_t old_size = bytes_.size();
  try {
    bytes_.append(key.data(), key.size());
    bytes_.append(value.data(), value.size());
  } catch (...) {
    bytes_.resize(old_size);  // shrinking: no allocation
    throw;
  }
  ends_.push_back(bytes_.size() - value.size());
  ends_.push_back(bytes_.size());
}

Iterator::Cursor Iterator::begin() {
  (void)SeekToStart();  // an error shows in status() and ends the loop
  return Cursor(this);
}

Iterator::Cursor& Iterator::Cursor::operator++() {
  (void)it_->Advance();
  Load();
  return *this;
}

void Iterator::Cursor::Load() {
  if (it_->Valid()) entry_ = {it_->key(), it_->value()};
}

Iterator ColumnFamily::NewIterator(const IteratorOptions& options) {
  if (!store_) return Iterator();
  return Iterator(
      std::make_unique<internal::IteratorCore>(store_, state_, options));
}

}  // namespace snkv
