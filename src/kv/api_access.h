// ApiAccess: what the C binding needs from the C++ handles beyond their
// public API, and two probes of the read path for tests.
#ifndef SNKV_KV_API_ACCESS_H
#define SNKV_KV_API_ACCESS_H

#include "snkv/store.h"

namespace snkv::internal {

class ApiAccess {
 public:
  // Records `s`, an error found before reaching the store (an invalid C
  // argument), as the handle's last error and counts it in the stats, as
  // if the store had returned it. Returns `s`.
  static Status Record(const Store& store, Status s);
  static Status Record(const ColumnFamily& cf, Status s);
  // Create and drop one of the vector store's own families
  // (schema::IsInternalCf), names the public API refuses.
  static Status CreateInternalColumnFamily(Store& store, std::string_view name,
                                           ColumnFamily* cf);
  static Status DropInternalColumnFamily(Store& store, std::string_view name);

  // For tests of the read path: how many cached read snapshots `store` has
  // taken (0 for a closed store), and the idle releaser's work done now:
  // ends the handle's cached snapshot, as after IdleReleaser::kIdle unused.
  static uint64_t SnapshotsTaken(const Store& store);
  static void ReleaseIdleSnapshot(const Store& store);
  // How many out-of-line values `store` has read straight from the pages
  // of its values tables (0 for a closed store): the rest went through SQL.
  static uint64_t ValuesReadFromPages(const Store& store);
};

}  // namespace snkv::internal

#endif  // SNKV_KV_API_ACCESS_H
