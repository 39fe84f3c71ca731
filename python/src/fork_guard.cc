#include "fork_guard.h"

#include <pthread.h>

#include <atomic>
#include <mutex>

#include "errors.h"

namespace snkv::python {

namespace {
std::atomic<uint64_t> g_generation{0};
}  // namespace

void InstallForkHook() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(nullptr, nullptr, [] {
      g_generation.fetch_add(1, std::memory_order_relaxed);
    });
  });
}

uint64_t ForkGeneration() noexcept {
  return g_generation.load(std::memory_order_relaxed);
}

void CheckSameProcess(uint64_t generation) {
  if (generation != ForkGeneration()) {
    ThrowError(
        "this handle was opened in the parent process before os.fork(); "
        "it cannot be used in the child (open a new KVStore here)");
  }
}

}  // namespace snkv::python
