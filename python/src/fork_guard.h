// Detecting use of a handle in a child process after fork().
//
// A SQLite connection must not be used in a child made by fork() after it
// was opened: the child shares the parent's file descriptors but not its
// POSIX locks, so it could write the file without the locking that keeps
// it consistent. Every handle remembers the fork generation it was made in
// and refuses to work (and to close, or even free, its C++ objects) in
// another.
#ifndef SNKV_PYTHON_FORK_GUARD_H
#define SNKV_PYTHON_FORK_GUARD_H

#include <cstdint>
#include <memory>
#include <utility>

namespace snkv::python {

// Registers the pthread_atfork hook that advances the generation in each
// child. Call once, at module import.
void InstallForkHook();

// 0 in the process that imported the module, incremented in every child.
uint64_t ForkGeneration() noexcept;

// Raises snkv.Error if `generation` is not the current process's.
void CheckSameProcess(uint64_t generation);

// Owns a T, but in a forked child leaks it instead of destroying it: the
// parent's SQLite connection must not be closed (or checkpointed) from the
// child, and its mutexes may have been copied while another thread held
// them. The memory is the child's own copy, so nothing is lost for the
// parent.
template <class T>
class ChildLeak {
 public:
  explicit ChildLeak(T value)
      : value_(std::make_unique<T>(std::move(value))),
        generation_(ForkGeneration()) {}
  template <class... Args>
  explicit ChildLeak(std::in_place_t, Args&&... args)
      : value_(std::make_unique<T>(std::forward<Args>(args)...)),
        generation_(ForkGeneration()) {}
  ~ChildLeak() {
    if (ForkGeneration() != generation_) (void)value_.release();
  }
  ChildLeak(const ChildLeak&) = delete;
  ChildLeak& operator=(const ChildLeak&) = delete;

  T& operator*() const noexcept { return *value_; }
  T* operator->() const noexcept { return value_.get(); }
  uint64_t generation() const noexcept { return generation_; }

 private:
  std::unique_ptr<T> value_;
  uint64_t generation_;
};

}  // namespace snkv::python

#endif  // SNKV_PYTHON_FORK_GUARD_H
