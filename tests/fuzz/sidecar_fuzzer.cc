// libFuzzer target for the vector store's sidecar loader (<db>.snkv-vec,
// src/vector/sidecar.cc; docs/design.md, "Sidecar"). At start-up it builds
// a small vector store (l2, dim 8: puts, overwrites, deletes that leave
// tombstones, metadata, an expiry far ahead) and makes the file's random
// parts fixed: the index uuid and every change-log nonce, so that the
// committed seed sidecars stay valid for the store every run rebuilds. It
// then records what a rebuilt index (no sidecar) answers to a few
// searches, with and without a metadata filter.
//
// Each input is written as the sidecar and the store opened on it, twice:
//
//   1. As given. The open must succeed and every search must answer
//      exactly what the rebuild answered (keys and distances), whether the
//      loader took the file (then it holds this very index, perhaps behind
//      the log head and caught up) or rejected it and rebuilt.
//   2. With its body length and both checksums made right (when it is at
//      least a header long), so that mutations get past the checksums into
//      the body's own validation. Such a file may describe any index: the
//      open must still succeed and the searches must not crash, hang or
//      trip a sanitizer; if the loader rejected it, the answers must again
//      be the rebuild's.
//
// SNKV_SIDECAR_SEEDS=<dir>: also write the valid sidecars (at the log head
// and behind it) into <dir> at start-up, to seed a run with sidecars of the
// current format (scripts/test.sh does; tests/fuzz/sidecar_corpus holds a
// copy).
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "snkv/snkv.h"
#include "vector/sidecar.h"

namespace {

namespace fs = std::filesystem;

constexpr int kDim = 8;
constexpr size_t kHeaderSize = 104;  // sidecar.h
constexpr size_t kBodyLenAt = 80, kBodySumAt = 88, kHeaderSumAt = 96;
constexpr char kUuid[] = "00112233445566778899aabbccddeeff";
constexpr uint64_t kNonceBase = 0x5eed0000;  // nonce of entry s: base + s

std::string g_dir, g_db, g_sidecar;

struct Answer {
  snkv::Code code = snkv::Code::kOk;
  std::vector<std::pair<std::string, float>> hits;
  bool operator==(const Answer&) const = default;
};
std::vector<Answer> g_expected;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "sidecar_fuzzer: %s\n", what.c_str());
  std::abort();
}

void Check(const snkv::Status& s, const char* what) {
  if (!s.ok()) Fail(std::string(what) + ": " + s.ToString());
}

std::vector<float> VecOf(uint64_t i) {
  std::vector<float> v(kDim);
  uint64_t x = i * 0x9e3779b97f4a7c15ull + 7;
  for (float& f : v) {
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    f = static_cast<float>(static_cast<double>(x >> 11) / 9007199254740992.0);
  }
  return v;
}

snkv::VectorOptions Options(bool sidecar) {
  snkv::VectorOptions o;
  o.dim = kDim;
  o.sidecar = sidecar;
  o.store.sync_level = snkv::SyncLevel::kOff;
  return o;
}

// Gives the store a fixed uuid and every log entry (and the head) a nonce
// that depends only on its sequence number.
void FixRandomParts() {
  snkv::Store store;
  Check(snkv::Store::Open(g_db, {}, &store), "open to fix");
  snkv::ColumnFamily meta, log;
  Check(store.OpenColumnFamily("_snkv_vec_meta_", &meta), "meta");
  Check(store.OpenColumnFamily("_snkv_vec_log_", &log), "log");
  snkv::Transaction txn;
  Check(store.BeginTransaction(snkv::TxnMode::kWrite, &txn), "begin");
  Check(meta.Put("uuid", kUuid), "uuid");
  std::string head;
  Check(meta.Get("seq", &head), "seq");
  const uint64_t seq = std::strtoull(head.c_str(), nullptr, 10);
  Check(meta.Put("seq",
                 std::to_string(seq) + " " + std::to_string(kNonceBase + seq)),
        "head");
  std::vector<std::pair<std::string, std::string>> entries;
  {
    snkv::Iterator it = log.NewIterator();
    for (snkv::Status s = it.SeekToFirst(); it.Valid(); s = it.Next())
      entries.emplace_back(it.key().ToString(), it.value().ToString());
    Check(it.status(), "log scan");
  }
  for (auto& [key, value] : entries) {
    uint64_t s = 0;
    for (unsigned char c : key) s = (s << 8) | c;
    const uint64_t nonce = kNonceBase + s;
    std::memcpy(value.data(), &nonce, 8);  // the entry starts with it
    Check(log.Put(key, value), "log entry");
  }
  Check(txn.Commit(), "commit");
  Check(store.Close(), "close");
}

