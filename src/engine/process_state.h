// ProcessState<T>(): one T per process for the library's background
// threads and registries, started afresh in a forked child. (That no thread
// is inside SQLite or holds our locks at the fork is kv/fork_guard.h's job;
// this only makes sure a child never inherits the parent's bookkeeping.)
#ifndef SNKV_ENGINE_PROCESS_STATE_H
#define SNKV_ENGINE_PROCESS_STATE_H

#include <pthread.h>

#include <mutex>

namespace snkv::engine {

// The process's T, created on first use. It is never destroyed, because a
// detached thread may still use it during static destruction. A forked
// child gets a fresh T: the parent's threads do not exist there, and T's
// mutexes may have been copied while held.
template <class T>
T& ProcessState() {
  static T* state = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    state = new T();  // NOLINT(cppcoreguidelines-owning-memory): leaked
    pthread_atfork(nullptr, nullptr, [] {
      state = new T();  // NOLINT(cppcoreguidelines-owning-memory)
    });
  });
  return *state;
}

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_PROCESS_STATE_H
