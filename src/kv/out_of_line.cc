// Out-of-line values: the values table of a column family and the writes
// and reads that keep it in step with the family's table (format in
// schema.h, design in docs/design.md, "Out-of-line values").
//
// The single-row fast paths in column_family.cc never touch the values
// table: their statements refuse to overwrite or delete a row holding a
// reference (a guard in the SQL), so a handle that does not yet know that
// another connection created the table can never orphan a values row.
// What they refuse comes here, and runs as one write scope.
#include <string>
#include <vector>

#include "kv/schema.h"
#include "kv/store_core.h"
#include "kv/write_scope.h"

namespace snkv::internal {

Status StoreCore::ComputeMaxLocalPayload() {
  int64_t page_size = 0;
  Status s = conn_.QueryInt("PRAGMA page_size", &page_size);
  if (!s.ok()) return s;
  int reserved = -1;  // -1: only ask
  if (sqlite3_file_control(conn_.get(), "main", SQLITE_FCNTL_RESERVE_BYTES,
                           &reserved) != SQLITE_OK ||
      reserved < 0) {
    reserved = 0;
  }
  max_local_payload_ = schema::MaxLocalPayload(page_size - reserved);
  return Status::OK();
}

Status StoreCore::CheckValueReferences(std::string* report) {
  std::vector<int64_t> ids;
  {
    engine::Statement list;
    Status s = list.Prepare(conn_, "SELECT id FROM snkv_cf ORDER BY id", false);
    if (!s.ok()) return s;
    int rc;
    while ((rc = list.Step()) == SQLITE_ROW) ids.push_back(list.ColumnInt(0));
    if (rc != SQLITE_DONE) return list.Error(rc, "listing column families");
  }
  const auto note = [report](const std::string& line) {
    if (!report->empty()) *report += "\n";
    *report += line;
  };
  // Runs `count_sql` (one count) and, when it is above zero, notes
  // "<object>: <count> <what>".
  const auto count_and_note = [&](const std::string& count_sql,
                                  const std::string& object,
                                  const char* what) -> Status {
    int64_t count = 0;
    Status s = conn_.QueryInt(count_sql.c_str(), &count);
    if (s.ok() && count > 0) {
      note(object + ": " + std::to_string(count) + " " + what);
    }
    return s;
  };
  for (int64_t id : ids) {
    const std::string table = schema::TableName(id);
    const std::string values = schema::ValuesTableName(id);
    bool has_values = false;
    Status s = SchemaObjectExists(values, &has_values);
    if (!s.ok()) return s;
    if (has_values) {
      // Anything else of that name (a view, an index, a table of other
      // columns) is not ours: reads refuse it, and so does this check.
      bool ours = false;
      s = IsOurValuesTable(id, &ours);
      if (!s.ok()) return s;
      if (!ours) {
        note(values + ": not the values table snkv creates");
        continue;
      }
    }
    s = count_and_note("SELECT count(*) FROM " + table +
                           " WHERE typeof(v) NOT IN ('blob', 'integer')"
                           " OR (typeof(v) = 'integer' AND v <= 0)",
                       table, "values of a type snkv never writes");
    if (!s.ok()) return s;
    s = count_and_note(
        "SELECT count(*) FROM " + table + " WHERE typeof(v) = 'integer'" +
            " AND v > 0" +
            (has_values ? " AND v NOT IN (SELECT id FROM " + values + ")" : ""),
        table, "references to missing out-of-line values");
    if (!s.ok()) return s;
    if (!has_values) continue;
    // Each values row belongs to one row: a write of one of two rows that
    // share it would free it under the other.
    s = count_and_note("SELECT count(*) - count(DISTINCT v) FROM " + table +
                           " WHERE typeof(v) = 'integer'",
                       table,
                       "references share an out-of-line value with another "
                       "row");
    if (!s.ok()) return s;
    s = count_and_note(
        "SELECT count(*) FROM " + values + " WHERE typeof(v) <> 'blob'", values,
        "out-of-line values that are not blobs");
    if (!s.ok()) return s;
    s = count_and_note("SELECT count(*) FROM " + values +
                           " WHERE id NOT IN (SELECT v FROM " + table +
                           " WHERE typeof(v) = 'integer')",
                       values, "out-of-line values no row refers to");
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status StoreCore::IsOurValuesTable(int64_t cf_id, bool* ours) {
  engine::Statement probe;
  Status s = probe.Prepare(conn_,
                           "SELECT 1 FROM sqlite_schema WHERE type = 'table'"
                           " AND name = ?1 AND sql = ?2",
                           false);
  if (!s.ok()) return s;
  const std::string name = schema::ValuesTableName(cf_id);
  const std::string sql = schema::ValuesTableSql(cf_id);
  probe.BindText(1, name);
  probe.BindText(2, sql);
  int rc = probe.Step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return probe.Error(rc, "schema");
  *ours = rc == SQLITE_ROW;
  return Status::OK();
}

Status StoreCore::KnowValuesTable(ColumnFamilyState& cf) {
  if (cf.has_values_table) return Status::OK();
  if (txn_ == Txn::kWrite && cf.values_checked_in_txn == write_txn_serial_) {
    return Status::OK();
  }
  int64_t version = 0;
  Status s = SchemaVersion(&version);
  if (!s.ok()) return s;
  if (version != cf.no_values_schema_version) {
    bool exists = false;
    s = SchemaObjectExists(schema::ValuesTableName(cf.id), &exists);
    if (!s.ok()) return s;
    if (exists) {
      // Anything else of that name (a view, an index, a table of other
      // columns) only a hostile or damaged file holds: writes through it
      // would fail with SQLite's word for it ("no such table" reads as a
      // dropped family), or read by the wrong column.
      bool ours = false;
      s = IsOurValuesTable(cf.id, &ours);
      if (!s.ok()) return s;
      if (!ours) {
        return Status::Corrupt("column family '" + cf.name +
                               "': " + schema::ValuesTableName(cf.id) +
                               " is not the values table snkv creates");
      }
    }
    cf.has_values_table = exists;
    cf.no_values_schema_version = exists ? -1 : version;
  }
  if (txn_ == Txn::kWrite) cf.values_checked_in_txn = write_txn_serial_;
  return Status::OK();
}

Status StoreCore::EnsureValuesTable(ColumnFamilyState& cf, bool* created) {
  if (created) *created = false;
  Status s = KnowValuesTable(cf);
  if (!s.ok() || cf.has_values_table) return s;
  // Never a values table without its family: another connection may have
  // dropped it since this handle looked.
  s = CheckExists(cf);
  if (!s.ok()) return s;
  s = conn_.Exec(schema::ValuesTableSql(cf.id).c_str());
  if (!s.ok()) return s;
  int64_t version = 0;
  s = conn_.QueryInt("PRAGMA user_version", &version);
  if (s.ok() && version < schema::kOutOfLineFormatVersion) {
    s = conn_.Exec("PRAGMA user_version = 2");  // kOutOfLineFormatVersion
  }
  if (!s.ok()) return s;
  cf.has_values_table = true;
  cf.no_values_schema_version = -1;
  txn_pages_stale_ = true;  // the schema changed: TxnPages may not read on
  if (created) *created = true;
  return Status::OK();
}

Status StoreCore::WriteRow(ColumnFamilyState& cf, Slice key, Slice stored,
                           int64_t expires) {
  const bool out_of_line = GoesOutOfLine(key, stored, expires);
  engine::Statement* stmt = nullptr;
  Status s;
  if (cf.has_values_table) {
    // The key's old reference, if its row holds one.
    int64_t old_ref = 0;
    bool same_expiry = false;
    s = Statement(cf, CfStatement::kRowReference, &stmt);
    if (!s.ok()) return s;
    {
      engine::ResetGuard reset(*stmt);
      stmt->BindBlob(1, key);
      int rc = stmt->Step();
      if (rc == SQLITE_ROW) {
        old_ref = stmt->ColumnInt(0);
        same_expiry = stmt->ColumnIsNull(1) ? expires == 0
                                            : stmt->ColumnInt(1) == expires;
      } else if (rc != SQLITE_DONE) {
        return CfError(cf, *stmt, rc, "put");
      }
    }
    if (old_ref != 0 && out_of_line) {
      // Overwritten in place: one page changes (two with a new expiry)
      // instead of the three of free, insert and replace, and the values
      // table does not take a new id for every overwrite. A reference to
      // no row (damage) is written anew below.
      s = Statement(cf, CfStatement::kUpdateValue, &stmt);
      if (!s.ok()) return s;
      engine::ResetGuard reset(*stmt);
      stmt->BindInt(1, old_ref);
      stmt->BindBlob(2, stored);
      int rc = stmt->Step();
      if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "put");
      if (sqlite3_changes(conn_.get()) == 1) {
        if (same_expiry) return Status::OK();
        s = Statement(cf, CfStatement::kSetExpiry, &stmt);
        if (!s.ok()) return s;
        engine::ResetGuard reset_expiry(*stmt);
        stmt->BindBlob(1, key);
        BindExpiry(*stmt, 2, expires);
        rc = stmt->Step();
        if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "put");
        return Status::OK();
      }
    } else if (old_ref != 0) {
      s = Statement(cf, CfStatement::kDropValue, &stmt);
      if (!s.ok()) return s;
      engine::ResetGuard reset(*stmt);
      stmt->BindInt(1, old_ref);
      int rc = stmt->Step();
      if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "put");
    }
  }
  int64_t ref = 0;
  if (out_of_line) {
    s = Statement(cf, CfStatement::kInsertValue, &stmt);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*stmt);
    stmt->BindBlob(1, stored);
    int rc = stmt->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "put");
    ref = sqlite3_last_insert_rowid(conn_.get());
  }
  s = Statement(cf, CfStatement::kReplace, &stmt);
  if (!s.ok()) return s;
  engine::ResetGuard reset(*stmt);
  stmt->BindBlob(1, key);
  if (ref != 0) {
    stmt->BindInt(2, ref);
  } else {
    stmt->BindBlob(2, stored);
  }
  BindExpiry(*stmt, 3, expires);
  int rc = stmt->Step();
  if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "put");
  return Status::OK();
}

