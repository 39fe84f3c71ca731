#include "test_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>

namespace snkv::test::vfs {
namespace {

// Laid out in the sqlite3_file SQLite allocates for us (szOsFile); the
// wrapped VFS's own file follows it.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  bool watched;
  bool wal;
  bool fail_syncs;
  std::atomic<bool> sync_failed;
};
static_assert(sizeof(File) % 8 == 0, "the real file must stay aligned");

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
std::mutex g_names_mu;  // guards the two names
std::string g_watch_prefix;
std::string g_fail_path;
std::atomic<int> g_writes{0};
std::atomic<int> g_syncs{0};
std::atomic<int> g_failed_syncs{0};
std::atomic<int> g_syncs_after_failure{0};
std::atomic<bool> g_fail_wal_writes{false};
// Writes to watched database files (not WALs) made by each thread.
thread_local int t_database_writes = 0;

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real; }

int Close(sqlite3_file* f) {
  int rc = Real(f)->pMethods->xClose(Real(f));
  Of(f)->~File();
  return rc;
}
int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), p, n, off);
}
int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  if (Of(f)->watched) {
    ++g_writes;
    if (!Of(f)->wal) ++t_database_writes;
  }
  if (Of(f)->watched && Of(f)->wal && g_fail_wal_writes) {
    return SQLITE_IOERR_WRITE;
  }
  return Real(f)->pMethods->xWrite(Real(f), p, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  File* file = Of(f);
  if (file->watched) ++g_syncs;
  if (file->sync_failed) ++g_syncs_after_failure;
  if (file->fail_syncs) {
    ++g_failed_syncs;
    file->sync_failed = true;
    return SQLITE_IOERR_FSYNC;
  }
  return file->real->pMethods->xSync(file->real, flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int l) {
  return Real(f)->pMethods->xLock(Real(f), l);
}
int Unlock(sqlite3_file* f, int l) {
  return Real(f)->pMethods->xUnlock(Real(f), l);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Real(f)->pMethods->xSectorSize(Real(f));
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int pg, int sz, int extend, void volatile** pp) {
  return Real(f)->pMethods->xShmMap(Real(f), pg, sz, extend, pp);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) {
  return Real(f)->pMethods->xShmUnmap(Real(f), del);
}
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** pp) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, pp);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kMethods = {3,
                                     Close,
                                     Read,
                                     Write,
                                     Truncate,
                                     Sync,
                                     FileSize,
                                     Lock,
                                     Unlock,
                                     CheckReservedLock,
                                     FileControl,
                                     SectorSize,
                                     DeviceCharacteristics,
                                     ShmMap,
                                     ShmLock,
                                     ShmBarrier,
                                     ShmUnmap,
                                     Fetch,
                                     Unfetch};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags,
         int* out_flags) {
  auto* real = reinterpret_cast<sqlite3_file*>(Of(f) + 1);
  int rc = g_real->xOpen(g_real, name, real, flags, out_flags);
  if (rc != SQLITE_OK || real->pMethods == nullptr) {
    f->pMethods = nullptr;
    return rc;
  }
  // Placement new into the memory SQLite allocated for the file; Close()
  // runs the destructor and SQLite frees the memory.
  File* file = new (f) File{};  // NOLINT(cppcoreguidelines-owning-memory)
  file->real = real;
  file->wal = (flags & SQLITE_OPEN_WAL) != 0;
  if (name != nullptr) {
    std::lock_guard<std::mutex> lock(g_names_mu);
    file->watched =
        !g_watch_prefix.empty() &&
        std::strncmp(name, g_watch_prefix.c_str(), g_watch_prefix.size()) == 0;
    file->fail_syncs = !g_fail_path.empty() && g_fail_path == name;
  }
  f->pMethods = &kMethods;
  return SQLITE_OK;
}

}  // namespace

void Install() {
  if (g_real == nullptr) {
    g_real = sqlite3_vfs_find(nullptr);
    ASSERT_NE(g_real, nullptr);
    ASSERT_GE(g_real->iVersion, 3);  // xFetch/xUnfetch are wrapped
    g_vfs = *g_real;
    g_vfs.zName = "snkv-test";
    g_vfs.pNext = nullptr;
    g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_real->szOsFile;
    g_vfs.xOpen = Open;
  }
  ASSERT_EQ(sqlite3_vfs_register(&g_vfs, 1), SQLITE_OK);
}

void Watch(const std::string& prefix) {
  std::lock_guard<std::mutex> lock(g_names_mu);
  g_watch_prefix = prefix;
}

int Writes() { return g_writes; }
int Syncs() { return g_syncs; }
int DatabaseWritesOnThisThread() { return t_database_writes; }
void ResetCounts() {
  g_writes = 0;
  g_syncs = 0;
}

void FailSyncsOf(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_names_mu);
  g_fail_path = path;
}

void FailWalWrites(bool on) { g_fail_wal_writes = on; }

int FailedSyncs() { return g_failed_syncs; }
int SyncsAfterAFailure() { return g_syncs_after_failure; }

}  // namespace snkv::test::vfs