// Opens the store with its sidecar (rebuilding: none is there yet), and
// returns the sidecar its close writes.
std::string SidecarOfCurrentState() {
  fs::remove(g_sidecar);
  snkv::VectorStore vs;
  Check(snkv::VectorStore::Open(g_db, Options(true), &vs), "open");
  Check(vs.Close(), "close");
  std::ifstream in(g_sidecar, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (bytes.size() < kHeaderSize) Fail("no sidecar written");
  return bytes;
}

void Write(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) Fail("cannot write " + path);
  while (size > 0) {
    const ssize_t w = ::write(fd, data, size);
    if (w <= 0) Fail("cannot write " + path);
    data += w;
    size -= static_cast<size_t>(w);
  }
  ::close(fd);
}

std::vector<Answer> Ask(snkv::VectorStore& vs) {
  std::vector<Answer> out;
  for (uint64_t q : {3u, 17u, 1000u, 77777u}) {
    for (bool filtered : {false, true}) {
      snkv::SearchOptions o;
      o.top_k = 6;
      if (filtered) o.json_filter = "{\"even\":true}";
      std::vector<snkv::KeyHit> hits;
      Answer a;
      a.code = vs.SearchKeys(VecOf(q), o, &hits).code();
      for (const snkv::KeyHit& h : hits) a.hits.emplace_back(h.key, h.distance);
      out.push_back(std::move(a));
    }
  }
  int64_t n = -1;
  Answer count;
  count.code = vs.Count(&n).code();
  count.hits.emplace_back("count", static_cast<float>(n));
  out.push_back(std::move(count));
  return out;
}

std::vector<Answer> OpenAndAsk(bool* loaded);
void Compare(const std::vector<Answer>& got, const char* what);

void Build() {
  char tmpl[] = "/dev/shm/snkv-sidecar-fuzz-XXXXXX";
  char tmpl2[] = "/tmp/snkv-sidecar-fuzz-XXXXXX";
  const char* dir = ::mkdtemp(tmpl);  // tmpfs: the sidecar's fsyncs are free
  if (dir == nullptr) dir = ::mkdtemp(tmpl2);
  if (dir == nullptr) Fail("mkdtemp");
  g_dir = dir;
  g_db = g_dir + "/v.db";
  g_sidecar = snkv::vector::SidecarPath(g_db);
  std::atexit([] { fs::remove_all(g_dir); });

  snkv::VectorStore vs;
  Check(snkv::VectorStore::Open(g_db, Options(false), &vs), "create");
  const int64_t far = 4102444800000;  // 2100-01-01: fixed, so seeds are too
  for (int i = 0; i < 48; ++i) {
    const std::string key = "k" + std::to_string(i);
    const std::string meta =
        std::string("{\"even\":") + (i % 2 == 0 ? "true" : "false") + "}";
    Check(
        vs.Put(key, "value" + std::to_string(i), VecOf(i), i % 5 == 0 ? far : 0,
               i % 3 == 0 ? std::nullopt : std::optional<snkv::Slice>(meta)),
        "put");
  }
  Check(vs.Close(), "close");
  FixRandomParts();
  const std::string behind = SidecarOfCurrentState();

  // Later commits: overwrites, deletes (tombstones, reused slots), new keys.
  Check(snkv::VectorStore::Open(g_db, Options(false), &vs), "reopen");
  for (int i = 0; i < 48; i += 4)
    Check(vs.Delete("k" + std::to_string(i)), "del");
  for (int i = 1; i < 48; i += 6)
    Check(vs.Put("k" + std::to_string(i), "new", VecOf(500 + i)), "overwrite");
  for (int i = 48; i < 60; ++i)
    Check(vs.Put("k" + std::to_string(i), "v", VecOf(i), 0,
                 snkv::Slice("{\"even\":true}")),
          "put");
  Check(vs.Close(), "close");
  FixRandomParts();
  const std::string head = SidecarOfCurrentState();

  fs::remove(g_sidecar);
  Check(snkv::VectorStore::Open(g_db, Options(false), &vs), "reference");
  g_expected = Ask(vs);
  Check(vs.Close(), "close");

  // The harness's own check: both valid sidecars load and answer like the
  // rebuild (else the fuzzer would only ever exercise the rejections).
  for (const std::string* valid : {&head, &behind}) {
    Write(g_sidecar, reinterpret_cast<const uint8_t*>(valid->data()),
          valid->size());
    bool loaded = false;
    Compare(OpenAndAsk(&loaded), "a valid sidecar answers differently");
    if (!loaded) Fail("a valid sidecar was not loaded");
  }

  if (const char* seeds = std::getenv("SNKV_SIDECAR_SEEDS")) {
    fs::create_directories(seeds);
    Write(std::string(seeds) + "/valid-head",
          reinterpret_cast<const uint8_t*>(head.data()), head.size());
    Write(std::string(seeds) + "/valid-behind",
          reinterpret_cast<const uint8_t*>(behind.data()), behind.size());
  }
}