Status StoreCore::EraseRow(ColumnFamilyState& cf, Slice key) {
  engine::Statement* stmt = nullptr;
  Status s;
  if (cf.has_values_table) {
    s = Statement(cf, CfStatement::kFreeValue, &stmt);
    if (!s.ok()) return s;
    engine::ResetGuard reset(*stmt);
    stmt->BindBlob(1, key);
    int rc = stmt->Step();
    if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "delete");
  }
  s = Statement(cf, CfStatement::kErase, &stmt);
  if (!s.ok()) return s;
  engine::ResetGuard reset(*stmt);
  stmt->BindBlob(1, key);
  int rc = stmt->Step();
  if (rc != SQLITE_DONE) return CfError(cf, *stmt, rc, "delete");
  return Status::OK();
}

namespace {

// Looks `key` up in `stmt` (kExists: SELECT expires ... WHERE k = ?1):
// *found, and *live (found and not expired as of now_ms).
Status LookUpRow(engine::Statement& stmt, Slice key, int64_t now_ms,
                 bool* found, bool* live) {
  engine::ResetGuard reset(stmt);
  stmt.BindBlob(1, key);
  int rc = stmt.Step();
  *found = rc == SQLITE_ROW;
  *live = false;
  if (rc == SQLITE_DONE) return Status::OK();
  if (rc != SQLITE_ROW) return stmt.Error(rc, "lookup");
  *live = stmt.ColumnIsNull(0) || stmt.ColumnInt(0) > now_ms;
  return Status::OK();
}

}  // namespace

