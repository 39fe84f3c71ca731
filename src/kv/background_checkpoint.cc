#include "kv/background_checkpoint.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/process_state.h"
#include "kv/fork_guard.h"
#include "kv/store_core.h"

namespace snkv::internal {

namespace {

struct State {
  std::mutex mu;
  std::condition_variable wake;
  std::deque<std::weak_ptr<StoreCore>> queue;
  bool thread_running = false;
};

State& GetState() { return engine::ProcessState<State>(); }

void Run(State* st) {
  std::unique_lock<std::mutex> lock(st->mu);
  for (;;) {
    st->wake.wait(lock, [st] { return !st->queue.empty(); });
    std::weak_ptr<StoreCore> next = std::move(st->queue.front());
    st->queue.pop_front();
    lock.unlock();
    {
      // Inside SQLite from here: a fork waits until the pass is over.
      ForkGuard::Work work;
      if (std::shared_ptr<StoreCore> core = next.lock()) {
        core->RunBackgroundCheckpoint();
      }  // a last reference may drop here, outside st->mu
    }
    lock.lock();
  }
}

}  // namespace

void BackgroundCheckpointer::Request(const std::shared_ptr<StoreCore>& core) {
  State& st = GetState();
  std::lock_guard<std::mutex> lock(st.mu);
  st.queue.push_back(core);
  if (!st.thread_running) {
    st.thread_running = true;
    std::thread(Run, &st).detach();
  } else {
    st.wake.notify_one();
  }
}

}  // namespace snkv::internal
