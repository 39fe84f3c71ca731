#include "engine/page_source.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <new>

#include "engine/sqlite_format.h"
#include "engine/wal_write_vfs.h"

namespace snkv::engine {

namespace {

// The WAL index (walformat.html, "WAL-Index Hash Tables"): 32 KiB units,
// each a page-number array and then 8192 two-byte hash slots at byte
// 16384. The first unit starts with the 136-byte header, so it indexes
// only 4062 frames; every other one 4096.
constexpr uint32_t kUnitBytes = 32768;
constexpr uint32_t kIndexHeaderBytes = 136;
constexpr uint32_t kFirstUnitFrames = 4062;
constexpr uint32_t kUnitFrames = 4096;
constexpr uint32_t kHashOffset = 16384;
constexpr uint32_t kHashSlots = 8192;
constexpr uint32_t kHashMultiplier = 383;

// Byte offsets in the WAL-index header (native byte order).
constexpr size_t kPageSizeField = 14;
constexpr size_t kMaxFrameField = 16;
constexpr size_t kDbPagesField = 20;
constexpr size_t kSaltField = 32;

uint32_t UnitOf(uint32_t frame) {
  return frame <= kFirstUnitFrames
             ? 0
             : (frame - kFirstUnitFrames - 1) / kUnitFrames + 1;
}
// The frame number before the first one unit `unit` indexes.
uint32_t UnitBase(uint32_t unit) {
  return unit == 0 ? 0 : kFirstUnitFrames + (unit - 1) * kUnitFrames;
}

template <class T>
T LoadShared(const volatile uint8_t* p) {
  // Slots are aligned and written whole by SQLite; a relaxed load of each
  // suffices after the acquire fence that read the header.
  return __atomic_load_n(
      reinterpret_cast<const T*>(const_cast<const uint8_t*>(p)),
      __ATOMIC_RELAXED);
}

// Whether the connection's database file is no longer the file its path
// names (deleted and re-created, or replaced by rename): then a handle of
// our own opened by that path would read another file's pages. A VFS
// that cannot tell (no SQLITE_FCNTL_HAS_MOVED) is taken at its path.
bool ConnectionFileMoved(sqlite3_file* db_file) {
  int moved = 0;
  if (db_file->pMethods->xFileControl(db_file, SQLITE_FCNTL_HAS_MOVED,
                                      &moved) != SQLITE_OK) {
    return false;
  }
  return moved != 0;
}

// PageSource::TreatEveryWalAsLarge's setting.
std::atomic<bool> g_every_wal_large{false};

}  // namespace

void PageSource::TreatEveryWalAsLarge(bool on) noexcept {
  g_every_wal_large.store(on, std::memory_order_relaxed);
}

bool PageSource::Attach(sqlite3* db, uint32_t page_size) noexcept {
  Detach();
  if (page_size < 512 || page_size > 65536) return false;
  sqlite3_file* db_file = nullptr;
  sqlite3_vfs* vfs = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &db_file) !=
          SQLITE_OK ||
      db_file == nullptr || db_file->pMethods == nullptr ||
      db_file->pMethods->iVersion < 2 ||
      db_file->pMethods->xShmMap == nullptr ||
      sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) !=
          SQLITE_OK ||
      vfs == nullptr) {
    return false;
  }
  // SQLite's own name object: it carries the URI parameters the VFS may
  // look up, and lives as long as the connection.
  const char* name = sqlite3_db_filename(db, "main");
  if (name == nullptr || name[0] == '\0') return false;  // in memory

  // The identity the shared map is found under, taken before and after
  // the open so that it is the opened file's.
  // The connection's file must be the one at the path both before and
  // after our open, so that the handle we open is that same file.
  if (ConnectionFileMoved(db_file)) return false;
  FileIdentity before;
  FileIdentity after;
  const bool identified_before = IdentifyFile(vfs, name, &before);

  auto storage = std::unique_ptr<uint8_t[]>(
      new (std::nothrow) uint8_t[static_cast<size_t>(vfs->szOsFile)]());
  if (!storage) return false;
  auto* file = reinterpret_cast<sqlite3_file*>(storage.get());
  int out_flags = 0;
  int rc = vfs->xOpen(vfs, name, file,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, &out_flags);
  if (rc != SQLITE_OK) {
    // xOpen may have set pMethods even on failure; then xClose is owed.
    if (file->pMethods != nullptr) file->pMethods->xClose(file);
    return false;
  }
  if (file->pMethods == nullptr || file->pMethods->iVersion < 3 ||
      file->pMethods->xFetch == nullptr ||
      file->pMethods->xUnfetch == nullptr) {
    if (file->pMethods != nullptr) file->pMethods->xClose(file);
    return false;
  }
  if (ConnectionFileMoved(db_file)) {
    file->pMethods->xClose(file);
    return false;
  }
  // SQLite's mapping limit for this file (it caps the request at its
  // compiled limit): the shared map is never asked for more.
  sqlite3_int64 limit = std::numeric_limits<sqlite3_int64>::max();
  (void)file->pMethods->xFileControl(file, SQLITE_FCNTL_MMAP_SIZE, &limit);
  limit = -1;  // a negative request only reports the limit in force
  if (file->pMethods->xFileControl(file, SQLITE_FCNTL_MMAP_SIZE, &limit) !=
          SQLITE_OK ||
      limit < 0) {
    limit = 0;
  }

  db_ = db;
  db_file_ = db_file;
  file_storage_ = std::move(storage);
  file_ = file;
  page_size_ = page_size;
  identified_ =
      identified_before && IdentifyFile(vfs, name, &after) && before == after;
  file_id_ = before;
  vfs_ = vfs;
  name_ = name;
  wal_name_ = sqlite3_filename_wal(name);
  map_limit_pages_ = static_cast<uint32_t>(std::min<sqlite3_int64>(
      std::min<sqlite3_int64>(limit, INT32_MAX) / page_size, UINT32_MAX));
  // The WAL is mapped under the same conditions as the database file: a
  // plain file, and SQLite allowed to map.
  wal_mappable_ = identified_ && map_limit_pages_ > 0 && wal_name_ != nullptr &&
                  wal_name_[0] != '\0';
  return true;
}

