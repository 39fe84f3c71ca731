// IdleReleaser: ends the cached read snapshots of idle stores.
//
// A store keeps its read transaction open between calls so that reads need
// no locking (see StoreCore::PrepareRead). An open read transaction pins
// the WAL, so a store that sits idle must let it go: otherwise another
// connection's RESTART/TRUNCATE checkpoint could never finish. One
// background thread per process wakes when a watched store's snapshot has
// been unused for kIdle and releases it.
#ifndef SNKV_KV_IDLE_RELEASE_H
#define SNKV_KV_IDLE_RELEASE_H

#include <chrono>
#include <memory>

namespace snkv::internal {

class StoreCore;

class IdleReleaser {
 public:
  static constexpr std::chrono::milliseconds kIdle{5};

  // Starts watching `core` (it just opened a snapshot). Thread-safe; may be
  // called with the core's mutex held.
  static void Watch(const std::shared_ptr<StoreCore>& core);
  // Releases now, as far as they are not inside a call, the snapshots of
  // every watched store except `self` (which the caller handles itself).
  // Used before checkpoints so that this process's own idle handles never
  // make them fail.
  static void ReleaseOthers(const StoreCore* self);
};

}  // namespace snkv::internal

#endif  // SNKV_KV_IDLE_RELEASE_H
