#include "kv/fork_guard.h"

#include <pthread.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "engine/fork_generation.h"
#include "engine/process_state.h"
#include "kv/store_core.h"

namespace snkv::internal {

namespace {

// How deep this thread is inside Work, and how many store mutexes it holds.
thread_local int t_work_depth = 0;
thread_local int t_stores_held = 0;

struct Gate {
  std::mutex mu;
  std::condition_variable left;  // work left, or the gate opened again
  int active = 0;                // threads inside Work
  bool closed = false;           // a fork is being prepared
};

// Never destroyed (detached threads may still pass through it at exit). A
// forked child rebuilds it (see AfterForkInChild).
Gate* TheGate() {
  static Gate* gate = new Gate();  // NOLINT(cppcoreguidelines-owning-memory)
  return gate;
}

std::atomic<bool> g_fork_pending{false};

// The process's open stores. A forked child starts with none: the stores it
// inherits are not its own to quiesce (ProcessState).
struct Registry {
  std::mutex mu;
  std::map<const StoreCore*, std::weak_ptr<StoreCore>> stores;
};
Registry& Stores() { return engine::ProcessState<Registry>(); }

// What prepare took, for the parent or child handler to give back.
struct Held {
  std::vector<std::shared_ptr<StoreCore>> stores;  // their mutexes locked
  std::vector<sqlite3_mutex*> sqlite;              // entered, in this order
};
Held* g_held = nullptr;

// SQLite's global mutexes that a child's first connection may need, in an
// order consistent with SQLite's own nesting: PRNG before MAIN (seeding
// looks up the VFS), and MEM, the allocator's, innermost (everything
// allocates while holding the others).
constexpr int kSqliteMutexes[] = {
    SQLITE_MUTEX_STATIC_PRNG, SQLITE_MUTEX_STATIC_MAIN,
    SQLITE_MUTEX_STATIC_VFS1,  // the unix VFS's lock of its file tables
    SQLITE_MUTEX_STATIC_LRU,   // the page caches
    SQLITE_MUTEX_STATIC_PMEM, SQLITE_MUTEX_STATIC_MEM};

void PrepareFork() noexcept {
  Gate& gate = *TheGate();
  {
    std::unique_lock<std::mutex> lock(gate.mu);
    gate.closed = true;
    g_fork_pending.store(true, std::memory_order_relaxed);
    gate.left.wait(lock, [&] { return gate.active == 0; });
  }
  auto* held = new (std::nothrow) Held();  // NOLINT: given back in a handler
  if (held == nullptr) return;             // best effort: fork anyway
  try {
    // A thread that forks from inside a call (a value callback) holds that
    // store's mutex: waiting for it would never end, so stores are then
    // left as they are.
    if (t_stores_held == 0) {
      std::vector<std::shared_ptr<StoreCore>> cores;
      {
        Registry& reg = Stores();
        std::lock_guard<std::mutex> lock(reg.mu);
        cores.reserve(reg.stores.size());
        for (auto& [ptr, weak] : reg.stores) {
          if (auto core = weak.lock()) cores.push_back(std::move(core));
        }
      }
      held->stores.reserve(cores.size());
      for (auto& core : cores) {
        core->QuiesceForFork();
        held->stores.push_back(std::move(core));
      }
    }
    held->sqlite.reserve(std::size(kSqliteMutexes));
  } catch (...) {
    // Out of memory: what is held so far is given back after the fork.
  }
  if (held->sqlite.capacity() >= std::size(kSqliteMutexes)) {
    for (int id : kSqliteMutexes) {
      if (sqlite3_mutex* m = sqlite3_mutex_alloc(id)) {
        sqlite3_mutex_enter(m);
        held->sqlite.push_back(m);
      }
    }
  }
  g_held = held;
}

// Gives back what PrepareFork took (in either process).
void GiveBack(Held* held) noexcept {
  // In reverse order of entry. (No std::views::reverse: clang 14, which
  // builds the TSan tests, cannot compile it against GCC 12's library.)
  for (auto it = held->sqlite.rbegin(); it != held->sqlite.rend();  // NOLINT
       ++it) {
    sqlite3_mutex_leave(*it);
  }
  for (auto& core : held->stores) core->ResumeAfterFork();
}

void AfterForkInParent() noexcept {
  Held* held = std::exchange(g_held, nullptr);
  if (held != nullptr) GiveBack(held);
  Gate& gate = *TheGate();
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.closed = false;
    g_fork_pending.store(false, std::memory_order_relaxed);
  }
  gate.left.notify_all();
  // Last references to stores closed meanwhile may drop here; the gate is
  // open again for their destructors.
  delete held;  // NOLINT(cppcoreguidelines-owning-memory)
}

void AfterForkInChild() noexcept {
  // First, so that the inherited stores already count as another
  // process's when the references below drop.
  engine::NoteForkedChild();
  Held* held = std::exchange(g_held, nullptr);
  if (held != nullptr) GiveBack(held);
  // Only this thread exists now; whatever the others were doing is gone,
  // and the gate's mutex may have been copied while one of them held it.
  // A fresh gate is built in the same place: no allocation in the child,
  // and nothing of the old one is owed (nobody can be waiting on it).
  new (TheGate()) Gate();
  g_fork_pending.store(false, std::memory_order_relaxed);
  t_work_depth = 0;
  delete held;  // NOLINT(cppcoreguidelines-owning-memory)
}

}  // namespace

void ForkGuard::Install() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The registry's own fork handler must be installed before ours, so
    // that the child's registry is already fresh when ours runs.
    (void)Stores();
    (void)TheGate();
    pthread_atfork(PrepareFork, AfterForkInParent, AfterForkInChild);
  });
}

void ForkGuard::Register(const std::shared_ptr<StoreCore>& core) {
  Registry& reg = Stores();
  std::lock_guard<std::mutex> lock(reg.mu);
  reg.stores[core.get()] = core;
}

void ForkGuard::Unregister(const StoreCore* core) {
  Registry& reg = Stores();
  std::lock_guard<std::mutex> lock(reg.mu);
  reg.stores.erase(core);
}

bool ForkGuard::ForkPending() noexcept {
  return g_fork_pending.load(std::memory_order_relaxed);
}

ForkGuard::Work::Work() {
  Gate& gate = *TheGate();
  std::unique_lock<std::mutex> lock(gate.mu);
  // Inside work already, or holding a store mutex: the fork waits for this
  // thread (for the work to leave, or for the mutex), so this thread must
  // not wait for the fork.
  if (t_work_depth == 0 && t_stores_held == 0) {
    gate.left.wait(lock, [&] { return !gate.closed; });
  }
  ++gate.active;
  ++t_work_depth;
}

ForkGuard::Work::~Work() {
  Gate& gate = *TheGate();
  --t_work_depth;
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    last = --gate.active == 0;
  }
  if (last) gate.left.notify_all();
}

ForkGuard::HoldingStore::HoldingStore() noexcept { ++t_stores_held; }
ForkGuard::HoldingStore::~HoldingStore() { --t_stores_held; }

}  // namespace snkv::internal
