#include "kv/idle_release.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/process_state.h"
#include "kv/fork_guard.h"
#include "kv/store_core.h"

namespace snkv::internal {

namespace {

using Clock = std::chrono::steady_clock;

struct State {
  std::mutex mu;
  std::condition_variable wake;
  std::vector<std::weak_ptr<StoreCore>> watched;
  bool thread_running = false;
};

State& GetState() { return engine::ProcessState<State>(); }

std::vector<std::shared_ptr<StoreCore>> Snapshot(State& st) {
  std::lock_guard<std::mutex> lock(st.mu);
  std::vector<std::shared_ptr<StoreCore>> cores;
  for (auto& weak : st.watched) {
    if (auto core = weak.lock()) cores.push_back(std::move(core));
  }
  return cores;
}

void Run(State* st) {
  std::unique_lock<std::mutex> lock(st->mu);
  for (;;) {
    if (st->watched.empty()) {
      st->wake.wait(lock);
      continue;
    }
    st->wake.wait_for(lock, IdleReleaser::kIdle);
    // A copy: the list stays whole meanwhile, so that ReleaseOthers (an
    // explicit checkpoint on another handle) still finds every handle.
    // Taking the list away for the round made such a checkpoint miss an
    // idle writer's pin now and then and fail with BUSY.
    const std::vector<std::weak_ptr<StoreCore>> round = st->watched;
    lock.unlock();
    std::vector<const StoreCore*> released;
    {
      // Inside SQLite from here: a fork waits until the round is over.
      ForkGuard::Work work;
      for (const auto& weak : round) {
        std::shared_ptr<StoreCore> core = weak.lock();
        if (core &&
            core->ReleaseSnapshotIfIdle(Clock::now(), IdleReleaser::kIdle)) {
          released.push_back(core.get());
        }
      }  // the last reference to a core may drop here, outside st->mu
    }
    lock.lock();
    // One entry per released handle goes (Watch may have added it again
    // since, for a new snapshot: that entry stays), and every expired one.
    for (const StoreCore* core : released) {
      auto it = std::find_if(st->watched.begin(), st->watched.end(),
                             [core](const std::weak_ptr<StoreCore>& w) {
                               return w.lock().get() == core;
                             });
      if (it != st->watched.end()) st->watched.erase(it);
    }
    std::erase_if(st->watched, [](const std::weak_ptr<StoreCore>& w) {
      return w.expired();
    });
  }
}

}  // namespace

void IdleReleaser::Watch(const std::shared_ptr<StoreCore>& core) {
  State& st = GetState();
  std::lock_guard<std::mutex> lock(st.mu);
  st.watched.push_back(core);
  if (!st.thread_running) {
    st.thread_running = true;
    std::thread(Run, &st).detach();
  } else if (st.watched.size() == 1) {
    st.wake.notify_one();
  }
}

void IdleReleaser::ReleaseOthers(const StoreCore* self) {
  // With no idle time asked for, a false answer means that another thread
  // held the handle's mutex: often this releaser's own round, which looks
  // for a moment and lets a fresh snapshot be. Giving up at once left an
  // idle writer's pin in place and the caller's checkpoint failed with
  // BUSY, so look again for up to 5 ms (bounded: the holder may be inside
  // a long call, and two handles may be doing this to each other).
  constexpr int kAttempts = 50;
  constexpr auto kPause = std::chrono::microseconds(100);
  for (auto& core : Snapshot(GetState())) {
    if (core.get() == self) continue;
    for (int i = 0;
         i < kAttempts && !core->ReleaseSnapshotIfIdle(
                              Clock::now(), std::chrono::milliseconds(0));
         ++i) {
      std::this_thread::sleep_for(kPause);
    }
  }
}

}  // namespace snkv::internal
