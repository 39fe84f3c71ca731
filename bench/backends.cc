// backends.cc -- the table of stores compiled into snkv_bench.
#include "backend.h"

namespace bench {

// Every store compiled into this program, snkv first (it is the subject;
// the others are the peers it is compared with).
const std::vector<BackendInfo>& all_backends() {
  static const std::vector<BackendInfo> backends = [] {
    std::vector<BackendInfo> v;
#ifdef SNKV_BENCH_HAVE_SNKV
    v.push_back(snkv_backend());
#endif
    v.push_back(sqlite_backend());
    v.push_back(lmdb_backend());
    v.push_back(rocksdb_backend());
    v.push_back(leveldb_backend());
    return v;
  }();
  return backends;
}

// The store named name, or nullptr.
const BackendInfo* find_backend(std::string_view name) {
  for (const auto& b : all_backends())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace bench
