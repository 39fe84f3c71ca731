#include "engine/wal_write_vfs.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "engine/process_state.h"
#include "engine/sqlite_format.h"

namespace snkv::engine {

namespace {

// Frames held per WAL file before they are written out: 63 frames of 4 KiB
// pages. 1 MiB measured no faster on a 1M-key sequential load.
constexpr size_t kBufferBytes = size_t{256} << 10;
// Bytes per write of the base VFS: SQLite's unix VFS masks a write's
// length to 17 bits (0x1ffff), so a longer write can come out short or
// empty, and fail as SQLITE_FULL.
constexpr size_t kMaxWriteBytes = size_t{64} << 10;

std::atomic<uint64_t> g_barrier_flushes{0};

// One registered coalescing VFS.
struct Shim {
  sqlite3_vfs vfs{};
  sqlite3_vfs* base = nullptr;
  std::string name;
};

sqlite3_vfs* BaseOf(sqlite3_vfs* vfs) {
  return static_cast<Shim*>(vfs->pAppData)->base;
}

struct WalFile;

sqlite3_file* RealOf(sqlite3_file* f);

// The wrapper of a writable main database file. The base VFS's file
// follows it in the memory SQLite allocated (RealOf).
struct DbFile {
  sqlite3_file header{};      // must be first: SQLite sees a sqlite3_file
  const char* key = nullptr;  // SQLite's name object, shared with the WAL
  WalFile* wal = nullptr;     // this connection's WAL file, while open
  sqlite3_io_methods methods{};
};

// The wrapper of a WAL file, laid out as DbFile is.
struct WalFile {
  sqlite3_file header{};
  DbFile* db = nullptr;
  std::unique_ptr<char[]> buf;  // made on the first held write
  sqlite3_int64 offset = 0;     // file offset of buf[0]
  size_t held = 0;              // bytes in buf
  // End of what this write transaction wrote: frame headers below it are
  // rewrites. Reset when the transaction takes the write lock.
  sqlite3_int64 end = 0;
  bool page_may_follow = false;     // last write: a frame header, held
  bool commit_header_held = false;  // ... and it was a commit frame's
  bool direct = false;              // buffering given up: write through
  // The opened file's identity (CoalescingVfsWalIdentity), if known.
  bool identified = false;
  dev_t dev = 0;
  ino_t ino = 0;

  // Writes out what is held. The bytes are dropped either way: on failure
  // the transaction they belong to fails, as a failed direct write would.
  int Flush() noexcept {
    sqlite3_file* real = RealOf(&header);
    int rc = SQLITE_OK;
    for (size_t done = 0; done < held && rc == SQLITE_OK;) {
      const size_t n = std::min(held - done, kMaxWriteBytes);
      rc = real->pMethods->xWrite(real, buf.get() + done, static_cast<int>(n),
                                  offset + static_cast<sqlite3_int64>(done));
      done += n;
    }
    held = 0;
    return rc;
  }

  // Holds n bytes meant for `at`, writing out first what they do not
  // continue or what they would overflow.
  int Hold(const void* data, int n, sqlite3_int64 at) noexcept {
    const auto size = static_cast<size_t>(n);
    if (held > 0 && (offset + static_cast<sqlite3_int64>(held) != at ||
                     held + size > kBufferBytes)) {
      const int rc = Flush();
      if (rc != SQLITE_OK) return rc;
    }
    if (!buf && size <= kBufferBytes) {
      buf = std::unique_ptr<char[]>(new (std::nothrow) char[kBufferBytes]);
    }
    if (!buf || size > kBufferBytes) {
      sqlite3_file* real = RealOf(&header);
      return real->pMethods->xWrite(real, data, n, at);
    }
    if (held == 0) offset = at;
    std::memcpy(buf.get() + held, data, size);
    held += size;
    return SQLITE_OK;
  }
};

// Where the base VFS's file lives: right after our wrapper, aligned, for
// both kinds of wrapper.
constexpr size_t kWrapperBytes =
    (std::max(sizeof(WalFile), sizeof(DbFile)) + 15) / 16 * 16;

// The base VFS's file of either wrapper.
sqlite3_file* RealOf(sqlite3_file* f) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) +
                                         kWrapperBytes);
}

// The process's coalescing VFSs and open database files. A forked child
// starts with an empty one (ProcessState): connections do not cross a
// fork, and a VFS registered again under the same name takes the place of
// the parent's in sqlite3_vfs_find.
struct Registry {
  std::mutex mu;
  // Writable main database files by SQLite's name object, so a WAL file
  // (whose name object leads to the same database name) finds its own.
  std::unordered_map<const char*, DbFile*> db_files;
  // SQLite keeps a registered VFS for the life of the process, so these
  // are never freed.
  std::deque<Shim> shims;
};
Registry& Files() { return ProcessState<Registry>(); }

