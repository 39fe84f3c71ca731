#include "engine/shared_map.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <new>

#include "engine/fork_generation.h"
#include "engine/process_state.h"

namespace snkv::engine {

namespace {

// The newest generation of each file. Entries whose generation is gone are
// swept when a file is added, so the map stays as small as the set of
// files mapped now.
struct Registry {
  std::mutex mu;
  std::map<FileIdentity, std::weak_ptr<MapGeneration>> newest;
};

Registry& TheRegistry() { return ProcessState<Registry>(); }

std::atomic<size_t> g_live{0};

}  // namespace

bool IdentifyFile(const sqlite3_vfs* vfs, const char* path,
                  FileIdentity* out) noexcept {
  struct stat st {};
  if (path == nullptr || ::stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    return false;
  }
  *out = FileIdentity{vfs, st.st_dev, st.st_ino};
  return true;
}

MapGeneration::~MapGeneration() {
  if (file_ == nullptr) return;
  if (fork_generation_ != ForkGeneration()) {
    // Made by the parent of this forked child: the handle is the parent
    // SQLite's to close, and unmapping would gain nothing. Let both go.
    (void)file_storage_.release();  // NOLINT(bugprone-unused-return-value)
    return;
  }
  if (data_ != nullptr) {
    // Give the fetch back, then ask for the whole map to be dropped.
    file_->pMethods->xUnfetch(file_, 0, const_cast<uint8_t*>(data_));
    file_->pMethods->xUnfetch(file_, 0, nullptr);
  }
  file_->pMethods->xClose(file_);
  g_live.fetch_sub(1, std::memory_order_relaxed);
}

std::shared_ptr<MapGeneration> SharedMaps::Make(sqlite3_vfs* vfs,
                                                const char* path) noexcept {
  std::shared_ptr<MapGeneration> gen;
  try {
    gen.reset(new MapGeneration());  // NOLINT: private constructor
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  auto storage = std::unique_ptr<uint8_t[]>(
      new (std::nothrow) uint8_t[static_cast<size_t>(vfs->szOsFile)]());
  if (!storage) return nullptr;
  auto* file = reinterpret_cast<sqlite3_file*>(storage.get());
  int out_flags = 0;
  if (vfs->xOpen(vfs, path, file, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB,
                 &out_flags) != SQLITE_OK) {
    // xOpen may have set pMethods even on failure; then xClose is owed.
    if (file->pMethods != nullptr) file->pMethods->xClose(file);
    return nullptr;
  }
  if (file->pMethods == nullptr) return nullptr;
  // From here the generation owns the handle and closes it.
  gen->file_storage_ = std::move(storage);
  gen->file_ = file;
  gen->fork_generation_ = ForkGeneration();
  g_live.fetch_add(1, std::memory_order_relaxed);
  if (file->pMethods->iVersion < 3 || file->pMethods->xFetch == nullptr ||
      file->pMethods->xUnfetch == nullptr) {
    return nullptr;
  }
  // Map as much as SQLite allows (it caps the request at its compiled
  // limit); a negative request then reports the limit in force.
  sqlite3_int64 limit = std::numeric_limits<sqlite3_int64>::max();
  (void)file->pMethods->xFileControl(file, SQLITE_FCNTL_MMAP_SIZE, &limit);
  limit = -1;
  if (file->pMethods->xFileControl(file, SQLITE_FCNTL_MMAP_SIZE, &limit) !=
          SQLITE_OK ||
      limit <= 0) {
    return nullptr;
  }
  sqlite3_int64 size = 0;
  if (file->pMethods->xFileSize(file, &size) != SQLITE_OK || size <= 0) {
    return nullptr;
  }
  // xFetch takes an int.
  const sqlite3_int64 have =
      std::min<sqlite3_int64>({size, limit, sqlite3_int64{INT32_MAX}});
  void* p = nullptr;
  if (file->pMethods->xFetch(file, 0, static_cast<int>(have), &p) !=
          SQLITE_OK ||
      p == nullptr) {
    return nullptr;
  }
  gen->data_ = static_cast<const uint8_t*>(p);
  gen->bytes_ = static_cast<uint64_t>(have);
  return gen;
}

std::shared_ptr<const MapGeneration> SharedMaps::Acquire(
    const FileIdentity& id, sqlite3_vfs* vfs, const char* path,
    uint64_t want) noexcept {
  if (vfs == nullptr || path == nullptr || want == 0) return nullptr;
  Registry& reg = TheRegistry();
  // Held while a new generation is made, so that readers of a growing file
  // wait for one new map instead of each making their own.
  std::lock_guard<std::mutex> lock(reg.mu);
  try {
    auto found = reg.newest.find(id);
    std::shared_ptr<MapGeneration> newest;
    if (found != reg.newest.end()) newest = found->second.lock();
    if (newest != nullptr && newest->bytes() >= want) return newest;
    // The path must still name the caller's file, before and after the
    // open: a replaced file's bytes must not be shared under the old one's
    // identity (the generation's open handle keeps the inode, and so the
    // identity, from being reused while it lives).
    FileIdentity now;
    if (!IdentifyFile(vfs, path, &now) || !(now == id)) return nullptr;
    std::shared_ptr<MapGeneration> made = Make(vfs, path);
    if (made == nullptr) return nullptr;
    if (!IdentifyFile(vfs, path, &now) || !(now == id)) return nullptr;
    if (found == reg.newest.end()) {
      // A new file: sweep the entries of files no longer mapped.
      for (auto it = reg.newest.begin(); it != reg.newest.end();) {
        it = it->second.expired() ? reg.newest.erase(it) : std::next(it);
      }
      reg.newest.emplace(id, made);
    } else if (newest == nullptr || made->bytes() > newest->bytes()) {
      found->second = made;
    }
    return made;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

size_t SharedMaps::LiveGenerations() noexcept {
  return g_live.load(std::memory_order_relaxed);
}

}  // namespace snkv::engine