void PageSource::Detach() noexcept {
  if (file_ == nullptr) return;
  EndRead();
  Unmap();
  UnmapWal();
  ForgetWalPages();
  wal_name_ = nullptr;
  wal_mappable_ = false;
  file_->pMethods->xClose(file_);
  file_ = nullptr;
  file_storage_.reset();
  db_ = nullptr;
  db_file_ = nullptr;
  identified_ = false;
  vfs_ = nullptr;
  name_ = nullptr;
  units_.clear();
  ForgetSlots();
  frames_.clear();
  spare_.clear();
  scratch_.clear();
  once_.reset();
}

PageSnapshot PageSource::Describe(const WalWatch::Header& header,
                                  uint32_t backfilled) noexcept {
  PageSnapshot snap;
  if (file_ == nullptr) return snap;
  uint8_t h[WalWatch::kHeaderSize];
  std::memcpy(h, header.data(), sizeof(h));
  uint16_t size_field = 0;
  uint32_t max_frame = 0;
  uint32_t db_pages = 0;
  std::memcpy(&size_field, h + kPageSizeField, sizeof(size_field));
  std::memcpy(&max_frame, h + kMaxFrameField, sizeof(max_frame));
  std::memcpy(&db_pages, h + kDbPagesField, sizeof(db_pages));
  std::memcpy(&snap.salt, h + kSaltField, sizeof(snap.salt));
  const uint32_t wal_page_size = size_field == 1 ? 65536 : size_field;
  if (max_frame > 0 && wal_page_size != page_size_) return snap;
  if (backfilled > max_frame) return snap;
  snap.max_frame = max_frame;
  snap.min_frame = backfilled + 1;

  // The file's size now: one fstat per snapshot (not per read). Pages
  // past it are never read through the map.
  sqlite3_int64 bytes = 0;
  if (file_->pMethods->xFileSize(file_, &bytes) != SQLITE_OK) return snap;
  const auto file_pages = static_cast<uint32_t>(
      std::min<sqlite3_int64>(bytes / page_size_, UINT32_MAX));
  // As SQLite's pager does: the WAL's size, or the file's when it has none.
  if (db_pages == 0) db_pages = file_pages;
  if (db_pages == 0) return snap;
  // Units for the frames the snapshot reads are looked up afresh.
  units_.clear();
  MapPages(std::min(db_pages, file_pages));
  frames_read_snapshot_ = 0;
  MapWal(snap);
  IndexWalPages(snap);

  snap.db_pages = db_pages;
  snap.file_pages = file_pages;
  snap.id = next_snapshot_id_++;
  snap.usable_size = page_size_;  // enough to read page 1's header
  ReadScope scope(*this);
  const uint8_t* first = Page(snap, 1);
  const uint32_t reserved =
      first == nullptr ? page_size_ : first[format::kReservedBytesOffset];
  // SQLite refuses usable sizes below 480.
  if (first == nullptr || page_size_ - reserved < 480) {
    snap.db_pages = 0;
    return snap;
  }
  // SQLite's B-tree layer takes the size in page 1's header when that is
  // valid (its version-valid-for number matches the change counter), calls
  // a header claiming more pages than the pager has damage, and reports
  // pages past it as damage: read no further than it would.
  const uint32_t header_pages = format::Get32(first + format::kDbPagesOffset);
  if (header_pages != 0 &&
      std::memcmp(first + format::kChangeCounterOffset,
                  first + format::kValidForOffset, 4) == 0) {
    if (header_pages > db_pages) {
      snap.db_pages = 0;  // SQL reports it
      return snap;
    }
    snap.db_pages = header_pages;
  }
  const uint64_t frames = snap.max_frame >= snap.min_frame
                              ? snap.max_frame - snap.min_frame + 1
                              : 0;
  snap.chain_limit = static_cast<uint32_t>(
      std::min<uint64_t>(snap.db_pages, uint64_t{file_pages} + frames));
  snap.usable_size = page_size_ - reserved;
  snap.schema_cookie = format::Get32(first + format::kSchemaCookieOffset);
  return snap;
}

