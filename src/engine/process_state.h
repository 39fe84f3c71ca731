// ProcessState<T>(): one T per process for the library's background
// threads, safe against fork().
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