WalFile* Wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
DbFile* Db(sqlite3_file* f) { return reinterpret_cast<DbFile*>(f); }

// Runs the WAL's Flush(), then `call` on the real file unless it failed:
// for every call but the writes WalWrite holds.
template <typename Call>
int FlushThen(sqlite3_file* f, Call call) {
  WalFile* wal = Wal(f);
  wal->page_may_follow = false;
  wal->commit_header_held = false;
  const int rc = wal->Flush();
  return rc != SQLITE_OK ? rc : call(RealOf(f));
}

// Forward<&sqlite3_io_methods::xMethod>: a method that passes its call on
// to the wrapped file (ToReal), or, for a WAL file, does so after writing
// out what is held (ToWal).
template <auto Method>
struct Forward;
template <typename R, typename... Args,
          R (*sqlite3_io_methods::*Method)(sqlite3_file*, Args...)>
struct Forward<Method> {
  static R ToReal(sqlite3_file* f, Args... args) {
    sqlite3_file* real = RealOf(f);
    return (real->pMethods->*Method)(real, args...);
  }
  static R ToWal(sqlite3_file* f, Args... args) {
    return FlushThen(f, [&](sqlite3_file* real) {
      return (real->pMethods->*Method)(real, args...);
    });
  }
};

// ---- WAL file methods ----

int WalClose(sqlite3_file* f) {
  WalFile* wal = Wal(f);
  const int flushed = wal->Flush();
  {
    std::lock_guard<std::mutex> lock(Files().mu);
    if (wal->db != nullptr) wal->db->wal = nullptr;
  }
  sqlite3_file* real = RealOf(f);
  const int closed = real->pMethods->xClose(real);
  wal->~WalFile();
  return flushed != SQLITE_OK ? flushed : closed;
}

int WalWrite(sqlite3_file* f, const void* data, int n, sqlite3_int64 at) {
  WalFile* wal = Wal(f);
  const bool append = at >= wal->end;
  wal->end = std::max(wal->end, at + n);
  if (!wal->direct && append &&
      n == static_cast<int>(format::kWalFrameHeaderSize)) {
    const int rc = wal->Hold(data, n, at);
    if (rc != SQLITE_OK) return rc;
    wal->page_may_follow = true;
    wal->commit_header_held =
        format::Get32(static_cast<const uint8_t*>(data) + 4) != 0;
    return SQLITE_OK;
  }
  if (!wal->direct && wal->page_may_follow) {
    wal->page_may_follow = false;
    const int rc = wal->Hold(data, n, at);
    if (rc != SQLITE_OK || !wal->commit_header_held) return rc;
    // A commit frame goes out, whole, with everything before it.
    wal->commit_header_held = false;
    return wal->Flush();
  }
  return FlushThen(
      f, [&](sqlite3_file* r) { return r->pMethods->xWrite(r, data, n, at); });
}

// Version 1: SQLite maps neither the WAL nor its shared memory through the
// WAL file's methods.
const sqlite3_io_methods kWalMethods = {
    1,
    WalClose,
    Forward<&sqlite3_io_methods::xRead>::ToWal,
    WalWrite,
    Forward<&sqlite3_io_methods::xTruncate>::ToWal,
    Forward<&sqlite3_io_methods::xSync>::ToWal,
    Forward<&sqlite3_io_methods::xFileSize>::ToWal,
    Forward<&sqlite3_io_methods::xLock>::ToWal,
    Forward<&sqlite3_io_methods::xUnlock>::ToWal,
    Forward<&sqlite3_io_methods::xCheckReservedLock>::ToWal,
    Forward<&sqlite3_io_methods::xFileControl>::ToWal,
    Forward<&sqlite3_io_methods::xSectorSize>::ToReal,
    Forward<&sqlite3_io_methods::xDeviceCharacteristics>::ToReal,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr};

// ---- main database file methods: forwarders, plus the safety net ----

