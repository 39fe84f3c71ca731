// snkv_vbench: snkv's vector store against hnswlib 0.6.2 and FAISS 1.7.3
// HNSW on Fashion-MNIST (60,000 x 784, squared L2), in one run with the
// same M=16 and ef_construction=128. Reports recall@10 and queries/s at
// several ef (one thread, and two), build time, index memory, reopen with
// and without the sidecar, filtered search at 10% and 1% selectivity, and
// the cost of catching up with another handle's commit. See
// docs/benchmarks.md ("Vector search") and bench/vector/run.sh.
#include <faiss/IndexHNSW.h>
#include <faiss/impl/IDSelector.h>
#include <hnswlib/hnswlib.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dataset.h"
#include "snkv/snkv.h"

namespace {

using Clock = std::chrono::steady_clock;
using vbench::Matrix;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU seconds used so far by the calling thread or by the whole process.
// On a shared machine a benchmark's wall time includes the time other
// processes held the cores; its CPU time does not.
double CpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) +
         1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Args {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string work = "/tmp/snkv-vbench";
  std::string cache = "bench/vector/cache";
  std::string json = "bench/vector/results/latest.json";
  size_t queries = 10000;
  size_t filtered_queries = 1000;
  std::vector<int> efs = {16, 24, 32, 48, 64, 96, 128, 256};
  int rounds = 0;        // > 0: the alternating snkv-f32 / hnswlib comparison
  int build_rounds = 0;  // > 0: --builds N, only the builds of --compare
  std::string only;      // --only hnswlib|snkv: --builds runs one store
};

// One index under test.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  virtual void Build(const Matrix& base) = 0;
  virtual void Search(const float* q, size_t k, int ef,
                      std::vector<uint32_t>* out) = 0;
  virtual size_t MemoryBytes() const = 0;
};

class HnswlibEngine : public Engine {
 public:
  std::string name() const override { return "hnswlib"; }
  void Build(const Matrix& base) override {
    space_ = std::make_unique<hnswlib::L2Space>(base.dim);
    idx_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        space_.get(), base.rows, 16, 128);
    for (size_t i = 0; i < base.rows; ++i) idx_->addPoint(base.row(i), i);
  }
  void Search(const float* q, size_t k, int ef,
              std::vector<uint32_t>* out) override {
    // setEf is a plain store; every thread sets the same value.
    idx_->ef_ = static_cast<size_t>(ef);
    auto pq = idx_->searchKnn(q, k);
    out->resize(pq.size());
    for (size_t i = pq.size(); i-- > 0;) {
      (*out)[i] = static_cast<uint32_t>(pq.top().second);
      pq.pop();
    }
  }
  size_t MemoryBytes() const override {
    size_t bytes = idx_->max_elements_ * idx_->size_data_per_element_;
    for (size_t i = 0; i < idx_->cur_element_count; ++i) {
      bytes += static_cast<size_t>(idx_->element_levels_[i]) *
               idx_->size_links_per_element_;
    }
    return bytes;
  }
  hnswlib::HierarchicalNSW<float>* index() { return idx_.get(); }

 private:
  std::unique_ptr<hnswlib::L2Space> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> idx_;
};

class FaissEngine : public Engine {
 public:
  std::string name() const override { return "faiss-hnsw"; }
  void Build(const Matrix& base) override {
    idx_ =
        std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(base.dim), 16);
    idx_->hnsw.efConstruction = 128;
    idx_->add(static_cast<faiss::Index::idx_t>(base.rows), base.data.data());
  }
  void Search(const float* q, size_t k, int ef,
              std::vector<uint32_t>* out) override {
    SearchWith(q, k, ef, nullptr, out);
  }
  void SearchWith(const float* q, size_t k, int ef, faiss::IDSelector* sel,
                  std::vector<uint32_t>* out) {
    // FAISS 1.7.3 reads efSearch from the index, not from the parameters
    // (measured: recall did not move with p.efSearch); all threads store
    // the same value.
    idx_->hnsw.efSearch = ef;
    faiss::SearchParametersHNSW p;
    p.efSearch = ef;
    p.sel = sel;
    std::vector<float> d(k);
    std::vector<faiss::Index::idx_t> ids(k);
    idx_->search(1, q, static_cast<faiss::Index::idx_t>(k), d.data(),
                 ids.data(), &p);
    out->clear();
    for (auto id : ids) {
      if (id >= 0) out->push_back(static_cast<uint32_t>(id));
    }
  }
  size_t MemoryBytes() const override {
    return idx_->ntotal * idx_->d * sizeof(float) +
           idx_->hnsw.neighbors.size() * 4 + idx_->hnsw.offsets.size() * 8 +
           idx_->hnsw.levels.size() * 4;
  }

 private:
  std::unique_ptr<faiss::IndexHNSWFlat> idx_;
};

