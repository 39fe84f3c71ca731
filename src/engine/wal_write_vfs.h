// A VFS that wraps SQLite's default VFS and gathers the WAL frames of a
// transaction into a few large writes.
//
// SQLite writes each WAL frame with two writes of its own, the 24-byte frame
// header and the page, so a transaction of N pages costs 2N pwrite calls.
// This VFS holds the frames SQLite appends to the WAL in a buffer of the
// WAL file and writes them out together: when the buffer is full, when a
// write does not continue it, and when a commit frame (its header says so,
// walformat.html) is complete. A commit frame therefore reaches the file
// together with every frame before it, and SQLite publishes a commit (the
// WAL-index header) and reports it only after writing that frame, so no
// reader, checkpoint or recovery after a kill ever depends on bytes still
// held here. A failed write-out is the error of the write that caused it,
// which fails that transaction as a direct write would have.
//
// Only appends are held: a frame header written below the end of what the
// current write transaction wrote is SQLite redoing the checksums of frames
// it rewrote in place, and goes straight to the file, as does every other
// write (the main database file's wrapper sees a transaction start when it
// takes the write lock). Every other call on the WAL file (read, sync,
// size, truncate, lock, file control, close) first writes out what is held.
//
// Safety net: a writable main database file is wrapped too, and its
// xShmBarrier (SQLite calls it between the two copies of the WAL-index
// header it writes to publish a commit) writes out anything its WAL still
// holds and stops buffering on that WAL for good. The rules above leave
// nothing held by then; CoalescingVfsBarrierFlushes() counts how often the
// net caught something, and the tests expect zero.
#ifndef SNKV_ENGINE_WAL_WRITE_VFS_H
#define SNKV_ENGINE_WAL_WRITE_VFS_H

#include <sqlite3.h>
#include <sys/types.h>

#include <cstdint>

namespace snkv::engine {

// The name of the coalescing VFS over SQLite's current default VFS, for
// sqlite3_open_v2; registered (not as the default) on first use for each
// default VFS seen. nullptr if it cannot be made: open with the default.
const char* CoalescingVfsName() noexcept;

// The device and inode of the WAL file SQLite has open as `wal` (the file
// SQLITE_FCNTL_JOURNAL_POINTER returns): true only when it was opened
// through this VFS and its path named the same file just before and just
// after the open. SQLite never tells which file its WAL handle holds, and a
// file renamed over the -wal path afterwards is not that file: a reader
// must not map it (it could shrink under the map, a SIGBUS).
bool CoalescingVfsWalIdentity(sqlite3_file* wal, dev_t* dev,
                              ino_t* ino) noexcept;

// Times the safety net wrote out frames at a shared-memory barrier.
uint64_t CoalescingVfsBarrierFlushes() noexcept;

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_WAL_WRITE_VFS_H