void PageSource::Advance(PageSnapshot* snap, uint32_t backfilled) noexcept {
  // Safe because our read mark is at most max_frame and no checkpoint
  // copies a frame past any reader's mark: every frame it copies into the
  // file from now on is in (backfilled, max_frame], which we still read
  // from the WAL, so for every other page the file holds the snapshot's
  // copy for as long as the mark is held. (Under read lock 0 the snapshot
  // reads no frames and backfilled equals max_frame: nothing to move.)
  // The same reasoning lets SQLite skip backfilled frames. A smaller value
  // (a WAL reset, only possible without a mark) changes nothing.
  if (snap->usable() && frames_read_snapshot_ >= kWalMapAfterReads) {
    MapWal(*snap);  // the snapshot reads many frames: map them
  }
  if (!snap->usable() || backfilled < snap->min_frame ||
      backfilled > snap->max_frame) {
    return;
  }
  // A checkpoint still under way that has grown the file past the map:
  // mapping now would make a new map at each of its steps, each one a
  // munmap that stops every thread of the process and the whole file
  // faulted in again. The snapshot reads those pages from the WAL as
  // well meanwhile, so wait until the checkpoint has reached the
  // snapshot's last frame or has stopped moving for kSettle.
  const bool pending = snap->id == pending_snapshot_ &&
                       backfilled == pending_backfilled_ &&
                       backfilled < snap->max_frame;
  const auto now = std::chrono::steady_clock::now();
  if (pending && now - pending_since_ < kSettle) return;
  uint32_t file_pages = snap->file_pages;
  // The checkpoint may have grown the file: map the pages it copied there
  // (rare: only after a checkpoint moved on, so the fstat is not per read).
  if (snap->file_pages < snap->db_pages) {
    sqlite3_int64 bytes = 0;
    if (file_->pMethods->xFileSize(file_, &bytes) == SQLITE_OK) {
      file_pages = static_cast<uint32_t>(std::max<sqlite3_int64>(
          snap->file_pages,
          std::min<sqlite3_int64>(bytes / page_size_, UINT32_MAX)));
    }
    if (!pending && backfilled < snap->max_frame &&
        std::min({snap->db_pages, file_pages, map_limit_pages_}) > map_pages_) {
      pending_snapshot_ = snap->id;
      pending_backfilled_ = backfilled;
      pending_since_ = now;
      return;
    }
  }
  pending_snapshot_ = 0;
  snap->min_frame = backfilled + 1;
  MapWal(*snap);  // lets the WAL's map go once no frame is read from it
  if (file_pages != snap->file_pages) {
    snap->file_pages = file_pages;
    MapPages(std::min(snap->db_pages, snap->file_pages));
  }
}

