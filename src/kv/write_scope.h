// StoreCore::WriteScope: an atomic unit of several statements.
#ifndef SNKV_KV_WRITE_SCOPE_H
#define SNKV_KV_WRITE_SCOPE_H

#include "kv/store_core.h"

namespace snkv::internal {

// An atomic unit of several statements. Outside a transaction it is a
// transaction of its own (BEGIN IMMEDIATE, so it waits for the write lock
// up front instead of failing on upgrade); inside a write transaction it is
// a savepoint, so a failure undoes only this unit.
class StoreCore::WriteScope {
 public:
  explicit WriteScope(StoreCore& core) : core_(core) {}
  ~WriteScope() {
    if (open_ && !done_) {
      (void)core_.conn_.Exec(nested_ ? "ROLLBACK TO snkv_op; RELEASE snkv_op"
                                     : "ROLLBACK");
    }
  }
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;

  Status Begin() {
    Status s = core_.PrepareWrite();
    if (!s.ok()) return s;
    nested_ = core_.txn_ == Txn::kWrite;
    s = core_.conn_.Exec(nested_ ? "SAVEPOINT snkv_op" : "BEGIN IMMEDIATE");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    Status s = core_.conn_.Exec(nested_ ? "RELEASE snkv_op" : "COMMIT");
    if (s.ok()) done_ = true;
    return s;
  }

 private:
  StoreCore& core_;
  bool nested_ = false;
  bool open_ = false;
  bool done_ = false;
};

}  // namespace snkv::internal

#endif  // SNKV_KV_WRITE_SCOPE_H
