// ChangeLog: which keys each committed vector write changed, so that other
// handles can bring their in-memory index up to date without a rebuild.
//
// One entry per write transaction in _snkv_vec_log_: key = sequence number
// (8 bytes big-endian, so entries sort by number), value = the writer's
// nonce (u64, see LogPosition) then the changed keys (u32 length + bytes
// each). The sequence number of the newest entry is also
// kept as `seq` in _snkv_vec_meta_, the one value a handle reads before a
// search to learn whether anything changed. Entry, tables and seq are
// written in the writer's transaction.
//
// Entries are only hints of *which* keys changed: applying one means
// re-reading those keys' current rows, so applying an entry twice, or
// after later ones, is harmless.
//
// Trimming: every kTrimEvery-th entry deletes the entries more than
// kKeepEntries behind. A handle (or a sidecar) further behind than that
// finds a gap and rebuilds its index from the tables.
#ifndef SNKV_VECTOR_CHANGE_LOG_H
#define SNKV_VECTOR_CHANGE_LOG_H

#include <cstdint>
#include <string>
#include <vector>

#include "snkv/store.h"
#include "vector/tables.h"

namespace snkv::vector {

inline constexpr uint64_t kKeepEntries = 10000;
inline constexpr uint64_t kTrimEvery = 256;

// Writes entry `at` naming `keys` (inside the caller's transaction), and
// trims old entries when due.
Status AppendChange(ColumnFamily& log, const LogPosition& at,
                    const std::vector<std::string>& keys);

// The nonce of entry `seq`; NotFound if it was trimmed or never written.
Status EntryNonce(ColumnFamily& log, uint64_t seq, uint64_t* nonce);

// Collects the keys of entries first..last (inclusive), deduplicated.
// *gap is set when entry `first` no longer exists (trimmed): the caller
// must rebuild instead.
Status ReadChanges(ColumnFamily& log, uint64_t first, uint64_t last,
                   std::vector<std::string>* keys, bool* gap);

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_CHANGE_LOG_H
