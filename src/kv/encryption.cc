// Encrypted stores: StoreCore's key setup, conversion and value sealing.
//
// Security model: values are encrypted and authenticated, each bound to its
// column family and key (src/crypto/cipher.h). Keys, value sizes, the number
// of entries, TTLs and access patterns are not hidden. The password is never
// stored; the file keeps the Argon2id salt and costs and a verifier that
// tells a wrong password from a right one.
#include <string>
#include <type_traits>
#include <vector>

#include "kv/schema.h"
#include "kv/store_core.h"
#include "kv/write_scope.h"

namespace snkv::internal {

namespace {

constexpr const char* kCipherName = "xchacha20poly1305-ietf+argon2id13";
// Upper bounds on the costs read from a file: exactly what snkv writes
// (crypto::KdfParams). Anything dearer did not come from snkv, and a forged
// file must not make every open of it burn seconds and gigabytes before it
// can even say "wrong password" (16 passes over 1 GiB took 16.5 s).
constexpr uint64_t kMaxOpsLimit = crypto::KdfParams{}.ops_limit;
constexpr uint64_t kMaxMemLimit = crypto::KdfParams{}.mem_limit;
// Values are re-sealed in batches of this many rows, so conversions of
// large stores use bounded memory.
constexpr int kRewriteBatch = 256;

// Reads one meta value as bytes; NotFound if the row is missing.
Status ReadMeta(engine::Connection& conn, const char* key, std::string* out,
                int64_t* as_int) {
  engine::Statement stmt;
  Status s =
      stmt.Prepare(conn, "SELECT value FROM snkv_meta WHERE key = ?1", false);
  if (!s.ok()) return s;
  stmt.BindText(1, key);
  int rc = stmt.Step();
  if (rc == SQLITE_DONE) {
    return Status::Corrupt(std::string("encryption metadata '") + key +
                           "' is missing");
  }
  if (rc != SQLITE_ROW) return stmt.Error(rc, "reading encryption metadata");
  if (out) *out = stmt.ColumnBlob(0).ToString();
  if (as_int) *as_int = stmt.ColumnInt(0);
  return Status::OK();
}

// Sets meta `key` to `value` (bytes or an integer).
template <class Value>
Status WriteMeta(engine::Connection& conn, const char* key, Value value) {
  engine::Statement stmt;
  Status s = stmt.Prepare(
      conn, "INSERT OR REPLACE INTO snkv_meta(key, value) VALUES(?1, ?2)",
      false);
  if (!s.ok()) return s;
  stmt.BindText(1, key);
  if constexpr (std::is_same_v<Value, Slice>) {
    stmt.BindBlob(2, value);
  } else {
    stmt.BindInt(2, value);
  }
  return stmt.Run("writing encryption metadata");
}

}  // namespace

Status StoreCore::SealWithKey(int64_t cf_id, Slice key, Slice value,
                              std::string* buf, Slice* stored) const {
  Status s = cipher_.Seal(value, {cf_id, key}, buf);
  if (s.ok()) *stored = *buf;
  return s;
}

Status StoreCore::OpenWithKey(int64_t cf_id, Slice key, Slice stored,
                              std::string* buf, Slice* plain) const {
  Status s = cipher_.Open(stored, {cf_id, key}, buf);
  if (s.ok()) *plain = *buf;
  return s;
}

Status StoreCore::SetUpEncryption(Slice password, bool already_encrypted) {
  if (already_encrypted) {
    crypto::KdfParams params;
    std::string salt;
    std::string verifier;
    int64_t ops = 0;
    int64_t mem = 0;
    Status s = ReadMeta(conn_, "kdf_salt", &salt, nullptr);
    if (s.ok()) s = ReadMeta(conn_, "kdf_ops", nullptr, &ops);
    if (s.ok()) s = ReadMeta(conn_, "kdf_mem", nullptr, &mem);
    if (s.ok()) s = ReadMeta(conn_, "verifier", &verifier, nullptr);
    if (!s.ok()) return s;
    if (salt.size() != params.salt.size() || ops <= 0 || mem <= 0) {
      return Status::Corrupt("encryption metadata is damaged");
    }
    // Checked before anything is derived. CORRUPT, not AUTH_FAILED: the
    // password was never tried, and snkv never writes such costs, so the
    // file itself is damaged or forged; "wrong password" would send the
    // user retrying passwords against a file that can never open.
    if (static_cast<uint64_t>(ops) > kMaxOpsLimit ||
        static_cast<uint64_t>(mem) > kMaxMemLimit) {
      return Status::Corrupt(
          "encryption metadata is damaged or forged: its Argon2id costs (" +
          std::to_string(ops) + " passes, " + std::to_string(mem) +
          " bytes) exceed what snkv writes (" + std::to_string(kMaxOpsLimit) +
          " passes, " + std::to_string(kMaxMemLimit) +
          " bytes); refusing to derive a key");
    }
    std::copy(salt.begin(), salt.end(), params.salt.begin());
    params.ops_limit = static_cast<uint64_t>(ops);
    params.mem_limit = static_cast<uint64_t>(mem);
    crypto::Cipher cipher;
    s = crypto::Cipher::Derive(password, params, &cipher);
    if (!s.ok()) return s;
    s = cipher.CheckVerifier(verifier);
    if (s.code() == Code::kAuthFailed) {
      return Status::AuthFailed("wrong password for this encrypted store");
    }
    if (!s.ok()) return s;
    cipher_ = std::move(cipher);
    return conn_.Exec("PRAGMA secure_delete = ON");
  }

  if (read_only_) {
    return Status::ReadOnly("cannot encrypt a store opened read-only");
  }
  crypto::KdfParams params = crypto::NewKdfParams();
  crypto::Cipher cipher;
  Status s = crypto::Cipher::Derive(password, params, &cipher);
  if (!s.ok()) return s;
  // From here on, deleted and overwritten content is zeroed.
  s = conn_.Exec("PRAGMA secure_delete = ON");
  if (!s.ok()) return s;
  {
    WriteScope scope(*this);
    s = scope.Begin();
    if (s.ok()) s = RewriteAllValues(nullptr, &cipher);
    if (s.ok()) s = WriteCipherMeta(params, cipher);
    if (s.ok()) s = scope.Commit();
    if (!s.ok()) return s;
  }
  cipher_ = std::move(cipher);
  // A store that held plaintext may still have it in freed pages and old
  // WAL frames. The conversion has committed either way: when another
  // connection keeps the scrub from running, the store is still encrypted
  // and the open succeeds (docs/design.md, "Encryption").
  (void)ScrubFreeSpace();
  return Status::OK();
}

Status StoreCore::WriteCipherMeta(const crypto::KdfParams& params,
                                  const crypto::Cipher& cipher) {
  std::string verifier;
  Status s = cipher.MakeVerifier(&verifier);
  if (s.ok()) s = WriteMeta(conn_, "cipher", Slice(kCipherName));
  if (s.ok()) {
    s = WriteMeta(conn_, "kdf_salt",
                  Slice(params.salt.data(), params.salt.size()));
  }
  if (s.ok()) {
    s = WriteMeta(conn_, "kdf_ops", static_cast<int64_t>(params.ops_limit));
  }
  if (s.ok()) {
    s = WriteMeta(conn_, "kdf_mem", static_cast<int64_t>(params.mem_limit));
  }
  if (s.ok()) s = WriteMeta(conn_, "verifier", Slice(verifier));
  return s;
}

Status StoreCore::RewriteAllValues(const crypto::Cipher* from,
                                   const crypto::Cipher* to) {
  std::vector<std::pair<int64_t, std::string>> families;
  {
    engine::Statement list;
    Status s = list.Prepare(conn_, "SELECT id, name FROM snkv_cf", false);
    if (!s.ok()) return s;
    int rc;
    while ((rc = list.Step()) == SQLITE_ROW) {
      families.emplace_back(list.ColumnInt(0), list.ColumnBlob(1).ToString());
    }
    if (rc != SQLITE_DONE) return list.Error(rc, "listing column families");
  }
  for (auto& [id, name] : families) {
    // A state of its own, with its own statements (finalized with it): the
    // rows are written as puts write them, so that a value whose sealed
    // size changes moves in or out of line as a put would put it.
    auto cf = std::make_shared<ColumnFamilyState>();
    cf->id = id;
    cf->name = name;
    cf->table = schema::TableName(id);
    Status s = KnowValuesTable(*cf);
    if (!s.ok()) return s;
    // Batches continue after the last key of the previous one; the first
    // starts at the smallest key (the empty key is a valid key).
    engine::Statement first_batch;
    engine::Statement next_batch;
    s = first_batch.Prepare(conn_, "SELECT k, v, expires FROM " + cf->table +
                                       " WHERE k >= ?1 ORDER BY k LIMIT " +
                                       std::to_string(kRewriteBatch));
    if (s.ok()) {
      s = next_batch.Prepare(conn_, "SELECT k, v, expires FROM " + cf->table +
                                        " WHERE k > ?1 ORDER BY k LIMIT " +
                                        std::to_string(kRewriteBatch));
    }
    if (!s.ok()) return s;

    struct Row {
      std::string key;
      std::string stored;
      int64_t expires;
    };
    std::string after;
    bool first = true;
    std::string ref_buf;
    for (;;) {
      // Read a batch, then rewrite it: no cursor stays open on the table
      // while its rows change.
      std::vector<Row> batch;
      engine::Statement& select = first ? first_batch : next_batch;
      {
        engine::ResetGuard reset(select);
        select.BindBlob(1, after);
        int rc;
        while ((rc = select.Step()) == SQLITE_ROW) {
          Slice stored;
          s = StoredValue(*cf, select, 1, &ref_buf, &stored);
          if (!s.ok()) return s;
          batch.push_back({select.ColumnBlob(0).ToString(), stored.ToString(),
                           select.ColumnIsNull(2) ? 0 : select.ColumnInt(2)});
        }
        if (rc != SQLITE_DONE) return select.Error(rc, "reading values");
      }
      if (batch.empty()) break;
      first = false;
      std::string plain_buf;
      std::string sealed_buf;
      for (const Row& row : batch) {
        Slice plain = row.stored;
        if (from != nullptr) {
          s = from->Open(row.stored, {id, row.key}, &plain_buf);
          if (!s.ok()) return s;
          plain = plain_buf;
        }
        Slice out = plain;
        if (to != nullptr) {
          s = to->Seal(plain, {id, row.key}, &sealed_buf);
          if (!s.ok()) return s;
          out = sealed_buf;
        }
        if (GoesOutOfLine(row.key, out, row.expires)) {
          s = EnsureValuesTable(*cf, nullptr);  // undone with the scope
          if (!s.ok()) return s;
        }
        s = WriteRow(*cf, row.key, out, row.expires);
        if (!s.ok()) return s;
      }
      after = batch.back().key;
    }
  }
  return Status::OK();
}

Status StoreCore::ScrubFreeSpace() {
  // VACUUM rebuilds the file from live content only; the TRUNCATE
  // checkpoint then empties the WAL that carried the rebuild.
  EndSnapshot();
  Status s = conn_.Exec("VACUUM");
  if (!s.ok()) return s;
  if (wal_mode_) {
    int rc = sqlite3_wal_checkpoint_v2(
        conn_.get(), "main", SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_OK) return conn_.Error(rc, "checkpoint after conversion");
    ++stats_.checkpoints;
  }
  return Status::OK();
}

Status StoreCore::Reencrypt(Slice new_password) {
  if (!cipher_.has_key()) return Status::Error("the store is not encrypted");
  if (txn_ != Txn::kNone) {
    return Status::Error("cannot re-encrypt inside a transaction");
  }
  Status s = PrepareWrite();
  if (!s.ok()) return s;
  crypto::KdfParams params = crypto::NewKdfParams();
  crypto::Cipher cipher;
  s = crypto::Cipher::Derive(new_password, params, &cipher);
  if (!s.ok()) return s;
  WriteScope scope(*this);
  s = scope.Begin();
  if (s.ok()) s = RewriteAllValues(&cipher_, &cipher);
  if (s.ok()) s = WriteCipherMeta(params, cipher);
  if (s.ok()) s = scope.Commit();
  if (!s.ok()) return s;
  cipher_ = std::move(cipher);
  return Status::OK();
}

Status StoreCore::RemoveEncryption() {
  if (!cipher_.has_key()) return Status::Error("the store is not encrypted");
  if (txn_ != Txn::kNone) {
    return Status::Error("cannot remove encryption inside a transaction");
  }
  WriteScope scope(*this);
  Status s = scope.Begin();
  if (s.ok()) s = RewriteAllValues(&cipher_, nullptr);
  if (s.ok()) {
    s = conn_.Exec(
        "DELETE FROM snkv_meta WHERE key IN"
        " ('cipher', 'kdf_salt', 'kdf_ops', 'kdf_mem', 'verifier')");
  }
  if (s.ok()) s = scope.Commit();
  if (!s.ok()) return s;
  cipher_ = crypto::Cipher();
  return conn_.Exec("PRAGMA secure_delete = OFF");
}

}  // namespace snkv::internal
