// Hnsw: construction, search, removal and serialisation (see hnsw.h).
#include "vector/hnsw.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "vector/bytes.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SNKV_PREFETCH(p) \
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0)
#else
#define SNKV_PREFETCH(p) __builtin_prefetch(p)
#endif

namespace snkv::vector {

namespace {

constexpr int kMaxLevel = 32;  // levels beyond this have probability ~M^-32
constexpr size_t kLine = 64;
// Lines of the next neighbour's code prefetched while the current distance
// is computed. The hardware prefetcher follows the rest of a long code once
// the first lines are requested; prefetching all 49 lines of a 784-dim
// float vector put most of the walk's own samples on the prefetch loop and
// was not faster (docs/design.md, "The index's speed").
constexpr size_t kPrefetchLines = 8;

// Heap orders: Closer keeps the nearest at the front (candidates), the
// default pair order keeps the farthest at the front (results).
struct Closer {
  bool operator()(const Neighbor& a, const Neighbor& b) const {
    return a.first > b.first;
  }
};
struct Farther {
  bool operator()(const Neighbor& a, const Neighbor& b) const {
    return a.first < b.first;
  }
};

template <class Cmp>
void HeapPush(std::vector<Neighbor>* h, Neighbor n) {
  h->push_back(n);
  std::push_heap(h->begin(), h->end(), Cmp());
}
template <class Cmp>
void HeapPop(std::vector<Neighbor>* h) {
  std::pop_heap(h->begin(), h->end(), Cmp());
  h->pop_back();
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

// Accepts every node (a search with no filter, expiry or tombstones).
struct AcceptAll {
  bool operator()(uint32_t) const { return true; }
};

}  // namespace

// Per-thread buffers of the walk and of insertion, reused across calls so
// that a search allocates nothing once warm. Visited marks are epochs: one
// 16-bit number per slot, so clearing between walks is one increment.
struct Hnsw::Scratch {
  std::vector<uint16_t> marks;
  uint16_t epoch = 0;
  std::vector<Neighbor> cand, top;   // the walk's heaps
  std::vector<Neighbor> found;       // SearchLayer's result (insertion)
  std::vector<Neighbor> pool, kept;  // Connect / SelectNeighbors
  std::vector<uint32_t> batch;       // unvisited neighbours of one node
  PreparedQuery base;                // a stored code as a query (pruning)

  // Starts a walk over `slots` slots: nothing is visited.
  void BeginVisit(size_t slots) {
    if (marks.size() < slots) marks.resize(slots + slots / 4 + 64, 0);
    if (++epoch == 0) {  // wrapped: old marks could collide
      std::fill(marks.begin(), marks.end(), 0);
      epoch = 1;
    }
  }
  // True the first time `slot` is seen in this walk.
  bool Visit(uint32_t slot) {
    if (marks[slot] == epoch) return false;
    marks[slot] = epoch;
    return true;
  }
};

// The calling thread's Scratch for the duration of one call. A filter
// callback may search (or write to) another store from inside a walk, so
// each nesting depth gets its own Scratch; pointers into an outer walk's
// buffers stay valid.
class Hnsw::ScratchLease {
 public:
  ScratchLease() {
    if (depth_ == pool_.size()) pool_.push_back(std::make_unique<Scratch>());
    s_ = pool_[depth_++].get();
  }
  ~ScratchLease() { --depth_; }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  Scratch* get() const noexcept { return s_; }

