// VectorIndex: the in-memory index of a vector store: the HNSW graph plus,
// per slot, the key, expiry and metadata that searches need (filters look
// at metadata and keys without touching the database).
//
// Not thread-safe by itself; VectorStoreImpl guards it with a shared mutex
// (Search under the shared lock, everything else exclusive).
#ifndef SNKV_VECTOR_VECTOR_INDEX_H
#define SNKV_VECTOR_VECTOR_INDEX_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vector/codec.h"
#include "vector/hnsw.h"

namespace snkv::vector {

class ByteReader;
class ByteWriter;

struct IndexHit {
  uint32_t slot;
  float distance;  // in the index's precision
};

// Estimates the share of the live slots among [0, slots) that `accept`
// takes, from up to 256 live slots drawn pseudo-randomly (a fixed seed, so
// the same index and filter always get the same plan). An even stride
// would see only multiples of itself and misjudge any filter with the same
// period (every 256th item, say) completely. 1.0 when it finds no live
// slot to judge by.
double SampleShare(size_t slots, const std::function<bool(uint32_t)>& live,
                   const std::function<bool(uint32_t)>& accept);

class VectorIndex {
 public:
  VectorIndex(size_t dim, Space space, DType dtype, int m, int ef_construction);

  // Inserts key's vector, replacing any earlier one (count unchanged).
  void Upsert(std::string_view key, const float* v, int64_t expires_ms,
              std::optional<std::string> metadata);
  // Removes key's vector; false if it had none.
  bool Remove(std::string_view key);
  void Clear();

  // Up to k accepted items nearest to q. Expired items (expires <= now_ms)
  // are never accepted; `filter` (may be empty) decides the others. With a
  // filter the graph walk skips rejected items; when the filter looks very
  // selective, or the walk finds fewer than k, the accepted items are
  // scanned exactly instead, so k hits come back whenever k items match.
  void Search(const float* q, size_t k, size_t ef, int64_t now_ms,
              const std::function<bool(uint32_t slot)>& filter,
              std::vector<IndexHit>* out) const;

  size_t size() const noexcept { return graph_.live(); }
  // Changes whenever an item is added, replaced or removed.
  uint64_t version() const noexcept { return version_; }
  size_t capacity() const noexcept { return graph_.slots(); }
  size_t MemoryBytes() const noexcept { return graph_.MemoryBytes(); }
  const Codec& codec() const noexcept { return codec_; }

  const std::string& key(uint32_t slot) const { return keys_[slot]; }
  const std::optional<std::string>& metadata(uint32_t slot) const {
    return meta_[slot];
  }
  // The slot holding key, or nullopt.
  std::optional<uint32_t> Find(std::string_view key) const;

  void Serialize(ByteWriter* w) const;
  bool Deserialize(ByteReader* r);

 private:
  void ExactScan(const PreparedQuery& q, size_t k,
                 const std::function<bool(uint32_t)>& accept,
                 std::vector<Neighbor>* out) const;

  Codec codec_;
  Hnsw graph_;
  std::vector<std::string> keys_;
  std::vector<int64_t> expires_;
  std::vector<std::optional<std::string>> meta_;
  std::unordered_map<std::string, uint32_t> slot_of_;
  size_t expiring_ = 0;  // live items with an expiry
  uint64_t version_ = 0;
};

}  // namespace snkv::vector

#endif  // SNKV_VECTOR_VECTOR_INDEX_H
