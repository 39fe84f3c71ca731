// ForkGeneration(): tells objects made before a fork() from the forked
// child's own.
//
// SQLite's rule is that a connection must not cross a fork(): the child
// shares the parent's file descriptors and shared-memory maps but not its
// POSIX locks, so using (or even closing) an inherited connection can
// corrupt the database or the parent's view of it. Objects that own SQLite
// handles record the generation they were made in; in a child (a later
// generation) they refuse to be used and leak their SQLite handles instead
// of closing them.
#ifndef SNKV_ENGINE_FORK_GENERATION_H
#define SNKV_ENGINE_FORK_GENERATION_H

#include <atomic>
#include <cstdint>

namespace snkv::engine {

namespace internal {
inline std::atomic<uint64_t> fork_generation{0};
}  // namespace internal

// 0 in the process that started the program; one more in each forked
// child (kv/fork_guard.cc counts them). One relaxed load: cheap enough to
// check on every call.
inline uint64_t ForkGeneration() noexcept {
  return internal::fork_generation.load(std::memory_order_relaxed);
}

// For the fork handler's child side only.
inline void NoteForkedChild() noexcept {
  internal::fork_generation.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace snkv::engine

#endif  // SNKV_ENGINE_FORK_GENERATION_H