 private:
  static thread_local std::vector<std::unique_ptr<Scratch>> pool_;
  static thread_local size_t depth_;
  Scratch* s_;
};
thread_local std::vector<std::unique_ptr<Hnsw::Scratch>>
    Hnsw::ScratchLease::pool_;
thread_local size_t Hnsw::ScratchLease::depth_ = 0;

Hnsw::Hnsw(const Codec* codec, int m, int ef_construction, uint64_t seed)
    : codec_(codec),
      m_(static_cast<size_t>(std::max(2, m))),
      m0_(2 * m_),
      ef_construction_(static_cast<size_t>(std::max(1, ef_construction))),
      level_mult_(1.0 / std::log(static_cast<double>(m_))),
      rng_(seed) {
  links0_at_ = RoundUp(codec_->code_size(), sizeof(uint32_t) * 4);
  stride_ = RoundUp(links0_at_ + (1 + m0_) * sizeof(uint32_t), kLine);
}

void Hnsw::Clear() {
  level0_.clear();
  upper_.clear();
  levels_.clear();
  deleted_.clear();
  free_.clear();
  live_ = 0;
  upper_words_ = 0;
  entry_ = 0;
  max_level_ = -1;
}

size_t Hnsw::MemoryBytes() const noexcept {
  return level0_.capacity() + upper_words_ * sizeof(uint32_t) +
         upper_.capacity() * sizeof(upper_[0]) + levels_.capacity() +
         deleted_.capacity() + free_.capacity() * sizeof(uint32_t);
}

uint32_t* Hnsw::Links(uint32_t slot, int level) noexcept {
  if (level == 0) {
    return reinterpret_cast<uint32_t*>(level0_.data() + size_t{slot} * stride_ +
                                       links0_at_);
  }
  return upper_[slot].get() + size_t(level - 1) * (1 + m_);
}

const uint32_t* Hnsw::Links(uint32_t slot, int level) const noexcept {
  return const_cast<Hnsw*>(this)->Links(slot, level);
}

int Hnsw::RandomLevel() {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double r = -std::log(std::max(u(rng_), 1e-300)) * level_mult_;
  return std::min(kMaxLevel, static_cast<int>(r));
}

// A slot for a new node of `level`: a tombstone if there is one (never the
// entry point, whose upper links keep the graph reachable), else a new one.
// Its links are cleared; links other nodes still hold to a reused slot now
// lead to the new vector, which only costs a detour.
uint32_t Hnsw::AllocateSlot(int level) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    deleted_[slot] = 0;
  } else {
    slot = static_cast<uint32_t>(levels_.size());
    levels_.push_back(0);
    deleted_.push_back(0);
    upper_.emplace_back();
    level0_.resize(level0_.size() + stride_);
  }
  // Keep the larger of the old and new level so stale links into this
  // slot's upper layers stay valid (they find empty lists there).
  const int keep = std::max<int>(levels_[slot], level);
  if (keep > levels_[slot] || !upper_[slot]) {
    const size_t words = size_t(keep) * (1 + m_);
    upper_words_ += words - size_t(levels_[slot]) * (1 + m_);
    upper_[slot] = keep > 0 ? std::make_unique<uint32_t[]>(words) : nullptr;
  }
  levels_[slot] = static_cast<uint8_t>(keep);
  Links(slot, 0)[0] = 0;
  for (int l = 1; l <= keep; ++l) Links(slot, l)[0] = 0;
  return slot;
}

uint32_t Hnsw::Greedy(const PreparedQuery& q, uint32_t ep, int level,
                      uint32_t exclude) const {
  float best = codec_->Distance(q, code(ep));
  bool moved = true;
  while (moved) {
    moved = false;
    if (levels_[ep] < level) break;
    const uint32_t* l = Links(ep, level);
    for (uint32_t i = 1; i <= l[0]; ++i) {
      if (l[i] == exclude) continue;
      const float d = codec_->Distance(q, code(l[i]));
      if (d < best) {
        best = d;
        ep = l[i];
        moved = true;
      }
    }
  }
  return ep;
}

