// A VFS for tests: wraps SQLite's default VFS, counts writes and syncs of
// the files under a watched path prefix, and can make the syncs of one file
// fail. SQLite keeps sync levels, cache sizes and checkpoints inside its
// connections; this is how tests see their effect on the files.
#ifndef SNKV_TESTS_TEST_VFS_H
#define SNKV_TESTS_TEST_VFS_H

#include <string>

namespace snkv::test::vfs {

// Makes the test VFS SQLite's default for connections opened from now on.
// Idempotent; call it while no store is open.
void Install();

// Files whose names start with `prefix` are counted ("" stops counting).
// Set it only while no store is open: a file is watched or not from the
// moment it is opened.
void Watch(const std::string& prefix);

// Writes and syncs of watched files since the last ResetCounts().
int Writes();
int Syncs();
void ResetCounts();
// Writes to watched database files (not their WALs) that the calling
// thread made since it started: in WAL mode only a checkpoint writes those.
int DatabaseWritesOnThisThread();

// From now on every sync of the file named `path` (exactly: not its WAL)
// fails with SQLITE_IOERR_FSYNC, through whichever connection it comes; ""
// ends that. Like Watch(), it applies to files opened after the call.
void FailSyncsOf(const std::string& path);
// Syncs made to fail so far, and how many syncs were asked of a file
// handle after a sync of that same handle had failed.
int FailedSyncs();
int SyncsAfterAFailure();

// While on, every write to a watched WAL file fails with SQLITE_IOERR_WRITE
// and writes nothing; it takes effect at once, on open files too.
void FailWalWrites(bool on);

}  // namespace snkv::test::vfs

#endif  // SNKV_TESTS_TEST_VFS_H