Status StoreCore::PutInScope(ColumnFamilyState& cf, Slice key, Slice stored,
                             int64_t expires, bool only_if_absent,
                             bool* inserted) {
  if (inserted) *inserted = false;
  // Creating the values table is a schema change, which the pin must not
  // see (WriteScope).
  const bool goes_out = GoesOutOfLine(key, stored, expires);
  WriteScope scope(*this, cf.has_values_table || !goes_out
                              ? WriteScope::kMayPin
                              : WriteScope::kNoPin);
  Status s = scope.Begin();
  if (!s.ok()) return s;
  bool created = false;
  s = goes_out ? EnsureValuesTable(cf, &created) : KnowValuesTable(cf);
  bool write = s.ok();
  if (s.ok() && only_if_absent) {
    engine::Statement* lookup = nullptr;
    s = Statement(cf, CfStatement::kExists, &lookup);
    bool found = false;
    bool live = false;
    if (s.ok()) s = LookUpRow(*lookup, key, NowMs(), &found, &live);
    write = s.ok() && !live;
  }
  if (s.ok() && write) s = WriteRow(cf, key, stored, expires);
  if (s.ok()) s = scope.Commit();
  if (!s.ok()) {
    if (created) ForgetValuesTable(cf);
    return s;
  }
  if (inserted) *inserted = write;
  return Status::OK();
}

