// store_peer: one operation on a store from a separate process, for tests
// of cross-process behaviour.
//   store_peer <path> put <key> <value>     exit 0 on success
//   store_peer <path> get <key>             prints the value
//   store_peer <path> truncate              TRUNCATE checkpoint
// Exit status: 0 success, 2 usage, 3 NOTFOUND, 4 BUSY, 1 other errors.
#include <cstdio>
#include <string>

#include "snkv/snkv.h"

namespace {

int ExitCode(const snkv::Status& s) {
  if (s.ok()) return 0;
  std::fprintf(stderr, "store_peer: %s\n", s.ToString().c_str());
  if (s.IsNotFound()) return 3;
  if (s.IsBusy()) return 4;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const std::string path = argv[1];
  const std::string op = argv[2];
  snkv::Store store;
  snkv::Status s = snkv::Store::Open(path, {}, &store);
  if (!s.ok()) return ExitCode(s);
  if (op == "put" && argc == 5) return ExitCode(store.Put(argv[3], argv[4]));
  if (op == "get" && argc == 4) {
    std::string value;
    s = store.Get(argv[3], &value);
    if (s.ok()) std::printf("%s", value.c_str());
    return ExitCode(s);
  }
  if (op == "truncate" && argc == 3) {
    snkv::CheckpointResult r;
    return ExitCode(store.Checkpoint(snkv::CheckpointMode::kTruncate, &r));
  }
  return 2;
}
