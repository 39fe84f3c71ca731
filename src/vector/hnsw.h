// Hnsw: a hierarchical navigable small-world graph over codes of a Codec
// (Malkov & Yashunin), with what snkv needs beyond the classic algorithm:
//
//   - slots: nodes live in numbered slots. Remove() makes a slot a tombstone
//     (still walked through, never returned) and Insert() reuses tombstoned
//     slots first, so a store with churn does not grow without bound;
//   - a filter applied during the walk: rejected nodes are traversed but not
//     collected, so a filtered search still finds k accepted nodes;
//   - Serialize/Deserialize for the sidecar (format in sidecar.cc).
//
// Not thread-safe by itself: the owner serialises Insert/Remove against
// everything else; Search may run from many threads at once.
#ifndef SNKV_VECTOR_HNSW_H
#define SNKV_VECTOR_HNSW_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "vector/codec.h"

namespace snkv::vector {

class ByteReader;
class ByteWriter;

// (distance, slot), ordered by distance.
using Neighbor = std::pair<float, uint32_t>;

class Hnsw {
 public:
  Hnsw(const Codec* codec, int m, int ef_construction, uint64_t seed = 42);

  // Adds vector v (dim floats, finite) and returns its slot.
  uint32_t Insert(const float* v);
  // Tombstones a live slot.
  void Remove(uint32_t slot);
  // Forgets every node.
  void Clear();

  // Up to k accepted nodes nearest to q, nearest first, searching with a
  // candidate list of max(ef, k). `accept` (may be empty) decides per slot;
  // tombstones are never returned. With max_visits > 0 the walk gives up
  // (returns false, *out empty) after computing that many distances.
  bool Search(const PreparedQuery& q, size_t k, size_t ef,
              const std::function<bool(uint32_t)>& accept,
              std::vector<Neighbor>* out, size_t max_visits = 0) const;

  size_t slots() const noexcept { return levels_.size(); }
  size_t live() const noexcept { return live_; }
  bool is_live(uint32_t slot) const noexcept {
    return slot < deleted_.size() && deleted_[slot] == 0;
  }
  const uint8_t* code(uint32_t slot) const noexcept {
    return level0_.data() + size_t{slot} * stride_;
  }
  // Bytes held by codes and links (the index memory the benchmark reports).
  size_t MemoryBytes() const noexcept;

  void Serialize(ByteWriter* w) const;
  // False if the bytes do not describe a consistent graph for this codec.
  bool Deserialize(ByteReader* r);

 private:
  struct Scratch;
  class ScratchLease;
  template <class T>
  struct AlignedAlloc {
    using value_type = T;
    AlignedAlloc() = default;
    template <class U>
    AlignedAlloc(const AlignedAlloc<U>&) noexcept {}
    T* allocate(size_t n) {
      return static_cast<T*>(
          ::operator new (n * sizeof(T), std::align_val_t{64}));
    }
    void deallocate(T* p, size_t) noexcept {
      ::operator delete (p, std::align_val_t{64});
    }
    bool operator==(const AlignedAlloc&) const noexcept { return true; }
  };

  uint32_t* Links(uint32_t slot, int level) noexcept;
  const uint32_t* Links(uint32_t slot, int level) const noexcept;
  size_t MaxLinks(int level) const noexcept { return level == 0 ? m0_ : m_; }
  int RandomLevel();
  uint32_t AllocateSlot(int level);
  // Greedy descent on one layer towards q, never stepping on `exclude`.
  uint32_t Greedy(const PreparedQuery& q, uint32_t ep, int level,
                  uint32_t exclude) const;
  // The best-first walk on `level` from ep, shared by insertion and search:
  // leaves in s->top (a max-heap) the ef nearest nodes `accept` takes, and
  // explores through rejected ones too. Nodes already marked visited in
  // s->visited are skipped. With max_visits > 0, returns false once that
  // many distances were computed.
  template <class Accept>
  bool Walk(const PreparedQuery& q, uint32_t ep, size_t ef, int level,
            const Accept& accept, size_t max_visits, Scratch* s) const;
  // The ef nearest nodes to q on `level`, nearest first, in s->found (all
  // nodes, tombstones too, but never `exclude`, which must not be ep).
  void SearchLayer(const PreparedQuery& q, uint32_t ep, size_t ef, int level,
                   uint32_t exclude, Scratch* s) const;
  // The heuristic neighbour selection of the paper (keep a candidate only
  // if it is nearer to the base than to every one already kept).
  void SelectNeighbors(std::vector<Neighbor>* candidates, size_t m,
                       Scratch* s) const;
  void Connect(uint32_t from, uint32_t to, float dist, int level, Scratch* s);

  const Codec* codec_;
  size_t m_, m0_, ef_construction_;
  double level_mult_;
  std::mt19937_64 rng_;

  // Level 0, one block of stride_ bytes per slot: the code, then (at
  // links0_at_) the level-0 list (count + m0 slots). A walk reads a node's
  // code and later its links from one place, as hnswlib's data_level0;
  // blocks start on 64-byte lines so the kernels' loads do not split.
  size_t links0_at_ = 0, stride_ = 0;
  std::vector<uint8_t, AlignedAlloc<uint8_t>> level0_;
  std::vector<std::unique_ptr<uint32_t[]>> upper_;  // levels 1..L: (1 + m) each
  std::vector<uint8_t> levels_;
  std::vector<uint8_t> deleted_;
  std::vector<uint32_t> free_;  // tombstoned slots, reused first
  size_t live_ = 0;
  size_t upper_words_ = 0;  // for MemoryBytes
  uint32_t entry_ = 0;
  int max_level_ = -1;  // -1: empty graph
};

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_HNSW_H
