// mp_worker: the other process of tests/multiprocess_test.cc.
//
//   mp_worker serve <path> <wal|delete> <busy_ms>
//       Opens the store, prints "ready", then answers one line per command
//       read from stdin until "quit" or EOF:
//         get <key>          -> "value <v>" | "notfound" | "error <code> <msg>"
//         put <key> <value>  -> "ok" | "error <code> <msg>"
//         del <key>          -> "ok" | "notfound" | "error ..."
//         count              -> "count <n>" | "error ..."
//         scan <prefix>      -> "keys <k1>,<k2>,..." (prefix iterator)
//         checkpoint         -> TRUNCATE checkpoint: "ok" | "error ..."
//   mp_worker write <path> <wal|delete> <busy_ms> <prefix> <n>
//       Prints "ready", waits for a "go" line, then makes n writes: item j
//       is an autocommit put of <prefix><j>, except every 10th, which is an
//       explicit write transaction putting <prefix><j> and <prefix><j>b.
//       Prints "done" and exits 0 if every call succeeded, else exits 1.
//   mp_worker pia <path> <wal|delete> <busy_ms> <key> <value>
//       Prints "ready", waits for "go", calls PutIfAbsent once and prints
//       "inserted" or "present" (exit 0), or the error (exit 1).
// Keys and values are plain words (no spaces).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "snkv/snkv.h"

namespace {

snkv::Options MakeOptions(const std::string& journal, int busy_ms) {
  snkv::Options o;
  o.journal_mode =
      journal == "wal" ? snkv::JournalMode::kWal : snkv::JournalMode::kDelete;
  o.busy_timeout_ms = busy_ms;
  // Durability is not what these tests check; fsyncs would only slow them.
  o.sync_level = snkv::SyncLevel::kOff;
  return o;
}

void Reply(const std::string& line) { std::cout << line << "\n" << std::flush; }

std::string ErrorLine(const snkv::Status& s) {
  return "error " + std::to_string(s.raw_code()) + " " + s.message();
}

bool WaitForGo() {
  Reply("ready");
  std::string line;
  return static_cast<bool>(std::getline(std::cin, line)) && line == "go";
}

int Serve(snkv::Store& store) {
  Reply("ready");
  std::string cmd;
  while (std::cin >> cmd) {
    if (cmd == "quit") break;
    if (cmd == "get") {
      std::string key, value;
      std::cin >> key;
      snkv::Status s = store.Get(key, &value);
      Reply(s.ok()           ? "value " + value
            : s.IsNotFound() ? "notfound"
                             : ErrorLine(s));
    } else if (cmd == "put") {
      std::string key, value;
      std::cin >> key >> value;
      snkv::Status s = store.Put(key, value);
      Reply(s.ok() ? "ok" : ErrorLine(s));
    } else if (cmd == "del") {
      std::string key;
      std::cin >> key;
      snkv::Status s = store.Delete(key);
      Reply(s.ok() ? "ok" : s.IsNotFound() ? "notfound" : ErrorLine(s));
    } else if (cmd == "count") {
      int64_t n = 0;
      snkv::Status s = store.DefaultColumnFamily().Count(&n);
      Reply(s.ok() ? "count " + std::to_string(n) : ErrorLine(s));
    } else if (cmd == "scan") {
      std::string prefix;
      std::cin >> prefix;
      snkv::Iterator it = store.NewIterator({.prefix = prefix});
      std::string keys;
      for (const auto& e : it) {
        if (!keys.empty()) keys += ",";
        keys += e.key.ToString();
      }
      Reply(it.status().ok() ? "keys " + keys : ErrorLine(it.status()));
    } else if (cmd == "checkpoint") {
      snkv::CheckpointResult r;
      snkv::Status s = store.Checkpoint(snkv::CheckpointMode::kTruncate, &r);
      Reply(s.ok() ? "ok" : ErrorLine(s));
    } else {
      Reply("error 1 unknown command " + cmd);
    }
  }
  return store.Close().ok() ? 0 : 1;
}

int Write(snkv::Store& store, const std::string& prefix, int n) {
  if (!WaitForGo()) return 2;
  for (int j = 0; j < n; ++j) {
    std::string key = prefix + std::to_string(j);
    snkv::Status s;
    if (j % 10 == 0) {
      snkv::Transaction txn;
      s = store.BeginTransaction(snkv::TxnMode::kWrite, &txn);
      if (s.ok()) s = store.Put(key, "v" + key);
      if (s.ok()) s = store.Put(key + "b", "v" + key + "b");
      if (s.ok()) s = txn.Commit();
    } else {
      s = store.Put(key, "v" + key);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "mp_worker write %s: %s\n", key.c_str(),
                   s.ToString().c_str());
      return 1;
    }
  }
  Reply("done");
  return 0;
}

int PutIfAbsent(snkv::Store& store, const std::string& key,
                const std::string& value) {
  if (!WaitForGo()) return 2;
  bool inserted = false;
  snkv::Status s =
      store.DefaultColumnFamily().PutIfAbsent(key, value, 0, &inserted);
  if (!s.ok()) {
    Reply(ErrorLine(s));
    return 1;
  }
  Reply(inserted ? "inserted" : "present");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: see tests/tools/mp_worker.cc\n");
    return 2;
  }
  std::string cmd = argv[1];
  snkv::Store store;
  snkv::Status s = snkv::Store::Open(
      argv[2], MakeOptions(argv[3], std::atoi(argv[4])), &store);
  if (!s.ok()) {
    std::fprintf(stderr, "mp_worker: open: %s\n", s.ToString().c_str());
    Reply(ErrorLine(s));
    return 1;
  }
  if (cmd == "serve") return Serve(store);
  if (cmd == "write" && argc == 7)
    return Write(store, argv[5], std::atoi(argv[6]));
  if (cmd == "pia" && argc == 7) return PutIfAbsent(store, argv[5], argv[6]);
  std::fprintf(stderr, "mp_worker: bad command line\n");
  return 2;
}