int DbClose(sqlite3_file* f) {
  DbFile* db = Db(f);
  {
    Registry& files = Files();
    std::lock_guard<std::mutex> lock(files.mu);
    auto it = files.db_files.find(db->key);
    if (it != files.db_files.end() && it->second == db) {
      files.db_files.erase(it);
    }
    if (db->wal != nullptr) db->wal->db = nullptr;
  }
  sqlite3_file* real = RealOf(f);
  const int rc = real->pMethods->xClose(real);
  db->~DbFile();
  return rc;
}
int DbShmLock(sqlite3_file* f, int offset, int n, int flags) {
  sqlite3_file* real = RealOf(f);
  const int rc = real->pMethods->xShmLock(real, offset, n, flags);
  // Lock 0 is WAL_WRITE_LOCK (walformat.html): a write transaction starts,
  // and may append anywhere past the last commit, whoever wrote it.
  constexpr int kTakeWriteLock = SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE;
  const DbFile* db = Db(f);
  if (rc == SQLITE_OK && offset == 0 && n == 1 && flags == kTakeWriteLock &&
      db->wal != nullptr) {
    db->wal->end = 0;
  }
  return rc;
}
void DbShmBarrier(sqlite3_file* f) {
  DbFile* db = Db(f);
  // The connection's own thread runs both this and its WAL's writes.
  WalFile* wal = db->wal;
  if (wal != nullptr && wal->held > 0) {
    g_barrier_flushes.fetch_add(1, std::memory_order_relaxed);
    (void)wal->Flush();  // a barrier cannot fail; the next write reports
    wal->direct = true;
  }
  sqlite3_file* real = RealOf(f);
  real->pMethods->xShmBarrier(real);
}
// The database file's methods: the real file's version, and only the
// methods it has.
sqlite3_io_methods DbMethodsFor(const sqlite3_io_methods& real) {
  sqlite3_io_methods m = {
      1,
      DbClose,
      Forward<&sqlite3_io_methods::xRead>::ToReal,
      Forward<&sqlite3_io_methods::xWrite>::ToReal,
      Forward<&sqlite3_io_methods::xTruncate>::ToReal,
      Forward<&sqlite3_io_methods::xSync>::ToReal,
      Forward<&sqlite3_io_methods::xFileSize>::ToReal,
      Forward<&sqlite3_io_methods::xLock>::ToReal,
      Forward<&sqlite3_io_methods::xUnlock>::ToReal,
      Forward<&sqlite3_io_methods::xCheckReservedLock>::ToReal,
      Forward<&sqlite3_io_methods::xFileControl>::ToReal,
      Forward<&sqlite3_io_methods::xSectorSize>::ToReal,
      Forward<&sqlite3_io_methods::xDeviceCharacteristics>::ToReal,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr,
      nullptr};
  m.iVersion = real.iVersion < 3 ? real.iVersion : 3;
  if (m.iVersion >= 2) {
    m.xShmMap =
        real.xShmMap ? Forward<&sqlite3_io_methods::xShmMap>::ToReal : nullptr;
    m.xShmLock = real.xShmLock ? DbShmLock : nullptr;
    m.xShmBarrier = real.xShmBarrier ? DbShmBarrier : nullptr;
    m.xShmUnmap = real.xShmUnmap
                      ? Forward<&sqlite3_io_methods::xShmUnmap>::ToReal
                      : nullptr;
  }
  if (m.iVersion >= 3) {
    m.xFetch =
        real.xFetch ? Forward<&sqlite3_io_methods::xFetch>::ToReal : nullptr;
    m.xUnfetch = real.xUnfetch ? Forward<&sqlite3_io_methods::xUnfetch>::ToReal
                               : nullptr;
  }
  return m;
}

// ---- the VFS ----

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags,
         int* out_flags) {
  sqlite3_vfs* base = BaseOf(vfs);
  const bool wal = (flags & SQLITE_OPEN_WAL) != 0;
  const bool writable_db =
      (flags & SQLITE_OPEN_MAIN_DB) != 0 && (flags & SQLITE_OPEN_READWRITE);
  if ((!wal && !writable_db) || name == nullptr) {
    return base->xOpen(base, name, f, flags, out_flags);
  }
  sqlite3_file* real = RealOf(f);
  std::memset(real, 0, static_cast<size_t>(base->szOsFile));
  // The WAL's identity before the open; a WAL this open creates has none.
  struct stat before {};
  const bool existed = wal && ::stat(name, &before) == 0;
  const bool created = wal && !existed && errno == ENOENT;
  const int rc = base->xOpen(base, name, real, flags, out_flags);
  if (rc != SQLITE_OK || real->pMethods == nullptr) {
    if (real->pMethods != nullptr) real->pMethods->xClose(real);
    f->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  // Placement new into the memory SQLite allocated for the file; the
  // xClose methods run the destructors and SQLite frees the memory.
  if (wal) {
    auto* file = new (f) WalFile{};  // NOLINT(cppcoreguidelines-owning-memory)
    // A file renamed over the path between SQLite's open and these stat
    // calls could still be taken for the WAL; the window is that short.
    struct stat after {};
    if ((existed || created) && ::stat(name, &after) == 0 &&
        S_ISREG(after.st_mode) &&
        (created ||
         (after.st_dev == before.st_dev && after.st_ino == before.st_ino))) {
      file->identified = true;
      file->dev = after.st_dev;
      file->ino = after.st_ino;
    }
    Registry& files = Files();
    std::lock_guard<std::mutex> lock(files.mu);
    auto it = files.db_files.find(sqlite3_filename_database(name));
    if (it != files.db_files.end()) {
      file->db = it->second;
      it->second->wal = file;
    }
    file->header.pMethods = &kWalMethods;
    return SQLITE_OK;
  }
  auto* file = new (f) DbFile{};  // NOLINT(cppcoreguidelines-owning-memory)
  file->key = name;
  file->methods = DbMethodsFor(*real->pMethods);
  {
    Registry& files = Files();
    std::lock_guard<std::mutex> lock(files.mu);
    files.db_files.emplace(name, file);  // the first opener keeps the slot
  }
  file->header.pMethods = &file->methods;
  return SQLITE_OK;
}

// VfsForward<&sqlite3_vfs::xMethod>::Call: passes a VFS call on to the
// base VFS.
template <auto Method>
struct VfsForward;
template <typename R, typename... Args,
          R (*sqlite3_vfs::*Method)(sqlite3_vfs*, Args...)>
struct VfsForward<Method> {
  static R Call(sqlite3_vfs* vfs, Args... args) {
    sqlite3_vfs* base = BaseOf(vfs);
    return (base->*Method)(base, args...);
  }
};

int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* base = BaseOf(vfs);
  return base->xGetLastError ? base->xGetLastError(base, n, out) : 0;
}