// The hot loop. Per expanded node, the unvisited neighbours are gathered
// first, so that the first line of each one's code can be requested from
// memory at once, and the rest of the next code is prefetched while the
// current distance is computed: a 784-dim float vector is 49 cache lines,
// and waiting for them one node at a time is most of a search's time.
template <class Accept>
bool Hnsw::Walk(const PreparedQuery& q, uint32_t ep, size_t ef, int level,
                const Accept& accept, size_t max_visits, Scratch* s) const {
  std::vector<Neighbor>& cand = s->cand;
  std::vector<Neighbor>& top = s->top;
  cand.clear();
  top.clear();
  s->batch.resize(m0_ + 1);
  uint32_t* batch = s->batch.data();
  const size_t lines =
      std::min(kPrefetchLines, (codec_->code_size() + kLine - 1) / kLine);
  size_t visits = 0;

  const float d0 = codec_->Distance(q, code(ep));
  s->Visit(ep);
  HeapPush<Closer>(&cand, {d0, ep});
  float bound = std::numeric_limits<float>::infinity();
  if (accept(ep)) {
    HeapPush<Farther>(&top, {d0, ep});
    bound = d0;
  }
  while (!cand.empty()) {
    const Neighbor c = cand.front();
    if (c.first > bound && top.size() >= ef) break;
    HeapPop<Closer>(&cand);
    if (level > 0 && levels_[c.second] < level) continue;
    const uint32_t* l = Links(c.second, level);
    const uint32_t count = l[0];
    for (uint32_t i = 1; i <= count; ++i) SNKV_PREFETCH(&s->marks[l[i]]);
    size_t nb = 0;
    for (uint32_t i = 1; i <= count; ++i) {
      if (s->Visit(l[i])) batch[nb++] = l[i];
    }
    for (size_t j = 0; j < nb; ++j) SNKV_PREFETCH(code(batch[j]));
    for (size_t j = 0; j < nb; ++j) {
      if (j + 1 < nb) {
        const uint8_t* next = code(batch[j + 1]);
        for (size_t x = 1; x < lines; ++x) SNKV_PREFETCH(next + x * kLine);
      }
      if (max_visits != 0 && ++visits > max_visits) return false;
      const uint32_t n = batch[j];
      const float d = codec_->Distance(q, code(n));
      if (top.size() < ef || d < bound) {
        HeapPush<Closer>(&cand, {d, n});
        if (accept(n)) {
          HeapPush<Farther>(&top, {d, n});
          if (top.size() > ef) HeapPop<Farther>(&top);
          bound = top.front().first;
        }
      }
    }
  }
  return true;
}

void Hnsw::SearchLayer(const PreparedQuery& q, uint32_t ep, size_t ef,
                       int level, uint32_t exclude, Scratch* s) const {
  s->BeginVisit(slots());
  s->Visit(exclude);
  Walk(q, ep, ef, level, AcceptAll(), 0, s);
  s->found.assign(s->top.begin(), s->top.end());
  std::sort(s->found.begin(), s->found.end());
}

// Distances from one stored code to others, as CodeDistance gives them.
// f16 codes are decoded once into s->base rather than once per pair.
void Hnsw::SelectNeighbors(std::vector<Neighbor>* candidates, size_t m,
                           Scratch* s) const {
  if (candidates->size() <= m) return;
  std::sort(candidates->begin(), candidates->end());
  const bool decode = codec_->dtype() == DType::kF16;
  std::vector<Neighbor>& kept = s->kept;
  kept.clear();
  for (const Neighbor& c : *candidates) {
    if (kept.size() >= m) break;
    if (decode && !kept.empty()) codec_->PrepareCode(code(c.second), &s->base);
    bool good = true;
    for (const Neighbor& k : kept) {
      const float d =
          decode ? codec_->Distance(s->base, code(k.second))
                 : codec_->CodeDistance(code(c.second), code(k.second));
      if (d < c.first) {
        good = false;
        break;
      }
    }
    if (good) kept.push_back(c);
  }
  candidates->assign(kept.begin(), kept.end());
}

// Adds the link from -> to on `level`; when from's list is full, its links
// plus the new one are pruned back by the heuristic.
void Hnsw::Connect(uint32_t from, uint32_t to, float dist, int level,
                   Scratch* s) {
  if (levels_[from] < level) return;
  uint32_t* l = Links(from, level);
  const size_t cap = MaxLinks(level);
  for (uint32_t i = 1; i <= l[0]; ++i) {
    if (l[i] == to) return;
  }
  if (l[0] < cap) {
    l[++l[0]] = to;
    return;
  }
  std::vector<Neighbor>& c = s->pool;
  c.clear();
  c.emplace_back(dist, to);
  const bool decode = codec_->dtype() == DType::kF16;
  if (decode) codec_->PrepareCode(code(from), &s->base);
  for (uint32_t i = 1; i <= l[0]; ++i) {
    SNKV_PREFETCH(code(l[i]));
  }
  for (uint32_t i = 1; i <= l[0]; ++i) {
    const float d = decode ? codec_->Distance(s->base, code(l[i]))
                           : codec_->CodeDistance(code(from), code(l[i]));
    c.emplace_back(d, l[i]);
  }
  SelectNeighbors(&c, cap, s);
  l[0] = static_cast<uint32_t>(c.size());
  for (size_t i = 0; i < c.size(); ++i) l[i + 1] = c[i].second;
}