const volatile uint8_t* PageSource::IndexUnit(uint32_t unit) noexcept {
  if (unit < units_.size() && units_[unit] != nullptr) return units_[unit];
  void volatile* region = nullptr;
  // bExtend = 0: never grow the WAL index, only map what exists.
  if (db_file_->pMethods->xShmMap(db_file_, static_cast<int>(unit), kUnitBytes,
                                  0, &region) != SQLITE_OK ||
      region == nullptr) {
    return nullptr;
  }
  if (units_.size() <= unit) units_.resize(unit + 1, nullptr);
  units_[unit] = static_cast<const volatile uint8_t*>(region);
  return units_[unit];
}

int64_t PageSource::FindFrame(const PageSnapshot& snap,
                              uint32_t pgno) noexcept {
  if (snap.max_frame < snap.min_frame) return 0;
  if (wal_pages_max_ != 0 && wal_pages_max_ == snap.max_frame &&
      wal_pages_salt_ == snap.salt && wal_pages_start_ <= snap.min_frame) {
    const uint32_t frame = wal_pages_.Find(pgno);
    return frame >= snap.min_frame ? frame : 0;
  }
  const uint32_t last = UnitOf(snap.max_frame);
  const uint32_t first = UnitOf(snap.min_frame);
  for (uint32_t unit = last + 1; unit-- > first;) {
    const volatile uint8_t* base = IndexUnit(unit);
    if (base == nullptr) return -1;
    const volatile uint8_t* pages = unit == 0 ? base + kIndexHeaderBytes : base;
    const volatile uint8_t* slots = base + kHashOffset;
    const uint32_t zero = UnitBase(unit);
    const uint32_t capacity = unit == 0 ? kFirstUnitFrames : kUnitFrames;
    uint32_t best = 0;
    uint32_t probes = 0;
    for (uint32_t slot = (pgno * kHashMultiplier) & (kHashSlots - 1);;
         slot = (slot + 1) & (kHashSlots - 1)) {
      const uint32_t entry = LoadShared<uint16_t>(slots + 2 * size_t{slot});
      if (entry == 0) break;
      // More probes than slots: a damaged index with no free slot.
      if (++probes > kHashSlots || entry > capacity) return -1;
      const uint32_t frame = zero + entry;
      if (frame <= snap.max_frame && frame >= snap.min_frame &&
          LoadShared<uint32_t>(pages + 4 * size_t{entry - 1}) == pgno) {
        best = std::max(best, frame);
      }
    }
    if (best != 0) return best;
  }
  return 0;
}

const uint8_t* PageSource::ReadFrame(const PageSnapshot& snap, uint32_t frame,
                                     uint32_t pgno, uint8_t* buf) noexcept {
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) !=
          SQLITE_OK ||
      wal == nullptr || wal->pMethods == nullptr) {
    return nullptr;
  }
  ++frames_read_;
  ++frames_read_snapshot_;
  const sqlite3_int64 frame_bytes =
      sqlite3_int64{format::kWalFrameHeaderSize} + page_size_;
  const sqlite3_int64 offset =
      static_cast<sqlite3_int64>(format::kWalHeaderSize) +
      (static_cast<sqlite3_int64>(frame) - 1) * frame_bytes;
  if (wal->pMethods->xRead(wal, buf, static_cast<int>(frame_bytes), offset) !=
      SQLITE_OK) {
    return nullptr;
  }
  // A frame of this WAL carries the WAL's salts and its page number.
  if (format::Get32(buf) != pgno ||
      std::memcmp(buf + 8, &snap.salt, sizeof(snap.salt)) != 0) {
    return nullptr;
  }
  return buf + format::kWalFrameHeaderSize;
}