std::string KeyOf(uint32_t i) {
  return std::string(reinterpret_cast<const char*>(&i), 4);
}
uint32_t IdOf(const std::string& k) {
  uint32_t i = 0;
  std::memcpy(&i, k.data(), std::min<size_t>(4, k.size()));
  return i;
}

class SnkvEngine : public Engine {
 public:
  SnkvEngine(std::string path, snkv::VectorDType dtype, const char* tag)
      : path_(std::move(path)), dtype_(dtype), tag_(tag) {}
  std::string name() const override { return std::string("snkv-") + tag_; }
  static snkv::VectorOptions Options(size_t dim, snkv::VectorDType dtype) {
    snkv::VectorOptions o;
    o.dim = static_cast<int>(dim);
    o.dtype = dtype;
    o.connectivity = 16;
    o.expansion_add = 128;
    o.store.sync_level = snkv::SyncLevel::kNormal;
    o.store.cache_size_pages = 20000;
    return o;
  }
  void Build(const Matrix& base) override {
    Open(base.dim);
    // The filtered benchmark's metadata: class label and a tenth bucket.
    for (size_t from = 0; from < base.rows; from += 1000) {
      std::vector<snkv::VectorItem> items;
      std::vector<std::string> keys, metas;
      const size_t to = std::min(base.rows, from + 1000);
      keys.reserve(to - from);
      metas.reserve(to - from);
      for (size_t i = from; i < to; ++i) {
        keys.push_back(KeyOf(static_cast<uint32_t>(i)));
        metas.push_back("{\"c\":" + std::to_string((*labels_)[i]) +
                        ",\"b\":" + std::to_string(i % 10) + "}");
        items.push_back(
            {keys.back(), "", base.row(i), snkv::Slice(metas.back())});
      }
      Check(vs_.PutBatch(items), "put_batch");
    }
  }
  void Open(size_t dim) {
    Check(snkv::VectorStore::Open(path_, Options(dim, dtype_), &vs_), "open");
  }
  void Search(const float* q, size_t k, int ef,
              std::vector<uint32_t>* out) override {
    SearchWith(q, k, ef, {}, out);
  }
  void SearchWith(const float* q, size_t k, int ef,
                  std::optional<std::string> json, std::vector<uint32_t>* out) {
    snkv::SearchOptions o;
    o.top_k = static_cast<int>(k);
    o.expansion_search = ef;
    o.json_filter = std::move(json);
    std::vector<snkv::KeyHit> hits;
    Check(vs_.SearchKeys({q, static_cast<size_t>(vs_.dim())}, o, &hits),
          "search");
    out->clear();
    for (const auto& h : hits) out->push_back(IdOf(h.key));
  }
  size_t MemoryBytes() const override {
    snkv::VectorStats st;
    Check(const_cast<snkv::VectorStore&>(vs_).GetStats(&st), "stats");
    return static_cast<size_t>(st.index_memory_bytes);
  }
  snkv::VectorStore& store() { return vs_; }
  const std::string& path() const { return path_; }
  void set_labels(const std::vector<uint8_t>* l) { labels_ = l; }
  static void Check(const snkv::Status& s, const char* what) {
    if (!s.ok()) {
      std::fprintf(stderr, "snkv %s: %s\n", what, s.ToString().c_str());
      std::exit(1);
    }
  }

 private:
  std::string path_;
  snkv::VectorDType dtype_;
  const char* tag_;
  snkv::VectorStore vs_;
  const std::vector<uint8_t>* labels_ = nullptr;
};

double Recall(const std::vector<std::vector<uint32_t>>& got,
              const std::vector<std::vector<uint32_t>>& truth, size_t k) {
  size_t hit = 0, total = 0;
  for (size_t q = 0; q < got.size(); ++q) {
    const size_t n = std::min(k, truth[q].size());
    std::set<uint32_t> t(truth[q].begin(),
                         truth[q].begin() + static_cast<long>(n));
    for (uint32_t id : got[q]) hit += t.count(id);
    total += n;
  }
  return total ? static_cast<double>(hit) / static_cast<double>(total) : 1.0;
}

// Runs all queries with `threads` threads; returns queries/s.
double RunQueries(Engine& e, const Matrix& queries, size_t nq, int ef,
                  int threads, std::vector<std::vector<uint32_t>>* results) {
  results->assign(nq, {});
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      omp_set_num_threads(1);  // FAISS: no nested team per query
      for (size_t q = static_cast<size_t>(t); q < nq;
           q += static_cast<size_t>(threads)) {
        e.Search(queries.row(q), 10, ef, &(*results)[q]);
      }
    });
  }
  for (auto& th : pool) th.join();
  return static_cast<double>(nq) / Seconds(t0, Clock::now());
}