Status StoreCore::DeleteInScope(ColumnFamilyState& cf, Slice key,
                                int64_t now_ms, bool only_expired,
                                bool* found_live) {
  *found_live = false;
  WriteScope scope(*this, WriteScope::kMayPin);  // changes no schema
  Status s = scope.Begin();
  if (!s.ok()) return s;
  s = KnowValuesTable(cf);
  if (!s.ok()) return s;
  engine::Statement* lookup = nullptr;
  s = Statement(cf, CfStatement::kExists, &lookup);
  if (!s.ok()) return s;
  bool found = false;
  bool live = false;
  s = LookUpRow(*lookup, key, now_ms, &found, &live);
  if (!s.ok()) return s;
  if (!found || (live && only_expired)) return Status::OK();
  s = EraseRow(cf, key);
  if (!s.ok()) return s;
  s = scope.Commit();
  if (!s.ok()) return s;
  *found_live = live;
  if (!live) ++stats_.ttl_expired;
  return Status::OK();
}

Status StoreCore::ResolveValue(ColumnFamilyState& cf, int64_t ref,
                               std::string* buf) {
  // Writers only make references r > 0 (schema.h); the pages refuse the
  // others too, so that both paths give the same answer on such a file.
  if (ref <= 0) {
    return Status::Corrupt("column family '" + cf.name +
                           "' holds an out-of-line reference of " +
                           std::to_string(ref) + ", which snkv never writes");
  }
  // Known for good once seen (so this costs nothing after the first
  // reference); otherwise the schema says what is wrong.
  Status s = KnowValuesTable(cf);
  if (!s.ok()) return s;
  if (!cf.has_values_table) {
    return Status::Corrupt("column family '" + cf.name +
                           "' refers to out-of-line values but has no "
                           "values table");
  }
  engine::Statement* stmt = nullptr;
  s = Statement(cf, CfStatement::kGetValue, &stmt);
  if (!s.ok()) {
    if (s.code() == Code::kNotFound) {  // the values table is missing
      return Status::Corrupt("column family '" + cf.name +
                             "' refers to out-of-line values but has no "
                             "values table");
    }
    return s;
  }
  engine::ResetGuard reset(*stmt);
  stmt->BindInt(1, ref);
  int rc = stmt->Step();
  if (rc == SQLITE_DONE ||
      (rc == SQLITE_ROW &&
       sqlite3_column_type(stmt->get(), 0) != SQLITE_BLOB)) {
    return Status::Corrupt("column family '" + cf.name +
                           "' refers to a missing out-of-line value (row " +
                           std::to_string(ref) + ")");
  }
  if (rc != SQLITE_ROW) return CfError(cf, *stmt, rc, "reading a value");
  const Slice value = stmt->ColumnBlob(0);
  buf->assign(value.data(), value.size());
  return Status::OK();
}

Status StoreCore::StoredValue(ColumnFamilyState& cf,
                              const engine::Statement& stmt, int col,
                              std::string* buf, Slice* stored) {
  switch (sqlite3_column_type(stmt.get(), col)) {
    case SQLITE_BLOB:
      *stored = stmt.ColumnBlob(col);
      return Status::OK();
    case SQLITE_INTEGER: {
      Status s = ResolveValue(cf, stmt.ColumnInt(col), buf);
      if (s.ok()) *stored = *buf;
      return s;
    }
    default:
      return Status::Corrupt("column family '" + cf.name +
                             "' has a value of a type snkv never writes");
  }
}

}  // namespace snkv::internal
