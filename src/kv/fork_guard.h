// ForkGuard: fork() never catches the library mid-work.
//
// A program that opened a store has snkv's background threads (the
// checkpointer, the idle releaser) and perhaps threads of its own inside
// SQLite. fork() copies only the forking thread: a mutex another thread
// held at that moment (SQLite's allocator mutex, a file's lock mutex, one
// of ours) stays locked for good in the child, and the child's first new
// handle hangs on it. So the fork handlers installed here make fork() wait
// for a quiet moment:
//
//   prepare: closes the gate that library work (background passes, opening
//            and destroying stores) enters through, and waits for work
//            inside to leave; then takes every open store's mutex (calls on
//            other threads finish first), ends their cached read snapshots
//            so that no inherited lock state tells the child's connections
//            a lock is held, and last takes SQLite's global mutexes;
//   parent:  releases all of it and reopens the gate;
//   child:   releases it too, counts a new fork generation, and starts with
//            empty background state: the threads start again when the
//            child's own stores need them.
//
// Stores opened before the fork refuse every call in the child (StoreCore
// checks its generation) and leak their SQLite handles when released.
#ifndef SNKV_KV_FORK_GUARD_H
#define SNKV_KV_FORK_GUARD_H

#include <memory>

namespace snkv::internal {

class StoreCore;

class ForkGuard {
 public:
  // Installs the fork handlers (once per process; idempotent).
  static void Install();

  // Open stores, quiesced by a fork (weakly held). Register after the store
  // is open; Unregister from its destructor.
  static void Register(const std::shared_ptr<StoreCore>& core);
  static void Unregister(const StoreCore* core);

  // True while a fork waits for work to leave: a long background pass
  // stops early.
  static bool ForkPending() noexcept;

  // A stretch of library work that a fork must not cut: background passes,
  // opening and destroying a store. Waits while a fork is being prepared,
  // unless this thread is already inside work or holds a store mutex (the
  // fork then waits for it instead, so neither can deadlock).
  class Work {
   public:
    Work();
    ~Work();
    Work(const Work&) = delete;
    Work& operator=(const Work&) = delete;
  };

  // Marks, for its lifetime, that this thread holds a store mutex (see
  // Work). Declare it right after taking the mutex.
  class HoldingStore {
   public:
    HoldingStore() noexcept;
    ~HoldingStore();
    HoldingStore(const HoldingStore&) = delete;
    HoldingStore& operator=(const HoldingStore&) = delete;
  };
};

}  // namespace snkv::internal

#endif  // SNKV_KV_FORK_GUARD_H
