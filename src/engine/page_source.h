// PageSource: the pages of a WAL-mode read snapshot, read from the files
// directly instead of through SQL.
//
// In WAL mode a snapshot's page P is the newest copy of P among the WAL
// frames the snapshot covers that were not yet copied back into the
// database file (frames min_frame..max_frame), or else P in the database
// file. The WAL index (the -shm mapping) has hash tables that find those
// frames; both it and the file formats are documented by SQLite
// (walformat.html, fileformat2.html). Everything is reached through public
// interfaces: the connection's WAL-index and WAL file through its
// sqlite3_io_methods, and the database file through a read-only handle of
// our own opened with the connection's VFS (which, unlike a plain open(),
// keeps SQLite's POSIX locks safe when the handle closes) and a map of the
// file shared by every PageSource of the process (engine/shared_map.h).
// A snapshot with many WAL frames to read also maps the WAL file the same
// way (shared per process), so that its frames are pointers instead of
// xRead calls; frames outside that map are read with xRead.
//
// Why the pages stay put: a PageSnapshot may only be used while the
// connection holds the read transaction it describes. SQLite's read lock
// then stops checkpoints from overwriting database pages the snapshot
// still reads from the file, and stops the WAL from being reset, so frames
// up to max_frame keep their contents (docs/design.md, "Read path").
//
// Not thread-safe: one per connection, used under the store mutex.
#ifndef SNKV_ENGINE_PAGE_SOURCE_H
#define SNKV_ENGINE_PAGE_SOURCE_H

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/shared_map.h"
#include "engine/wal_page_table.h"
#include "engine/wal_snapshot.h"

namespace snkv::engine {

// One read snapshot, as PageSource reads it.
struct PageSnapshot {
  uint32_t max_frame = 0;  // the WAL frames the snapshot covers: 1..max
  uint32_t min_frame = 1;  // frames below this are in the database file
  uint32_t db_pages = 0;   // the database's size in pages; 0: not usable
  // Pages the database file had when the snapshot was described: the map
  // is read only below this, so a file that shrank since it was mapped is
  // not read past its end (which would raise SIGBUS).
  uint32_t file_pages = 0;
  // At most this many distinct pages can be read: the file's pages plus
  // the WAL frames the snapshot covers (never above db_pages). Bounds
  // overflow chains, and so every buffer sized by a payload.
  uint32_t chain_limit = 0;
  uint64_t salt = 0;           // the WAL's salts: which WAL the frames are in
  uint32_t usable_size = 0;    // page size less the reserved bytes
  uint32_t schema_cookie = 0;  // changes with every schema change
  uint64_t id = 0;             // which Describe() made it (0: none)

  bool usable() const noexcept { return db_pages != 0; }
};

class PageSource {
 public:
  PageSource() = default;
  ~PageSource() { Detach(); }
  PageSource(const PageSource&) = delete;
  PageSource& operator=(const PageSource&) = delete;

  // Opens the main database file of `db` (WAL mode, inside a read
  // transaction) for direct reads. False when that is not possible: an
  // in-memory database, or a VFS without the methods needed. `page_size`
  // is the database's page size.
  bool Attach(sqlite3* db, uint32_t page_size) noexcept;
  // Closes the file. Must be called before the connection closes.
  void Detach() noexcept;
  bool attached() const noexcept { return file_ != nullptr; }
  uint32_t page_size() const noexcept { return page_size_; }

  // Describes the snapshot the connection holds, given the WAL-index
  // header it was begun with and the WAL-index's nBackfill as read after
  // that (see StoreCore::StartSnapshot for why the order matters). Returns
  // an unusable snapshot if its pages cannot be read directly.
  PageSnapshot Describe(const WalWatch::Header& header,
                        uint32_t backfilled) noexcept;

  // Moves snap's first WAL frame past the frames a checkpoint has copied
  // into the database file since the snapshot began (`backfilled`: the WAL
  // index's nBackfill now), so that their pages are read through the map
  // instead of from the WAL. A snapshot held across a long run of reads
  // would otherwise keep reading a large load's frames from the WAL long
  // after they were checkpointed. While a checkpoint short of snap's last
  // frame is still moving and has grown the file past the map, it waits
  // (up to kSettle after the backfill last moved) rather than map the
  // file anew at each step. Call only while the connection still holds
  // the read transaction `snap` describes, between operations.
  void Advance(PageSnapshot* snap, uint32_t backfilled) noexcept;