const uint8_t* PageSource::MappedFrame(const PageSnapshot& snap, uint32_t frame,
                                       uint32_t pgno) const noexcept {
  if (frame == 0) return nullptr;
  // At most 2^32 frames of at most 64 KiB + 24 bytes: no overflow in 64
  // bits, and `end` never wraps.
  const uint64_t frame_bytes = format::kWalFrameHeaderSize + page_size_;
  const uint64_t offset =
      format::kWalHeaderSize + (uint64_t{frame} - 1) * frame_bytes;
  if (offset + frame_bytes > wal_bytes_) return nullptr;
  const uint8_t* header = wal_data_ + offset;
  // As ReadFrame: a frame of this WAL carries its salts and its page
  // number. A map of another file (a WAL deleted and made again since it
  // was mapped) fails here and the frame is read with xRead.
  if (format::Get32(header) != pgno ||
      std::memcmp(header + 8, &snap.salt, sizeof(snap.salt)) != 0) {
    return nullptr;
  }
  return header + format::kWalFrameHeaderSize;
}

void PageSource::MapWal(const PageSnapshot& snap) noexcept {
  if (snap.max_frame < snap.min_frame) {
    // Nothing of this snapshot is in the WAL: do not keep its pages
    // resident (a load's WAL can be as large as the database).
    UnmapWal();
    return;
  }
  if (!wal_mappable_) return;
  const uint64_t frame_bytes = format::kWalFrameHeaderSize + page_size_;
  const uint64_t end =
      format::kWalHeaderSize + uint64_t{snap.max_frame} * frame_bytes;
  if (end <= wal_bytes_) return;
  // A few frames past the map are read (and cached) with xRead: mapping
  // again for each small commit would unmap at each one, and every munmap
  // stops all threads of the process.
  const uint64_t mapped =
      wal_bytes_ < format::kWalHeaderSize
          ? 0
          : (wal_bytes_ - format::kWalHeaderSize) / frame_bytes;
  const uint64_t from = std::max<uint64_t>(mapped, snap.min_frame - 1);
  const bool every = g_every_wal_large.load(std::memory_order_relaxed);
  if (!every && frames_read_snapshot_ < kWalMapAfterReads) return;
  if (snap.max_frame - from < (every ? 1 : kWalMapMinFrames)) return;
  // Once per kWalMapAfterReads frame reads at most, even when the map
  // cannot cover the snapshot (SQLite's mapping limit).
  frames_read_snapshot_ = 0;
  // Only the file SQLite itself has open as the WAL may be mapped: one
  // renamed over the path since could shrink under the map (SIGBUS).
  // SharedMaps::Acquire checks the path still names it around its open.
  FileIdentity id;
  std::shared_ptr<const MapGeneration> map;
  sqlite3_file* wal_file = nullptr;
  dev_t wal_dev = 0;
  ino_t wal_ino = 0;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER,
                           &wal_file) == SQLITE_OK &&
      CoalescingVfsWalIdentity(wal_file, &wal_dev, &wal_ino) &&
      IdentifyFile(vfs_, wal_name_, &id) && id.dev == wal_dev &&
      id.ino == wal_ino) {
    map = SharedMaps::Acquire(id, vfs_, wal_name_, end);
  }
  if (map == nullptr) {
    // Not mappable (or not a plain file): frames are read with xRead from
    // now on rather than trying again at every snapshot.
    wal_mappable_ = false;
    return;
  }
  if (map->bytes() <= wal_bytes_) return;  // no gain (SQLite's map limit)
  ForgetSlots();  // they may point into the map let go of here
  wal_data_ = map->data();
  wal_bytes_ = map->bytes();
  wal_map_ = std::move(map);
}

