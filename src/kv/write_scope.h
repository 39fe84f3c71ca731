// StoreCore::WriteScope: an atomic unit of several statements.
#ifndef SNKV_KV_WRITE_SCOPE_H
#define SNKV_KV_WRITE_SCOPE_H

#include "kv/store_core.h"

namespace snkv::internal {

// An atomic unit of several statements. Outside a transaction it is a
// transaction of its own (BEGIN IMMEDIATE, so it waits for the write lock
// up front instead of failing on upgrade); inside a write transaction it is
// a savepoint, so a failure undoes only this unit.
//
// A scope made with kMayPin runs, outside a transaction, inside the write
// pin when it can (StoreCore::StepAutocommitWrite says why): its caller
// promises that it changes no schema, which would expire the pin's
// statement.
class StoreCore::WriteScope {
 public:
  enum Pin { kNoPin, kMayPin };

  explicit WriteScope(StoreCore& core, Pin pin = kNoPin)
      : core_(core), may_pin_(pin == kMayPin) {}
  ~WriteScope() {
    if (open_ && !done_) {
      (void)core_.conn_.Exec(nested_ ? "ROLLBACK TO snkv_op; RELEASE snkv_op"
                                     : "ROLLBACK");
      if (pinned_) core_.ReleaseWritePin();
    }
  }
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;

  Status Begin() {
    nested_ = core_.txn_ == Txn::kWrite;
    if (!nested_ && may_pin_) {
      Status s = core_.PrepareWrite(/*keep_write_pin=*/true);
      if (!s.ok()) return s;
      if (BeginPinned()) return Status::OK();
    }
    Status s = core_.PrepareWrite();
    if (!s.ok()) return s;
    s = core_.conn_.Exec(nested_ ? "SAVEPOINT snkv_op" : "BEGIN IMMEDIATE");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    Status s = core_.conn_.Exec(nested_ ? "RELEASE snkv_op" : "COMMIT");
    if (s.ok()) {
      done_ = true;
      if (pinned_) core_.AfterPinnedWrite();
    }
    return s;
  }

 private:
  // BEGIN IMMEDIATE on the pin's read transaction. SQLite refuses it at
  // once (no busy wait) if the snapshot is stale or the write lock taken;
  // then the pin goes and Begin waits as usual. Returns whether it began.
  bool BeginPinned() {
    if (!core_.HoldWritePin()) return false;
    engine::Statement& begin = core_.begin_immediate_stmt_;
    if (!begin.is_prepared() &&
        !begin.Prepare(core_.conn_, "BEGIN IMMEDIATE").ok()) {
      return false;
    }
    core_.last_read_ = std::chrono::steady_clock::now();
    engine::ResetGuard reset(begin);
    if (begin.Step() != SQLITE_DONE) {
      core_.ReleaseWritePin();
      return false;
    }
    open_ = pinned_ = true;
    return true;
  }

  StoreCore& core_;
  const bool may_pin_;
  bool nested_ = false;
  bool open_ = false;
  bool done_ = false;
  bool pinned_ = false;  // began inside the write pin
};

}  // namespace snkv::internal

#endif  // SNKV_KV_WRITE_SCOPE_H
