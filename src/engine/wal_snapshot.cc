#include "engine/wal_snapshot.h"

#include <atomic>

namespace snkv::engine {

bool WalWatch::WalIsOpen(sqlite3* db) noexcept {
  // The pager reports its WAL file as the "journal" while a WAL is open;
  // in rollback mode the journal is closed outside write transactions.
  sqlite3_file* journal = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
                           &journal) != SQLITE_OK) {
    return false;
  }
  return journal != nullptr && journal->pMethods != nullptr;
}

bool WalWatch::Attach(sqlite3* db) noexcept {
  header_ = nullptr;
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) !=
          SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr ||
      file->pMethods->iVersion < 2 || file->pMethods->xShmMap == nullptr) {
    return false;
  }
  void volatile* region = nullptr;
  // Region 0 (32 KiB) starts with the header; bExtend = 0: never create it.
  if (file->pMethods->xShmMap(file, 0, 32768, 0, &region) != SQLITE_OK ||
      region == nullptr) {
    return false;
  }
  header_ = static_cast<const volatile uint64_t*>(region);
  return true;
}

WalWatch::Header WalWatch::Read() const noexcept {
  // Pairs with the barrier SQLite issues after publishing a new header.
  std::atomic_thread_fence(std::memory_order_acquire);
  Header copy;
  for (size_t i = 0; i < copy.size(); ++i) copy[i] = header_[i];
  return copy;
}

uint32_t WalWatch::Backfilled() const noexcept {
  // nBackfill is the first field after the two header copies.
  constexpr size_t kBackfillWord = 2 * kHeaderSize / sizeof(uint32_t);
  std::atomic_thread_fence(std::memory_order_acquire);
  const auto* words = reinterpret_cast<const volatile uint32_t*>(header_);
  return words[kBackfillWord];
}

uint32_t WalWatch::Frames() const noexcept {
  // mxFrame sits at bytes 16-19 of the first header copy.
  constexpr size_t kFramesWord = 16 / sizeof(uint32_t);
  std::atomic_thread_fence(std::memory_order_acquire);
  const auto* words = reinterpret_cast<const volatile uint32_t*>(header_);
  return words[kFramesWord];
}

uint64_t WalWatch::Salts() const noexcept {
  // aSalt[2] sits at bytes 32-39 of the first header copy.
  constexpr size_t kSaltWord = 32 / sizeof(uint64_t);
  std::atomic_thread_fence(std::memory_order_acquire);
  return header_[kSaltWord];
}

}  // namespace snkv::engine
