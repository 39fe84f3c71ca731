// vec_worker: a second process on a vector store, for the vector tests.
//
//   vec_worker <path> <dim> serve
//     Line protocol on stdin, one reply line each:
//       put <key> <seed>      -> "ok" | error code
//       del <key>             -> "ok" | error code
//       top1 <seed>           -> key of the nearest item | "none" | code
//       count                 -> number of vectors in the index
//   vec_worker <path> <dim> crash <batch|sidecar>
//     Forever: transaction i puts 40 keys (some overwrites) in one batch,
//     then deletes one key in a second transaction; prints "i" after both
//     committed. In "sidecar" mode it also saves the sidecar after each
//     round, so a SIGKILL lands in sidecar writes too.
//
// Vectors are a pure function of a seed (VecOf), shared with the tests.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "snkv/snkv.h"
#include "vec_worker_model.h"

namespace {

int Serve(snkv::VectorStore& vs, int dim) {
  std::string cmd;
  while (std::cin >> cmd) {
    if (cmd == "put") {
      std::string key;
      uint64_t seed;
      std::cin >> key >> seed;
      auto v = vecmodel::VecOf(seed, dim);
      snkv::Status s = vs.Put(key, "v" + std::to_string(seed), v);
      std::cout << (s.ok() ? "ok" : std::to_string(s.raw_code())) << std::endl;
    } else if (cmd == "del") {
      std::string key;
      std::cin >> key;
      snkv::Status s = vs.Delete(key);
      std::cout << (s.ok() ? "ok" : std::to_string(s.raw_code())) << std::endl;
    } else if (cmd == "top1") {
      uint64_t seed;
      std::cin >> seed;
      auto q = vecmodel::VecOf(seed, dim);
      std::vector<snkv::KeyHit> hits;
      snkv::SearchOptions o;
      o.top_k = 1;
      snkv::Status s = vs.SearchKeys(q, o, &hits);
      if (!s.ok()) {
        std::cout << s.raw_code() << std::endl;
      } else {
        std::cout << (hits.empty() ? "none" : hits[0].key) << std::endl;
      }
    } else if (cmd == "count") {
      int64_t n = -1;
      (void)vs.Count(&n);
      std::cout << n << std::endl;
    } else {
      std::cout << "unknown" << std::endl;
    }
  }
  return 0;
}

int Crash(snkv::VectorStore& vs, int dim, bool sidecar) {
  for (uint64_t i = 1;; ++i) {
    std::vector<std::string> keys;
    std::vector<std::vector<float>> vecs;
    vecmodel::Round(i, dim, &keys, &vecs);
    std::vector<snkv::VectorItem> items;
    for (size_t j = 0; j < keys.size(); ++j) {
      items.push_back({keys[j], "v", vecs[j].data(), {}});
    }
    snkv::Status s = vs.PutBatch(items);
    if (!s.ok()) return 2;
    s = vs.Delete(vecmodel::DeletedKey(i));
    if (!s.ok() && !s.IsNotFound()) return 3;
    if (sidecar && !vs.SaveSidecar().ok()) return 4;
    std::printf("%llu\n", static_cast<unsigned long long>(i));
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 1;
  const int dim = std::atoi(argv[2]);
  snkv::VectorOptions o;
  o.dim = dim;
  o.store.busy_timeout_ms = 10000;
  snkv::VectorStore vs;
  snkv::Status s = snkv::VectorStore::Open(argv[1], o, &vs);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
    return 1;
  }
  const std::string mode = argv[3];
  if (mode == "serve") return Serve(vs, dim);
  if (mode == "crash" && argc > 4)
    return Crash(vs, dim, std::string(argv[4]) == "sidecar");
  return 1;
}