void PageSource::IndexWalPages(const PageSnapshot& snap) noexcept {
  // Within one unit FindFrame probes one hash table, as fast as this.
  if (snap.max_frame < snap.min_frame ||
      (UnitOf(snap.max_frame) == UnitOf(snap.min_frame) &&
       !g_every_wal_large.load(std::memory_order_relaxed))) {
    ForgetWalPages();
    return;
  }
  uint64_t frame = 0;
  if (wal_pages_max_ != 0 && wal_pages_salt_ == snap.salt &&
      wal_pages_max_ <= snap.max_frame && wal_pages_start_ <= snap.min_frame) {
    frame = uint64_t{wal_pages_max_} + 1;  // only the frames added since
  } else {
    ForgetWalPages();
    frame = snap.min_frame;
    wal_pages_start_ = snap.min_frame;
    wal_pages_salt_ = snap.salt;
  }
  // In increasing order, so that a page's newest frame is the one kept.
  // The page-number arrays of frames up to max_frame do not change while
  // the read transaction is held (as for FindFrame).
  while (frame <= snap.max_frame) {
    const auto unit = UnitOf(static_cast<uint32_t>(frame));
    const volatile uint8_t* base = IndexUnit(unit);
    if (base == nullptr) {  // FindFrame reports it
      ForgetWalPages();
      return;
    }
    const volatile uint8_t* pages = unit == 0 ? base + kIndexHeaderBytes : base;
    const uint64_t zero = UnitBase(unit);
    const uint64_t last = std::min<uint64_t>(
        snap.max_frame, zero + (unit == 0 ? kFirstUnitFrames : kUnitFrames));
    for (; frame <= last; ++frame) {
      const auto pgno = LoadShared<uint32_t>(pages + 4 * (frame - zero - 1));
      if (!wal_pages_.Put(pgno, static_cast<uint32_t>(frame))) {
        ForgetWalPages();  // out of memory: FindFrame probes the index
        return;
      }
    }
  }
  wal_pages_max_ = snap.max_frame;
}

void PageSource::ForgetWalPages() noexcept {
  wal_pages_.Clear();
  wal_pages_max_ = 0;
}

void PageSource::UnmapWal() noexcept {
  if (wal_map_ == nullptr) return;
  ForgetSlots();
  wal_map_.reset();
  wal_data_ = nullptr;
  wal_bytes_ = 0;
}

const uint8_t* PageSource::ReadDbPage(uint32_t pgno, uint8_t* buf) noexcept {
  const sqlite3_int64 offset =
      (static_cast<sqlite3_int64>(pgno) - 1) * page_size_;
  if (file_->pMethods->xRead(file_, buf, static_cast<int>(page_size_),
                             offset) != SQLITE_OK) {
    return nullptr;
  }
  return buf;
}

PageSource::PageBuffer PageSource::NewBuffer() const {
  return PageBuffer(new (std::nothrow)
                        uint8_t[format::kWalFrameHeaderSize + page_size_]);
}

uint8_t* PageSource::ScratchBuffer() noexcept {
  if (scratch_used_ == scratch_.size()) {
    PageBuffer buf = NewBuffer();
    if (!buf) return nullptr;
    scratch_.push_back(std::move(buf));
  }
  return scratch_[scratch_used_++].get();
}

const uint8_t* PageSource::Page(const PageSnapshot& snap,
                                uint32_t pgno) noexcept {
  if (pgno == 0 || pgno > snap.db_pages) return nullptr;
  if (snap.max_frame < snap.min_frame) {
    // No WAL frames to look through (the usual case once checkpoints have
    // caught up): the page is in the file.
    if (pgno <= map_pages_ && pgno <= snap.file_pages) {
      return map_data_ + static_cast<size_t>(pgno - 1) * page_size_;
    }
    uint8_t* buf = ScratchBuffer();
    return buf == nullptr ? nullptr : ReadDbPage(pgno, buf);
  }
  if (!page_slots_) {
    page_slots_.reset(new (std::nothrow) PageSlot[kPageSlots]);
  }
  PageSlot* slot = page_slots_ ? &page_slots_[PageSlotOf(pgno)] : nullptr;
  if (slot != nullptr && slot->snapshot == snap.id && slot->pgno == pgno) {
    return slot->page;
  }
  bool lasting = false;
  const uint8_t* page = LookUpPage(snap, pgno, &lasting);
  // A snapshot's page never changes, so the answer holds for as long as
  // the page stays where it was found.
  if (page != nullptr && lasting && slot != nullptr && snap.id != 0) {
    *slot = PageSlot{snap.id, page, pgno};
  }
  return page;
}