FILE* g_json = nullptr;
bool g_first = true;
void Json(const std::string& obj) {
  std::fprintf(g_json, "%s\n  %s", g_first ? "" : ",", obj.c_str());
  g_first = false;
}
std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// Queries/s at `recall`, interpolating log(queries/s) linearly between the
// two measured ef that bracket it; 0 when no pair does.
double QpsAtRecall(std::vector<std::pair<double, double>> pts, double recall) {
  std::sort(pts.begin(), pts.end());
  for (size_t i = 0; i + 1 < pts.size(); ++i) {
    const auto [r0, q0] = pts[i];
    const auto [r1, q1] = pts[i + 1];
    if (r0 <= recall && recall <= r1 && r1 > r0) {
      const double t = (recall - r0) / (r1 - r0);
      return std::exp(std::log(q0) + t * (std::log(q1) - std::log(q0)));
    }
  }
  return 0;
}

std::string Range(const std::vector<double>& v, const char* f) {
  if (v.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return Fmt(f, *lo) + ".." + Fmt(f, *hi);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The calling thread's time on a CPU and waiting for one (runqueue), in
// seconds, from /proc/thread-self/schedstat; wall minus both is the time
// it was blocked (disk, locks, sleeping). {0, 0} when unavailable.
std::pair<double, double> ThreadSched() {
  FILE* f = std::fopen("/proc/thread-self/schedstat", "r");
  if (f == nullptr) return {0, 0};
  unsigned long long run = 0, wait = 0;
  const int n = std::fscanf(f, "%llu %llu", &run, &wait);
  std::fclose(f);
  if (n != 2) return {0, 0};
  return {run / 1e9, wait / 1e9};
}

// --compare N: N rounds of snkv-f32 against hnswlib alone. Every step
// runs both stores back to back in alternating order (builds: A B, then
// B A in the next round; queries at each ef: A B B A), so that both meet
// the same machine load; then a second handle's search overhead. Prints
// per-round ratios and their ranges: on a shared machine the ratios, not
// the absolute figures, are what one run can establish.
int Compare(const Args& a, const Matrix& base, const Matrix& queries, size_t nq,
            const std::vector<std::vector<uint32_t>>& truth) {
  const std::vector<int> efs = {10, 12, 16, 24, 32, 48, 64, 128};
  const std::vector<double> targets = {0.95, 0.98, 0.99, 0.995};
  std::vector<double> build_ratio;
  std::vector<std::vector<double>> ef_ratio(efs.size()), wall_ratio(efs.size()),
      at_ratio(targets.size());
  std::vector<double> build_cpu_ratio;
  std::vector<double> second_ratio, current_us, catch1_us, catch10_us,
      catch1000_ratio, catch1000_cpu;
  std::vector<uint32_t> out;
  for (int round = 0; round < a.rounds; ++round) {
    const std::string path = a.work + "/vcompare-f32.db";
    for (const char* suffix : {"", "-wal", "-shm", ".snkv-vec"}) {
      std::filesystem::remove(path + suffix);
    }
    HnswlibEngine h;
    SnkvEngine sn(path, snkv::VectorDType::kF32, "f32");
    std::vector<uint8_t> no_labels(base.rows, 0);
    sn.set_labels(&no_labels);
    Engine* order[2] = {&h, &sn};
    if (round % 2 == 1) std::swap(order[0], order[1]);
    double build[2] = {0, 0}, build_cpu[2] = {0, 0};   // hnswlib, snkv
    double blocked[2] = {0, 0}, runnable[2] = {0, 0};  // calling thread's
    for (Engine* e : order) {
      const auto t0 = Clock::now();
      const double c0 = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
      const auto s0 = ThreadSched();
      e->Build(base);
      const auto s1 = ThreadSched();
      build_cpu[e == &sn] = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
      build[e == &sn] = Seconds(t0, Clock::now());
      runnable[e == &sn] = s1.second - s0.second;
      blocked[e == &sn] =
          build[e == &sn] - (s1.first - s0.first) - runnable[e == &sn];
    }
    build_ratio.push_back(build[1] / build[0]);
    build_cpu_ratio.push_back(build_cpu[1] / build_cpu[0]);
    std::printf(
        "\nround %d (%s first): build hnswlib %.1f s (CPU %.1f s), snkv-f32 "
        "%.1f s (CPU %.1f s): %.2fx wall, %.2fx CPU\n",
        round + 1, order[0]->name().c_str(), build[0], build_cpu[0], build[1],
        build_cpu[1], build[1] / build[0], build_cpu[1] / build_cpu[0]);
    std::printf(
        "  calling thread waiting for a core: hnswlib %.1f s, snkv %.1f s; "
        "blocked (disk, locks): hnswlib %.2f s, snkv %.2f s\n",
        runnable[0], runnable[1], blocked[0], blocked[1]);
    Json("{\"kind\":\"compare_build\",\"round\":" + std::to_string(round + 1) +
         ",\"hnswlib_s\":" + Fmt("%.2f", build[0]) +
         ",\"snkv_s\":" + Fmt("%.2f", build[1]) +
         ",\"hnswlib_cpu_s\":" + Fmt("%.2f", build_cpu[0]) +
         ",\"snkv_cpu_s\":" + Fmt("%.2f", build_cpu[1]) +
         ",\"hnswlib_blocked_s\":" + Fmt("%.2f", blocked[0]) +
         ",\"snkv_blocked_s\":" + Fmt("%.2f", blocked[1]) +
         ",\"hnswlib_runnable_s\":" + Fmt("%.2f", runnable[0]) +
         ",\"snkv_runnable_s\":" + Fmt("%.2f", runnable[1]) + "}");
    std::printf("%5s %9s %9s %10s %10s %7s   (queries per CPU second)\n", "ef",
                "rec hnsw", "rec snkv", "qps hnsw", "qps snkv", "ratio");
    std::vector<std::pair<double, double>> pts[2];
    std::vector<std::vector<uint32_t>> res;
    for (size_t i = 0; i < efs.size(); ++i) {
      double secs[2] = {0, 0}, cpu[2] = {0, 0}, rec[2] = {0, 0};
      for (Engine* e : {order[0], order[1], order[1], order[0]}) {
        const int w = e == &sn;
        res.assign(nq, {});
        const auto t0 = Clock::now();
        const double c0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
        for (size_t q = 0; q < nq; ++q) {
          e->Search(queries.row(q), 10, efs[i], &res[q]);
        }
        cpu[w] += CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - c0;
        secs[w] += Seconds(t0, Clock::now());
        rec[w] = Recall(res, truth, 10);
      }
      const double n2 = 2 * static_cast<double>(nq);
      const double qps[2] = {n2 / cpu[0], n2 / cpu[1]};
      const double wall[2] = {n2 / secs[0], n2 / secs[1]};
      pts[0].emplace_back(rec[0], qps[0]);
      pts[1].emplace_back(rec[1], qps[1]);
      ef_ratio[i].push_back(qps[1] / qps[0]);
      wall_ratio[i].push_back(wall[1] / wall[0]);
      std::printf(
          "%5d %9.4f %9.4f %10.0f %10.0f %6.2fx   (wall %.0f / %.0f, %.2fx)\n",
          efs[i], rec[0], rec[1], qps[0], qps[1], qps[1] / qps[0], wall[0],
          wall[1], wall[1] / wall[0]);
      std::fflush(stdout);
      Json("{\"kind\":\"compare\",\"round\":" + std::to_string(round + 1) +
           ",\"ef\":" + std::to_string(efs[i]) + ",\"recall_hnswlib\":" +
           Fmt("%.4f", rec[0]) + ",\"recall_snkv\":" + Fmt("%.4f", rec[1]) +
           ",\"cpu_qps_hnswlib\":" + Fmt("%.0f", qps[0]) +
           ",\"cpu_qps_snkv\":" + Fmt("%.0f", qps[1]) +
           ",\"wall_qps_hnswlib\":" + Fmt("%.0f", wall[0]) +
           ",\"wall_qps_snkv\":" + Fmt("%.0f", wall[1]) + "}");
    }
    for (size_t t = 0; t < targets.size(); ++t) {
      const double q0 = QpsAtRecall(pts[0], targets[t]);
      const double q1 = QpsAtRecall(pts[1], targets[t]);
      if (q0 > 0 && q1 > 0) at_ratio[t].push_back(q1 / q0);
      std::printf("at recall %.3f: qps hnswlib %.0f, snkv-f32 %.0f (%.2fx)\n",
                  targets[t], q0, q1, q0 > 0 ? q1 / q0 : 0.0);
    }
    std::fflush(stdout);

    // A second handle B on the same file (opened from the sidecar A
    // saves): its searches with nothing to catch up against A's while B
    // is closed, alternating; then B's searches right after A commits.
    SnkvEngine::Check(sn.store().SaveSidecar(), "save sidecar");
    double alone = 0, second = 0;
    uint32_t next = static_cast<uint32_t>(base.rows);
    auto commit = [&](size_t count) {
      std::vector<snkv::VectorItem> items;
      std::vector<std::string> keys;
      keys.reserve(count);
      for (size_t i = 0; i < count; ++i) {
        keys.push_back(KeyOf(next++));
        items.push_back(
            {keys.back(), "", queries.row((next * 7919u) % queries.rows), {}});
      }
      const auto t0 = Clock::now();
      SnkvEngine::Check(sn.store().PutBatch(items), "put_batch");
      return Seconds(t0, Clock::now());
    };
    // CPU seconds of nq searches at ef 64 on one handle.
    auto cpu_run = [&](SnkvEngine& e) {
      const double c0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
      for (size_t q = 0; q < nq; ++q) e.Search(queries.row(q), 10, 64, &out);
      return CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - c0;
    };
    for (int rep = 0; rep < 2; ++rep) {
      alone += cpu_run(sn);
      SnkvEngine b(path, snkv::VectorDType::kF32, "f32-b");
      b.Open(base.dim);
      second += cpu_run(b);
      // Thread CPU microseconds of one search on B: under load, wall time
      // stretches a 5 ms catch-up by whole scheduler slices.
      auto time_one = [&](size_t q) {
        const double c0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
        b.Search(queries.row(q), 10, 64, &out);
        return (CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - c0) * 1e6;
      };
      std::vector<double> cur, c1, c10;
      for (size_t i = 0; i < 30; ++i) {
        cur.push_back(time_one(i));
        commit(1);
        c1.push_back(time_one(i));
        cur.push_back(time_one(i + 1));
        commit(10);
        c10.push_back(time_one(i));
      }
      current_us.push_back(Median(cur));
      catch1_us.push_back(Median(c1));
      catch10_us.push_back(Median(c10));
      const double put_c0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
      const double put_s = commit(1000);
      const double put_cpu = CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - put_c0;
      const auto t0 = Clock::now();
      const double c0 = CpuSeconds(CLOCK_THREAD_CPUTIME_ID);
      b.Search(queries.row(0), 10, 64, &out);
      catch1000_cpu.push_back((CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - c0) /
                              put_cpu);
      catch1000_ratio.push_back(Seconds(t0, Clock::now()) / put_s);
      SnkvEngine::Check(b.store().Close(), "close b");
    }
    second_ratio.push_back(alone / second);
    std::printf(
        "second handle: queries per CPU second alone %.0f, on a second handle "
        "%.0f (%+.1f%%); median search CPU %.0f us when current, %.0f us "
        "after a 1-vector commit, %.0f us after a 10-vector commit; "
        "1,000-vector catch-up / put_batch %.2fx wall, %.2fx CPU\n",
        2 * static_cast<double>(nq) / alone,
        2 * static_cast<double>(nq) / second, 100 * (alone / second - 1),
        current_us.back(), catch1_us.back(), catch10_us.back(),
        catch1000_ratio.back(), catch1000_cpu.back());
    std::fflush(stdout);
    Json("{\"kind\":\"compare_second\",\"round\":" + std::to_string(round + 1) +
         ",\"qps_alone\":" + Fmt("%.0f", 2 * static_cast<double>(nq) / alone) +
         ",\"qps_second\":" +
         Fmt("%.0f", 2 * static_cast<double>(nq) / second) + "}");
    SnkvEngine::Check(sn.store().Close(), "close");
    for (const char* suffix : {"", "-wal", "-shm", ".snkv-vec"}) {
      std::filesystem::remove(path + suffix);
    }
  }
  std::printf(
      "\nsummary over %d rounds (snkv-f32 / hnswlib, min..max; "
      "recall-matched ratios from queries per CPU second)\n",
      a.rounds);
  std::printf("build time ratio: wall %s, CPU %s\n",
              Range(build_ratio, "%.2f").c_str(),
              Range(build_cpu_ratio, "%.2f").c_str());
  for (size_t i = 0; i < efs.size(); ++i) {
    std::printf("qps ratio at ef %3d: CPU %s, wall %s\n", efs[i],
                Range(ef_ratio[i], "%.2f").c_str(),
                Range(wall_ratio[i], "%.2f").c_str());
  }
  for (size_t t = 0; t < targets.size(); ++t) {
    std::printf("qps ratio at recall %.3f: %s\n", targets[t],
                Range(at_ratio[t], "%.2f").c_str());
  }
  std::printf("second handle / alone qps: %s\n",
              Range(second_ratio, "%.3f").c_str());
  std::printf(
      "median search CPU us: current %s, after a 1-vector commit %s, after "
      "a 10-vector commit %s; 1,000-vector catch-up / put_batch %s wall, %s "
      "CPU\n",
      Range(current_us, "%.0f").c_str(), Range(catch1_us, "%.0f").c_str(),
      Range(catch10_us, "%.0f").c_str(), Range(catch1000_ratio, "%.2f").c_str(),
      Range(catch1000_cpu, "%.2f").c_str());
  std::fprintf(g_json, "\n]\n");
  std::fclose(g_json);
  return 0;
}

// The calling thread's voluntary (it slept) and involuntary (preempted)
// context switches so far, from /proc/thread-self/status.
std::pair<long, long> ThreadSwitches() {
  FILE* f = std::fopen("/proc/thread-self/status", "r");
  if (f == nullptr) return {0, 0};
  char line[128];
  long v = 0, vol = 0, invol = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1) vol = v;
    if (std::sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
      invol = v;
  }
  std::fclose(f);
  return {vol, invol};
}

// The process's write_bytes from /proc/self/io (bytes it caused to be
// sent to storage, its background threads' included), 0 when unavailable.
double WrittenMiB() {
  FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char line[128];
  unsigned long long v = 0, bytes = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "write_bytes: %llu", &v) == 1) bytes = v;
  }
  std::fclose(f);
  return bytes / 1048576.0;
}

