#include "kv/idle_release.h"

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
    std::vector<std::weak_ptr<StoreCore>> watched;
    watched.swap(st->watched);
    lock.unlock();
    std::vector<std::weak_ptr<StoreCore>> keep;
    {
      // Inside SQLite from here: a fork waits until the round is over.
      ForkGuard::Work work;
      for (auto& weak : watched) {
        std::shared_ptr<StoreCore> core = weak.lock();
        if (core &&
            !core->ReleaseSnapshotIfIdle(Clock::now(), IdleReleaser::kIdle)) {
          keep.push_back(weak);
        }
      }  // the last reference to a core may drop here, outside st->mu
    }
    lock.lock();
    for (auto& weak : keep) st->watched.push_back(std::move(weak));
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
  for (auto& core : Snapshot(GetState())) {
    if (core.get() != self) {
      (void)core->ReleaseSnapshotIfIdle(Clock::now(),
                                        std::chrono::milliseconds(0));
    }
  }
}

}  // namespace snkv::internal
