// SharedMap: one read-only memory map of a database file per process,
// shared by every PageSource that reads the file.
//
// Each handle mapping the file on its own made the process's resident set
// grow by the file's size per handle: the page-cache pages are the same,
// but every mapping faults in its own page-table entries and RSS counts
// each (docs/benchmarks.md, "Peak RSS and handles"). So the maps live in a
// process-wide registry keyed by the file's identity (VFS, st_dev,
// st_ino), as reference-counted generations: a MapGeneration maps the
// file's first bytes() bytes as they were when it was made, and never
// changes. A reader holds a reference to the generation it reads through;
// when it needs pages past the newest generation (the file grew), a new,
// larger generation is made and becomes the newest, and an old one is
// unmapped when its last reader lets go of it.
//
// A generation does not know how large the file is now: the reader must
// bound its reads by the file size it read for its snapshot, as
// PageSource does (a file truncated by another process since the map was
// made would raise SIGBUS past its new end).
//
// Thread-safe. Fork-safe: a forked child starts with an empty registry
// (engine::ProcessState), and a generation made before the fork is never
// unmapped or closed in the child (the file handle belongs to the parent's
// SQLite; see fork_generation.h).
#ifndef SNKV_ENGINE_SHARED_MAP_H
#define SNKV_ENGINE_SHARED_MAP_H

#include <sqlite3.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>

namespace snkv::engine {

// Which file a map belongs to. The VFS is part of it: another VFS may
// present other bytes for the same inode.
struct FileIdentity {
  const sqlite3_vfs* vfs = nullptr;
  dev_t dev = 0;
  ino_t ino = 0;

  bool operator<(const FileIdentity& o) const noexcept {
    if (vfs != o.vfs) return vfs < o.vfs;
    if (dev != o.dev) return dev < o.dev;
    return ino < o.ino;
  }
  bool operator==(const FileIdentity& o) const noexcept {
    return vfs == o.vfs && dev == o.dev && ino == o.ino;
  }
};

// The identity of the file at `path` now, or false if it cannot be had.
bool IdentifyFile(const sqlite3_vfs* vfs, const char* path,
                  FileIdentity* out) noexcept;

// One map of a file's first bytes() bytes, made through a read-only file
// handle of its own opened with the VFS (so that closing it keeps SQLite's
// POSIX locks, as PageSource's own handle does) and mapped with xFetch.
class MapGeneration {
 public:
  ~MapGeneration();
  MapGeneration(const MapGeneration&) = delete;
  MapGeneration& operator=(const MapGeneration&) = delete;

  const uint8_t* data() const noexcept { return data_; }
  uint64_t bytes() const noexcept { return bytes_; }

 private:
  friend class SharedMaps;
  MapGeneration() = default;

  std::unique_ptr<uint8_t[]> file_storage_;  // the sqlite3_file's memory
  sqlite3_file* file_ = nullptr;
  const uint8_t* data_ = nullptr;
  uint64_t bytes_ = 0;
  uint64_t fork_generation_ = 0;  // ForkGeneration() when it was made
};

class SharedMaps {
 public:
  // A map of at least the first `want` bytes of the file `path` (opened
  // with `vfs`, identified by `id`), shared with the other callers for the
  // same file: the newest generation if it is large enough, or else a new
  // one covering the whole file as it is now (as far as SQLite's mapping
  // limit allows). The result may be smaller than `want` when the file
  // shrank or the limit is lower; nullptr when the file cannot be mapped
  // (then read it with xRead), or when `path` no longer names file `id`
  // (it was replaced since `id` was taken).
  static std::shared_ptr<const MapGeneration> Acquire(const FileIdentity& id,
                                                      sqlite3_vfs* vfs,
                                                      const char* path,
                                                      uint64_t want) noexcept;

  // Generations alive in this process (for tests).
  static size_t LiveGenerations() noexcept;

 private:
  static std::shared_ptr<MapGeneration> Make(sqlite3_vfs* vfs,
                                             const char* path) noexcept;
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_SHARED_MAP_H
