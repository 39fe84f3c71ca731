// WalWatch: cheap detection of commits by other connections in WAL mode.
//
// In WAL mode every commit rewrites the WAL-index header at the start of
// the shared-memory file (-shm): its change counter, frame count, salts and
// checksums. Comparing that header with a copy taken when a read
// transaction began tells, without a system call, whether any connection in
// any process has committed since. (Layout: SQLite's "WAL-mode File Format"
// document, section on the WAL-index header.) The mapping is reached
// through the public VFS method xShmMap of the database file.
//
// The mapping stays valid while the connection keeps its WAL open, which
// is always the case inside a read transaction; outside one, WalIsOpen()
// must be checked before the header is read.
#ifndef SNKV_ENGINE_WAL_SNAPSHOT_H
#define SNKV_ENGINE_WAL_SNAPSHOT_H

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace snkv::engine {

class WalWatch {
 public:
  static constexpr size_t kHeaderSize = 48;  // one copy of WalIndexHdr
  // Read as six aligned 64-bit words (the mapping is page-aligned): each
  // load is atomic, and six loads are cheaper than 48.
  using Header = std::array<uint64_t, kHeaderSize / sizeof(uint64_t)>;

  // True when `db`'s main database currently has its WAL open.
  static bool WalIsOpen(sqlite3* db) noexcept;

  // Maps the WAL-index of `db` (which must have its WAL open, e.g. inside a
  // read transaction). False if it cannot be mapped.
  bool Attach(sqlite3* db) noexcept;
  void Detach() noexcept { header_ = nullptr; }
  bool attached() const noexcept { return header_ != nullptr; }

  // A copy of the live header. Requires attached().
  Header Read() const noexcept;
  // The live nBackfill: how many WAL frames checkpoints have copied into
  // the database file. Requires attached().
  uint32_t Backfilled() const noexcept;
  // The live header's mxFrame: how many frames the WAL holds, committed
  // transactions only. Read without a lock: a hint, which a commit or a
  // reset by another connection may overtake. Requires attached().
  uint32_t Frames() const noexcept;
  // The live header's two salts (aSalt), as one word. A WAL reset writes
  // new ones, so a change means the WAL started over. Requires attached().
  uint64_t Salts() const noexcept;

 private:
  const volatile uint64_t* header_ = nullptr;
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_WAL_SNAPSHOT_H