// --builds N: only the index builds of --compare (snkv-f32 against
// hnswlib, alternating which goes first), N rounds, with wall and CPU time
// of each; --only NAME builds one of them (for perf or strace).
int Builds(const Args& a, const Matrix& base) {
  std::vector<double> wall_ratio, cpu_ratio;
  const std::vector<uint8_t> no_labels(base.rows, 0);
  for (int round = 0; round < a.build_rounds; ++round) {
    const std::string path = a.work + "/vbuild-f32.db";
    for (const char* suffix : {"", "-wal", "-shm", ".snkv-vec"}) {
      std::filesystem::remove(path + suffix);
    }
    HnswlibEngine h;
    SnkvEngine sn(path, snkv::VectorDType::kF32, "f32");
    sn.set_labels(&no_labels);
    std::vector<Engine*> order = {&h, &sn};
    if (round % 2 == 1) std::swap(order[0], order[1]);
    if (a.only == "hnswlib") order = {&h};
    if (a.only == "snkv") order = {&sn};
    double wall[2] = {0, 0}, cpu[2] = {0, 0};  // hnswlib, snkv
    for (Engine* e : order) {
      const auto t0 = Clock::now();
      const double c0 = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
      const auto s0 = ThreadSched();
      const double w0 = WrittenMiB();
      const auto x0 = ThreadSwitches();
      e->Build(base);
      const auto x1 = ThreadSwitches();
      const auto s1 = ThreadSched();
      cpu[e == &sn] = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
      wall[e == &sn] = Seconds(t0, Clock::now());
      std::printf(
          "  %s: calling thread on CPU %.2f s, runnable %.2f s, blocked "
          "%.2f s (%ld sleeps, %ld preemptions); process wrote %.0f MiB\n",
          e->name().c_str(), s1.first - s0.first, s1.second - s0.second,
          wall[e == &sn] - (s1.first - s0.first) - (s1.second - s0.second),
          x1.first - x0.first, x1.second - x0.second, WrittenMiB() - w0);
    }
    std::printf(
        "build round %d (%s first): hnswlib %.2f s (CPU %.2f s), snkv-f32 "
        "%.2f s (CPU %.2f s)",
        round + 1, order[0]->name().c_str(), wall[0], cpu[0], wall[1], cpu[1]);
    if (order.size() == 2) {
      wall_ratio.push_back(wall[1] / wall[0]);
      cpu_ratio.push_back(cpu[1] / cpu[0]);
      std::printf(": %.2fx wall, %.2fx CPU", wall[1] / wall[0],
                  cpu[1] / cpu[0]);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  if (!wall_ratio.empty()) {
    std::printf("build time ratio: wall %s, CPU %s\n",
                Range(wall_ratio, "%.2f").c_str(),
                Range(cpu_ratio, "%.2f").c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--queries")
      a.queries = std::stoul(v);
    else if (k == "--filtered-queries")
      a.filtered_queries = std::stoul(v);
    else if (k == "--work")
      a.work = v;
    else if (k == "--cache")
      a.cache = v;
    else if (k == "--json")
      a.json = v;
    else if (k == "--data")
      a.data = v;
    else if (k == "--compare")
      a.rounds = std::stoi(v);
    else if (k == "--builds")
      a.build_rounds = std::stoi(v);
    else if (k == "--only")
      a.only = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  omp_set_num_threads(
      1);  // FAISS builds and searches on one thread, like the others
  std::filesystem::create_directories(a.work);
  std::filesystem::create_directories(a.cache);
  std::filesystem::create_directories(
      std::filesystem::path(a.json).parent_path());
  g_json = std::fopen(a.json.c_str(), "w");
  std::fprintf(g_json, "[");

  const Matrix base =
      vbench::LoadImages(a.data + "/train-images-idx3-ubyte.gz");
  if (a.build_rounds > 0) return Builds(a, base);
  const Matrix queries =
      vbench::LoadImages(a.data + "/t10k-images-idx3-ubyte.gz");
  const auto labels =
      vbench::LoadLabels(a.data + "/train-labels-idx1-ubyte.gz");
  const size_t nq = std::min(a.queries, queries.rows);
  const auto truth =
      vbench::CachedTopK(a.cache + "/fmnist-gt10.bin", base, queries, 10, 2);
  std::printf(
      "Fashion-MNIST: %zu x %zu, %zu queries; M=16 ef_construction=128; "
      "kernels: %s\n",
      base.rows, base.dim, nq,
      "AVX2 (snkv run-time choice; hnswlib built with -mavx2)");

  if (a.rounds > 0) return Compare(a, base, queries, nq, truth);

  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::make_unique<HnswlibEngine>());
  engines.push_back(std::make_unique<FaissEngine>());
  for (auto [dt, tag] : {std::pair{snkv::VectorDType::kF32, "f32"},
                         std::pair{snkv::VectorDType::kF16, "f16"},
                         std::pair{snkv::VectorDType::kI8, "i8"}}) {
    const std::string path = a.work + "/vbench-" + tag + ".db";
    for (const char* suffix : {"", "-wal", "-shm", ".snkv-vec"}) {
      std::filesystem::remove(path + suffix);
    }
    auto e = std::make_unique<SnkvEngine>(path, dt, tag);
    e->set_labels(&labels);
    engines.push_back(std::move(e));
  }

  std::printf("\n%-12s %10s %12s\n", "store", "build s", "index MiB");
  for (auto& e : engines) {
    const auto t0 = Clock::now();
    e->Build(base);
    const double s = Seconds(t0, Clock::now());
    const double mib = static_cast<double>(e->MemoryBytes()) / (1 << 20);
    std::printf("%-12s %10.1f %12.1f\n", e->name().c_str(), s, mib);
    std::fflush(stdout);
    Json("{\"kind\":\"build\",\"store\":\"" + e->name() + "\",\"seconds\":" +
         Fmt("%.3f", s) + ",\"index_mib\":" + Fmt("%.2f", mib) + "}");
  }

  std::printf("\n%-12s %5s %9s %10s %10s\n", "store", "ef", "recall@10",
              "qps 1thr", "qps 2thr");
  std::vector<std::vector<uint32_t>> res;
  for (auto& e : engines) {
    for (int ef : a.efs) {
      const double q1 = RunQueries(*e, queries, nq, ef, 1, &res);
      const double r = Recall(res, truth, 10);
      const double q2 = RunQueries(*e, queries, nq, ef, 2, &res);
      std::printf("%-12s %5d %9.4f %10.0f %10.0f\n", e->name().c_str(), ef, r,
                  q1, q2);
      std::fflush(stdout);
      Json("{\"kind\":\"search\",\"store\":\"" + e->name() +
           "\",\"ef\":" + std::to_string(ef) + ",\"recall\":" + Fmt("%.4f", r) +
           ",\"qps1\":" + Fmt("%.0f", q1) + ",\"qps2\":" + Fmt("%.0f", q2) +
           "}");
    }
  }

  // --- filtered search: class c (10%) and class c with bucket 0 (1%) -----
  const size_t nf = std::min(a.filtered_queries, nq);
  std::printf(
      "\nfiltered search (%zu queries, ef 64)\n%-12s %6s %9s %10s %8s\n", nf,
      "store", "select", "recall@10", "qps", "hits/q");
  auto* hnsw = static_cast<HnswlibEngine*>(engines[0].get());
  auto* faiss_e = static_cast<FaissEngine*>(engines[1].get());
  for (int sel : {10, 1}) {
    std::vector<std::vector<uint32_t>> ftruth(nf);
    for (size_t q = 0; q < nf; ++q) {
      const int c = static_cast<int>(q % 10);
      Matrix one;
      one.rows = 1;
      one.dim = queries.dim;
      one.data.assign(queries.row(q), queries.row(q) + queries.dim);
      ftruth[q] = vbench::ExactTopK(base, one, 10, 1, [&](size_t i) {
        return labels[i] == c && (sel == 10 || i % 10 == 0);
      })[0];
    }
    auto report = [&](const std::string& name, auto&& search) {
      std::vector<std::vector<uint32_t>> got(nf);
      const auto t0 = Clock::now();
      size_t hits = 0;
      for (size_t q = 0; q < nf; ++q) {
        search(q, &got[q]);
        hits += got[q].size();
      }
      const double qps = static_cast<double>(nf) / Seconds(t0, Clock::now());
      const double r = Recall(got, ftruth, 10);
      std::printf("%-12s %5d%% %9.4f %10.0f %8.2f\n", name.c_str(), sel, r, qps,
                  static_cast<double>(hits) / static_cast<double>(nf));
      std::fflush(stdout);
      Json("{\"kind\":\"filtered\",\"store\":\"" + name +
           "\",\"selectivity\":" + std::to_string(sel) + ",\"recall\":" +
           Fmt("%.4f", r) + ",\"qps\":" + Fmt("%.0f", qps) + "}");
    };
    auto keep = [&](size_t q, size_t i) {
      return labels[i] == static_cast<int>(q % 10) &&
             (sel == 10 || i % 10 == 0);
    };
    // hnswlib 0.6.2 cannot filter during the walk: ask for 10 / selectivity
    // times more and keep the matching ones (post-filtering).
    report("hnswlib-post", [&](size_t q, std::vector<uint32_t>* out) {
      const size_t k = static_cast<size_t>(10 * 100 / sel);
      std::vector<uint32_t> all;
      hnsw->Search(queries.row(q), k, static_cast<int>(std::max<size_t>(64, k)),
                   &all);
      out->clear();
      for (uint32_t id : all) {
        if (keep(q, id) && out->size() < 10) out->push_back(id);
      }
    });
    report("faiss-hnsw", [&](size_t q, std::vector<uint32_t>* out) {
      struct Sel : faiss::IDSelector {
        std::function<bool(faiss::Index::idx_t)> f;
        bool is_member(faiss::Index::idx_t id) const override { return f(id); }
      } s;
      s.f = [&](faiss::Index::idx_t id) {
        return keep(q, static_cast<size_t>(id));
      };
      faiss_e->SearchWith(queries.row(q), 10, 64, &s, out);
    });
    for (size_t e = 2; e < engines.size(); ++e) {
      auto* sn = static_cast<SnkvEngine*>(engines[e].get());
      report(sn->name(), [&](size_t q, std::vector<uint32_t>* out) {
        std::string json =
            "{\"c\":" + std::to_string(q % 10) +
            (sel == 1 ? std::string(",\"b\":0}") : std::string("}"));
        sn->SearchWith(queries.row(q), 10, 64, json, out);
      });
    }
  }

  // --- freshness: a second handle catches up with a 1,000-vector commit ---
  auto* f32 = static_cast<SnkvEngine*>(engines[2].get());
  {
    std::vector<std::vector<uint32_t>> r;
    const size_t n = std::min<size_t>(nq, 2000);
    const double alone = RunQueries(*f32, queries, n, 64, 1, &r);
    SnkvEngine second(f32->path(), snkv::VectorDType::kF32, "f32-b");
    second.Open(base.dim);
    const double with_other = RunQueries(second, queries, n, 64, 1, &r);
    std::vector<snkv::VectorItem> items;
    std::vector<std::string> keys;
    keys.reserve(1000);
    for (uint32_t i = 0; i < 1000; ++i) {
      keys.push_back(KeyOf(static_cast<uint32_t>(base.rows) + i));
      items.push_back({keys.back(), "", queries.row(queries.rows - 1 - i), {}});
    }
    auto t0 = Clock::now();
    SnkvEngine::Check(f32->store().PutBatch(items), "put_batch");
    const double insert_s = Seconds(t0, Clock::now());
    std::vector<uint32_t> out;
    t0 = Clock::now();
    second.Search(queries.row(0), 10, 64, &out);  // catches up first
    const double catchup_s = Seconds(t0, Clock::now());
    std::printf(
        "\nfreshness: search qps, one handle %.0f, beside a second handle %.0f "
        "(%.1f%%)\n"
        "  1,000-vector commit: put_batch on A %.3f s; A's commit seen by B's "
        "next "
        "search after %.3f s (%.2fx)\n",
        alone, with_other, 100.0 * (with_other / alone - 1), insert_s,
        catchup_s, catchup_s / insert_s);
    Json("{\"kind\":\"freshness\",\"qps_alone\":" + Fmt("%.0f", alone) +
         ",\"qps_second\":" + Fmt("%.0f", with_other) +
         ",\"insert_1000_s\":" + Fmt("%.4f", insert_s) +
         ",\"catchup_1000_s\":" + Fmt("%.4f", catchup_s) + "}");
  }

  // --- reopen with and without the sidecar -------------------------------
  std::printf("\nreopen (snkv, %zu vectors)\n", base.rows + 1000);
  for (size_t e = 2; e < engines.size(); ++e) {
    auto* sn = static_cast<SnkvEngine*>(engines[e].get());
    SnkvEngine::Check(sn->store().Close(), "close");
    auto t0 = Clock::now();
    sn->Open(base.dim);
    const double with_side = Seconds(t0, Clock::now());
    SnkvEngine::Check(sn->store().Close(), "close");
    std::filesystem::remove(sn->path() + ".snkv-vec");
    snkv::VectorOptions o =
        SnkvEngine::Options(base.dim, snkv::VectorDType::kF32);
    t0 = Clock::now();
    sn->Open(base.dim);
    const double rebuild = Seconds(t0, Clock::now());
    std::printf("%-12s with sidecar %.2f s, rebuild %.2f s (%.1fx)\n",
                sn->name().c_str(), with_side, rebuild, rebuild / with_side);
    Json("{\"kind\":\"reopen\",\"store\":\"" + sn->name() +
         "\",\"sidecar_s\":" + Fmt("%.3f", with_side) +
         ",\"rebuild_s\":" + Fmt("%.3f", rebuild) + "}");
    (void)o;
  }
  std::fprintf(g_json, "\n]\n");
  std::fclose(g_json);
  for (size_t e = 2; e < engines.size(); ++e) {
    auto* sn = static_cast<SnkvEngine*>(engines[e].get());
    (void)sn->store().Close();
    for (const char* suffix : {"", "-wal", "-shm", ".snkv-vec"}) {
      std::filesystem::remove(sn->path() + suffix);
    }
  }
  return 0;
}