const uint8_t* PageSource::LookUpPage(const PageSnapshot& snap, uint32_t pgno,
                                      bool* lasting) noexcept {
  const int64_t frame = FindFrame(snap, pgno);
  if (frame < 0) return nullptr;
  if (frame == 0) {
    if (pgno <= map_pages_ && pgno <= snap.file_pages) {
      *lasting = true;
      return map_data_ + static_cast<size_t>(pgno - 1) * page_size_;
    }
    uint8_t* buf = ScratchBuffer();
    return buf == nullptr ? nullptr : ReadDbPage(pgno, buf);
  }
  if (const uint8_t* page =
          MappedFrame(snap, static_cast<uint32_t>(frame), pgno)) {
    *lasting = true;  // in the WAL's map until MapWal replaces it
    return page;
  }
  if (snap.salt != cached_salt_) {
    // Another WAL: frame numbers mean other pages now.
    ForgetSlots();
    for (auto& entry : frames_) spare_.push_back(std::move(entry.second));
    frames_.clear();
    cached_salt_ = snap.salt;
  }
  *lasting = true;  // in frames_ until EndRead drops the cache
  auto found = frames_.find(static_cast<uint32_t>(frame));
  if (found != frames_.end()) {
    return found->second.get() + format::kWalFrameHeaderSize;
  }
  PageBuffer buf;
  if (!spare_.empty()) {
    buf = std::move(spare_.back());
    spare_.pop_back();
  } else {
    buf = NewBuffer();
    if (!buf) return nullptr;
  }
  const uint8_t* page =
      ReadFrame(snap, static_cast<uint32_t>(frame), pgno, buf.get());
  if (page == nullptr) {
    spare_.push_back(std::move(buf));
    return nullptr;
  }
  try {
    frames_.emplace(static_cast<uint32_t>(frame), std::move(buf));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  return page;
}

const uint8_t* PageSource::PageOnce(const PageSnapshot& snap,
                                    uint32_t pgno) noexcept {
  if (pgno == 0 || pgno > snap.db_pages) return nullptr;
  const int64_t frame = FindFrame(snap, pgno);
  if (frame < 0) return nullptr;
  if (frame == 0 && pgno <= map_pages_ && pgno <= snap.file_pages) {
    return map_data_ + static_cast<size_t>(pgno - 1) * page_size_;
  }
  if (frame > 0) {
    if (const uint8_t* page =
            MappedFrame(snap, static_cast<uint32_t>(frame), pgno)) {
      return page;
    }
  }
  if (!once_) {
    once_ = NewBuffer();
    if (!once_) return nullptr;
  }
  if (frame == 0) return ReadDbPage(pgno, once_.get());
  return ReadFrame(snap, static_cast<uint32_t>(frame), pgno, once_.get());
}

void PageSource::EndRead() noexcept {
  ++read_epoch_;
  scratch_used_ = 0;
  if (frames_.size() > kMaxCachedFrames) {
    ForgetSlots();
    frames_.clear();  // simple and rare: the cache refills from hot pages
    spare_.clear();
  }
}

void PageSource::ForgetSlots() noexcept {
  if (page_slots_) std::fill_n(page_slots_.get(), kPageSlots, PageSlot{});
}

void PageSource::MapPages(uint32_t pages) noexcept {
  // Pages past SQLite's mapping limit are read with xRead.
  const uint32_t want = std::min(pages, map_limit_pages_);
  if (want <= map_pages_ || !identified_) return;
  // No pointer into the old map outlives an operation, so it may be let
  // go here (other handles may still hold it).
  std::shared_ptr<const MapGeneration> map =
      SharedMaps::Acquire(file_id_, vfs_, name_, uint64_t{want} * page_size_);
  if (map == nullptr) {
    // Keep what there is and read the rest. The file cannot be mapped (or
    // its path names another file now): trying again at every snapshot
    // would open and close it each time.
    identified_ = false;
    return;
  }
  ForgetSlots();  // they may point into the map let go of here
  map_pages_ = static_cast<uint32_t>(std::min<uint64_t>(
      {map->bytes() / page_size_, map_limit_pages_, UINT32_MAX}));
  map_data_ = map->data();
  map_ = std::move(map);
}

void PageSource::Unmap() noexcept {
  ForgetSlots();
  map_.reset();
  map_data_ = nullptr;
  map_pages_ = 0;
}

}  // namespace snkv::engine