uint32_t Hnsw::Insert(const float* v) {
  const int level = RandomLevel();
  const uint32_t slot = AllocateSlot(level);
  codec_->Encode(v, level0_.data() + size_t{slot} * stride_);
  ++live_;
  if (max_level_ < 0) {
    entry_ = slot;
    max_level_ = levels_[slot];
    return slot;
  }
  ScratchLease lease;
  Scratch& s = *lease.get();
  PreparedQuery q;
  codec_->Prepare(v, &q);
  // The i8 query must be the stored code itself, so that distances to the
  // new node agree between insertion and later pruning.
  if (codec_->dtype() == DType::kI8) {
    q.code.assign(code(slot), code(slot) + codec_->code_size());
  }
  // The new node's own slot may be reachable through links other nodes
  // still hold to a reused slot; the walks must never step on it, since its
  // links are not built yet.
  uint32_t ep = entry_;
  for (int l = max_level_; l > level; --l) ep = Greedy(q, ep, l, slot);
  for (int l = std::min(level, max_level_); l >= 0; --l) {
    SearchLayer(q, ep, ef_construction_, l, slot, &s);
    std::vector<Neighbor>& found = s.found;
    if (found.empty()) continue;
    ep = found.front().second;
    SelectNeighbors(&found, m_, &s);
    uint32_t* links = Links(slot, l);
    links[0] = static_cast<uint32_t>(found.size());
    for (size_t i = 0; i < found.size(); ++i) links[i + 1] = found[i].second;
    for (const Neighbor& n : found) Connect(n.second, slot, n.first, l, &s);
  }
  if (level > max_level_) {
    entry_ = slot;
    max_level_ = level;
  }
  return slot;
}

// Tombstones the slot and repairs its neighbourhood, as hnswlib does for a
// replaced point: each node the removed one linked to re-selects its links
// from its own plus the removed node's other neighbours. Without this,
// reusing the slot (which clears its links) cuts the paths that led through
// it; measured with heavy overwrites on 400 keys, exact-match queries then
// missed their own vector in about 1 of 2,000 lookups. The tombstone keeps
// its own links, so walks still pass through it until it is reused.
void Hnsw::Remove(uint32_t slot) {
  if (!is_live(slot)) return;
  ScratchLease lease;
  std::vector<Neighbor> cand;
  for (int l = 0; l <= levels_[slot]; ++l) {
    const uint32_t* mine = Links(slot, l);
    const size_t cap = MaxLinks(l);
    for (uint32_t i = 1; i <= mine[0]; ++i) {
      const uint32_t n = mine[i];
      if (n == slot || levels_[n] < l || deleted_[n]) continue;
      uint32_t* theirs = Links(n, l);
      cand.clear();
      auto add = [&](uint32_t c) {
        if (c == n || c == slot) return;
        for (const Neighbor& x : cand) {
          if (x.second == c) return;
        }
        cand.emplace_back(0.0f, c);
      };
      for (uint32_t j = 1; j <= theirs[0]; ++j) add(theirs[j]);
      for (uint32_t j = 1; j <= mine[0]; ++j) {
        if (!deleted_[mine[j]]) add(mine[j]);
      }
      if (cand.size() > cap) {
        for (Neighbor& x : cand)
          x.first = codec_->CodeDistance(code(n), code(x.second));
        SelectNeighbors(&cand, cap, lease.get());
      }
      theirs[0] = static_cast<uint32_t>(cand.size());
      for (size_t j = 0; j < cand.size(); ++j) theirs[j + 1] = cand[j].second;
    }
  }
  deleted_[slot] = 1;
  --live_;
  if (slot != entry_) free_.push_back(slot);
  if (live_ == 0) Clear();
}

bool Hnsw::Search(const PreparedQuery& q, size_t k, size_t ef,
                  const std::function<bool(uint32_t)>& accept,
                  std::vector<Neighbor>* out, size_t max_visits) const {
  out->clear();
  if (max_level_ < 0 || k == 0) return true;
  ef = std::max(ef, k);
  uint32_t ep = entry_;
  for (int l = max_level_; l > 0; --l) ep = Greedy(q, ep, l, UINT32_MAX);

  ScratchLease lease;
  Scratch& s = *lease.get();
  s.BeginVisit(slots());
  bool finished;
  if (!accept && live_ == slots()) {  // nothing to reject: no checks at all
    finished = Walk(q, ep, ef, 0, AcceptAll(), max_visits, &s);
  } else {
    auto ok = [&](uint32_t n) {
      return deleted_[n] == 0 && (!accept || accept(n));
    };
    finished = Walk(q, ep, ef, 0, ok, max_visits, &s);
  }
  if (!finished) return false;
  std::vector<Neighbor>& top = s.top;
  std::sort(top.begin(), top.end());
  out->assign(top.begin(), top.begin() + std::min(k, top.size()));
  return true;
}

