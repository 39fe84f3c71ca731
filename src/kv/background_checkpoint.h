// BackgroundCheckpointer: WAL checkpoints off the caller's path.
//
// A checkpoint copies committed pages from the WAL into the database file
// and fsyncs both; done inside a commit, the writer waits for it. Instead a
// store asks this process-wide thread to run it, through a connection of
// the store's own reserved for checkpoints, so commits go on while pages
// are copied (WAL mode lets a PASSIVE checkpoint run beside a writer), and
// the WAL stays short, which keeps reads out of it.
#ifndef SNKV_KV_BACKGROUND_CHECKPOINT_H
#define SNKV_KV_BACKGROUND_CHECKPOINT_H

#include <memory>

namespace snkv::internal {

class StoreCore;

class BackgroundCheckpointer {
 public:
  // Queues a checkpoint of `core` (StoreCore::RunBackgroundCheckpoint).
  // Thread-safe and non-blocking; may be called with the core's mutex held.
  static void Request(const std::shared_ptr<StoreCore>& core);
};

}  // namespace snkv::internal

#endif  // SNKV_KV_BACKGROUND_CHECKPOINT_H