// VfsForward's Call for a method, or nullptr if `base` lacks it.
template <auto Method>
auto ForwardIfPresent(const sqlite3_vfs* base) {
  return base->*Method != nullptr ? VfsForward<Method>::Call : nullptr;
}

// Fills shim->vfs as a wrapper of shim->base.
void Describe(Shim* shim) {
  const sqlite3_vfs* base = shim->base;
  sqlite3_vfs& v = shim->vfs;
  v.iVersion = base->iVersion < 3 ? base->iVersion : 3;
  v.szOsFile = static_cast<int>(kWrapperBytes) + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = shim->name.c_str();
  v.pAppData = shim;
  v.xOpen = Open;
  v.xDelete = VfsForward<&sqlite3_vfs::xDelete>::Call;
  v.xAccess = VfsForward<&sqlite3_vfs::xAccess>::Call;
  v.xFullPathname = VfsForward<&sqlite3_vfs::xFullPathname>::Call;
  v.xDlOpen = ForwardIfPresent<&sqlite3_vfs::xDlOpen>(base);
  v.xDlError = ForwardIfPresent<&sqlite3_vfs::xDlError>(base);
  v.xDlSym = ForwardIfPresent<&sqlite3_vfs::xDlSym>(base);
  v.xDlClose = ForwardIfPresent<&sqlite3_vfs::xDlClose>(base);
  v.xRandomness = VfsForward<&sqlite3_vfs::xRandomness>::Call;
  v.xSleep = VfsForward<&sqlite3_vfs::xSleep>::Call;
  v.xCurrentTime = VfsForward<&sqlite3_vfs::xCurrentTime>::Call;
  v.xGetLastError = GetLastError;
  if (v.iVersion >= 2) {
    v.xCurrentTimeInt64 =
        ForwardIfPresent<&sqlite3_vfs::xCurrentTimeInt64>(base);
  }
  if (v.iVersion >= 3) {
    v.xSetSystemCall = ForwardIfPresent<&sqlite3_vfs::xSetSystemCall>(base);
    v.xGetSystemCall = ForwardIfPresent<&sqlite3_vfs::xGetSystemCall>(base);
    v.xNextSystemCall = ForwardIfPresent<&sqlite3_vfs::xNextSystemCall>(base);
  }
}

}  // namespace

const char* CoalescingVfsName() noexcept {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (base == nullptr || base->zName == nullptr) return nullptr;
  Registry& files = Files();
  std::lock_guard<std::mutex> lock(files.mu);
  try {
    for (Shim& shim : files.shims) {
      if (shim.base == base || &shim.vfs == base) return shim.name.c_str();
    }
    Shim& shim = files.shims.emplace_back();
    shim.base = base;
    shim.name = std::string("snkv-wal-") + base->zName;
    Describe(&shim);
    if (sqlite3_vfs_register(&shim.vfs, /*makeDflt=*/0) != SQLITE_OK) {
      files.shims.pop_back();
      return nullptr;
    }
    return shim.name.c_str();
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

bool CoalescingVfsWalIdentity(sqlite3_file* wal, dev_t* dev,
                              ino_t* ino) noexcept {
  if (wal == nullptr || wal->pMethods != &kWalMethods) return false;
  const auto* file = reinterpret_cast<const WalFile*>(wal);
  if (!file->identified) return false;
  *dev = file->dev;
  *ino = file->ino;
  return true;
}

uint64_t CoalescingVfsBarrierFlushes() noexcept {
  return g_barrier_flushes.load(std::memory_order_relaxed);
}

}  // namespace snkv::engine