  // Page `pgno` (from 1) of `snap`: page_size() bytes, valid until
  // EndRead(). nullptr when it cannot be read (out of range, an I/O error,
  // a WAL index or frame that does not look right).
  const uint8_t* Page(const PageSnapshot& snap, uint32_t pgno) noexcept;
  // As Page(), for a page used once and then dropped (overflow pages):
  // not cached, and valid only until the next PageOnce() or EndRead().
  const uint8_t* PageOnce(const PageSnapshot& snap, uint32_t pgno) noexcept;
  // Whether the overflow chain starting at page `first` was found whole
  // for a payload of `payload` bytes in `snap` (NoteChainChecked). The
  // pages of a snapshot never change, so one check per chain and
  // snapshot is enough; this keeps the chains of hot interior cells from
  // being walked on every search.
  bool ChainChecked(const PageSnapshot& snap, uint32_t first,
                    uint64_t payload) const noexcept {
    const ChainEntry& e = chains_[ChainSlot(first)];
    return e.snapshot == snap.id && e.first == first && e.payload == payload;
  }
  void NoteChainChecked(const PageSnapshot& snap, uint32_t first,
                        uint64_t payload) noexcept {
    chains_[ChainSlot(first)] = ChainEntry{snap.id, payload, first};
  }

  // Process-wide, for the fuzzer and tests, whose WALs are small: every
  // snapshot with WAL frames maps the WAL and indexes its pages
  // (wal_pages_), as only large ones do otherwise.
  static void TreatEveryWalAsLarge(bool on) noexcept;

  // Bytes of the WAL file mapped (0: none) and WAL frames read with xRead
  // so far: how tests see which way frames were read.
  uint64_t wal_map_bytes() const noexcept { return wal_bytes_; }
  uint64_t frames_read() const noexcept { return frames_read_; }

  // Ends one operation: every pointer Page() returned dies here.
  void EndRead() noexcept;
  // Changes at every EndRead(): pointers fetched under another value are
  // dead.
  uint64_t read_epoch() const noexcept { return read_epoch_; }

  // Calls EndRead() when leaving scope.
  class ReadScope {
   public:
    explicit ReadScope(PageSource& source) noexcept : source_(source) {}
    ~ReadScope() { source_.EndRead(); }
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;

   private:
    PageSource& source_;
  };

 private:
  using PageBuffer = std::unique_ptr<uint8_t[]>;

  // The newest frame of `pgno` in snap's range; 0 if none, -1 if the WAL
  // index looks damaged.
  int64_t FindFrame(const PageSnapshot& snap, uint32_t pgno) noexcept;
  // WAL-index unit `unit` (32 KiB), or nullptr.
  const volatile uint8_t* IndexUnit(uint32_t unit) noexcept;
  // Reads frame `frame` (holding `pgno`) into `buf` (header + page) and
  // checks its header. Returns the page or nullptr.
  const uint8_t* ReadFrame(const PageSnapshot& snap, uint32_t frame,
                           uint32_t pgno, uint8_t* buf) noexcept;
  // Frame `frame` (holding `pgno`) of snap's WAL through the WAL map: the
  // page, or nullptr when the frame is not in the map or its header does
  // not match (then ReadFrame decides).
  const uint8_t* MappedFrame(const PageSnapshot& snap, uint32_t frame,
                             uint32_t pgno) const noexcept;
  // Maps the WAL file when `snap` has at least kWalMapMinFrames frames to
  // read past what is mapped and kWalMapAfterReads of them were read with
  // xRead since it was described, and lets the map go when it has none. Call
  // only between operations, while the connection holds snap's read
  // transaction.
  void MapWal(const PageSnapshot& snap) noexcept;
  void UnmapWal() noexcept;
  // Fills (or extends) wal_pages_ for `snap` when its frames span more
  // than one WAL-index unit, and empties it otherwise. Call only between
  // operations, while the connection holds snap's read transaction.
  void IndexWalPages(const PageSnapshot& snap) noexcept;
  void ForgetWalPages() noexcept;
  // Reads database page `pgno` from the file into `buf`.
  const uint8_t* ReadDbPage(uint32_t pgno, uint8_t* buf) noexcept;
  // Maps at least `pages` pages of the file (the caller knows it has
  // them), as far as the VFS's mapping limit allows, through the process's
  // shared map. Call only between operations: the previous map may go.
  void MapPages(uint32_t pages) noexcept;
  void Unmap() noexcept;
  // Page() for a snapshot that covers WAL frames, without the slot table.
  // `*lasting` says whether the page lives past this operation (in the
  // map or the frame cache, not a scratch buffer).
  const uint8_t* LookUpPage(const PageSnapshot& snap, uint32_t pgno,
                            bool* lasting) noexcept;
  // Empties the slot table: call whenever the map or the frame cache
  // lets go of pages it may point to.
  void ForgetSlots() noexcept;
  PageBuffer NewBuffer() const;
  // A buffer for one operation's uncached page, released by EndRead.
  uint8_t* ScratchBuffer() noexcept;

  sqlite3* db_ = nullptr;
  sqlite3_file* db_file_ = nullptr;  // the connection's: for its WAL index
  std::unique_ptr<uint8_t[]> file_storage_;  // our own handle's memory
  sqlite3_file* file_ = nullptr;             // our own read-only handle
  uint32_t page_size_ = 0;

