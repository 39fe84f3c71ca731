// VectorIndex: slot bookkeeping and the search strategy (see vector_index.h).
#include "vector/vector_index.h"

#include <algorithm>

#include "vector/bytes.h"

namespace snkv::vector {

namespace {

// Below this many live items, or when a filter accepts fewer than this
// share of a sample, an exact scan of the accepted items beats the walk.
constexpr size_t kSmallIndex = 1024;
constexpr double kSelectiveShare = 0.03;
constexpr size_t kSample = 256;

// splitmix64: a tiny, well-mixed generator for the sample's slot numbers.
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

double SampleShare(size_t slots, const std::function<bool(uint32_t)>& live,
                   const std::function<bool(uint32_t)>& accept) {
  if (slots == 0) return 1.0;
  uint64_t state = 0x5eed5eed5eed5eedull;
  size_t seen = 0, passed = 0;
  // Draws with replacement; four times the sample size bounds the cost
  // when many slots are tombstones.
  for (size_t draw = 0; draw < 4 * kSample && seen < kSample; ++draw) {
    const auto s = static_cast<uint32_t>(NextRandom(&state) % slots);
    if (!live(s)) continue;
    ++seen;
    passed += accept(s);
  }
  return seen > 0 ? static_cast<double>(passed) / static_cast<double>(seen)
                  : 1.0;
}

VectorIndex::VectorIndex(size_t dim, Space space, DType dtype, int m,
                         int ef_construction)
    : codec_(dim, space, dtype), graph_(&codec_, m, ef_construction) {}

void VectorIndex::Clear() {
  ++version_;
  graph_.Clear();
  keys_.clear();
  expires_.clear();
  meta_.clear();
  slot_of_.clear();
  expiring_ = 0;
}

std::optional<uint32_t> VectorIndex::Find(std::string_view key) const {
  auto it = slot_of_.find(std::string(key));
  if (it == slot_of_.end()) return std::nullopt;
  return it->second;
}

bool VectorIndex::Remove(std::string_view key) {
  auto it = slot_of_.find(std::string(key));
  if (it == slot_of_.end()) return false;
  const uint32_t slot = it->second;
  slot_of_.erase(it);
  ++version_;
  if (expires_[slot] != 0) --expiring_;
  graph_.Remove(slot);
  if (graph_.slots() == 0) {  // the graph forgot everything
    keys_.clear();
    expires_.clear();
    meta_.clear();
    return true;
  }
  keys_[slot].clear();
  keys_[slot].shrink_to_fit();
  meta_[slot].reset();
  expires_[slot] = 0;
  return true;
}

void VectorIndex::Upsert(std::string_view key, const float* v,
                         int64_t expires_ms,
                         std::optional<std::string> metadata) {
  Remove(key);
  ++version_;
  const uint32_t slot = graph_.Insert(v);
  if (slot >= keys_.size()) {
    keys_.resize(slot + 1);
    expires_.resize(slot + 1, 0);
    meta_.resize(slot + 1);
  }
  keys_[slot].assign(key);
  expires_[slot] = expires_ms;
  meta_[slot] = std::move(metadata);
  if (expires_ms != 0) ++expiring_;
  slot_of_[std::string(key)] = slot;
}

void VectorIndex::ExactScan(const PreparedQuery& q, size_t k,
                            const std::function<bool(uint32_t)>& accept,
                            std::vector<Neighbor>* out) const {
  std::vector<Neighbor> all;
  for (uint32_t s = 0; s < graph_.slots(); ++s) {
    if (!graph_.is_live(s) || !accept(s)) continue;
    all.emplace_back(codec_.Distance(q, graph_.code(s)), s);
  }
  const size_t n = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(n),
                    all.end());
  all.resize(n);
  *out = std::move(all);
}

void VectorIndex::Search(const float* q, size_t k, size_t ef, int64_t now_ms,
                         const std::function<bool(uint32_t)>& filter,
                         std::vector<IndexHit>* out) const {
  out->clear();
  if (k == 0 || graph_.live() == 0) return;
  PreparedQuery pq;
  codec_.Prepare(q, &pq);

  const bool check_expiry = expiring_ > 0;
  std::function<bool(uint32_t)> accept;
  std::vector<uint8_t> memo;  // 0 unknown, 1 accepted, 2 rejected
  if (filter || check_expiry) {
    memo.assign(graph_.slots(), 0);
    accept = [&](uint32_t s) {
      uint8_t& m = memo[s];
      if (m == 0) {
        const bool ok = !(expires_[s] != 0 && expires_[s] <= now_ms) &&
                        (!filter || filter(s));
        m = ok ? 1 : 2;
      }
      return m == 1;
    };
  }

  bool exact = false;
  size_t max_visits = 0;
  if (filter) {
    if (graph_.live() <= kSmallIndex) {
      exact = true;
    } else {
      const double share = SampleShare(
          graph_.slots(), [&](uint32_t s) { return graph_.is_live(s); },
          accept);
      exact = share < kSelectiveShare;
      // When the accepted items lie away from the query (a filter that
      // disagrees with the query's neighbourhood), the walk wanders far
      // before it has collected ef of them. Once it has computed as many
      // distances as an exact scan of the estimated matches would, the
      // scan is the cheaper way to finish.
      max_visits = std::max<size_t>(
          4 * ef,
          static_cast<size_t>(share * static_cast<double>(graph_.live())));
    }
  }

  std::vector<Neighbor> found;
  if (!exact) {
    const bool finished = graph_.Search(pq, k, ef, accept, &found, max_visits);
    // Too few: the walk ran out of accepted items near the query, or
    // expiry/filters hid most of them. Only an exact scan can be sure.
    if (!finished ||
        (found.size() < k && (accept || found.size() < graph_.live()))) {
      exact = true;
    }
  }
  if (exact) {
    std::function<bool(uint32_t)> all =
        accept ? accept : [](uint32_t) { return true; };
    ExactScan(pq, k, all, &found);
  }
  out->reserve(found.size());
  for (const Neighbor& n : found) out->push_back({n.second, n.first});
}

// Layout after the graph: per slot, key (u32 length + bytes), i64 expiry,
// u8 has-metadata, metadata (u32 length + bytes) when present.
void VectorIndex::Serialize(ByteWriter* w) const {
  graph_.Serialize(w);
  for (uint32_t s = 0; s < graph_.slots(); ++s) {
    w->PutString(keys_[s]);
    w->Put(expires_[s]);
    w->Put(static_cast<uint8_t>(meta_[s].has_value()));
    if (meta_[s]) w->PutString(*meta_[s]);
  }
}

bool VectorIndex::Deserialize(ByteReader* r) {
  Clear();
  if (!graph_.Deserialize(r)) {
    Clear();
    return false;
  }
  const size_t n = graph_.slots();
  keys_.resize(n);
  expires_.resize(n, 0);
  meta_.resize(n);
  for (uint32_t s = 0; s < n; ++s) {
    uint8_t has_meta;
    if (!r->GetString(&keys_[s]) || !r->Get(&expires_[s]) ||
        !r->Get(&has_meta) || has_meta > 1) {
      Clear();
      return false;
    }
    if (has_meta) {
      meta_[s].emplace();
      if (!r->GetString(&*meta_[s])) {
        Clear();
        return false;
      }
    }
    if (graph_.is_live(s)) {
      // Keys of live slots must be unique: one key, one vector.
      if (!slot_of_.emplace(keys_[s], s).second) {
        Clear();
        return false;
      }
      if (expires_[s] != 0) ++expiring_;
    }
  }
  return true;
}

}  // namespace snkv::vector
