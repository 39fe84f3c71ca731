// Hnsw: construction, search, removal and serialisation (see hnsw.h).
#include "vector/hnsw.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>

#include "vector/bytes.h"

namespace snkv::vector {

namespace {

constexpr int kMaxLevel = 32;  // levels beyond this have probability ~M^-32

struct Closer {
  bool operator()(const Neighbor& a, const Neighbor& b) const {
    return a.first > b.first;
  }
};
using MinHeap = std::priority_queue<Neighbor, std::vector<Neighbor>, Closer>;
using MaxHeap = std::priority_queue<Neighbor>;

}  // namespace

// Per-thread visited marks: one epoch number per slot, so clearing between
// searches is one increment instead of a memset.
struct Hnsw::Visited {
  std::vector<uint32_t> marks;
  uint32_t epoch = 0;

  static Visited& ForThread(size_t slots) {
    thread_local Visited v;
    if (v.marks.size() < slots) v.marks.resize(slots + slots / 4 + 64, 0);
    if (++v.epoch == 0) {  // wrapped: old marks could collide
      std::fill(v.marks.begin(), v.marks.end(), 0);
      v.epoch = 1;
    }
    return v;
  }
  // True the first time `slot` is seen in this search.
  bool Visit(uint32_t slot) {
    if (marks[slot] == epoch) return false;
    marks[slot] = epoch;
    return true;
  }
};

Hnsw::Hnsw(const Codec* codec, int m, int ef_construction, uint64_t seed)
    : codec_(codec),
      m_(static_cast<size_t>(std::max(2, m))),
      m0_(2 * m_),
      ef_construction_(static_cast<size_t>(std::max(1, ef_construction))),
      level_mult_(1.0 / std::log(static_cast<double>(m_))),
      rng_(seed) {}

void Hnsw::Clear() {
  codes_.clear();
  links0_.clear();
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
  return codes_.capacity() + links0_.capacity() * sizeof(uint32_t) +
         upper_words_ * sizeof(uint32_t) +
         upper_.capacity() * sizeof(upper_[0]) + levels_.capacity() +
         deleted_.capacity() + free_.capacity() * sizeof(uint32_t);
}

uint32_t* Hnsw::Links(uint32_t slot, int level) noexcept {
  if (level == 0) return links0_.data() + size_t{slot} * (1 + m0_);
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
    codes_.resize(codes_.size() + codec_->code_size());
    links0_.resize(links0_.size() + 1 + m0_);
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

std::vector<Neighbor> Hnsw::SearchLayer(const PreparedQuery& q, uint32_t ep,
                                        size_t ef, int level,
                                        uint32_t exclude) const {
  Visited& visited = Visited::ForThread(slots());
  visited.Visit(exclude);
  MinHeap candidates;
  MaxHeap top;
  const float d0 = codec_->Distance(q, code(ep));
  visited.Visit(ep);
  candidates.emplace(d0, ep);
  top.emplace(d0, ep);
  while (!candidates.empty()) {
    const Neighbor c = candidates.top();
    if (c.first > top.top().first && top.size() >= ef) break;
    candidates.pop();
    if (levels_[c.second] < level) continue;
    const uint32_t* l = Links(c.second, level);
    for (uint32_t i = 1; i <= l[0]; ++i) {
      const uint32_t n = l[i];
      if (!visited.Visit(n)) continue;
      const float d = codec_->Distance(q, code(n));
      if (top.size() < ef || d < top.top().first) {
        candidates.emplace(d, n);
        top.emplace(d, n);
        if (top.size() > ef) top.pop();
      }
    }
  }
  std::vector<Neighbor> out;
  out.reserve(top.size());
  while (!top.empty()) {
    out.push_back(top.top());
    top.pop();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

void Hnsw::SelectNeighbors(std::vector<Neighbor>* candidates, size_t m) const {
  if (candidates->size() <= m) return;
  std::sort(candidates->begin(), candidates->end());
  std::vector<Neighbor> kept;
  kept.reserve(m);
  for (const Neighbor& c : *candidates) {
    if (kept.size() >= m) break;
    bool good = true;
    for (const Neighbor& k : kept) {
      if (codec_->CodeDistance(code(c.second), code(k.second)) < c.first) {
        good = false;
        break;
      }
    }
    if (good) kept.push_back(c);
  }
  *candidates = std::move(kept);
}

// Adds the link from -> to on `level`; when from's list is full, its links
// plus the new one are pruned back by the heuristic.
void Hnsw::Connect(uint32_t from, uint32_t to, float dist, int level) {
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
  std::vector<Neighbor> c;
  c.reserve(cap + 1);
  c.emplace_back(dist, to);
  for (uint32_t i = 1; i <= l[0]; ++i) {
    c.emplace_back(codec_->CodeDistance(code(from), code(l[i])), l[i]);
  }
  SelectNeighbors(&c, cap);
  l[0] = static_cast<uint32_t>(c.size());
  for (size_t i = 0; i < c.size(); ++i) l[i + 1] = c[i].second;
}

uint32_t Hnsw::Insert(const float* v) {
  const int level = RandomLevel();
  const uint32_t slot = AllocateSlot(level);
  codec_->Encode(v, codes_.data() + size_t{slot} * codec_->code_size());
  ++live_;
  if (max_level_ < 0) {
    entry_ = slot;
    max_level_ = levels_[slot];
    return slot;
  }
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
    std::vector<Neighbor> found = SearchLayer(q, ep, ef_construction_, l, slot);
    if (found.empty()) continue;
    ep = found.front().second;
    SelectNeighbors(&found, m_);
    uint32_t* links = Links(slot, l);
    links[0] = static_cast<uint32_t>(found.size());
    for (size_t i = 0; i < found.size(); ++i) links[i + 1] = found[i].second;
    for (const Neighbor& n : found) Connect(n.second, slot, n.first, l);
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
        SelectNeighbors(&cand, cap);
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
  size_t visits = 0;
  ef = std::max(ef, k);
  uint32_t ep = entry_;
  for (int l = max_level_; l > 0; --l) ep = Greedy(q, ep, l, UINT32_MAX);

  auto ok = [&](uint32_t s) {
    return deleted_[s] == 0 && (!accept || accept(s));
  };
  Visited& visited = Visited::ForThread(slots());
  MinHeap candidates;
  MaxHeap top;
  const float d0 = codec_->Distance(q, code(ep));
  visited.Visit(ep);
  candidates.emplace(d0, ep);
  float bound = std::numeric_limits<float>::infinity();
  if (ok(ep)) {
    top.emplace(d0, ep);
    bound = d0;
  }
  while (!candidates.empty()) {
    const Neighbor c = candidates.top();
    if (c.first > bound && top.size() >= ef) break;
    candidates.pop();
    const uint32_t* l = Links(c.second, 0);
    for (uint32_t i = 1; i <= l[0]; ++i) {
      const uint32_t n = l[i];
      if (!visited.Visit(n)) continue;
      if (max_visits != 0 && ++visits > max_visits) return false;
      const float d = codec_->Distance(q, code(n));
      if (top.size() < ef || d < bound) {
        candidates.emplace(d, n);
        if (ok(n)) {
          top.emplace(d, n);
          if (top.size() > ef) top.pop();
          bound = top.top().first;
        }
      }
    }
  }
  while (top.size() > k) top.pop();
  out->resize(top.size());
  for (size_t i = top.size(); i-- > 0;) {
    (*out)[i] = top.top();
    top.pop();
  }
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
  codes_.resize(n * code_size);
  links0_.resize(n * (1 + m0_));
  upper_.resize(n);
  levels_.resize(n);
  deleted_.resize(n);
  size_t counted = 0;
  for (uint32_t s = 0; s < n; ++s) {
    if (!r->Get(&levels_[s]) || !r->Get(&deleted_[s]) ||
        levels_[s] > kMaxLevel || deleted_[s] > 1 ||
        !r->GetBytes(codes_.data() + size_t{s} * code_size, code_size) ||
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
