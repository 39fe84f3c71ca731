// VectorTables: the vector store's part of the database file, reached
// through the public C++ API as internal column families:
//
//   _snkv_vec_       key -> record: u8 version (1), i64 expiry ms (0 =
//                    never), dim float32 (little-endian). The source of truth.
//   _snkv_vec_meta_  config: dim, space, dtype, connectivity, expansion_add,
//                    expansion_search, uuid (store identity), seq (the
//                    change-log head: "<seq> <nonce>"), as decimal text.
//   _snkv_vec_tags_  key -> JSON metadata; created by the first metadata
//                    write (its existence is KVVecStats.has_metadata).
//   _snkv_vec_log_   change log, see change_log.h.
//
// Dropping the index drops the vector, metadata and log tables and leaves
// in _snkv_vec_meta_ only the config and "dropped" (its value "1"): the
// marker that keeps the store dropped for every handle, now and after
// reopening.
//
// Values stay in the default column family. Because all of these are
// ordinary column families, an encrypted store seals vectors, metadata and
// log entries exactly like values.
#ifndef SNKV_VECTOR_TABLES_H
#define SNKV_VECTOR_TABLES_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snkv/store.h"

namespace snkv::vector {

inline constexpr std::string_view kVecCf = "_snkv_vec_";
inline constexpr std::string_view kMetaCf = "_snkv_vec_meta_";
inline constexpr std::string_view kTagsCf = "_snkv_vec_tags_";
inline constexpr std::string_view kLogCf = "_snkv_vec_log_";

// A position in the change log: the sequence number of the newest entry
// and that entry's nonce, a random number drawn by its writer. The nonce
// tells apart two histories that reached the same number (a database
// restored from an older copy and written again).
struct LogPosition {
  uint64_t seq = 0;
  uint64_t nonce = 0;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
};

struct StoredConfig {
  int dim = 0;
  int space = 0;
  int dtype = 0;
  int connectivity = 16;
  int expansion_add = 128;
  int expansion_search = 64;
  std::string uuid;  // 32 hex digits, new for every created index
};

// Encodes / decodes a vector record. Decode fails (false) on a record of
// another size or version.
std::string EncodeRecord(int64_t expires_ms, const float* v, size_t dim);
bool DecodeRecord(std::string_view rec, size_t dim, int64_t* expires_ms,
                  std::vector<float>* v);

class VectorTables {
 public:
  // Opens the tables, creating them with `want` if the store has none.
  // *created tells which. Mismatched dim/space/dtype give the kDim/kSpace/
  // kDtypeMismatch codes; *stored receives the stored config. A dropped
  // index opens as dropped() (no config check: there is no index to
  // mismatch; *stored is `want`).
  Status OpenOrCreate(Store* store, const StoredConfig& want,
                      StoredConfig* stored, bool* created);
  // Drops the vector, metadata and log tables and marks the index dropped,
  // inside the caller's write transaction.
  Status Drop(Store* store);
  // Whether some handle dropped the index since this one opened it (its
  // marker, or no meta table at all: a file dropped by an older build).
  Status ReadDropped(Store* store, bool* dropped);
  bool dropped() const { return dropped_; }

  // The change-log head (seq 0 for a new index). NotFound once dropped.
  Status ReadHead(LogPosition* head);
  Status WriteHead(const LogPosition& head);
  // Creates the metadata table inside the caller's write transaction.
  Status EnsureTags(Store* store);
  // Re-checks whether another handle created the metadata table.
  void RefreshTags(Store* store);
  // Forgets the metadata table (after a rollback that may have undone its
  // creation); RefreshTags finds it again if it exists.
  void ForgetTags() {
    has_tags_ = false;
    tags_ = ColumnFamily();
  }

  ColumnFamily& vec() { return vec_; }
  ColumnFamily& log() { return log_; }
  ColumnFamily* tags() { return has_tags_ ? &tags_ : nullptr; }
  bool has_tags() const { return has_tags_; }

 private:
  ColumnFamily vec_, meta_, tags_, log_;
  bool has_tags_ = false;
  bool dropped_ = false;
};

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_TABLES_H
