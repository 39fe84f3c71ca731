// Sidecar: the in-memory index saved next to the database
// (<db path>.snkv-vec) so that reopening skips the rebuild.
//
// Layout (little-endian):
//   header (104 bytes): magic "SNKVVEC\0", u32 version (1), u32 dim,
//     u32 space, u32 dtype, u32 connectivity, u32 expansion_add,
//     char[32] uuid, u64 seq, u64 nonce, u64 body length, u64 body
//     checksum, then u64 header checksum over the bytes before it.
//   body: VectorIndex::Serialize.
// The stamp (uuid, seq, nonce) ties the file to one index at one change-log
// position: a sidecar whose uuid differs is foreign; one at the head must
// carry the head's nonce; one behind is brought up to date from the change
// log if the log's entry at its seq carries its nonce (else rebuilt); one
// ahead of the database is stale.
// It is written to a temporary file, fsynced and renamed, so a crash
// leaves either the old or the new file, never a torn one; and it is only
// ever a cache: every check failing just means a rebuild.
#ifndef SNKV_VECTOR_SIDECAR_H
#define SNKV_VECTOR_SIDECAR_H

#include <cstdint>
#include <string>

#include "snkv/status.h"
#include "vector/tables.h"
#include "vector/vector_index.h"

namespace snkv::vector {

std::string SidecarPath(const std::string& db_path);

// Writes `index`, stamped (config.uuid, at), atomically to `path`.
Status SaveSidecar(const std::string& path, const StoredConfig& config,
                   const LogPosition& at, const VectorIndex& index);

// Loads `path` into `index` if it belongs to `config`'s index. *at gets its
// stamp. False (index cleared, *why set) for a missing, truncated, corrupt
// or foreign file.
bool LoadSidecar(const std::string& path, const StoredConfig& config,
                 VectorIndex* index, LogPosition* at, std::string* why);

// 64-bit checksum used by the sidecar (exposed for tests).
uint64_t Checksum64(const void* data, size_t n);

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_SIDECAR_H