  // The shared map this handle reads through: its first map_pages_ pages.
  std::shared_ptr<const MapGeneration> map_;
  const uint8_t* map_data_ = nullptr;  // map_->data()
  uint32_t map_pages_ = 0;
  uint32_t map_limit_pages_ = 0;  // SQLite's mapping limit, in pages
  // Which file the map is shared under; without an identity (the path is
  // not a plain file, or it was replaced while attaching) nothing is
  // mapped and pages are read with xRead.
  bool identified_ = false;
  FileIdentity file_id_;
  sqlite3_vfs* vfs_ = nullptr;
  const char* name_ = nullptr;  // SQLite's name object: lives with db_

  std::vector<const volatile uint8_t*> units_;  // WAL-index units mapped

  // The WAL file's map, shared by the process's handles like the database
  // file's (a generation maps the WAL as large as it was when made). Safe
  // to read only at frames of a snapshot whose read lock is held: those
  // were written before the commit that published them, and while a
  // reader's mark is held the WAL is neither reset nor truncated, so they
  // stay inside the file (no SIGBUS) and keep their bytes. Every frame's
  // header is checked as ReadFrame checks it.
  static constexpr uint32_t kWalMapMinFrames = 512;
  // Only a snapshot that reads many frames maps: one that reads a few hot
  // pages of a large WAL (small commits, the WAL grown long by lagging
  // checkpoints) is served by the frame cache, and a map would only make
  // the WAL resident (page faults map whole runs of pages) and be made
  // anew as the WAL grows.
  static constexpr uint32_t kWalMapAfterReads = 256;
  uint32_t frames_read_snapshot_ = 0;  // xRead frames since Describe
  std::shared_ptr<const MapGeneration> wal_map_;
  const uint8_t* wal_data_ = nullptr;  // wal_map_->data()
  uint64_t wal_bytes_ = 0;             // wal_map_->bytes()
  const char* wal_name_ = nullptr;     // SQLite's WAL name: lives with db_
  bool wal_mappable_ = false;          // false: read every frame with xRead
  uint64_t frames_read_ = 0;           // frames read with xRead

  // FindFrame's answers for snapshots of the WAL with salts
  // wal_pages_salt_ and last frame wal_pages_max_ (0: none): each page's
  // newest frame from wal_pages_start_ on. Frames of one WAL never change
  // and a later snapshot only adds frames, so the table is extended, not
  // rebuilt, while the WAL stays the same and its backfill has not passed
  // wal_pages_start_ backwards.
  WalPageTable wal_pages_;
  uint64_t wal_pages_salt_ = 0;
  uint32_t wal_pages_start_ = 0;
  uint32_t wal_pages_max_ = 0;

  // Advance's wait for a checkpoint under way (see there): which snapshot
  // and backfill it waits on, and since when.
  static constexpr std::chrono::milliseconds kSettle{20};
  uint64_t pending_snapshot_ = 0;
  uint32_t pending_backfilled_ = 0;
  std::chrono::steady_clock::time_point pending_since_;

  // WAL frames read so far (header + page), valid for the WAL with salts
  // cached_salt_. Dropped at EndRead once there are more than kMaxFrames.
  static constexpr size_t kMaxCachedFrames = 2048;
  uint64_t cached_salt_ = 0;
  std::unordered_map<uint32_t, PageBuffer> frames_;
  std::vector<PageBuffer> spare_;  // buffers to reuse

  // Where each page of a snapshot with WAL frames was found, so that the
  // pages every descent passes (the root and interior levels, which the
  // load's last commits left in the WAL) are not looked up in the WAL
  // index and the frame cache on every read. Direct-mapped by page
  // number and tagged with the snapshot's id, so a new snapshot misses
  // without any clearing; the pointers are into map_ or frames_, so
  // ForgetSlots empties the table whenever either changes. Allocated at
  // the first snapshot that needs it (a handle whose WAL is always
  // backfilled never does).
  struct PageSlot {
    uint64_t snapshot = 0;  // PageSnapshot::id; 0: empty
    const uint8_t* page = nullptr;
    uint32_t pgno = 0;
  };
  static constexpr size_t kPageSlots = 4096;
  static size_t PageSlotOf(uint32_t pgno) noexcept {
    return (pgno * 2654435761u) >> 20;  // top 12 bits: kPageSlots
  }
  std::unique_ptr<PageSlot[]> page_slots_;

  // ChainChecked's memory: direct-mapped, so neither a lookup nor a note
  // allocates; a collision only costs a walk.
  struct ChainEntry {
    uint64_t snapshot = 0;
    uint64_t payload = 0;
    uint32_t first = 0;
  };
  static constexpr size_t kChainSlots = 1024;
  static size_t ChainSlot(uint32_t first) noexcept {
    return (first * 2654435761u) >> 22;  // top 10 bits: kChainSlots
  }
  std::unique_ptr<ChainEntry[]> chains_ =
      std::make_unique<ChainEntry[]>(kChainSlots);
  uint64_t next_snapshot_id_ = 1;

  std::vector<PageBuffer> scratch_;  // uncached pages of this operation
  size_t scratch_used_ = 0;
  PageBuffer once_;  // PageOnce's buffer
  uint64_t read_epoch_ = 1;
};

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_PAGE_SOURCE_H