// Opens the store on the sidecar now on disk. *loaded: the loader took it.
std::vector<Answer> OpenAndAsk(bool* loaded) {
  snkv::VectorStore vs;
  const snkv::Status s = snkv::VectorStore::Open(g_db, Options(true), &vs);
  if (!s.ok()) Fail("open failed on a bad sidecar: " + s.ToString());
  snkv::VectorStats st;
  Check(vs.GetStats(&st), "stats");
  *loaded = st.loaded_from_sidecar;
  std::vector<Answer> got = Ask(vs);
  // Close writes a fresh sidecar when the index was rebuilt: keep it out
  // of the next input's way (each input writes its own anyway).
  Check(vs.Close(), "close");
  return got;
}

void Compare(const std::vector<Answer>& got, const char* what) {
  if (got == g_expected) return;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] == g_expected[i]) continue;
    std::fprintf(stderr, "search %zu: code %d vs %d, %zu vs %zu hits\n", i,
                 static_cast<int>(got[i].code),
                 static_cast<int>(g_expected[i].code), got[i].hits.size(),
                 g_expected[i].hits.size());
  }
  Fail(what);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Build();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 1. The bytes as they are.
  Write(g_sidecar, data, size);
  bool loaded = false;
  Compare(OpenAndAsk(&loaded),
          loaded ? "a sidecar the loader took answers differently from a "
                   "rebuild"
                 : "a rejected sidecar's rebuild answers differently");

  // 2. The same bytes with consistent lengths and checksums.
  if (size < kHeaderSize) return 0;
  std::string fixed(reinterpret_cast<const char*>(data), size);
  const uint64_t body_len = size - kHeaderSize;
  const uint64_t body_sum =
      snkv::vector::Checksum64(fixed.data() + kHeaderSize, body_len);
  std::memcpy(&fixed[kBodyLenAt], &body_len, 8);
  std::memcpy(&fixed[kBodySumAt], &body_sum, 8);
  const uint64_t header_sum =
      snkv::vector::Checksum64(fixed.data(), kHeaderSumAt);
  std::memcpy(&fixed[kHeaderSumAt], &header_sum, 8);
  if (std::memcmp(fixed.data(), data, size) == 0) return 0;  // same as 1.
  Write(g_sidecar, reinterpret_cast<const uint8_t*>(fixed.data()), size);
  std::vector<Answer> got = OpenAndAsk(&loaded);
  if (!loaded) Compare(got, "a rejected sidecar's rebuild answers differently");
  return 0;
}