// Layout: u64 m, u64 slots, u32 entry, i32 max_level, u64 live, then per
// slot: u8 level, u8 deleted, code, level-0 list (count + m0 words), upper
// lists (level * (1 + m) words); then u64 free count and the free slots.
void Hnsw::Serialize(ByteWriter* w) const {
  w->Put(static_cast<uint64_t>(m_));
  w->Put(static_cast<uint64_t>(slots()));
  w->Put(entry_);
  w->Put(static_cast<int32_t>(max_level_));
  w->Put(static_cast<uint64_t>(live_));
  for (uint32_t s = 0; s < slots(); ++s) {
    w->Put(levels_[s]);
    w->Put(deleted_[s]);
    w->PutBytes(code(s), codec_->code_size());
    w->PutBytes(Links(s, 0), (1 + m0_) * sizeof(uint32_t));
    if (levels_[s] > 0) {
      w->PutBytes(upper_[s].get(),
                  size_t(levels_[s]) * (1 + m_) * sizeof(uint32_t));
    }
  }
  w->Put(static_cast<uint64_t>(free_.size()));
  w->PutBytes(free_.data(), free_.size() * sizeof(uint32_t));
}

bool Hnsw::Deserialize(ByteReader* r) {
  Clear();
  uint64_t m, n, live, nfree;
  uint32_t entry;
  int32_t max_level;
  if (!r->Get(&m) || !r->Get(&n) || !r->Get(&entry) || !r->Get(&max_level) ||
      !r->Get(&live)) {
    return false;
  }
  const size_t code_size = codec_->code_size();
  const uint64_t min_slot = 2 + code_size + (1 + m0_) * 4;
  if (m != m_ || n > UINT32_MAX || !r->CanHold(n, min_slot) || live > n ||
      max_level < -1 || max_level > kMaxLevel || (n == 0) != (max_level < 0) ||
      (n > 0 && entry >= n)) {
    return false;
  }
  // Slack for the inserts that catching up with other handles brings, so
  // that the first one does not copy the whole index to grow it.
  level0_.reserve((n + n / 16 + 64) * stride_);
  level0_.resize(n * stride_);
  upper_.resize(n);
  levels_.resize(n);
  deleted_.resize(n);
  size_t counted = 0;
  for (uint32_t s = 0; s < n; ++s) {
    if (!r->Get(&levels_[s]) || !r->Get(&deleted_[s]) ||
        levels_[s] > kMaxLevel || deleted_[s] > 1 ||
        !r->GetBytes(level0_.data() + size_t{s} * stride_, code_size) ||
        !r->GetBytes(Links(s, 0), (1 + m0_) * sizeof(uint32_t))) {
      return false;
    }
    if (levels_[s] > 0) {
      const size_t words = size_t(levels_[s]) * (1 + m_);
      if (!r->CanHold(words, 4)) return false;
      upper_[s] = std::make_unique<uint32_t[]>(words);
      upper_words_ += words;
      if (!r->GetBytes(upper_[s].get(), words * sizeof(uint32_t))) return false;
    }
    counted += deleted_[s] == 0;
  }
  // Every link must name an existing slot and respect its list's capacity:
  // a search trusts them without checks.
  for (uint32_t s = 0; s < n; ++s) {
    for (int l = 0; l <= levels_[s]; ++l) {
      const uint32_t* links = Links(s, l);
      if (links[0] > MaxLinks(l)) return false;
      for (uint32_t i = 1; i <= links[0]; ++i) {
        if (links[i] >= n) return false;
      }
    }
  }
  if (!r->Get(&nfree) || !r->CanHold(nfree, 4) || nfree > n) return false;
  free_.resize(nfree);
  if (!r->GetBytes(free_.data(), nfree * sizeof(uint32_t))) return false;
  for (uint32_t f : free_) {
    if (f >= n || deleted_[f] == 0 || f == entry) return false;
  }
  if (counted != live || (n > 0 && levels_[entry] != max_level)) return false;
  live_ = live;
  entry_ = entry;
  max_level_ = max_level;
  return true;
}

}  // namespace snkv::vector
